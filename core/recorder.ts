/**
 * What the core keeps between restarts, as the core sees it: where its
 * lasting state is written as it changes ({@linkcode ChatRecorder}), and what
 * a restarted server comes back with ({@linkcode SavedState}). The store
 * (store.ts, the data file) implements the one and reads back the other; the
 * core knows no file.
 *
 * @module
 */

import type { Restriction } from "./moderation.ts";
import type { RoomRecorder } from "./room.ts";

export type { Restriction, RoomRecorder };

/** Where the server's lasting state is written (the data file): rooms, bans, mutes, the motd. */
export interface ChatRecorder extends RoomRecorder {
  /** The whole list of bans or of mutes, as it is now. */
  setRestrictions(kind: "bans" | "mutes", list: readonly Restriction[]): void;
  /** The message of the day; null clears it. */
  setMotd(text: string | null): void;
}

/** One saved room: name as shown, topic, and recent public lines (oldest first, no trailing newline). */
export interface SavedRoom {
  /** The room's name as shown, the key it was saved under. */
  name: string;
  /** Its topic, or null for none. */
  topic: string | null;
  /** Its newest public lines, at most `historyLines`, oldest first. */
  history: string[];
}

/** What a server keeps between restarts. */
export interface SavedState {
  /** In the order they were first saved; the lobby is a room like any other here. */
  rooms: SavedRoom[];
  /** The bans, in the order they were last set. */
  bans: Restriction[];
  /** The mutes, in the order they were last set. */
  mutes: Restriction[];
  /** The message of the day, or null for none. */
  motd: string | null;
}
