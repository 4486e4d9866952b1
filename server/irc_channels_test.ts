/**
 * The IRC door's clients in several channels at once (core/seats.ts): each
 * channel's lines come from that channel, a kick takes one channel only,
 * and a member who shares several channels with the client quits or
 * renames itself once in the client's eyes.
 */

import assert from "node:assert/strict";
import { LEAK_CHECKS, Peer } from "../test/test_helpers.ts";
import { ircJoin, sendIrc, syncIrc, withIrcServer } from "../test/irc_test_helpers.ts";

Deno.test({
  name: "an IRC client in three channels hears each line from its own channel",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using carol = await Peer.join(server.port, "carol");
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _a = alice;
      const [bob] = await ircJoin(server.ircPort, "bob");
      await using _b = bob;
      await alice.expect(":bob!bob@chat JOIN #lobby");
      await sendIrc(alice, "JOIN #dev,#ops");
      const joined = await syncIrc(alice);
      assert.deepEqual(joined.filter((line) => / (JOIN|366) /.test(line)), [
        ":alice!alice@chat JOIN #dev",
        ":127.0.0.1 366 alice #dev :End of /NAMES list",
        ":alice!alice@chat JOIN #ops",
        ":127.0.0.1 366 alice #ops :End of /NAMES list",
      ]);
      await sendIrc(bob, "JOIN #dev");
      await alice.readUntil(":bob!bob@chat JOIN #dev");
      await carol.send("/join #ops\n");
      await alice.readUntil(":carol!carol@chat JOIN #ops");
      await carol.send("from ops\n");
      await alice.readUntil(":carol!carol@chat PRIVMSG #ops :from ops");
      await sendIrc(bob, "PRIVMSG #dev :from dev", "PRIVMSG #lobby :from lobby");
      await alice.readUntil(":bob!bob@chat PRIVMSG #dev :from dev");
      await alice.readUntil(":bob!bob@chat PRIVMSG #lobby :from lobby");
      await sendIrc(alice, "PRIVMSG #ops :to ops");
      await carol.readUntil("alice: to ops");
      // Alice made #dev and #ops: she operates both; a kick takes bob out of #dev only.
      await sendIrc(alice, "KICK #dev bob :not here");
      await bob.readUntil(":alice!alice@chat KICK #dev bob :not here");
      await sendIrc(bob, "PRIVMSG #lobby :still in the lobby");
      await alice.readUntil(":bob!bob@chat PRIVMSG #lobby :still in the lobby");
      // Bob shares #lobby and #dev with alice again: his rename and quit come once.
      await sendIrc(bob, "JOIN #dev");
      await alice.readUntil(":bob!bob@chat JOIN #dev");
      await sendIrc(bob, "NICK robert");
      await alice.readUntil(":bob!bob@chat NICK robert");
      await sendIrc(bob, "QUIT :bye");
      const told = await alice.readUntil(/^:robert!robert@chat QUIT :/);
      assert.deepEqual(told.filter((line) => / (NICK|QUIT) /.test(line)), [
        ":robert!robert@chat QUIT :Quit: bye",
      ]);
      await sendIrc(alice, "NAMES #dev");
      assert.deepEqual(await syncIrc(alice), [
        ":127.0.0.1 353 alice = #dev :@alice",
        ":127.0.0.1 366 alice #dev :End of /NAMES list",
      ]);
      await carol.send("/who\n");
      await carol.expect("* 2 in #ops: @alice, carol");
    }),
});

Deno.test({
  name: "an IRC client's channels are bounded by CHANLIMIT, and its quit empties each",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using carol = await Peer.join(server.port, "carol");
      const [alice, welcome] = await ircJoin(server.ircPort, "alice");
      await using _a = alice;
      assert.ok(welcome.some((line) => line.includes("CHANLIMIT=#:10")), "CHANLIMIT=#:10");
      const channels = Array.from({ length: 10 }, (_, i) => `#c${i}`);
      await sendIrc(alice, `JOIN ${channels.join(",")}`);
      const lines = await syncIrc(alice);
      // #lobby and nine more: the tenth is refused.
      assert.equal(lines.filter((line) => / JOIN #c\d$/.test(line)).length, 9);
      assert.ok(lines.some((line) => / 405 alice #c9 /.test(line)), lines.join("\n"));
      await carol.send("/join #c3\n");
      await alice.readUntil(":carol!carol@chat JOIN #c3");
      await sendIrc(alice, "QUIT :done");
      await carol.readUntil("* alice left the chat (done)");
      await carol.send("/who\n");
      await carol.expect("* 1 in #c3: carol");
      await carol.send("/rooms\n");
      await carol.expect("* 2 rooms: #c3 (1), #lobby (0)");
    }),
});

Deno.test({
  name: "one broadcast, said once per way of seeing it: each IRC client gets its own form",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using carol = await Peer.join(server.port, "carol");
      const [plain] = await ircJoin(server.ircPort, "plain");
      await using _p = plain;
      const [other] = await ircJoin(server.ircPort, "other");
      await using _o = other;
      await using timed = await Peer.connect(server.ircPort);
      await sendIrc(
        timed,
        "CAP REQ :server-time",
        "NICK timed",
        "USER timed 0 * :timed",
        "CAP END",
      );
      await timed.readUntil(/ 366 timed #lobby /);
      await sendIrc(other, "PRIVMSG #lobby :from other");
      await carol.readUntil("other: from other");
      await plain.readUntil(":other!other@chat PRIVMSG #lobby :from other");
      await carol.send("one\ntwo\n");
      for (const peer of [plain, other]) {
        await peer.readUntil(":carol!carol@chat PRIVMSG #lobby :one");
        await peer.expect(":carol!carol@chat PRIVMSG #lobby :two");
      }
      // The sender is not sent its own line without echo-message, whoever had it said first.
      assert.deepEqual(await syncIrc(other), []);
      await timed.readUntil(/^@time=\S+ :carol!carol@chat PRIVMSG #lobby :one$/);
      await timed.expect(/^@time=\S+ :carol!carol@chat PRIVMSG #lobby :two$/);
    }),
});

Deno.test({
  name: "extended-join and away-notify: a watcher hears who joined with their real name, and away",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using watcher = await Peer.connect(server.ircPort);
      await sendIrc(
        watcher,
        "CAP REQ :away-notify extended-join",
        "NICK watcher",
        "USER watcher 0 * :The Watcher",
        "CAP END",
      );
      await watcher.readUntil(/ 366 watcher #lobby /);
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      await watcher.readUntil(":alice!alice@chat JOIN #lobby * :alice the tester");
      await sendIrc(alice, "AWAY :lunch");
      await watcher.readUntil(":alice!alice@chat AWAY :lunch");
      await sendIrc(alice, "AWAY");
      await watcher.readUntil(":alice!alice@chat AWAY");
      // A client that did not ask hears neither.
      const [plain] = await ircJoin(server.ircPort, "plain");
      await using _p = plain;
      await sendIrc(alice, "AWAY :again");
      await watcher.readUntil(":alice!alice@chat AWAY :again");
      assert.deepEqual((await syncIrc(plain)).filter((line) => / AWAY /.test(line)), []);
    }),
});

Deno.test({
  name: "a room's history is a chathistory batch with the times it was said, or NOTICEs",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using bob = await Peer.join(server.port, "bob");
      await bob.send("hello\n/me waves\n");
      await bob.readUntil("** bob waves");
      const said = Date.now();
      await using batched = await Peer.connect(server.ircPort);
      await sendIrc(
        batched,
        "CAP REQ :batch server-time",
        "NICK batched",
        "USER b 0 * :B",
        "CAP END",
      );
      const lines = await batched.readUntil(/ BATCH -\S+$/);
      const start = lines.findIndex((line) => / BATCH \+\S+ chathistory #lobby$/.test(line));
      assert.ok(start !== -1, lines.join("\n"));
      const ref = / BATCH \+(\S+) /.exec(lines[start] as string)?.[1];
      const history = lines.slice(start + 1, -1);
      assert.deepEqual(history.map((line) => line.replace(/^@batch=\S+;time=\S+ /, "")), [
        ":bob!bob@chat PRIVMSG #lobby :hello",
        ":bob!bob@chat PRIVMSG #lobby :\x01ACTION waves\x01",
      ]);
      for (const line of history) {
        const tags = /^@batch=(\S+);time=(\S+) /.exec(line);
        assert.equal(tags?.[1], ref);
        // The time it was said, not the time it is replayed.
        assert.ok(Math.abs(Date.parse(tags?.[2] ?? "") - said) < 2000, line);
      }
      // Without batch: NOTICEs from the server.
      const [plain] = await ircJoin(server.ircPort, "plain");
      await using _ = plain;
      const after = await plain.readUntil(/ NOTICE #lobby :\* bob waves$/);
      assert.deepEqual(after.filter((line) => / NOTICE #lobby /.test(line)), [
        ":127.0.0.1 NOTICE #lobby :<bob> hello",
        ":127.0.0.1 NOTICE #lobby :* bob waves",
      ]);
    }),
});

Deno.test({
  name: "a PING sent with a JOIN of a further channel is answered after that JOIN's lines",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      for (let round = 0; round < 5; round++) {
        // JOIN and PING in one write: the PONG waits for the new channel's answers.
        await sendIrc(alice, `JOIN #room${round}`, `PING token${round}`);
        const lines = await alice.readUntil(new RegExp(` PONG \\S+ :?token${round}$`));
        assert.deepEqual(lines.slice(0, 3).map((line) => line.split(" ")[1]), [
          "JOIN",
          "353",
          "366",
        ]);
      }
    }),
});
