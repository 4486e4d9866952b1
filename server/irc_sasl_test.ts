/**
 * SASL PLAIN over the IRC door, against the chat's accounts: an account
 * registered by a line member logs an irssi-like client in before its
 * registration ends, under the account's name, shown `alice+` to the line
 * member; a wrong password is 904 and the name stays reserved (433).
 */

import assert from "node:assert/strict";
import { LEAK_CHECKS, Peer } from "../test/test_helpers.ts";
import { sendIrc, withIrcServer } from "../test/irc_test_helpers.ts";

const PASSWORD = "correct-horse";

/** The PLAIN payload for `name` and `password`, base64. */
function plain(name: string, password: string): string {
  return btoa(`\0${name}\0${password}`);
}

Deno.test({
  name:
    "SASL PLAIN logs an IRC client in to its account before registration ends; 904 and 433 else",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using bob = await Peer.join(server.port, "bob");
      {
        await using alice = await Peer.join(server.port, "alice");
        await alice.send(`/register ${PASSWORD}\n`);
        await alice.expect(/^\* Registered alice: only you can use this name /);
      }
      await bob.readUntil("* alice left the chat (connection lost)");
      // A wrong password: 904, and the name is still the account's (433).
      await using stranger = await Peer.connect(server.ircPort);
      await sendIrc(stranger, "CAP LS 302");
      assert.match(await stranger.expect(/ CAP \* LS :/), / sasl=PLAIN /);
      await sendIrc(stranger, "CAP REQ :sasl", "AUTHENTICATE PLAIN");
      await stranger.readUntil(/ CAP \* ACK :?sasl$/);
      await stranger.expect("AUTHENTICATE +");
      await sendIrc(stranger, `AUTHENTICATE ${plain("alice", "wrong")}`);
      await stranger.expect(/ 904 \* :SASL authentication failed$/);
      await sendIrc(stranger, "CAP END", "NICK alice", "USER a 0 * :A");
      await stranger.expect(/ 433 \* alice :Nickname is already in use$/);
      // The right one: 900 and 903, then the welcome as alice, logged in.
      await using irc = await Peer.connect(server.ircPort);
      await sendIrc(irc, "CAP LS 302", "CAP REQ :sasl", "NICK whatever", "USER a 0 * :Alice");
      await irc.readUntil(/ CAP \* ACK :?sasl$/);
      await sendIrc(irc, "AUTHENTICATE PLAIN");
      await irc.expect("AUTHENTICATE +");
      await sendIrc(irc, `AUTHENTICATE ${plain("alice", PASSWORD)}`);
      await irc.expect(
        / 900 whatever whatever!whatever@chat alice :You are now logged in as alice$/,
      );
      await irc.expect(/ 903 whatever :SASL authentication successful$/);
      await sendIrc(irc, "CAP END");
      await irc.readUntil(/ 001 alice :Welcome to the chat, alice!/);
      await bob.readUntil("* alice joined the chat");
      await bob.send("/who\n");
      await bob.expect("* 2 online: bob, alice+");
      // Once welcomed, SASL is over.
      await sendIrc(irc, "AUTHENTICATE PLAIN");
      await irc.readUntil(/ 907 alice :You have already authenticated using SASL$/);
    }),
});
