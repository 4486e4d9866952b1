/**
 * An IRC client's further channels (seats, core/seats.ts) on a cluster, end
 * to end: real `server.ts` processes on one real `redis-server`. The seat
 * is a member of its room on every process: its lines go both ways, `/who`,
 * NAMES, `/rooms` and `+l` count it, an operator of another process kicks
 * it out of that room alone, the room's modes set there refuse it, and when
 * its process dies its rooms hear it left.
 */

import assert from "node:assert/strict";
import { ircJoin, sendIrc, syncIrc } from "../test/irc_test_helpers.ts";
import { startRedis } from "../test/redis_test_helpers.ts";
import { LEAK_CHECKS, Peer, startServer } from "../test/test_helpers.ts";

/** How long a killed process's members take to be announced gone: a lease, and a heartbeat. */
const GONE_MS = 15_000;

/** Asks `peer` for `/who` of its room and returns the names, sorted (processes list in no order). */
async function who(peer: Peer, room: string, typed = ""): Promise<string[]> {
  await peer.send(`/who${typed === "" ? "" : ` ${typed}`}\n`);
  const line = (await peer.readUntil(new RegExp(`^\\* \\d+ in #${room}: `))).at(-1) as string;
  return line.slice(line.indexOf(": ") + 2).split(", ").sort();
}

Deno.test({
  name:
    "a seat on one process is in its room on another: lines both ways, /who, NAMES, +l, and a kick from there closes it alone",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using one = await startServer(["--quiet", "--rate", "0", "--redis", redis.url()]);
    await using two = await startServer(["--quiet", "--rate", "0", "--redis", redis.url()]);
    const [alice, welcome] = await ircJoin(one.ircPort as number, "alice");
    await using _a = alice;
    assert.ok(welcome.some((line) => line.includes(" CHANLIMIT=#:10 ")), "CHANLIMIT=#:10");
    // #dev is new everywhere: the seat that makes it is its operator.
    await sendIrc(alice, "JOIN #dev");
    const joined = await alice.readUntil(/ 366 alice #dev /);
    assert.ok(joined.includes(":alice!alice@chat JOIN #dev"), joined.join("\n"));
    assert.ok(joined.some((line) => / 353 alice = #dev :@alice$/.test(line)), joined.join("\n"));
    await using bob = await Peer.join(two.port, "bob");
    await bob.send("/join #dev\n");
    await bob.expect("* You are now in #dev (2 here)");
    await alice.readUntil(":bob!bob@chat JOIN #dev");
    assert.deepEqual(await who(bob, "dev"), ["@alice", "bob"]);
    await bob.send("/rooms\n");
    await bob.readUntil("* 2 rooms: #dev (2), #lobby (1)");
    // Lines both ways, each in its channel.
    await sendIrc(alice, "PRIVMSG #dev :hello dev");
    await bob.readUntil("alice: hello dev");
    await bob.send("hello from two\n");
    await alice.readUntil(":bob!bob@chat PRIVMSG #dev :hello from two");
    // An IRC client on the other process (its #dev a seat of its own) sees alice in NAMES.
    const [dave] = await ircJoin(two.ircPort as number, "dave");
    await using _d = dave;
    await sendIrc(dave, "JOIN #dev");
    const names = await dave.readUntil(/ 366 dave #dev /);
    assert.ok(
      names.some((line) => / 353 dave = #dev :(\S+ )*@alice( |$)/.test(line)),
      names.join("\n"),
    );
    await alice.readUntil(":dave!dave@chat JOIN #dev");
    // The seat's operator rights reach the other process: it makes bob an operator there.
    await sendIrc(alice, "MODE #dev +o bob");
    await bob.readUntil("* bob was made an operator of #dev by alice");
    // +l counts the seat: three are in #dev, across the cluster.
    await bob.send("/mode #dev +l 3\n");
    await bob.readUntil(/^\* bob set mode \+l 3/);
    await using carol = await Peer.join(two.port, "carol");
    await carol.send("/join #dev\n");
    await carol.expect("! Cannot join #dev: room is full (+l)");
    // A kick from the other process closes the seat alone: alice stays in #lobby.
    await bob.send("/kick alice enough\n");
    await bob.readUntil("* alice was kicked by bob (enough)");
    await alice.readUntil(/^:bob!bob@chat KICK #dev alice :/);
    // The kick's act comes after its notice in the stream, and a line sent now after both: once
    // alice has this line, her process has closed the seat and told Redis.
    await carol.send("in the lobby\n");
    await alice.readUntil(":carol!carol@chat PRIVMSG #lobby :in the lobby");
    const after = await syncIrc(alice);
    assert.ok(!after.some((line) => line.includes("#dev")), after.join("\n"));
    assert.deepEqual(await who(bob, "dev"), ["@bob", "dave"]);
    // Dave's #dev is a seat too: his own room is #lobby.
    assert.deepEqual(await who(carol, "lobby", "#lobby"), ["alice", "carol", "dave"]);
    // The room's modes, as the other process set them, refuse a seat in IRC's words (once alice's
    // process has them: a line after them in the stream says so).
    await bob.send("/mode #dev +i\n");
    await bob.readUntil("* bob set mode +i on #dev");
    await carol.send("after the mode\n");
    await alice.readUntil(":carol!carol@chat PRIVMSG #lobby :after the mode");
    await sendIrc(alice, "JOIN #dev");
    const refused = await syncIrc(alice);
    assert.ok(refused.some((line) => / 473 alice #dev /.test(line)), refused.join("\n"));
    assert.ok(!refused.some((line) => / JOIN #dev/.test(line)), refused.join("\n"));
    assert.deepEqual(await who(bob, "dev"), ["@bob", "dave"]);
  },
});

Deno.test({
  name:
    "a seat's PART is heard elsewhere; its process killed outright, each room its member was in hears it left, once",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const doomed = await startServer(["--quiet", "--rate", "0", "--redis", redis.url()]);
    await using two = await startServer(["--quiet", "--rate", "0", "--redis", redis.url()]);
    try {
      await using bob = await Peer.join(two.port, "bob");
      await bob.send("/join #dev\n");
      await bob.expect("* You are now in #dev (1 here)");
      await using carol = await Peer.join(two.port, "carol");
      const [alice] = await ircJoin(doomed.ircPort as number, "alice");
      await carol.readUntil("* alice joined the chat");
      await sendIrc(alice, "JOIN #dev,#ops");
      await alice.readUntil(/ 366 alice #ops /);
      await bob.readUntil("* alice joined #dev");
      // Leaving a seat's channel is heard on the other process, and so is coming back.
      await sendIrc(alice, "PART #dev :later");
      await bob.readUntil("* alice left #dev (later)");
      await sendIrc(alice, "JOIN #dev");
      await alice.readUntil(/ 366 alice #dev /);
      await bob.readUntil("* alice joined #dev");
      await doomed.stop("SIGKILL");
      await alice.close();
      const notice = "* alice left the chat (connection lost)";
      const heard = await Promise.all([
        bob.readUntil(notice, GONE_MS),
        carol.readUntil(notice, GONE_MS),
      ]);
      // Told once each: a line sent after comes behind any second notice.
      await bob.send("/join #lobby\n");
      await carol.readUntil("* bob joined #lobby");
      await carol.send("after\n");
      heard[0]!.push(...await bob.readUntil("carol: after"));
      heard[1]!.push(...await carol.readUntil("carol: after"));
      for (const lines of heard) assert.equal(lines.filter((line) => line === notice).length, 1);
      await bob.send("/rooms\n");
      await bob.readUntil("* 1 room: #lobby (2)");
    } finally {
      await doomed.stop("SIGKILL");
    }
  },
});
