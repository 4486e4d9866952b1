import assert from "node:assert/strict";
import {
  connectRedis,
  DEFAULT_MAX_BULK_BYTES,
  encodeCommand,
  parseRedisUrl,
  RedisClient,
  RedisConnection,
  RedisError,
  RedisNoReplyError,
  RedisProtocolError,
  RedisUnavailableError,
} from "./redis.ts";
import { startRedis } from "../test/redis_test_helpers.ts";
import { LEAK_CHECKS, WAIT_MS, withDeadline } from "../test/test_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Waits until `test` holds, checking every few milliseconds, failing after `ms`. */
async function until(test: () => boolean | Promise<boolean>, what: string, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How long `promise` takes to settle, and how. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const start = performance.now();
  try {
    await promise;
    return { ms: performance.now() - start, error: null };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

/**
 * A hand-made peer at a free port that answers each connection with `answer` (or nothing), for
 * the replies a real Redis never sends and for a Redis that never answers.
 */
function fakeRedis(answer: (conn: Deno.Conn) => Promise<void> | void = () => {}) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const handled: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      handled.push(Promise.resolve(answer(conn)).catch(() => {}));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    conns,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed by its handler already.
        }
      }
      await Promise.all(handled);
    },
  };
}

/** Reads the `PING` a connection opens with (no AUTH or SELECT to send) and answers it. */
async function answerPing(conn: Deno.Conn): Promise<void> {
  const ping = decoder.decode(encodeCommand(["PING"]));
  const buffer = new Uint8Array(64);
  let got = "";
  while (got.length < ping.length) {
    const read = await conn.read(buffer);
    if (read === null) throw new Error(`closed after ${JSON.stringify(got)}, before a PING`);
    got += decoder.decode(buffer.subarray(0, read));
  }
  assert.equal(got, ping);
  await conn.write(encoder.encode("+PONG\r\n"));
}

/** Reads from `conn` until it ends, returning whether it ended (rather than erred). */
async function readToEnd(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  while ((await conn.read(buffer)) !== null);
}

/** A port nothing listens on (just freed by the system). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("a Redis URL gives host, port, user, password, database and TLS", () => {
  assert.deepEqual(parseRedisUrl("redis://127.0.0.1"), {
    hostname: "127.0.0.1",
    port: 6379,
    db: 0,
    tls: false,
  });
  assert.deepEqual(parseRedisUrl("rediss://alice:p%40ss%3Aw0rd@redis.lan:6380/15"), {
    hostname: "redis.lan",
    port: 6380,
    username: "alice",
    password: "p@ss:w0rd",
    db: 15,
    tls: true,
  });
  assert.deepEqual(parseRedisUrl("redis://:secret@[::1]:7000/"), {
    hostname: "::1",
    port: 7000,
    password: "secret",
    db: 0,
    tls: false,
  });
});

Deno.test("a wrong Redis URL is a TypeError naming the wrong part, never echoing the password", () => {
  const cases: [string, RegExp][] = [
    ["127.0.0.1:6379", /does not begin with redis:\/\/ or rediss:\/\//],
    ["http://h:1", /scheme "http" is not redis or rediss/],
    ["redis://:hunter2@h:99999", /port "99999" is not from 1 to 65535/],
    ["redis://h:abc", /port "abc"/],
    ["redis://h:0", /port "0"/],
    ["redis:///3", /no host/],
    ["redis://h/x", /database "x" is not a number/],
    ["redis://h/1?timeout=3", /query or fragment/],
    ["redis://alice@h", /a user name without a password/],
    ["redis://:%zz@h", /the password is not valid percent-encoding/],
    ["redis://h h", /not a URL/],
  ];
  for (const [url, message] of cases) {
    assert.throws(() => parseRedisUrl(url), (error: Error) => {
      assert.ok(error instanceof TypeError, url);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  }
});

Deno.test({
  name: "a bulk string header over the cap closes the connection before its bytes arrive",
  ...LEAK_CHECKS,
  async fn() {
    const closed = Promise.withResolvers<void>();
    await using fake = fakeRedis(async (conn) => {
      await answerPing(conn);
      await conn.read(new Uint8Array(4096));
      // Only the header: the client must not wait for 16 MiB to refuse it.
      await conn.write(encoder.encode(`$${DEFAULT_MAX_BULK_BYTES + 1}\r\n`));
      await readToEnd(conn);
      closed.resolve();
    });
    await using client = new RedisConnection(`redis://127.0.0.1:${fake.port}`);
    await client.connect();
    const { error } = await timed(client.command(["GET", "big"]));
    // The GET was written and its reply is what broke: it got no reply it could read.
    assert.ok(error instanceof RedisNoReplyError, String(error));
    assert.match(
      error.message,
      /connection lost .*bulk string of 16777217 bytes is over the limit/,
    );
    assert.ok(error.cause instanceof RedisProtocolError);
    await withDeadline(closed.promise, WAIT_MS, "the client to close the connection");
  },
});

Deno.test({
  name: "1000 pipelined commands get their own replies, in order",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using client = await connectRedis(redis.url());
    const echoes = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => client.command(["ECHO", `message ${i}`])),
    );
    assert.deepEqual(echoes, Array.from({ length: 1000 }, (_, i) => `message ${i}`));
    const counts = await Promise.all(Array.from({ length: 1000 }, () => client.incr("counter")));
    assert.deepEqual(counts, Array.from({ length: 1000 }, (_, i) => i + 1));
    // An error reply rejects its own command only; the ones around it are answered.
    const [before, wrong, after] = await Promise.allSettled([
      client.set("text", "a"),
      client.incr("text"),
      client.get("text"),
    ]);
    assert.deepEqual(before, { status: "fulfilled", value: true });
    assert.equal(wrong.status, "rejected");
    assert.ok(wrong.reason instanceof RedisError);
    assert.equal(wrong.reason.code, "ERR");
    assert.deepEqual(after, { status: "fulfilled", value: "a" });
  },
});

Deno.test({
  name: "AUTH from the URL: the right password logs in, a wrong one is a clear error",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis({ password: "s3cret pass" });
    await using client = await connectRedis(redis.url());
    assert.equal(await client.ping(), "PONG");
    // With a user name: AUTH default password.
    const port = redis.port;
    await using named = await connectRedis(`redis://default:s3cret%20pass@127.0.0.1:${port}`);
    assert.equal(await named.ping(), "PONG");

    await assert.rejects(connectRedis(redis.url(0, "wrong")), (error: Error) => {
      assert.ok(error instanceof RedisError, String(error));
      assert.equal(error.code, "WRONGPASS");
      assert.match(
        error.message,
        new RegExp(`Redis 127\\.0\\.0\\.1:${port} refused the login: WRONGPASS`),
      );
      return true;
    });
    // Without a password, commands are refused by Redis itself.
    await using anonymous = await connectRedis(redis.url(0, null));
    await assert.rejects(anonymous.ping(), (error: Error) => {
      assert.ok(error instanceof RedisError);
      assert.equal(error.code, "NOAUTH");
      return true;
    });
  },
});

Deno.test({
  name: "SELECT from the URL keeps databases apart",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using one = await connectRedis(redis.url(1));
    await using two = await connectRedis(redis.url(2));
    assert.equal(await one.set("room", "lobby"), true);
    assert.equal(await two.get("room"), null);
    assert.equal(await one.get("room"), "lobby");
    assert.match(String(await two.command(["CLIENT", "INFO"])), / db=2 /);
    await assert.rejects(connectRedis(redis.url(99)), /refused the login: ERR DB index/);
  },
});

Deno.test({
  name: "the typed helpers: strings, expiry, hashes, sets and scripts",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using client = await connectRedis(redis.url());
    assert.equal(await client.set("lock", "a", { nx: true, px: 10_000 }), true);
    assert.equal(await client.set("lock", "b", { nx: true }), false);
    assert.equal(await client.get("lock"), "a");
    assert.ok(Number(await client.command(["PTTL", "lock"])) > 9000);
    assert.equal(await client.pexpire("lock", 50_000), true);
    assert.equal(await client.pexpire("missing", 1), false);
    assert.equal(await client.del("lock", "missing"), 1);

    assert.equal(await client.hset("member:alice", { room: "lobby", since: "1" }), 2);
    assert.equal(await client.hget("member:alice", "room"), "lobby");
    assert.equal(await client.hget("member:alice", "nothing"), null);
    assert.deepEqual(await client.hgetall("member:alice"), { room: "lobby", since: "1" });
    assert.deepEqual(await client.hgetall("member:nobody"), {});
    assert.equal(await client.hdel("member:alice", "since", "nothing"), 1);

    assert.equal(await client.sadd("rooms", "lobby", "dev", "lobby"), 2);
    assert.equal(await client.srem("rooms", "dev", "nothing"), 1);
    assert.deepEqual(await client.smembers("rooms"), ["lobby"]);

    const script = "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), 7}";
    assert.deepEqual(await client.eval(script, ["scripted"], ["ünïcode"]), ["ünïcode", 7]);
    await assert.rejects(client.eval("return redis.call('NOPE')", [], []), RedisError);
  },
});

Deno.test({
  name: "bytes that are not UTF-8 go to Redis and come back exactly, pipelined beside text",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using client = await connectRedis(redis.url());
    // Every byte value, a lone continuation byte, and \r\n inside: nothing is decoded or lost.
    const bytes = new Uint8Array(4096 + 3);
    for (let i = 0; i < 4096; i++) bytes[i] = (i * 7) & 0xff;
    bytes.set([0x80, 0x0d, 0x0a], 4096);
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) >> 3);
    await client.command(["SET", "bytes", bytes]);
    await client.eval("return redis.call('SET', KEYS[1], ARGV[1])", ["big"], [big]);
    const [got, text, gotBig, list] = await Promise.all([
      client.commandBytes(["GET", "bytes"]),
      client.command(["GET", "bytes"]),
      client.commandBytes(["GET", "big"]),
      client.commandBytes(["MGET", "bytes", "missing"]),
    ]);
    assert.deepEqual(got, bytes);
    assert.ok(gotBig instanceof Uint8Array);
    assert.equal(gotBig.length, big.length);
    assert.deepEqual(gotBig, big);
    assert.ok(Array.isArray(list));
    assert.deepEqual(list[0], bytes);
    assert.equal(list[1], null);
    // The text reply of the same value is as before: decoded, with U+FFFD for what is not UTF-8.
    assert.equal(typeof text, "string");
    assert.equal(text, decoder.decode(bytes));
    assert.equal(await client.commandBytes(["STRLEN", "bytes"]), bytes.length);
    await assert.rejects(client.commandBytes(["NOPE"]), RedisError);
  },
});

Deno.test({
  name: "XREAD BLOCK on one client gets what another XADDs; a quiet stream times out with null",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using reader = await connectRedis(redis.url());
    await using writer = await connectRedis(redis.url());
    const read = reader.xread({ "room:lobby": "0-0", "room:dev": "0-0" }, { blockMs: 10_000 });
    // Wait until Redis holds the reader blocked, so the entry really wakes it.
    await until(
      async () => /blocked_clients:1\r\n/.test(String(await writer.command(["INFO", "clients"]))),
      "the reader to block",
    );
    const id = await writer.xadd("room:lobby", { from: "alice", text: "hi ✨" });
    assert.match(id, /^\d+-\d+$/);
    assert.deepEqual(await read, { "room:lobby": [[id, { from: "alice", text: "hi ✨" }]] });

    const quiet = await timed(reader.xread({ "room:lobby": id }, { blockMs: 100 }));
    assert.equal(quiet.error, null);
    assert.ok(quiet.ms >= 90 && quiet.ms < 2000, `${quiet.ms} ms`);
    assert.equal(await reader.xread({ "room:lobby": id }, { blockMs: 100 }), null);
  },
});

Deno.test({
  name: "XRANGE and XREVRANGE read a stream both ways, with a count; XADD trims it",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using client = await connectRedis(redis.url());
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await client.xadd("history", { n: String(i) }));
    assert.deepEqual(await client.xrange("history", "-", "+", 2), [
      [ids[0], { n: "0" }],
      [ids[1], { n: "1" }],
    ]);
    assert.deepEqual(
      (await client.xrevrange("history", "+", "-", 3)).map(([id]) => id),
      [ids[4], ids[3], ids[2]],
    );
    assert.equal((await client.xrange("history", "-", "+")).length, 5);
    assert.deepEqual(await client.xrange("nothing", "-", "+"), []);

    const adds = Array.from(
      { length: 1000 },
      (_, n) => client.xadd("trimmed", { n: String(n) }, { maxlenApprox: 10 }),
    );
    await Promise.all(adds);
    const length = Number(await client.command(["XLEN", "trimmed"]));
    assert.ok(length >= 10 && length < 1000, `XLEN ${length}`);
  },
});

Deno.test({
  name: "rediss:// speaks TLS to a Redis whose certificate the given CA signed",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis({ tls: true, password: "tls pass" });
    const ca = await Deno.readTextFile(new URL("../test/testdata/ca.crt", import.meta.url));
    await using client = await connectRedis(redis.url(3), { ca });
    assert.equal(await client.ping(), "PONG");
    assert.equal(await client.set("k", "v"), true);
    assert.equal(await client.get("k"), "v");
    // Without the CA the certificate is not trusted, and the error says so.
    await assert.rejects(
      connectRedis(redis.url(3)),
      /Cannot connect to Redis at 127\.0\.0\.1:\d+: .*certificate/i,
    );
  },
});

Deno.test({
  name:
    "a Redis that stops fails what is in flight and what comes next at once, and is found again",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis({ password: "pw" });
    const events: string[] = [];
    await using client = await connectRedis(redis.url(3), {
      onConnect: () => events.push("connect"),
      onDisconnect: (error) => events.push(`disconnect: ${error.name}`),
    });
    const watcher = await connectRedis(redis.url());
    assert.deepEqual(events, ["connect"]);
    // In flight when Redis goes: a blocked read, a blocked BLPOP and the commands queued behind it.
    const blocked = client.xread({ stream: "$" }, { blockMs: 0 });
    const behind = [client.command(["BLPOP", "queue", "0"]), client.ping(), client.get("k")];
    await until(
      async () => /blocked_clients:2\r\n/.test(String(await watcher.command(["INFO", "clients"]))),
      "both connections to block",
    );
    await watcher.close();
    const inFlight = Promise.allSettled([blocked, ...behind]);
    await redis.stop();
    const settled = await withDeadline(inFlight, WAIT_MS, "the commands in flight to fail");
    for (const result of settled) {
      assert.equal(result.status, "rejected");
      // Written, so Redis might have done them: not "unavailable" but "no reply".
      assert.ok(result.reason instanceof RedisNoReplyError, String(result.reason));
      assert.match(result.reason.message, /Redis 127\.0\.0\.1:\d+: connection lost/);
    }
    assert.deepEqual(events, ["connect", "disconnect: RedisUnavailableError"]);

    // While it is down, commands fail at once rather than wait.
    const down = await timed(client.ping());
    assert.ok(down.error instanceof RedisUnavailableError, String(down.error));
    assert.equal(down.error.written, false);
    assert.match(down.error.message, /is unavailable: reconnecting/);
    assert.ok(down.ms < 50, `${down.ms} ms`);
    assert.equal(client.ready, false);

    await redis.restart();
    await until(() => client.ready, "the client to reconnect");
    assert.deepEqual(events, ["connect", "disconnect: RedisUnavailableError", "connect"]);
    // AUTH and SELECT were sent again: commands work, in database 3.
    assert.equal(await client.ping(), "PONG");
    assert.match(String(await client.command(["CLIENT", "INFO"])), / db=3 /);
    assert.equal(await client.xread({ stream: "0-0" }, { blockMs: 10 }), null);
  },
});

Deno.test({
  name: "past the cap on waiting commands, a command fails at once saying Redis is too slow",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using client = await connectRedis(redis.url(), { maxWaiting: 5 });
    await using other = await connectRedis(redis.url());
    // A BLPOP holds the pipeline; four pings wait behind it, which fills the cap.
    const waiting = [client.command(["BLPOP", "queue", "0"])];
    for (let i = 0; i < 4; i++) waiting.push(client.ping());
    const refused = await timed(client.ping());
    assert.ok(refused.error instanceof RedisUnavailableError, String(refused.error));
    assert.equal(refused.error.written, false);
    assert.match(refused.error.message, /too slow or unreachable: 5 commands are waiting/);
    assert.ok(refused.ms < 50, `${refused.ms} ms`);
    await other.command(["RPUSH", "queue", "job"]);
    assert.deepEqual(await Promise.all(waiting), [
      ["queue", "job"],
      "PONG",
      "PONG",
      "PONG",
      "PONG",
    ]);
    assert.equal(await client.ping(), "PONG");
  },
});

Deno.test({
  name: "a peer that accepts the connection and never answers is not connected",
  ...LEAK_CHECKS,
  async fn() {
    // A paused Redis: the kernel completes the handshake, nothing reads or answers.
    await using fake = fakeRedis(readToEnd);
    const connection = new RedisConnection(`redis://127.0.0.1:${fake.port}`, {
      commandTimeoutMs: 200,
    });
    const { ms, error } = await timed(connection.connect());
    assert.ok(error instanceof RedisUnavailableError, String(error));
    assert.match(
      error.message,
      /^Cannot connect to Redis at 127\.0\.0\.1:\d+: no reply after connecting within 200 ms$/,
    );
    assert.ok(ms >= 190 && ms < 2000, `${ms} ms`);
    assert.equal(connection.ready, false);
    await connection.close();
  },
});

Deno.test({
  name:
    "a command written and not answered times out as no reply; one sent while reconnecting is refused unwritten; up again only once answered",
  ...LEAK_CHECKS,
  async fn() {
    // The first connection answers its PING, then nothing; the next ones answer theirs once let.
    const answer = Promise.withResolvers<void>();
    const pinged = Promise.withResolvers<void>();
    let opened = 0;
    await using fake = fakeRedis(async (conn) => {
      if (opened++ === 0) {
        await answerPing(conn);
      } else {
        const ping = decoder.decode(encodeCommand(["PING"]));
        const buffer = new Uint8Array(64);
        let got = "";
        while (got.length < ping.length) {
          const read = await conn.read(buffer);
          if (read === null) return;
          got += decoder.decode(buffer.subarray(0, read));
        }
        pinged.resolve();
        await answer.promise;
        await conn.write(encoder.encode("+PONG\r\n"));
      }
      await readToEnd(conn);
    });
    const events: string[] = [];
    await using connection = new RedisConnection(`redis://127.0.0.1:${fake.port}`, {
      commandTimeoutMs: 200,
      reconnectMinMs: 10,
      onConnect: () => events.push("connect"),
      onDisconnect: () => events.push("disconnect"),
    });
    await connection.connect();
    const { ms, error } = await timed(connection.command(["INCR", "n"]));
    assert.ok(error instanceof RedisNoReplyError, String(error));
    assert.equal(error.written, true);
    assert.match(
      error.message,
      /connection lost \(no reply within 200 ms\), with no reply to a command written to it; Redis may still carry it out/,
    );
    assert.ok(ms >= 190 && ms < 2000, `${ms} ms`);
    // Connected again and its PING sent, not answered: not up, and commands are not written.
    await withDeadline(pinged.promise, WAIT_MS, "a second connection's PING");
    assert.equal(connection.ready, false);
    const refused = await timed(connection.command(["INCR", "n"]));
    assert.ok(refused.error instanceof RedisUnavailableError, String(refused.error));
    assert.ok(!(refused.error instanceof RedisNoReplyError));
    assert.equal(refused.error.written, false);
    assert.match(refused.error.message, /is unavailable: reconnecting/);
    assert.deepEqual(events, ["connect", "disconnect"]);
    answer.resolve();
    await until(() => connection.ready, "the connection to be up once answered");
    assert.deepEqual(events, ["connect", "disconnect", "connect"]);
  },
});

Deno.test({
  name:
    "a paused Redis (SIGSTOP): what was written runs once when it resumes, what was refused never; not up until it answers",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const events: string[] = [];
    await using client = await connectRedis(redis.url(), {
      commandTimeoutMs: 300,
      reconnectMinMs: 10,
      reconnectMaxMs: 20,
      onConnect: () => events.push("connect"),
      onDisconnect: () => events.push("disconnect"),
    });
    const pid = redis.pid;
    Deno.kill(pid, "SIGSTOP");
    try {
      const written = await timed(client.incr("written"));
      assert.ok(written.error instanceof RedisNoReplyError, String(written.error));
      assert.ok(written.ms >= 290, `${written.ms} ms`);
      assert.deepEqual(events, ["connect", "disconnect"]);
      // Stopped for three connect deadlines: each reconnect completes its handshake (the
      // kernel's doing), and none may count as up. The stop is what is under test here.
      const stoppedUntil = performance.now() + 1000;
      while (performance.now() < stoppedUntil) {
        assert.equal(client.ready, false);
        const refused = await timed(client.incr("refused"));
        assert.ok(refused.error instanceof RedisUnavailableError, String(refused.error));
        assert.equal(refused.error.written, false);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      Deno.kill(pid, "SIGCONT");
    }
    await until(() => client.ready, "the client to be up once Redis answers");
    assert.deepEqual(events, ["connect", "disconnect", "connect"]);
    // The INCR written before the timeout reaches Redis from the dropped connection's buffer.
    await until(async () => (await client.get("written")) === "1", "the written INCR to run");
    assert.equal(await client.get("refused"), null);
    assert.equal(await client.get("written"), "1");
  },
});

Deno.test({
  name: "reconnects back off: a Redis that drops every connection is tried again and again",
  ...LEAK_CHECKS,
  async fn() {
    await using fake = fakeRedis(async (conn) => {
      await answerPing(conn);
      conn.close();
    });
    let connects = 0;
    await using connection = new RedisConnection(`redis://127.0.0.1:${fake.port}`, {
      reconnectMinMs: 5,
      reconnectMaxMs: 20,
      onConnect: () => connects++,
    });
    await connection.connect();
    await until(() => connects >= 5, "five connections");
  },
});

Deno.test({
  name: "a first connection that cannot be made rejects naming the address",
  ...LEAK_CHECKS,
  async fn() {
    const port = closedPort();
    const client = new RedisClient(`redis://127.0.0.1:${port}`);
    await assert.rejects(
      client.connect(),
      new RegExp(`Cannot connect to Redis at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
    await assert.rejects(client.ping(), /is unavailable: connection closed/);
    await client.close();
  },
});

Deno.test({
  name: "close() and the abort signal reject what waits and leave no socket or timer",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const client = await connectRedis(redis.url());
    const blocked = client.xread({ stream: "$" }, { blockMs: 0 });
    const pending = client.command(["BLPOP", "queue", "0"]);
    const settled = Promise.allSettled([blocked, pending]);
    await client.close();
    for (const result of await settled) {
      assert.equal(result.status, "rejected");
      assert.ok(result.reason instanceof RedisUnavailableError);
      assert.match(result.reason.message, /connection closed/);
    }
    await client.close();
    await assert.rejects(client.ping(), RedisUnavailableError);

    const controller = new AbortController();
    const aborted = await connectRedis(redis.url(), { signal: controller.signal });
    const read = aborted.xread({ stream: "$" }, { blockMs: 0 });
    controller.abort();
    await assert.rejects(read, RedisUnavailableError);
    await aborted.close();
  },
});
