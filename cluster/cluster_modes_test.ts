/**
 * Room modes across a cluster: real `server.ts` processes on a real
 * `redis-server`, with raw TCP members (and an IRC client) on each. A mode
 * set on one process holds on every process, and on one started after;
 * each member hears the change once.
 */

import assert from "node:assert/strict";
import { nameKeys } from "../protocol.ts";
import { connectRedis } from "./redis.ts";
import { ircJoin, sendIrc, syncIrc } from "../test/irc_test_helpers.ts";
import { startRedis } from "../test/redis_test_helpers.ts";
import { LEAK_CHECKS, Peer, type ServerProcess, startServer } from "../test/test_helpers.ts";

/** The arguments of a cluster process on the Redis at `url`. */
const clusterArgs = (url: string): string[] => ["--quiet", "--rate", "0", "--redis", url];

/** How many of `lines` are exactly `line`. */
const count = (lines: string[], line: string): number =>
  lines.filter((seen) => seen === line).length;

/** Runs `body` with two processes of a cluster on a Redis of its own; stops them all after. */
async function withTwo(
  body: (a: ServerProcess, b: ServerProcess, redisUrl: string) => Promise<void>,
): Promise<void> {
  await using redis = await startRedis();
  await using a = await startServer(clusterArgs(redis.url()));
  await using b = await startServer(clusterArgs(redis.url()));
  await body(a, b, redis.url());
}

Deno.test({
  name: "a room's modes set on one process hold on another, and the change is heard once",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(async (a, b) => {
      await using alice = await Peer.join(a.port, "alice");
      await using bob = await Peer.join(b.port, "bob");
      await using carol = await Peer.join(b.port, "carol");
      await alice.send("/join dev\n");
      await alice.readUntil("* You are now in #dev (1 here)");
      await alice.send("/mode +k secret\n");
      await alice.readUntil("* alice set mode +k secret on #dev");

      // bob, on the other process, needs the key, as on one process.
      await bob.send("/join dev\n");
      await bob.readUntil("! Cannot join #dev: wrong key (+k)");
      await bob.send("/join dev secret\n");
      await bob.readUntil("* You are now in #dev (2 here)");
      await bob.expect(/^\* Modes of #dev: \+knt secret \(made /);
      await alice.readUntil("* bob joined #dev");

      // +m on a: bob, not an operator, is refused on b; the change reaches each member once.
      await alice.send("/mode +m\n");
      const moderated = "* alice set mode +m on #dev";
      await alice.send("after the mode\n");
      const bobSaw = await bob.readUntil("alice: after the mode");
      assert.equal(count(bobSaw, moderated), 1, bobSaw.join("\n"));
      const aliceSaw = await alice.readUntil("alice: after the mode");
      assert.equal(count(aliceSaw, moderated), 1, aliceSaw.join("\n"));
      await bob.send("may I?\n");
      await bob.readUntil("! Cannot send to #dev: moderated (+m)");
      await bob.send("/mode\n");
      await bob.readUntil(/^\* Modes of #dev: \+kmnt secret \(made /);

      // /rooms on b shows them; +s hides the room from carol, outside it, on b.
      await carol.send("/rooms\n");
      await carol.readUntil("* 2 rooms: #dev (2, +km), #lobby (1)");
      await alice.send("/mode +s-m\n");
      await bob.readUntil("* alice set mode +s-m on #dev");
      await carol.send("/rooms\n");
      await carol.readUntil("* 1 room: #lobby (1)");
      await carol.send("/who #dev\n");
      await carol.readUntil("! No such room: #dev");

      // A member cap counts the room's members on every process: carol's has only bob.
      await alice.send("/mode +l 2\n");
      await bob.readUntil("* alice set mode +l 2 on #dev");
      await carol.send("/join dev secret\n");
      await carol.readUntil("! Cannot join #dev: room is full (+l)");

      // A ban set on a refuses carol on b, and the list says who set it.
      await alice.send("/mode -l+b carol\n");
      await bob.readUntil("* alice set mode -l+b carol!*@* on #dev");
      await carol.send("/join dev secret\n");
      await carol.readUntil("! Cannot join #dev: banned (+b)");
      await bob.send("/mode +b\n");
      await bob.readUntil("* Bans of #dev: carol!*@* (set by alice)");

      // Taken off on a, open on b.
      await alice.send("/mode -bks carol\n");
      await bob.readUntil("* alice set mode -bks carol!*@* on #dev");
      await carol.send("/join dev\n");
      await carol.readUntil("* You are now in #dev (3 here)");
    }),
});

Deno.test({
  name: "a process started after a mode was set has it; a room empty everywhere starts afresh",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(async (a, _b, redisUrl) => {
      await using alice = await Peer.join(a.port, "alice");
      await alice.send("/join dev\n");
      await alice.readUntil("* You are now in #dev (1 here)");
      await alice.send("/mode +ik secret\n");
      await alice.readUntil("* alice set mode +ik secret on #dev");

      await using c = await startServer(clusterArgs(redisUrl));
      await using dave = await Peer.join(c.port, "dave");
      await dave.send("/rooms\n");
      await dave.readUntil("* 2 rooms: #lobby (1), #dev (1, +ik)");
      await dave.send("/join dev secret\n");
      await dave.readUntil("! Cannot join #dev: invite only (+i)");
      await alice.send("/mode -i\n");
      await alice.readUntil("* alice set mode -i on #dev");
      await dave.send("/join dev secret\n");
      await dave.readUntil("* You are now in #dev (2 here)");
      await dave.expect(/^\* Modes of #dev: \+knt secret \(made /);

      // Everyone leaves #dev: the next to come makes it anew, with a new room's modes.
      await alice.send("/join lobby\n");
      await alice.readUntil("* You are now in #lobby (1 here)");
      await dave.send("/join lobby\n");
      await dave.readUntil("* You are now in #lobby (2 here)");
      await alice.send("/join dev\n");
      await alice.readUntil("* You are now in #dev (1 here)");
      await dave.send("/join dev\n");
      await dave.readUntil("* You are now in #dev (2 here)");
      await dave.send("/mode\n");
      await dave.readUntil(/^\* Modes of #dev: \+nt \(made /);
    }),
});

Deno.test({
  name: "/invite reaches a member of another process, which then enters an invite-only room",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(async (a, b) => {
      await using alice = await Peer.join(a.port, "alice");
      await using bob = await Peer.join(b.port, "bob");
      await using carol = await Peer.join(b.port, "carol");
      await alice.send("/join dev\n");
      await alice.readUntil("* You are now in #dev (1 here)");
      await alice.send("/mode +i\nbefore bob\n");
      await alice.readUntil("alice: before bob");
      await alice.send("/invite nobody\n");
      await alice.readUntil("! No such user: nobody");
      await alice.send("/invite BOB\n");
      await alice.readUntil("* You invited bob to #dev");
      await bob.readUntil("* alice invited you to #dev");
      // carol, on bob's process, was not invited.
      await carol.send("/join dev\n");
      await carol.readUntil("! Cannot join #dev: invite only (+i)");
      await bob.send("/join dev\n");
      await bob.readUntil("* You are now in #dev (2 here)");
      // The room kept on b for the invitation still gets the cluster's history.
      await bob.readUntil("alice: before bob");
      await alice.readUntil("* bob joined #dev");
      await alice.send("/invite bob\n");
      await alice.readUntil("! bob is already in #dev");
      // An invitation is used up on entering: bob, back in #lobby, is refused again.
      await bob.send("/part\n");
      await bob.readUntil(/^\* You are now in #lobby/);
      await bob.send("/join dev\n");
      await bob.readUntil("! Cannot join #dev: invite only (+i)");
    }),
});

Deno.test({
  name: "+v gives a member of another process a voice in a moderated room, and -v takes it back",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(async (a, b) => {
      await using alice = await Peer.join(a.port, "alice");
      await using bob = await Peer.join(b.port, "bob");
      await alice.send("/join dev\n");
      await alice.readUntil("* You are now in #dev (1 here)");
      await bob.send("/join dev\n");
      await bob.readUntil("* You are now in #dev (2 here)");
      await alice.send("/mode +m\n");
      await bob.readUntil("* alice set mode +m on #dev");
      await alice.send("/mode +v nobody\n");
      await alice.readUntil("! nobody is not in #dev");
      await alice.send("/mode +v bob\n");
      const voiced = "* alice set mode +v bob on #dev";
      await alice.readUntil(voiced);
      await bob.readUntil(voiced);
      await bob.send("/who\nvoiced now\n");
      // The cluster's /who lists each process's members in no fixed order.
      const who = (await bob.readUntil(/^\* 2 in #dev: /)).at(-1) as string;
      assert.deepEqual(who.slice("* 2 in #dev: ".length).split(", ").sort(), ["+bob", "@alice"]);
      await alice.readUntil("bob: voiced now");
      // Already voiced: nothing changes and nothing is said; then -v.
      await alice.send("/mode +v bob\n/mode -v bob\n");
      const devoiced = "* alice set mode -v bob on #dev";
      const aliceSaw = await alice.readUntil(devoiced);
      assert.equal(count(aliceSaw, voiced), 0, aliceSaw.join("\n"));
      await bob.readUntil(devoiced);
      await bob.send("silenced\n");
      await bob.readUntil("! Cannot send to #dev: moderated (+m)");
    }),
});

Deno.test({
  name: "an IRC client on another process sees the modes in 324 and is refused with 475",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(async (a, b) => {
      assert.ok(b.ircPort !== null, "no IRC port printed");
      await using alice = await Peer.join(a.port, "alice");
      await alice.send("/join dev\n");
      await alice.readUntil("* You are now in #dev (1 here)");
      await alice.send("/mode +kl secret 5\n");
      await alice.readUntil("* alice set mode +kl secret 5 on #dev");
      const [bob] = await ircJoin(b.ircPort, "bob");
      await using _ = bob;
      await sendIrc(bob, "PART #lobby", "JOIN #dev");
      const refused = await syncIrc(bob);
      assert.ok(refused.some((line) => / 475 bob #dev /.test(line)), refused.join("\n"));
      await sendIrc(bob, "JOIN #dev secret");
      await bob.readUntil(":bob!bob@chat JOIN #dev");
      await sendIrc(bob, "MODE #dev");
      await bob.readUntil(/ 324 bob #dev \+klnt secret :?5$/);
      await alice.send("/mode +m\n");
      await bob.readUntil(":alice!alice@chat MODE #dev +m");
      await sendIrc(bob, "PRIVMSG #dev :hello");
      await bob.readUntil(/ 404 bob #dev /);
    }),
});

Deno.test({
  name: "modes in Redis that are not valid are left aside with a log line, and the room works",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using client = await connectRedis(redis.url());
    const kind = `modes:${nameKeys("dev")[1]}`;
    await client.command(["HSET", "chat:state", kind, '{"i":true,"k":"x y"']);
    // Not quiet: the log is what this test reads.
    await using a = await startServer(["--rate", "0", "--redis", redis.url()]);
    await a.stdout.waitFor((line) => line.includes(`the shared ${kind} are unreadable`));
    await using alice = await Peer.join(a.port, "alice");
    await client.command(["XADD", "chat:events", "*", "t", "state", "kind", kind, "value", "[]"]);
    await a.stdout.waitFor((line) =>
      line.includes(`the shared ${kind} are unreadable: TypeError: modes are not an object`)
    );
    await alice.send("/join dev\n");
    await alice.readUntil("* You are now in #dev (1 here)");
    await alice.send("/mode\n");
    await alice.readUntil(/^\* Modes of #dev: \+nt \(made /);
  },
});
