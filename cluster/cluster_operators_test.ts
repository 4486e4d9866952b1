/**
 * Operators across a cluster: two real `server.ts` processes on a real
 * `redis-server`, with raw TCP members on each. A room's operator, or a
 * server operator, on one process acts on members of the other as in one.
 */

import assert from "node:assert/strict";
import { connectRedis } from "./redis.ts";
import { startRedis } from "../test/redis_test_helpers.ts";
import { LEAK_CHECKS, Peer, type ServerProcess, startServer } from "../test/test_helpers.ts";

/** The names of a `* N in #room: a, @b` answer, sorted. */
function whoNames(line: string | undefined): string[] {
  const match = line?.match(/^\* \d+ (?:in #\S+|online): (.*)$/);
  assert.ok(match, `not a /who answer: ${line}`);
  return (match[1] as string).split(", ").sort();
}

/**
 * Runs `body` with two processes of a cluster on a Redis of its own, with
 * `sesame` as the operator password; stops them all after.
 */
async function withTwo(
  body: (a: ServerProcess, b: ServerProcess, redisUrl: string) => Promise<void>,
): Promise<void> {
  await using redis = await startRedis();
  const dir = await Deno.makeTempDir({ prefix: "chat-cluster-ops-" });
  await Deno.writeTextFile(`${dir}/oper`, "sesame\n");
  const servers: ServerProcess[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      servers.push(
        await startServer(
          ["--quiet", "--rate", "0", "--redis", redis.url(), "--oper-password-file", `${dir}/oper`],
          ["--allow-net", `--allow-read=${dir}`],
        ),
      );
    }
    await body(servers[0]!, servers[1]!, redis.url());
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "a room's operators: /op, /deop and /kick reach members of another process; /who shows @",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(async (a, b) => {
      await using alice = await Peer.join(a.port, "alice");
      await using bob = await Peer.join(b.port, "bob");
      await using carol = await Peer.join(b.port, "carol");
      await alice.send("/join dev\n");
      // The first one in a room anywhere is its operator.
      await alice.readUntil("* You are now in #dev (1 here)");
      await bob.send("/join dev\n");
      await bob.readUntil("* You are now in #dev (2 here)");
      await carol.send("/join dev\n");
      await carol.readUntil("* You are now in #dev (3 here)");
      await alice.readUntil("* carol joined #dev");
      await bob.send("/who\n");
      assert.deepEqual(whoNames((await bob.readUntil(/^\* 3 in #dev/)).at(-1)), [
        "@alice",
        "bob",
        "carol",
      ]);
      // Not an operator: refused on bob's own process, whoever the target is.
      await bob.send("/kick alice\n");
      await bob.readUntil("! Only operators can /kick");

      // alice, on a, makes bob, on b, an operator: b carries it out, the room hears it once.
      await alice.send("/op bob\n");
      const notice = "* bob was made an operator of #dev by alice";
      await alice.readUntil(notice);
      await bob.readUntil(notice);
      await carol.readUntil(notice);
      await carol.send("/who\n");
      assert.deepEqual(whoNames((await carol.readUntil(/^\* 3 in #dev/)).at(-1)), [
        "@alice",
        "@bob",
        "carol",
      ]);
      await alice.send("/op bob\n");
      await alice.readUntil("! bob is already an operator of #dev");

      // bob, now an operator on b, removes alice, on a: a carries it out.
      await bob.send("/deop alice\n");
      const removed = "* alice was removed as an operator of #dev by bob";
      await bob.readUntil(removed);
      await alice.readUntil(removed);
      await alice.send("/kick carol\n");
      await alice.readUntil("! Only operators can /kick");

      // bob kicks alice, on a, back to #lobby; the room hears it once, alice is told.
      await bob.send("/kick alice too loud\n");
      const kicked = "* alice was kicked by bob (too loud)";
      await carol.readUntil(kicked);
      const aliceSaw = await alice.readUntil(/^\* You are now in #lobby \(\d+ here\)$/);
      assert.equal(aliceSaw.filter((line) => line === kicked).length, 1, aliceSaw.join("\n"));
      await carol.send("/who\n");
      const after = await carol.readUntil(/^\* 2 in #dev/);
      assert.deepEqual(whoNames(after.at(-1)), ["@bob", "carol"]);
      assert.equal(after.filter((line) => line === kicked).length, 0, "the kick was heard twice");
      // alice is back in #lobby, and no longer in #dev for anyone.
      await alice.send("/join dev\n");
      await alice.readUntil("* You are now in #dev (3 here)");
    }),
});

Deno.test({
  name: "server operators act on members of another process; a server operator elsewhere is safe",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(async (a, b) => {
      await using admin = await Peer.join(a.port, "admin");
      await using eve = await Peer.join(b.port, "eve");
      await using mallory = await Peer.join(b.port, "mallory");
      await using boss = await Peer.join(b.port, "boss");
      await admin.readUntil("* boss joined the chat");
      await admin.send("/oper sesame\n");
      await admin.readUntil("* You are now a server operator");
      await boss.send("/oper sesame\n");
      await boss.readUntil("* You are now a server operator");
      // Server operators are marked wherever they are.
      await eve.send("/who\n");
      assert.deepEqual(whoNames((await eve.readUntil(/^\* 4 online/)).at(-1)), [
        "@admin",
        "@boss",
        "eve",
        "mallory",
      ]);
      await admin.send("/kick boss\n");
      await admin.readUntil("! You cannot /kick a server operator");
      await admin.send("/ban boss\n");
      await admin.readUntil("! You cannot /ban a server operator");
      await admin.send("/deop boss\n");
      await admin.readUntil("! You cannot /deop a server operator");

      // A kick from #lobby disconnects, on the other process too.
      await mallory.send("/join den\n");
      await mallory.readUntil("* You are now in #den (1 here)");
      await admin.send("/kick mallory\n");
      const fromDen = "* mallory was kicked by admin";
      await admin.readUntil(fromDen);
      await mallory.readUntil(fromDen);
      await mallory.readUntil(/^\* You are now in #lobby/);
      await admin.send("/kick mallory spam\n");
      const out = "* mallory was kicked by admin (spam)";
      await eve.readUntil(out);
      const lastWords = await mallory.expectClosed();
      assert.equal(lastWords.filter((line) => line === out).length, 1, lastWords.join("\n"));
      // No `left the chat` after a kick: the room heard who kicked, and why.
      await eve.send("/who\n");
      const seen = await eve.readUntil(/^\* 3 online/);
      assert.ok(!seen.some((line) => line.includes("mallory left")), seen.join("\n"));

      // /mute and /unmute of a member elsewhere: its room hears both.
      await admin.send("/mute eve 5m\n");
      await eve.readUntil("* eve was muted by admin for 5m");
      await eve.send("hello?\n");
      await eve.readUntil(/^! You are muted \(until \d\d:\d\d\)$/);
      await admin.send("/unmute eve\n");
      await eve.readUntil("* eve was unmuted by admin");
      await eve.send("thanks\n");
      await admin.readUntil("eve: thanks");

      // A ban of a member elsewhere: it hears why, then is gone.
      await admin.send("/ban eve 1h rude\n");
      const banned = "* eve was banned by admin for 1h (rude)";
      await boss.readUntil(banned);
      const eveSaw = await eve.expectClosed();
      assert.ok(eveSaw.includes(banned), eveSaw.join("\n"));
    }),
});

Deno.test({
  name:
    "what another process says is checked here: no kick of a server operator, no false departures",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(async (a, _, redisUrl) => {
      await using client = await connectRedis(redisUrl);
      await using boss = await Peer.join(a.port, "boss");
      await using alice = await Peer.join(a.port, "alice");
      await boss.send("/oper sesame\n");
      await boss.readUntil("* You are now a server operator");
      const ids = await client.smembers("chat:processes");
      const holders = await Promise.all(ids.map((id) => client.hgetall(`chat:members:${id}`)));
      const idOfA = ids[holders.findIndex((hash) => hash.boss !== undefined)];
      assert.ok(idOfA !== undefined);
      /** Adds an entry to the stream as another process would, then a line behind it. */
      const say = async (fields: Record<string, string>, marker: string) => {
        await client.xadd("chat:events", fields);
        await alice.send(`${marker}\n`);
        return await alice.readUntil(`alice: ${marker}`);
      };
      // An operator elsewhere who did not yet know boss had proved /oper: boss stays.
      await say(
        { t: "act", action: "disconnect", name: "boss", room: "lobby", process: idOfA },
        "one",
      );
      await boss.send("/who\n");
      await boss.readUntil(/^\* 2 online: /);
      // An act meant for another process's member of that name is not done here.
      await say(
        { t: "act", action: "disconnect", name: "alice", room: "lobby", process: "elsewhere" },
        "two",
      );
      // A dead process's members: a live member here is not announced; a big room hears none.
      const seen = await say(
        { t: "gone", members: JSON.stringify([["alice", "lobby\n\n"], ["ghost", "lobby\n\n"]]) },
        "three",
      );
      assert.deepEqual(seen.filter((line) => line.includes("left the chat")), [
        "* ghost left the chat (connection lost)",
      ]);
      const crowd = Array.from({ length: 150 }, (_, i) => [`g${i}`, "lobby\n\n"]);
      const quiet = await say({ t: "gone", members: JSON.stringify(crowd) }, "four");
      assert.deepEqual(quiet.filter((line) => line.includes("left the chat")), []);
    }),
});
