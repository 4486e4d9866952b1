import assert from "node:assert/strict";
import { ClusterNames, type ClusterNamesOptions, DEFAULT_ROSTER_MS } from "./cluster_names.ts";
import { nameKeys } from "../protocol.ts";
import {
  connectRedis,
  type RedisClient,
  type RedisOptions,
  type RedisReply,
  RedisUnavailableError,
} from "./redis.ts";
import {
  type RedisServer,
  startRedis,
  type StartRedisOptions,
} from "../test/redis_test_helpers.ts";
import { LEAK_CHECKS, WAIT_MS } from "../test/test_helpers.ts";

/** Short leases so that expiry is seen quickly: a lease is four heartbeats. */
const LEASE_MS = 600;
const HEARTBEAT_MS = 150;

/** Waits until `test` holds, checking every few milliseconds, failing after `ms`. */
async function until(test: () => boolean | Promise<boolean>, what: string, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One process of the cluster: its own client and names. */
interface Process {
  client: RedisClient;
  names: ClusterNames;
  lost: string[];
  logged: string[];
}

/** A Redis and two processes, "a" and "b", on separate clients; all closed at the end. */
async function cluster(
  options: Partial<ClusterNamesOptions> = {},
  clientOptions: RedisOptions = {},
  redisOptions: StartRedisOptions = {},
) {
  const redis = await startRedis(redisOptions);
  const processes: Process[] = [];
  const open = async (processId: string): Promise<Process> => {
    const client = await connectRedis(redis.url(), { reconnectMaxMs: 200, ...clientOptions });
    const lost: string[] = [];
    const logged: string[] = [];
    const names = new ClusterNames(client, {
      cluster: "test",
      processId,
      leaseMs: LEASE_MS,
      heartbeatMs: HEARTBEAT_MS,
      onLost: (name) => lost.push(name),
      log: (message) => logged.push(message),
      ...options,
    });
    const process = { client, names, lost, logged };
    processes.push(process);
    return process;
  };
  const a = await open("a");
  const b = await open("b");
  return {
    redis: redis as RedisServer,
    a,
    b,
    open,
    async [Symbol.asyncDispose]() {
      for (const process of processes) {
        await process.names.stop();
        await process.client.close();
      }
      await redis[Symbol.asyncDispose]();
    },
  };
}

/** The `t=gone` entries of the cluster's event stream, oldest first: each one's members. */
async function goneEntries(client: RedisClient): Promise<[string, string][][]> {
  const entries = await client.xrange("test:events", "-", "+");
  return entries.flatMap(([, fields]) =>
    fields.t === "gone" ? [JSON.parse(fields.members as string) as [string, string][]] : []
  );
}

/** Whether the process `id`'s presence (its members' hash) has ended with its lease. */
async function presenceGone(client: RedisClient, id: string): Promise<boolean> {
  return await client.command(["EXISTS", `test:members:${id}`]) === 0;
}

/** Processes that never beat, sharing `client`: as good as dead once their leases end. */
function silent(client: RedisClient, processId: string): ClusterNames {
  return new ClusterNames(client, {
    cluster: "test",
    processId,
    leaseMs: LEASE_MS,
    heartbeatMs: HEARTBEAT_MS,
  });
}

/** The members as sorted "process:name@room" strings, for comparing. */
async function who(names: ClusterNames): Promise<string[]> {
  return (await names.members()).map((m) => `${m.processId}:${m.name}@${m.room}`).sort();
}

Deno.test({
  name: "a name taken on one process makes the same name in another case a numbered one",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    assert.equal(await c.a.names.uniqueClaim("alice"), "alice");
    assert.equal(await c.b.names.claim("ALICE"), false);
    assert.equal(await c.b.names.uniqueClaim("ALICE"), "ALICE2");
    assert.equal(await c.a.names.uniqueClaim("Alice"), "Alice3");
    assert.deepEqual(c.a.names.names, ["alice", "Alice3"]);
    assert.deepEqual(c.b.names.names, ["ALICE2"]);
  },
});

Deno.test({
  name: "a lookalike of a held name is refused on another process",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    // Cyrillic а: the same name by nameKeys, so by the cluster too.
    assert.equal(nameKeys("\u0430lice")[0], nameKeys("alice")[0]);
    assert.equal(await c.a.names.claim("alice"), true);
    assert.equal(await c.b.names.claim("\u0430lice"), false);
    assert.equal(await c.b.names.claim("aIice"), false);
    assert.equal(await c.b.names.uniqueClaim("\u0430lice"), "\u0430lice2");
  },
});

Deno.test({
  name: "two processes racing for the same name never both win, fifty times",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    for (let i = 0; i < 50; i++) {
      const [one, other] = i % 2 === 0 ? ["bob", "BOB"] : ["carol" + i, "carol" + i];
      const [a, b] = await Promise.all([
        c.a.names.claim(one as string),
        c.b.names.claim(other as string),
      ]);
      assert.equal(Number(a) + Number(b), 1, `round ${i}: a ${a}, b ${b}`);
      const winner = a ? c.a.names : c.b.names;
      await winner.release(a ? one as string : other as string);
    }
    assert.deepEqual([...c.a.names.names, ...c.b.names.names], []);
  },
});

Deno.test({
  name: "a released name is free for the other process, and a stranger cannot release it",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    assert.equal(await c.a.names.claim("dave"), true);
    // b does not hold it: its release leaves a's keys alone.
    await c.b.names.release("dave");
    assert.equal(await c.b.names.claim("Dave"), false);
    await c.a.names.release("dave");
    assert.equal(await c.b.names.claim("Dave"), true);
    assert.deepEqual(await who(c.a.names), ["b:Dave@"]);
  },
});

Deno.test({
  name: "rename takes the new name, keeps the room and frees the old; a taken name keeps the old",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    assert.equal(await c.a.names.claim("erin"), true);
    await c.a.names.setRoom("erin", "lobby");
    assert.equal(await c.b.names.claim("frank"), true);
    assert.equal(await c.a.names.rename("erin", "FRANK"), false);
    assert.deepEqual(c.a.names.names, ["erin"]);
    assert.equal(await c.a.names.rename("erin", "erin-away"), true);
    assert.deepEqual(c.a.names.names, ["erin-away"]);
    assert.deepEqual(await who(c.b.names), ["a:erin-away@lobby", "b:frank@"]);
    assert.equal(await c.b.names.claim("Erin"), true);
  },
});

Deno.test({
  name: "the heartbeat keeps a name held past several leases",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    assert.equal(await c.a.names.claim("gina"), true);
    c.a.names.start();
    c.a.names.start(); // a second start is ignored
    const [key] = nameKeys("gina");
    const deadline = Date.now() + LEASE_MS * 4;
    while (Date.now() < deadline) {
      assert.equal(await c.b.names.claim("gina"), false, "taken while a renews it");
      const ttl = await c.b.client.command(["PTTL", `test:name:${key}`]);
      assert.ok(typeof ttl === "number" && ttl > 0 && ttl <= LEASE_MS, `ttl ${ttl}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(c.a.lost, []);
    assert.deepEqual(c.a.logged, []);
  },
});

Deno.test({
  name: "a process that stops heartbeating loses its names and its members within the lease",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    c.a.names.start();
    c.b.names.start();
    assert.equal(await c.a.names.claim("hal", "lobby"), true);
    assert.equal(await c.b.names.claim("ida", "den"), true);
    assert.deepEqual(await who(c.b.names), ["a:hal@lobby", "b:ida@den"]);
    // a dies without a word: no more heartbeats, nothing released.
    await c.a.names.stop();
    const died = Date.now();
    await until(() => c.b.names.claim("hal"), "hal to be free", LEASE_MS * 3);
    assert.ok(Date.now() - died <= LEASE_MS + 200, `free after ${Date.now() - died} ms`);
    await until(
      async () => (await who(c.b.names)).join() === "b:hal@,b:ida@den",
      "a's members to leave",
      LEASE_MS * 3,
    );
    assert.deepEqual(await c.b.client.smembers("test:processes"), ["b"]);
  },
});

Deno.test({
  name: "a name taken by another process behind the holder's back is reported lost",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    assert.equal(await c.a.names.claim("jan", "lobby"), true);
    assert.equal(await c.a.names.claim("kim"), true);
    c.a.names.start();
    // As if a's lease ran out during an outage and b took the name meanwhile.
    await c.b.client.del(...nameKeys("jan").map((key) => `test:name:${key}`));
    assert.equal(await c.b.names.claim("JAN"), true);
    // And kim's second key overwritten by hand.
    await c.b.client.set(`test:name:${nameKeys("kim")[1]}`, "someone\nkim");
    await until(() => c.a.lost.length === 2, "a to hear of its lost names", LEASE_MS * 3);
    assert.deepEqual(c.a.lost.sort(), ["jan", "kim"]);
    assert.deepEqual(c.a.names.names, []);
    assert.deepEqual(await who(c.b.names), ["b:JAN@"]);
    // The lost name's other key, still a's, was freed with it.
    assert.equal(await c.b.client.get(`test:name:${nameKeys("kim")[0]}`), null);
  },
});

Deno.test({
  name: "keys deleted with nobody taking the name are taken back by the heartbeat",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    assert.equal(await c.a.names.claim("lee"), true);
    await c.a.names.setRoom("lee", "lobby");
    await c.b.client.del(
      ...nameKeys("lee").map((key) => `test:name:${key}`),
      "test:members:a",
      "test:processes",
    );
    assert.deepEqual(await who(c.b.names), []);
    c.a.names.start();
    await until(async () => (await who(c.b.names)).join() === "a:lee@lobby", "lee back in /who");
    assert.equal(await c.b.names.claim("lee"), false);
    assert.deepEqual(c.a.lost, []);
  },
});

Deno.test({
  name: "members lists the names of every process with their rooms",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    const third = await c.open("c");
    assert.equal(await c.a.names.claim("mia", "lobby"), true);
    assert.equal(await c.a.names.claim("ned"), true);
    await c.a.names.setRoom("ned", "den");
    assert.equal(await c.b.names.claim("oz", "lobby"), true);
    await c.b.names.setRoom("nobody", "den"); // not b's: ignored
    assert.deepEqual(await who(third.names), ["a:mia@lobby", "a:ned@den", "b:oz@lobby"]);
    await c.a.names.releaseAll();
    assert.deepEqual(await who(third.names), ["b:oz@lobby"]);
    // a holds nothing now, so it is dropped from the processes until it claims again.
    assert.deepEqual(await c.b.client.smembers("test:processes"), ["b"]);
  },
});

Deno.test({
  name: "while Redis is away claims reject, the heartbeat retries one at a time and then recovers",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    assert.equal(await c.a.names.claim("pat", "lobby"), true);
    c.a.names.start();
    await c.redis.stop();
    await assert.rejects(c.a.names.claim("quinn"), RedisUnavailableError);
    await assert.rejects(c.a.names.release("pat"), RedisUnavailableError);
    await until(() => c.a.logged.length >= 3, "three failed beats");
    // One failure a beat: they do not pile up behind a Redis that is away.
    const count = c.a.logged.length;
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS * 2 + 50));
    assert.ok(c.a.logged.length - count <= 3, `${c.a.logged.length - count} failures in 2 beats`);
    // Redis comes back empty (no persistence): the heartbeat sees the release through.
    await c.redis.restart();
    await until(() => c.a.client.ready && c.b.client.ready, "both clients to reconnect");
    assert.equal(await c.a.names.claim("quinn", "den"), true);
    await until(async () => (await who(c.b.names)).join() === "a:quinn@den", "a's /who back");
    assert.equal(await c.b.names.claim("pat"), true);
  },
});

Deno.test({
  name: "a Redis that stops answering has one renewal in flight at a time, not one per beat",
  ...LEAK_CHECKS,
  async fn() {
    // Each command waits up to 1 s for its reply: six beats' worth.
    await using c = await cluster({}, { commandTimeoutMs: HEARTBEAT_MS * 6 });
    assert.equal(await c.a.names.claim("rae"), true);
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const client = c.a.client;
    const evalReal = client.eval.bind(client);
    client.eval = async (...args): Promise<RedisReply> => {
      calls++;
      most = Math.max(most, ++inFlight);
      try {
        return await evalReal(...args);
      } finally {
        inFlight--;
      }
    };
    const pid = c.redis.pid;
    Deno.kill(pid, "SIGSTOP");
    try {
      c.a.names.start();
      await until(() => c.a.logged.length >= 2, "two renewals to time out");
    } finally {
      Deno.kill(pid, "SIGCONT");
    }
    assert.equal(most, 1);
    assert.ok(
      calls <= c.a.logged.length + 1,
      `${calls} renewals for ${c.a.logged.length} failures`,
    );
    await until(() => c.a.client.ready, "a's client to reconnect");
    await until(() => calls > c.a.logged.length + 1, "a renewal after Redis is back");
    await until(async () => (await who(c.b.names)).join() === "a:rae@", "rae still held");
    assert.deepEqual(c.a.lost, []);
  },
});

Deno.test({
  name: "a process that dies without a word is reaped once: one gone entry lists its members",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    c.a.names.start();
    c.b.names.start();
    assert.equal(await c.a.names.claim("hal", "lobby"), true);
    assert.equal(await c.a.names.claim("ivy", "lobby"), true);
    assert.equal(await c.a.names.claim("jo"), true);
    await c.a.names.setRoom("jo", "den");
    assert.equal(await c.b.names.claim("kit", "lobby"), true);
    // Those who left properly are not in the roster any more: nobody hears of them twice.
    await c.a.names.release("ivy");
    assert.equal(await c.a.names.rename("hal", "hank"), true);
    await c.a.names.stop();
    const died = Date.now();
    await until(async () => (await goneEntries(c.b.client)).length > 0, "a gone entry", WAIT_MS);
    // A lease for a's presence to expire, a beat for b to see it.
    const took = Date.now() - died;
    assert.ok(took <= LEASE_MS + HEARTBEAT_MS + 200, `reaped after ${took} ms`);
    const [members, ...more] = await goneEntries(c.b.client);
    assert.deepEqual(members?.sort(), [["hank", "lobby"], ["jo", "den"]]);
    assert.deepEqual(more, []);
    assert.equal(await c.b.client.get("test:roster:a"), null);
    assert.deepEqual(await c.b.client.hgetall("test:roster:a"), {});
    assert.deepEqual(await c.b.client.smembers("test:processes"), ["b"]);
    // Reaping again, by hand or by /who, finds nothing more to say.
    assert.equal(await c.b.names.reap(), 0);
    assert.deepEqual(await who(c.b.names), ["b:kit@lobby"]);
    assert.equal((await goneEntries(c.b.client)).length, 1);
  },
});

Deno.test({
  name: "twenty processes die at once, two live ones reap them concurrently: one entry each",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    c.a.names.start();
    c.b.names.start();
    const dead = Array.from({ length: 20 }, (_, i) => silent(c.a.client, `dead${i}`));
    await Promise.all(dead.map((names, i) => names.claim(`m${i}`, `room${i % 3}`)));
    await until(
      async () =>
        (await c.a.client.command(["KEYS", "test:members:dead*"]) as string[]).length === 0,
      "the dead processes' presence to expire",
    );
    // Both heartbeats race for them too.
    const reaped = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? c.a : c.b).names.reap()),
    );
    assert.ok(reaped.every((n) => n >= 0 && n <= 20), `reaped ${reaped}`);
    const entries = await goneEntries(c.a.client);
    assert.equal(entries.length, 20);
    const names = entries.map((members) => {
      assert.equal(members.length, 1);
      return members[0]!.join("@");
    });
    assert.deepEqual(
      names.sort(),
      Array.from({ length: 20 }, (_, i) => `m${i}@room${i % 3}`).sort(),
    );
    const left = await c.a.client.smembers("test:processes");
    assert.deepEqual(left.filter((id) => id.startsWith("dead")), []);
    assert.deepEqual(await c.a.client.command(["KEYS", "test:roster:dead*"]), []);
  },
});

Deno.test({
  name: "a dead process's member who is back on a live process before the reap is not announced",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    // The reaper: a heartbeat that started and stopped, so that only reap() below reaps.
    const reaper = silent(c.b.client, "reaper");
    reaper.start();
    await reaper.stop();
    assert.equal(await c.a.names.claim("rae", "lobby"), true);
    assert.equal(await c.a.names.claim("sam", "lobby"), true);
    // Standing in for the live processes' heartbeats, which keep the set of processes.
    await c.b.client.command(["PERSIST", "test:processes"]);
    // a never beats: once its lease ends, rae reconnects on b under the same name.
    await until(() => c.b.names.claim("rae", "lobby"), "rae to be free", LEASE_MS * 3);
    // a's presence was renewed by its last claim, a moment after rae's: it ends a moment later.
    await until(() => presenceGone(c.b.client, "a"), "a's presence to end", LEASE_MS * 3);
    assert.equal(await reaper.reap(), 1);
    assert.deepEqual(await goneEntries(c.b.client), [[["sam", "lobby"]]]);
  },
});

Deno.test({
  name: "a process whose members all came back elsewhere is reaped without an entry",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster();
    const reaper = silent(c.b.client, "reaper");
    reaper.start();
    await reaper.stop();
    assert.equal(await c.a.names.claim("tom", "lobby"), true);
    await c.b.client.command(["PERSIST", "test:processes"]);
    await until(() => c.b.names.claim("tom", "den"), "tom to be free", LEASE_MS * 3);
    await until(() => presenceGone(c.b.client, "a"), "a's presence to end", LEASE_MS * 3);
    assert.equal(await reaper.reap(), 0);
    assert.deepEqual(await goneEntries(c.b.client), []);
    assert.deepEqual(await c.b.client.hgetall("test:roster:a"), {});
    assert.deepEqual(await c.b.client.smembers("test:processes"), ["b"]);
  },
});

Deno.test({
  name: "a roster lives far longer than the lease, yet ends when the whole cluster died",
  ...LEAK_CHECKS,
  async fn() {
    const rosterMs = LEASE_MS * 3;
    await using c = await cluster({ rosterMs });
    const defaults = silent(c.a.client, "defaults");
    assert.equal(await defaults.claim("uma"), true);
    const ttl = await c.a.client.command(["PTTL", "test:roster:defaults"]);
    assert.ok(typeof ttl === "number" && ttl > 60_000 && ttl <= DEFAULT_ROSTER_MS, `ttl ${ttl}`);
    await defaults.release("uma");
    c.a.names.start();
    c.b.names.start();
    assert.equal(await c.a.names.claim("vic", "lobby"), true);
    assert.equal(await c.b.names.claim("wes", "lobby"), true);
    // Both die: nobody is left to reap, and nobody to tell.
    await c.a.names.stop();
    await c.b.names.stop();
    await until(
      async () => (await c.a.client.command(["KEYS", "test:*"]) as string[]).length === 0,
      "every key of the cluster to expire",
      rosterMs * 3,
    );
    assert.deepEqual(await goneEntries(c.a.client), []);
  },
});

Deno.test({
  name: "after an outage a process reaps nobody for a lease: one still reconnecting is not gone",
  ...LEAK_CHECKS,
  async fn() {
    await using c = await cluster({}, {}, { persist: true });
    // b waits a lease after an outage before it reaps: long here, so that a has time to come back.
    const failures: string[] = [];
    const b = new ClusterNames(c.b.client, {
      cluster: "test",
      processId: "b",
      leaseMs: LEASE_MS * 5,
      heartbeatMs: HEARTBEAT_MS,
      log: (message) => failures.push(message),
    });
    b.start();
    assert.equal(await c.a.names.claim("xan", "lobby"), true);
    assert.equal(await b.claim("yul", "den"), true);
    // a stops beating (its client still reconnecting, say) and Redis goes away, data kept.
    await c.a.names.stop();
    await c.redis.stop();
    await until(() => failures.length > 0, "a failed beat of b's");
    await c.redis.restart();
    await until(
      async () => (await who(b).catch((): string[] => [])).includes("b:yul@den"),
      "Redis back",
    );
    // a's presence expired meanwhile, as it does in an outage longer than its lease.
    await c.b.client.del("test:members:a");
    await until(async () => (await who(b)).join() === "b:yul@den", "a to be out of /who");
    c.a.names.start();
    await until(async () => (await who(b)).length === 2, "a back in /who");
    assert.deepEqual(await goneEntries(c.b.client), []);
    // Then a really dies: the one entry is its own, after it.
    await c.a.names.stop();
    await until(
      async () => (await goneEntries(c.b.client)).length > 0,
      "a gone entry",
      WAIT_MS * 2,
    );
    assert.deepEqual(await goneEntries(c.b.client), [[["xan", "lobby"]]]);
    await b.stop();
  },
});

Deno.test({
  name: "a heartbeat not shorter than the lease is refused",
  ...LEAK_CHECKS,
  fn() {
    assert.throws(
      () =>
        new ClusterNames({} as RedisClient, {
          cluster: "x",
          processId: "p",
          leaseMs: 100,
          heartbeatMs: 100,
        }),
      RangeError,
    );
  },
});
