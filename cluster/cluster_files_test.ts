import assert from "node:assert/strict";
import {
  REDIS_FILE_OVERHEAD_BYTES,
  RedisFiles,
  RESERVATION_MS,
  SLICE_BYTES,
} from "./cluster_files.ts";
import { connectRedis, type RedisClient, RedisUnavailableError } from "./redis.ts";
import { type RedisServer, startRedis } from "../test/redis_test_helpers.ts";
import { LEAK_CHECKS, WAIT_MS } from "../test/test_helpers.ts";
import { share, sharedFile } from "../test/file_test_helpers.ts";

const MiB = 1024 * 1024;

/** Every byte value, and more: a file that no text decoding would keep. */
function binary(length: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 131 + 7) & 0xff);
}

/** Two processes' stores on one real Redis, and a client to look at its keys. */
interface Two {
  redis: RedisServer;
  one: RedisFiles;
  two: RedisFiles;
  /** A third client, for looking at the keys. */
  look: RedisClient;
  /** The clients of `one` and `two`. */
  clients: RedisClient[];
}

/** Runs `fn` with two stores of cluster `test` on a fresh redis-server, all closed after. */
async function withTwo(quota: number, fn: (two: Two) => Promise<void>): Promise<void> {
  await using redis = await startRedis();
  const clients = [await connectRedis(redis.url()), await connectRedis(redis.url())];
  const look = await connectRedis(redis.url());
  try {
    const [a, b] = clients as [RedisClient, RedisClient];
    await fn({
      redis,
      one: new RedisFiles(a, { cluster: "test", quota }),
      two: new RedisFiles(b, { cluster: "test", quota }),
      look,
      clients,
    });
  } finally {
    await Promise.all([...clients, look].map((client) => client.close()));
  }
}

/** The quota hash: `used` and each process's reservation. */
async function quotaOf(look: RedisClient): Promise<Record<string, string>> {
  return await look.hgetall("test:filequota");
}

Deno.test({
  name: "two processes share files: one saves, the other finds, reads, lists and removes",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(MiB, async ({ one, two, look }) => {
      const now = Date.now();
      const later = await share(one, binary(10), { at: now + 5, name: "later" });
      const first = await share(two, binary(20), { at: now, name: "first" });
      const elsewhere = await share(one, binary(30), { room: "dev" });
      const secret = await share(one, binary(40), { room: null, to: "bob" });
      assert.deepEqual(await two.find(later.id), later);
      assert.deepEqual(await two.read(later.id), binary(10));
      assert.deepEqual(await one.read(first.id), binary(20));
      assert.deepEqual(await two.read(secret.id), binary(40));
      assert.deepEqual((await two.list("lobby")).map((file) => file.name), ["first", "later"]);
      assert.deepEqual(await one.list("dev"), [elsewhere]);
      assert.deepEqual(await one.list("nowhere"), []);
      // Both keys expire with the file.
      const life = Number(await look.command(["PTTL", `test:file:${later.id}`]));
      assert.ok(life > 55_000 && life <= 60_000, `PTTL ${life}`);
      assert.ok(Number(await look.command(["PTTL", `test:filemeta:${later.id}`])) > 55_000);

      assert.deepEqual(await two.remove(later.id), later);
      assert.equal(await one.remove(later.id), null);
      assert.equal(await one.find(later.id), null);
      assert.equal(await one.read(later.id), null);
      assert.deepEqual(await one.list("lobby"), [first]);
      assert.equal(await look.get(`test:file:${later.id}`), null);
      assert.equal(await look.hget("test:fileinfo", later.id), null);
      assert.equal(
        Number((await quotaOf(look)).used),
        20 + 30 + 40 + 3 * REDIS_FILE_OVERHEAD_BYTES,
      );
    }),
});

Deno.test({
  name: "the quota is one across processes: reservations of both count, saves move them to kept",
  ...LEAK_CHECKS,
  fn: () => {
    const quota = 1000 + 2 * REDIS_FILE_OVERHEAD_BYTES;
    return withTwo(quota, async ({ one, two, look }) => {
      assert.equal(await one.reserve(600), true);
      assert.equal(await two.reserve(quota - 600 + 1), false);
      assert.equal(await two.reserve(quota - 600), true);
      assert.equal(await one.reserve(1), false, "nothing past the quota");
      await two.release(quota - 600);
      // Both processes reserving at once never pass it together.
      const tries = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? one : two).reserve(100)),
      );
      assert.equal(tries.filter(Boolean).length, Math.floor((quota - 600) / 100));
      await Promise.all(tries.map((won, i) => won ? (i % 2 === 0 ? one : two).release(100) : 0));
      assert.equal(Object.keys(await quotaOf(look)).length, 1, "only one's 600 is reserved");

      const kept = sharedFile({ size: 600 });
      await one.save(kept, binary(600));
      assert.deepEqual(await quotaOf(look), { used: String(600 + REDIS_FILE_OVERHEAD_BYTES) });
      // Empty files count too, so that the quota bounds how many there are.
      assert.equal(await two.reserve(0), true);
      await two.save(sharedFile(), new Uint8Array());
      await assert.rejects(two.save(sharedFile(), new Uint8Array()), /quota of 3048 is full/);
      assert.equal(await one.remove(kept.id) !== null, true);
      assert.deepEqual(await quotaOf(look), { used: String(REDIS_FILE_OVERHEAD_BYTES) });
      await one.release(10 * quota);
      assert.deepEqual(await quotaOf(look), { used: String(REDIS_FILE_OVERHEAD_BYTES) });
    });
  },
});

Deno.test({
  name: "expired files: Redis drops their keys, and the next reserve frees their quota",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(MiB, async ({ one, two, look }) => {
      const now = Date.now();
      const soon = await share(one, binary(100), { expiresAt: now + 150 });
      const stays = await share(one, binary(100));
      assert.deepEqual(await two.list("lobby"), [soon, stays]);
      const deadline = Date.now() + WAIT_MS;
      while (await look.get(`test:filemeta:${soon.id}`) !== null) {
        assert.ok(Date.now() < deadline, "the metadata expires");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(await look.get(`test:file:${soon.id}`), null);
      assert.equal(await two.find(soon.id), null);
      assert.equal(await two.read(soon.id), null);
      assert.deepEqual(await two.list("lobby"), [stays]);
      assert.equal(
        Number((await quotaOf(look)).used),
        200 + 2 * REDIS_FILE_OVERHEAD_BYTES,
        "counted until swept",
      );
      assert.equal(await two.reserve(1), true);
      await two.release(1);
      assert.equal(Number((await quotaOf(look)).used), 100 + REDIS_FILE_OVERHEAD_BYTES);
      assert.equal(await look.hget("test:fileinfo", soon.id), null);
      assert.deepEqual(await look.command(["ZRANGE", "test:files", 0, -1]), [stays.id]);
      assert.deepEqual(await look.command(["ZRANGE", "test:filesin:lobby", 0, -1]), [stays.id]);
      assert.equal(await one.sweep(Date.now() + 60_000), 1);
      assert.deepEqual(await quotaOf(look), { used: "0" });
      assert.deepEqual(await look.command(["KEYS", "test:*"]), ["test:filequota"]);
    }),
});

Deno.test({
  name: "the reservations of a process that died are dropped once their lease has passed",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(1000, async ({ one, two }) => {
      assert.equal(await one.reserve(1000), true);
      // `one` dies here, its upload never finished nor released.
      assert.equal(await two.reserve(1), false);
      assert.equal(await two.sweep(Date.now() + RESERVATION_MS - 60_000), 0);
      assert.equal(await two.reserve(1), false, "still within its lease");
      await two.sweep(Date.now() + RESERVATION_MS + 1);
      assert.equal(await two.reserve(1000), true);
    }),
});

Deno.test({
  name: "a save cut off before its bytes are all in Redis keeps nothing, and its bytes expire",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(4 * MiB, async ({ one, two, look, clients }) => {
      const client = clients[0] as RedisClient;
      const command = client.command.bind(client);
      const del = client.del.bind(client);
      // Redis is lost after the first slice, and the process dies before it can clean up.
      client.command = (args) =>
        args[0] === "APPEND"
          ? Promise.reject(new RedisUnavailableError("Redis is gone"))
          : command(args);
      client.del = () => Promise.reject(new RedisUnavailableError("Redis is gone"));
      const file = sharedFile({ size: SLICE_BYTES + 10 });
      assert.equal(await one.reserve(file.size), true);
      await assert.rejects(one.save(file, binary(file.size)), /Redis is gone/);
      const life = Number(await look.command(["PTTL", `test:fileupload:${file.id}`]));
      assert.ok(life > 0 && life <= RESERVATION_MS, `half-written bytes expire: PTTL ${life}`);
      assert.equal(await two.find(file.id), null);
      assert.deepEqual(await two.list("lobby"), []);
      assert.equal(await look.get(`test:file:${file.id}`), null);

      // Bytes that are not all there when the save's script runs: refused, and deleted.
      client.command = (args) => args[0] === "APPEND" ? Promise.resolve(0) : command(args);
      client.del = del;
      const short = sharedFile({ size: SLICE_BYTES + 10 });
      await assert.rejects(one.save(short, binary(short.size)), /were not all written/);
      assert.equal(await look.get(`test:fileupload:${short.id}`), null);
      assert.equal(await two.find(short.id), null);
      assert.equal((await quotaOf(look)).used, undefined, "nothing kept");
    }),
});

Deno.test({
  name: "files of several slices, every byte value, come back exactly; downloads share one copy",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(16 * MiB, async ({ one, two }) => {
      const big = await share(one, binary(3 * SLICE_BYTES + SLICE_BYTES / 2 + 1));
      const exact = await share(one, binary(SLICE_BYTES));
      const empty = await share(one, new Uint8Array());
      const [a, b] = await Promise.all([two.read(big.id), two.read(big.id)]);
      assert.ok(a !== null && a === b, "read once for both");
      assert.deepEqual(a, binary(big.size));
      assert.equal(await two.read(big.id), a, "held while a download has it");
      assert.deepEqual(await two.read(exact.id), binary(SLICE_BYTES));
      assert.deepEqual(await two.read(empty.id), new Uint8Array());
      await one.remove(big.id);
      assert.equal(await two.read(big.id), null, "removed elsewhere: not served from the copy");
    }),
});

Deno.test({
  name: "an id that is not 32 hex digits never becomes a key",
  ...LEAK_CHECKS,
  fn: () =>
    withTwo(MiB, async ({ one, look }) => {
      await look.set("test:filemeta:*", JSON.stringify(sharedFile()));
      for (const id of ["*", "../x", "A".repeat(32), "a".repeat(33), ""]) {
        assert.equal(await one.find(id), null);
        assert.equal(await one.read(id), null);
        assert.equal(await one.remove(id), null);
        await assert.rejects(
          one.save(sharedFile({ id, size: 1 }), new Uint8Array(1)),
          (error: Error) => error instanceof TypeError && /not 32 hex digits/.test(error.message),
        );
      }
      assert.deepEqual(await look.command(["KEYS", "test:*"]), ["test:filemeta:*"]);
    }),
});
