import assert from "node:assert/strict";
import { ClusterBus, type ClusterBusOptions } from "./cluster_bus.ts";
import {
  connectRedis,
  type RedisClient,
  RedisNoReplyError,
  type RedisOptions,
  RedisUnavailableError,
} from "./redis.ts";
import { type RedisServer, startRedis } from "../test/redis_test_helpers.ts";
import { LEAK_CHECKS, WAIT_MS } from "../test/test_helpers.ts";

/** Waits until `test` holds, checking every few milliseconds, failing after `ms`. */
async function until(test: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One bus as one process would have it: its own client, and what it heard. */
interface Node {
  client: RedisClient;
  bus: ClusterBus;
  ids: string[];
  entries: Record<string, string>[];
  downs: number;
  ups: number;
  log: string[];
}

async function node(
  redis: RedisServer,
  options: Partial<ClusterBusOptions> = {},
  redisOptions: RedisOptions = {},
): Promise<Node> {
  // Short backoff, so a restarted Redis is found again quickly.
  const client = await connectRedis(redis.url(), {
    reconnectMinMs: 20,
    reconnectMaxMs: 100,
    ...redisOptions,
  });
  const heard: Node = {
    client,
    ids: [],
    entries: [],
    downs: 0,
    ups: 0,
    log: [],
    bus: null as unknown as ClusterBus,
  };
  heard.bus = new ClusterBus(client, {
    cluster: "chat",
    blockMs: 1000,
    onEntry: (id, fields) => {
      heard.ids.push(id);
      heard.entries.push(fields);
    },
    onDown: () => heard.downs++,
    onUp: () => heard.ups++,
    log: (event) => heard.log.push(event),
    ...options,
  });
  return heard;
}

async function startAll(nodes: Node[]): Promise<void> {
  for (const { bus } of nodes) bus.start();
  await Promise.all(nodes.map(({ bus }) => bus.started));
}

async function closeAll(nodes: Node[]): Promise<void> {
  for (const { bus, client } of nodes) {
    await bus.stop();
    await client.close();
  }
}

/** Publishes `count` entries from `from`, one after another, tagged with its name. */
async function publishMany(from: Node, name: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await from.bus.publish({ from: name, n: String(i) }));
  return ids;
}

function assertIncreasing(ids: string[]): void {
  const parse = (id: string): [bigint, bigint] => {
    const [ms, seq] = id.split("-");
    return [BigInt(ms ?? "0"), BigInt(seq ?? "0")];
  };
  for (let i = 1; i < ids.length; i++) {
    const [a, b] = [parse(ids[i - 1] as string), parse(ids[i] as string)];
    assert.ok(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), `${ids[i - 1]} before ${ids[i]}`);
  }
}

Deno.test({
  name: "three buses publishing at once all receive all 600 entries once, in one order",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const nodes = [await node(redis), await node(redis), await node(redis)];
    try {
      await startAll(nodes);
      const published = (await Promise.all(
        nodes.map((from, i) => publishMany(from, `bus${i}`, 200)),
      )).flat();
      await until(() => nodes.every(({ ids }) => ids.length >= 600), "600 entries on every bus");
      const [first] = nodes as [Node];
      assert.equal(first.ids.length, 600);
      assert.equal(new Set(first.ids).size, 600);
      assert.deepEqual([...first.ids].sort(), [...published].sort());
      assertIncreasing(first.ids);
      for (const other of nodes) {
        assert.deepEqual(other.ids, first.ids);
        assert.deepEqual(other.entries, first.entries);
      }
      // Each bus's own entries came back to it, in the order it sent them.
      for (let i = 0; i < nodes.length; i++) {
        const own = first.entries.filter((fields) => fields.from === `bus${i}`);
        assert.deepEqual(own.map((fields) => fields.n), [...Array(200).keys()].map(String));
      }
      assert.deepEqual(nodes.map(({ downs, ups, log }) => [downs, ups, log]), [
        [0, 0, []],
        [0, 0, []],
        [0, 0, []],
      ]);
    } finally {
      await closeAll(nodes);
    }
  },
});

Deno.test({
  name: "an entry published before a bus starts is not delivered to it, one after is",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const a = await node(redis);
    const b = await node(redis);
    try {
      a.bus.start();
      await a.bus.started;
      await a.bus.publish({ line: "before" });
      b.bus.start();
      await b.bus.started;
      const after = await a.bus.publish({ line: "after" });
      await until(() => b.ids.length >= 1 && a.ids.length >= 2, "the entry after start()");
      assert.deepEqual(b.ids, [after]);
      assert.deepEqual(b.entries, [{ line: "after" }]);
      assert.deepEqual(a.entries, [{ line: "before" }, { line: "after" }]);
    } finally {
      await closeAll([a, b]);
    }
  },
});

Deno.test({
  name: "a bus started on a stream that does not exist yet delivers its first entry",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const a = await node(redis);
    try {
      a.bus.start();
      await a.bus.started;
      assert.equal(a.bus.lastId, "0-0");
      const id = await a.bus.publish({ line: "first" });
      await until(() => a.ids.length >= 1, "the first entry");
      assert.deepEqual(a.ids, [id]);
    } finally {
      await closeAll([a]);
    }
  },
});

Deno.test({
  name: "Redis stopped: publish fails at once, onDown once; back empty: logged, onUp once, " +
    "new entries reach every bus once and in order",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const nodes = [await node(redis), await node(redis)];
    const [a, b] = nodes as [Node, Node];
    try {
      await startAll(nodes);
      await publishMany(a, "a", 20);
      await until(() => b.ids.length >= 20, "20 entries before the outage");
      await redis.stop();
      await until(() => nodes.every(({ downs }) => downs > 0), "onDown on every bus");
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        await assert.rejects(b.bus.publish({ line: "lost" }), RedisUnavailableError);
        assert.ok(performance.now() - start < 500, "publish rejects quickly while Redis is down");
      }
      // Redis stays away a while: the buses keep retrying without calling onDown again.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await redis.restart();
      await until(() => nodes.every(({ ups }) => ups > 0), "onUp on every bus");
      const after = [...await publishMany(a, "a", 10), ...await publishMany(b, "b", 10)];
      await until(() => nodes.every(({ ids }) => ids.length >= 40), "the entries after restart");
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const { ids, downs, ups, log } of nodes) {
        assert.equal(ids.length, 40);
        assert.deepEqual(ids.slice(20), after);
        assert.deepEqual(ids, a.ids);
        assert.equal(downs, 1);
        assert.equal(ups, 1);
        assert.equal(log.length, 1);
        assert.match(log[0] as string, /^redis came back empty: chat:events .*from the start/);
      }
    } finally {
      await closeAll(nodes);
    }
  },
});

Deno.test({
  name: "Redis paused: a publish it was sent fails as no reply and is delivered once when it " +
    "resumes, one refused meanwhile never; no onUp while it is paused",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    // A short command timeout, so that a short pause outlasts it.
    const quick = { commandTimeoutMs: 300 };
    const nodes = [await node(redis, {}, quick), await node(redis, {}, quick)];
    const [a, b] = nodes as [Node, Node];
    try {
      await startAll(nodes);
      const before = await a.bus.publish({ line: "before" });
      await until(() => b.ids.length === 1, "the entry before the pause");
      const pid = redis.pid;
      Deno.kill(pid, "SIGSTOP");
      try {
        await assert.rejects(a.bus.publish({ line: "late" }), RedisNoReplyError);
        assert.equal(a.downs, 1);
        const refused = a.bus.publish({ line: "refused" });
        await assert.rejects(refused, (error: Error) => {
          assert.ok(error instanceof RedisUnavailableError, String(error));
          assert.ok(!(error instanceof RedisNoReplyError));
          return true;
        });
        await until(() => b.downs === 1, "b's read to time out");
        // Paused past a few connect deadlines: every reconnect's handshake completes, in the
        // kernel, and none may count as Redis being back. The pause is what is under test.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.deepEqual(nodes.map(({ ups }) => ups), [0, 0]);
      } finally {
        Deno.kill(pid, "SIGCONT");
      }
      await until(() => nodes.every(({ ups }) => ups === 1), "onUp on every bus");
      const after = await b.bus.publish({ line: "after" });
      await until(() => nodes.every(({ ids }) => ids.length >= 3), "the entry after the pause");
      for (const { ids, entries, downs, ups, log } of nodes) {
        // Redis runs the late one as it resumes, before it answers anything sent after.
        assert.deepEqual(entries, [{ line: "before" }, { line: "late" }, { line: "after" }]);
        assert.equal(ids[0], before);
        assert.equal(ids[2], after);
        assert.deepEqual(ids, a.ids);
        assert.deepEqual([downs, ups, log], [1, 1, []]);
      }
    } finally {
      await closeAll(nodes);
    }
  },
});

Deno.test({
  name: "connections killed while entries are added: every bus resumes from its last entry, " +
    "nothing missed, nothing twice",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const nodes = [await node(redis), await node(redis)];
    const [a, b] = nodes as [Node, Node];
    await using killer = await connectRedis(redis.url());
    try {
      await startAll(nodes);
      const before = await publishMany(a, "a", 50);
      await until(() => b.ids.length >= 50, "50 entries before the kill");
      // The killer stays (SKIPME yes); its entries are added while the buses reconnect.
      const kill = killer.command(["CLIENT", "KILL", "TYPE", "normal"]);
      const during = await Promise.all(
        [...Array(50).keys()].map((n) => killer.xadd("chat:events", { from: "k", n: String(n) })),
      );
      assert.ok(Number(await kill) >= 4, "both connections of both buses were killed");
      await until(() => nodes.every(({ ups }) => ups > 0), "onUp on every bus");
      const after = await publishMany(b, "b", 50);
      await until(() => nodes.every(({ ids }) => ids.length >= 150), "150 entries on every bus");
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const { ids, downs, ups, log } of nodes) {
        assert.deepEqual(ids, [...before, ...during, ...after]);
        assert.deepEqual([downs, ups, log], [1, 1, []]);
      }
    } finally {
      await closeAll(nodes);
    }
  },
});

Deno.test({
  name: "stop() ends a read blocked in Redis at once, leaving nothing pending",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const a = await node(redis, { blockMs: 10_000 });
    try {
      a.bus.start();
      await a.bus.started;
      await new Promise((resolve) => setTimeout(resolve, 50));
      const start = performance.now();
      await a.bus.stop();
      assert.ok(performance.now() - start < 200, "stop() does not wait for the blocked read");
      assert.throws(() => a.bus.start(), /already called/);
    } finally {
      await a.client.close();
    }
  },
});

Deno.test({
  name: "reads of a few entries at a time still deliver every entry in order, and an onEntry " +
    "that throws is logged and skipped",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const a = await node(redis);
    const seen: string[] = [];
    const b = await node(redis, {
      count: 7,
      onEntry: (id, fields) => {
        seen.push(id);
        if (fields.n === "3") throw new Error("a handler bug");
      },
    });
    try {
      await startAll([a, b]);
      const ids = await publishMany(a, "a", 50);
      await until(() => seen.length >= 50, "50 entries read 7 at a time");
      assert.deepEqual(seen, ids);
      assert.equal(b.log.length, 1);
      assert.match(b.log[0] as string, new RegExp(`onEntry failed on ${ids[3]}: a handler bug`));
    } finally {
      await closeAll([a, b]);
    }
  },
});

Deno.test({
  name: "a bus started while Redis is away fixes its start point when Redis is back",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const a = await node(redis);
    try {
      await redis.stop();
      await until(() => !a.client.ready, "the client to see Redis gone");
      let started = false;
      a.bus.start();
      a.bus.started.then(() => started = true);
      await until(() => a.downs === 1, "onDown");
      assert.equal(started, false);
      await redis.restart();
      await until(() => started && a.ups === 1, "the start point and onUp");
      const id = await a.bus.publish({ line: "hello" });
      await until(() => a.ids.length >= 1, "the entry");
      assert.deepEqual(a.ids, [id]);
      assert.deepEqual(a.log, []);
    } finally {
      await closeAll([a]);
    }
  },
});
