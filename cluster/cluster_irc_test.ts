/**
 * IRC members on a cluster, end to end: two real `server.ts` processes on
 * one real `redis-server`, an IRC client on one and a line member on the
 * other, in the same rooms. Each hears the other's lines, joins, renames
 * and departure, in IRC's words and in the chat's. Further channels (seats)
 * on a cluster: cluster_seats_test.ts.
 */

import assert from "node:assert/strict";
import { ircJoin, sendIrc, syncIrc } from "../test/irc_test_helpers.ts";
import { startRedis } from "../test/redis_test_helpers.ts";
import { LEAK_CHECKS, Peer, startServer } from "../test/test_helpers.ts";

Deno.test({
  name: "an IRC member on one process and a line member on another share #lobby and #dev",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using one = await startServer(["--quiet", "--rate", "0", "--redis", redis.url()]);
    await using two = await startServer(["--quiet", "--rate", "0", "--redis", redis.url()]);
    assert.ok(one.ircPort !== null, "no IRC port printed");
    await using bob = await Peer.join(two.port, "bob");
    const [alice, welcome] = await ircJoin(one.ircPort, "alice");
    await using _ = alice;
    assert.ok(welcome.some((line) => line.includes(" CHANLIMIT=#:10 ")), "CHANLIMIT=#:10");
    await bob.readUntil("* alice joined the chat");
    await sendIrc(alice, "PRIVMSG #lobby :hello from irc");
    await bob.readUntil("alice: hello from irc");
    await bob.send("hello from the line port\n");
    await alice.readUntil(":bob!bob@chat PRIVMSG #lobby :hello from the line port");
    // A name bob holds on the other process is taken here too.
    await sendIrc(alice, "NICK BOB");
    assert.ok((await syncIrc(alice)).some((line) => / 433 alice BOB /.test(line)));
    await sendIrc(alice, "PART #lobby", "JOIN #dev");
    await alice.readUntil(":alice!alice@chat JOIN #dev");
    await bob.send("/join #dev\n");
    await bob.readUntil("* You are now in #dev (2 here)");
    await alice.readUntil(":bob!bob@chat JOIN #dev");
    await bob.send("in dev\n");
    await alice.readUntil(":bob!bob@chat PRIVMSG #dev :in dev");
    await sendIrc(alice, "NICK alicia");
    await bob.readUntil("* alice is now known as alicia");
    await sendIrc(alice, "QUIT :see you");
    await bob.readUntil("* alicia left the chat (see you)");
    await alice.expectClosed();
  },
});

Deno.test({
  name: "account-tag names the account of a member of another process, after a login there too",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using one = await startServer(["--quiet", "--rate", "0", "--redis", redis.url()]);
    await using two = await startServer(["--quiet", "--rate", "0", "--redis", redis.url()]);
    await using carol = await Peer.join(two.port, "carol");
    await carol.send("/register correct-horse\n");
    await carol.readUntil(/^\* Registered carol: /);
    await using dave = await Peer.join(two.port, "dave");
    const watcher = await Peer.connect(one.ircPort as number);
    await using _ = watcher;
    await sendIrc(
      watcher,
      "CAP LS 302",
      "CAP REQ :account-tag",
      "NICK w",
      "USER w 0 * :W",
    );
    await watcher.readUntil(/ CAP \* ACK /);
    await sendIrc(watcher, "CAP END");
    await watcher.readUntil(/ 366 w #lobby /);
    await carol.send("hi from two\n");
    await watcher.readUntil("@account=carol :carol!carol@chat PRIVMSG #lobby :hi from two");
    await dave.send("a guest's line\n");
    await watcher.readUntil(":dave!dave@chat PRIVMSG #lobby :a guest's line");
    await carol.send("<quit>\n");
    await watcher.readUntil(/^@account=carol :carol!carol@chat QUIT /);
    await using back = await Peer.join(two.port, "someone");
    await back.send("/login carol correct-horse\n");
    await watcher.readUntil(":someone!someone@chat NICK carol");
    await back.send("back\n");
    await watcher.readUntil("@account=carol :carol!carol@chat PRIVMSG #lobby :back");
  },
});
