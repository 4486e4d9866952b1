import assert from "node:assert/strict";
import { LEAK_CHECKS, Peer } from "../../test/test_helpers.ts";
import { sendIrc, syncIrc, withIrc } from "../../test/irc_test_helpers.ts";

/** Registers `nick` asking for `caps`, and reads up to the end of #lobby's names. */
async function joinWith(port: number, nick: string, caps: string): Promise<Peer> {
  const peer = await Peer.connect(port);
  await sendIrc(
    peer,
    "CAP LS 302",
    `CAP REQ :${caps}`,
    `NICK ${nick}`,
    `USER ${nick} 0 * :${nick}`,
  );
  await peer.expect(/ CAP \* LS :/);
  await peer.expect(/ CAP \* ACK /);
  await sendIrc(peer, "CAP END");
  await peer.readUntil(/ 366 \S+ #lobby /);
  return peer;
}

const TIME = /^@time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

Deno.test({
  name:
    "CAP LS 302 offers account-notify, account-tag, away-notify, extended-join, message-tags, SASL PLAIN and server-time",
  ...LEAK_CHECKS,
  fn: () =>
    withIrc(async (port) => {
      await using peer = await Peer.connect(port);
      await sendIrc(peer, "CAP LS 302");
      assert.equal(
        await peer.expect(/ CAP \* LS :/),
        ":irc.test CAP * LS :account-notify account-tag away-notify batch cap-notify echo-message " +
          "extended-join message-tags multi-prefix sasl=PLAIN server-time userhost-in-names",
      );
    }),
});

Deno.test({
  name: "with server-time every message carries @time=, and CAP REQ :-server-time stops it",
  ...LEAK_CHECKS,
  fn: () =>
    withIrc(async (port) => {
      await using alice = await joinWith(port, "alice", "server-time");
      await using bob = await joinWith(port, "bob", "echo-message");
      await alice.expect(/^@time=\S+ :bob!bob@chat JOIN #lobby$/);
      await sendIrc(bob, "PRIVMSG alice :hi");
      assert.match(await alice.expect(/PRIVMSG alice :hi$/), TIME);
      // bob did not ask for it.
      assert.deepEqual(await syncIrc(bob), [":bob!bob@chat PRIVMSG alice :hi"]);
      await sendIrc(alice, "CAP REQ :-server-time", "CAP LIST");
      assert.deepEqual(await syncIrc(alice), [
        ":irc.test CAP alice ACK -server-time",
        ":irc.test CAP alice LIST :",
      ]);
    }),
});

Deno.test({
  name: "a client's tags may take 4,096 bytes: more is 417, not relayed; TAGMSG is accepted",
  ...LEAK_CHECKS,
  fn: () =>
    withIrc(async (port) => {
      await using alice = await joinWith(port, "alice", "message-tags");
      await using bob = await joinWith(port, "bob", "message-tags");
      await alice.expect(":bob!bob@chat JOIN #lobby");
      // `@`, the tags and the space: 4,096 bytes fit, one more does not.
      const fits = `@+x=${"a".repeat(4096 - 5)} `;
      assert.equal(fits.length, 4096);
      await sendIrc(
        alice,
        `@+x=${"a".repeat(4096 - 4)} PRIVMSG #lobby :too many tags`,
        `${fits}PRIVMSG #lobby :tags that fit`,
        "@+typing=active TAGMSG #lobby",
      );
      assert.deepEqual(await syncIrc(alice), [":irc.test 417 alice :Input line was too long"]);
      assert.deepEqual(await syncIrc(bob), [":alice!alice@chat PRIVMSG #lobby :tags that fit"]);
    }),
});
