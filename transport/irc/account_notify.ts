/**
 * IRCv3 `account-notify`: a client that asked for it hears
 * `:alice!alice@chat ACCOUNT alice` when a member it shares a channel with
 * (or its own member) logs in, and `ACCOUNT *` when it logs out. In this
 * chat an account's name is its owner's name, so a login that renames
 * (`/login alice` by `bob`) is a NICK first, then the ACCOUNT.
 *
 * @module
 */

import type { AccountChange } from "../../core/chat.ts";
import { sameName } from "../../protocol.ts";
import { formatMessage } from "./message.ts";
import { type Peers, prefixOf } from "./session_state.ts";

/** Tells the door's clients that asked for account-notify and share a channel with the member. */
export function tellAccountChange(peers: Peers, change: AccountChange): void {
  const rooms = new Set(change.rooms.map((room) => room.toLowerCase()));
  const line = formatMessage(prefixOf(change.name), "ACCOUNT", [change.account ?? "*"]);
  for (const s of peers.all) {
    if (s.me === null || !s.caps.has("account-notify")) continue;
    const shares = sameName(s.me, change.name) ||
      (s.visible && rooms.has(s.room.toLowerCase())) ||
      s.seatRooms().some((room) => rooms.has(room.toLowerCase()));
    // Behind the answers it awaits, as every line the door says of its own.
    if (shares) s.reply(line);
  }
}
