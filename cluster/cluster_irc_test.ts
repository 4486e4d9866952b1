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
