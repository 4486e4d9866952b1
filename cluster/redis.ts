/**
 * A small Redis client, RESP2 over `node:net` (or `node:tls` for `rediss://`), with no package
 * dependencies: only the commands the cluster uses. {@linkcode RedisClient} keeps two
 * connections, one for commands and one for blocking reads (`XREAD BLOCK`), each pipelined,
 * authenticated and reconnected by itself.
 *
 * Bulk strings come back as JavaScript strings (decoded as UTF-8: the cluster stores text), or
 * as bytes from {@linkcode RedisClient.commandBytes} (a shared file's), and a `Uint8Array`
 * argument is sent as it is; Redis error replies reject the command with a
 * {@linkcode RedisError}, and everything bounded: replies are size-checked as they are parsed,
 * commands waiting are capped and time out, reconnects back off with jitter up to 5 s. A
 * connection is up only once Redis has answered on it, and a command that fails says whether it
 * was written ({@linkcode RedisNoReplyError}: Redis may yet do it) or not
 * ({@linkcode RedisUnavailableError}: it never will).
 *
 * The protocol (encoder and reply parser) is in `redis_resp.ts`, one connection in
 * `redis_connection.ts`, the errors in `redis_errors.ts`; this module re-exports them all.
 *
 * Try it against a local `redis-server`:
 *
 * ```ts ignore
 * await using redis = await connectRedis("redis://127.0.0.1:6379/0");
 * await redis.set("greeting", "hello");
 * console.log(await redis.get("greeting")); // "hello"
 * ```
 *
 * @module
 */

import { RedisProtocolError, RedisUnavailableError } from "./redis_errors.ts";
import {
  parseRedisUrl,
  type RedisAddress,
  RedisConnection,
  type RedisOptions,
} from "./redis_connection.ts";
import type { RedisArg, RedisBytesReply, RedisReply } from "./redis_resp.ts";

export {
  RedisError,
  RedisNoReplyError,
  RedisProtocolError,
  RedisUnavailableError,
} from "./redis_errors.ts";
export {
  DEFAULT_MAX_ARRAY_LENGTH,
  DEFAULT_MAX_BULK_BYTES,
  encodeCommand,
  MAX_LINE_BYTES,
  MAX_REPLY_DEPTH,
  type RedisArg,
  type RedisBytesReply,
  type RedisReply,
  type ReplyLimits,
  ReplyParser,
  textReply,
} from "./redis_resp.ts";
export {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_MAX_WAITING,
  DEFAULT_REDIS_PORT,
  parseRedisUrl,
  RECONNECT_MAX_MS,
  RECONNECT_MIN_MS,
  type RedisAddress,
  RedisConnection,
  type RedisOptions,
} from "./redis_connection.ts";

/** One stream entry: its id and its fields. */
export type StreamEntry = [id: string, fields: Record<string, string>];

/** Options of {@linkcode RedisClient.set}. */
export interface SetOptions {
  /** Only if the key does not exist (`NX`). */
  nx?: boolean;
  /** Expire after this many milliseconds (`PX`). */
  px?: number;
}

/**
 * The client the cluster uses: a connection for commands and one for blocking reads, and typed
 * helpers for the few commands it needs ({@linkcode RedisClient.command} for any other). It is
 * up when both connections are, each once Redis has answered on it; `onConnect` and
 * `onDisconnect` report it going up and down. A command that fails with a
 * {@linkcode RedisNoReplyError} was written and may still be carried out; any other
 * {@linkcode RedisUnavailableError} means it was not written.
 */
export class RedisClient {
  /** Where it connects. */
  readonly address: RedisAddress;
  readonly #commands: RedisConnection;
  readonly #blocking: RedisConnection;
  #up = false;
  readonly #options: RedisOptions;

  /** A client for `address` (a URL or parsed); nothing is opened before {@linkcode RedisClient.connect}. */
  constructor(address: RedisAddress | string, options: RedisOptions = {}) {
    this.address = typeof address === "string" ? parseRedisUrl(address) : address;
    this.#options = options;
    const each: RedisOptions = {
      ...options,
      onConnect: () => this.#changed(),
      onDisconnect: (error) => this.#changed(error),
    };
    this.#commands = new RedisConnection(this.address, each);
    // One XREAD at a time blocks it; a few may queue behind.
    this.#blocking = new RedisConnection(this.address, { ...each, maxWaiting: 16 });
  }

  /** Whether both connections are ready. */
  get ready(): boolean {
    return this.#commands.ready && this.#blocking.ready;
  }

  /** Connects both; rejects as {@linkcode RedisConnection.connect} does, leaving neither open. */
  async connect(): Promise<void> {
    const results = await Promise.allSettled([this.#commands.connect(), this.#blocking.connect()]);
    const failed = results.find((result) => result.status === "rejected");
    if (failed !== undefined) {
      await this.close();
      throw failed.reason;
    }
  }

  #changed(error?: Error): void {
    const up = this.ready;
    if (up === this.#up) return;
    this.#up = up;
    if (up) this.#options.onConnect?.();
    else this.#options.onDisconnect?.(error ?? new RedisUnavailableError("Redis disconnected"));
  }

  /** Any command on the commands connection; see {@linkcode RedisConnection.command}. */
  command(args: readonly RedisArg[]): Promise<RedisReply> {
    return this.#commands.command(args);
  }

  /** Any command, its bulk strings as bytes; see {@linkcode RedisConnection.commandBytes}. */
  commandBytes(args: readonly RedisArg[]): Promise<RedisBytesReply> {
    return this.#commands.commandBytes(args);
  }

  /** `PING`: resolves with `"PONG"`. */
  async ping(): Promise<string> {
    return asString(await this.command(["PING"]), "PING");
  }

  /** `GET`: the value, or null without one. */
  async get(key: string): Promise<string | null> {
    return asStringOrNull(await this.command(["GET", key]), "GET");
  }

  /** `SET` with `NX` and `PX`: whether it was set (false when `nx` found the key). */
  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    const args: (string | number)[] = ["SET", key, value];
    if (options.nx) args.push("NX");
    if (options.px !== undefined) args.push("PX", options.px);
    return (await this.command(args)) !== null;
  }

  /** `DEL`: how many of `keys` existed. */
  async del(...keys: string[]): Promise<number> {
    return asNumber(await this.command(["DEL", ...keys]), "DEL");
  }

  /** `PEXPIRE`: whether the key exists (and now expires in `ms`). */
  async pexpire(key: string, ms: number): Promise<boolean> {
    return asNumber(await this.command(["PEXPIRE", key, ms]), "PEXPIRE") === 1;
  }

  /** `INCR`: the new value. */
  async incr(key: string): Promise<number> {
    return asNumber(await this.command(["INCR", key]), "INCR");
  }

  /** `HSET` of several fields: how many were new. */
  async hset(key: string, fields: Record<string, string>): Promise<number> {
    return asNumber(await this.command(["HSET", key, ...Object.entries(fields).flat()]), "HSET");
  }

  /** `HGET`: the field's value, or null. */
  async hget(key: string, field: string): Promise<string | null> {
    return asStringOrNull(await this.command(["HGET", key, field]), "HGET");
  }

  /** `HGETALL`: every field (an empty object for a missing key). */
  async hgetall(key: string): Promise<Record<string, string>> {
    return asFields(await this.command(["HGETALL", key]), "HGETALL");
  }

  /** `HDEL`: how many of `fields` existed. */
  async hdel(key: string, ...fields: string[]): Promise<number> {
    return asNumber(await this.command(["HDEL", key, ...fields]), "HDEL");
  }

  /** `SADD`: how many of `members` were new. */
  async sadd(key: string, ...members: string[]): Promise<number> {
    return asNumber(await this.command(["SADD", key, ...members]), "SADD");
  }

  /** `SREM`: how many of `members` were there. */
  async srem(key: string, ...members: string[]): Promise<number> {
    return asNumber(await this.command(["SREM", key, ...members]), "SREM");
  }

  /** `SMEMBERS`: the set, in Redis's order. */
  async smembers(key: string): Promise<string[]> {
    return asStrings(await this.command(["SMEMBERS", key]), "SMEMBERS");
  }

  /** `EVAL` of a Lua script: its reply as it comes. */
  eval(
    script: string,
    keys: readonly string[],
    args: readonly RedisArg[],
  ): Promise<RedisReply> {
    return this.command(["EVAL", script, keys.length, ...keys, ...args]);
  }

  /** `XADD key [MAXLEN ~ n] * fields`: the new entry's id. */
  async xadd(
    key: string,
    fields: Record<string, string>,
    options: { maxlenApprox?: number } = {},
  ): Promise<string> {
    const trim = options.maxlenApprox === undefined ? [] : ["MAXLEN", "~", options.maxlenApprox];
    const args = ["XADD", key, ...trim, "*", ...Object.entries(fields).flat()];
    return asString(await this.command(args), "XADD");
  }

  /** `XRANGE key start end [COUNT n]`: entries oldest first. */
  async xrange(key: string, start: string, end: string, count?: number): Promise<StreamEntry[]> {
    const args = ["XRANGE", key, start, end, ...(count === undefined ? [] : ["COUNT", count])];
    return asEntries(await this.command(args), "XRANGE");
  }

  /** `XREVRANGE key end start [COUNT n]`: entries newest first. */
  async xrevrange(key: string, end: string, start: string, count?: number): Promise<StreamEntry[]> {
    const args = ["XREVRANGE", key, end, start, ...(count === undefined ? [] : ["COUNT", count])];
    return asEntries(await this.command(args), "XREVRANGE");
  }

  /**
   * `XREAD [COUNT n] BLOCK ms STREAMS ...` on the blocking connection: for each stream (by its
   * last id seen), the entries after it; null when `blockMs` passes with none. `blockMs` 0
   * blocks until an entry comes or the client closes.
   */
  async xread(
    streams: Record<string, string>,
    options: { blockMs: number; count?: number },
  ): Promise<Record<string, StreamEntry[]> | null> {
    const keys = Object.keys(streams);
    const args = [
      "XREAD",
      ...(options.count === undefined ? [] : ["COUNT", options.count]),
      "BLOCK",
      options.blockMs,
      "STREAMS",
      ...keys,
      ...keys.map((key) => streams[key] as string),
    ];
    // BLOCK 0 may wait for ever: no timeout, but a drop or close() still ends it.
    const blockMs = options.blockMs === 0 ? Number.POSITIVE_INFINITY : options.blockMs;
    const reply = await this.#blocking.command(args, blockMs);
    if (reply === null) return null;
    if (!Array.isArray(reply)) throw unexpected(reply, "XREAD");
    const result: Record<string, StreamEntry[]> = {};
    for (const stream of reply) {
      if (!Array.isArray(stream) || typeof stream[0] !== "string") {
        throw unexpected(stream, "XREAD");
      }
      result[stream[0]] = asEntries(stream[1] ?? null, "XREAD");
    }
    return result;
  }

  /** Closes both connections, rejecting what waits; safe to call twice. */
  async close(): Promise<void> {
    await Promise.all([this.#commands.close(), this.#blocking.close()]);
  }

  /** Closes it, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A {@linkcode RedisClient} for `url`, connected. */
export async function connectRedis(url: string, options: RedisOptions = {}): Promise<RedisClient> {
  const client = new RedisClient(url, options);
  await client.connect();
  return client;
}

function unexpected(reply: RedisReply, command: string): RedisProtocolError {
  return new RedisProtocolError(
    `Redis answered ${command} with an unexpected ${JSON.stringify(reply)}`.slice(0, 200),
  );
}

function asString(reply: RedisReply, command: string): string {
  if (typeof reply !== "string") throw unexpected(reply, command);
  return reply;
}

function asStringOrNull(reply: RedisReply, command: string): string | null {
  return reply === null ? null : asString(reply, command);
}

function asNumber(reply: RedisReply, command: string): number {
  if (typeof reply !== "number") throw unexpected(reply, command);
  return reply;
}

function asStrings(reply: RedisReply, command: string): string[] {
  if (!Array.isArray(reply) || !reply.every((item) => typeof item === "string")) {
    throw unexpected(reply, command);
  }
  return reply as string[];
}

function asFields(reply: RedisReply, command: string): Record<string, string> {
  const flat = asStrings(reply, command);
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fields;
}

function asEntries(reply: RedisReply, command: string): StreamEntry[] {
  if (!Array.isArray(reply)) throw unexpected(reply, command);
  return reply.map((entry) => {
    if (!Array.isArray(entry) || typeof entry[0] !== "string") throw unexpected(entry, command);
    return [entry[0], asFields(entry[1] ?? [], command)];
  });
}
