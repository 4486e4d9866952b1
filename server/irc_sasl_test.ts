/**
 * SASL PLAIN over the IRC door, against the chat's accounts: an account
 * registered by a line member logs an irssi-like client in before its
 * registration ends, under the account's name, shown `alice+` to the line
 * member; a wrong password is 904 and the name stays reserved (433).
 */

import assert from "node:assert/strict";
import { LEAK_CHECKS, Peer } from "../test/test_helpers.ts";
import { sendIrc, syncIrc, withIrc, withIrcServer } from "../test/irc_test_helpers.ts";

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

/** Registers an IRC client as `nick` with capabilities `caps`, and reads up to `#lobby`'s names. */
async function ircWith(port: number, nick: string, caps: string): Promise<Peer> {
  const peer = await Peer.connect(port);
  await sendIrc(peer, "CAP LS 302", `CAP REQ :${caps}`, `NICK ${nick}`, `USER ${nick} 0 * :N`);
  await peer.readUntil(/ CAP \* ACK /);
  await sendIrc(peer, "CAP END");
  await peer.readUntil(/ 366 \S+ #lobby /);
  return peer;
}

Deno.test({
  name:
    "account-notify tells a channel's IRC clients of a login and a logout; account-tag marks the account's lines",
  ...LEAK_CHECKS,
  fn: () =>
    withIrc(async (ircPort, linePort) => {
      await using watcher = await ircWith(ircPort, "watcher", "account-notify account-tag");
      await using plainClient = await ircWith(ircPort, "plain", "multi-prefix");
      await using far = await ircWith(ircPort, "far", "account-notify");
      await sendIrc(far, "PART #lobby", "JOIN #elsewhere");
      await far.readUntil(/ 366 far #elsewhere /);
      await using timed = await ircWith(ircPort, "timed", "account-notify account-tag server-time");
      await using carol = await Peer.join(linePort, "carol");
      await watcher.readUntil(":carol!carol@chat JOIN #lobby");
      // Registering logs carol in: ACCOUNT, then her lines carry her account.
      await carol.send(`/register ${PASSWORD}\n`);
      await carol.expect(/^\* Registered carol: /);
      await watcher.expect("@account=carol :carol!carol@chat ACCOUNT :carol");
      await carol.send("hi\n");
      await watcher.expect("@account=carol :carol!carol@chat PRIVMSG #lobby :hi");
      // Another name is no longer the account's: NICK, then ACCOUNT *, and lines untagged.
      await carol.send("/nick dave\n");
      await watcher.expect(":carol!carol@chat NICK dave");
      await watcher.expect(":dave!dave@chat ACCOUNT :*");
      await carol.send("untagged\n");
      await watcher.expect(":dave!dave@chat PRIVMSG #lobby :untagged");
      // /login takes the account's name back: NICK first, then ACCOUNT.
      await carol.send(`/login carol ${PASSWORD}\n`);
      await carol.readUntil("* Logged in as carol");
      await watcher.expect(":dave!dave@chat NICK carol");
      await watcher.expect("@account=carol :carol!carol@chat ACCOUNT :carol");
      // A private message carries it too.
      await carol.send("/msg watcher private\n");
      await watcher.expect("@account=carol :carol!carol@chat PRIVMSG watcher :private");
      // With server-time, both tags.
      const time = "@time=\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z;account=carol";
      await timed.readUntil(new RegExp(`^${time} :carol!carol@chat ACCOUNT :carol$`));
      await timed.readUntil(new RegExp(`^${time} :carol!carol@chat PRIVMSG #lobby :hi$`));
      // A client without the capabilities hears neither; one in no channel with carol, no ACCOUNT.
      const plainLines = await syncIrc(plainClient);
      assert.ok(plainLines.includes(":carol!carol@chat PRIVMSG #lobby :hi"), plainLines.join("\n"));
      assert.ok(plainLines.every((line) => !/ ACCOUNT |^@/.test(line)), plainLines.join("\n"));
      const farLines = await syncIrc(far);
      assert.ok(farLines.every((line) => !/ ACCOUNT /.test(line)), farLines.join("\n"));
    }),
});
