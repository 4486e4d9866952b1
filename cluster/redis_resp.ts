/**
 * RESP2, the protocol Redis speaks, with no sockets: {@linkcode encodeCommand}
 * writes a command and {@linkcode ReplyParser} reads replies from raw chunks
 * as they come, checking every size as it goes. Both carry bytes as they are
 * when asked (a `Uint8Array` argument, {@linkcode ReplyParser.feedBytes}), so
 * that a value need not be text.
 *
 * ```ts
 * import { encodeCommand, ReplyParser } from "./redis_resp.ts";
 * console.assert(new TextDecoder().decode(encodeCommand(["GET", "k"])) === "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
 * const replies = new ReplyParser().feed(new TextEncoder().encode("+OK\r\n:42\r\n$-1\r\n"));
 * console.assert(JSON.stringify(replies) === '["OK",42,null]');
 * ```
 *
 * @module
 */

import {
  type RedisBytesReply,
  RedisError,
  RedisProtocolError,
  type RedisReply,
} from "./redis_errors.ts";

export type { RedisBytesReply, RedisReply };
/** One argument of a command: text (sent as UTF-8), a number, or bytes sent as they are. */
export type RedisArg = string | number | Uint8Array;
/** Largest bulk string accepted in a reply: Redis's own `proto-max-bulk-len` is 512 MiB, far more than the cluster stores. */
export const DEFAULT_MAX_BULK_BYTES = 16 * 1024 * 1024;
/** Most elements accepted in one reply array: a bound on what one reply may make us allocate. */
export const DEFAULT_MAX_ARRAY_LENGTH = 1_000_000;
/** Deepest nesting of arrays accepted: XREAD's replies are four deep, nothing we send needs more. */
export const MAX_REPLY_DEPTH = 8;
/** Longest simple-string, error or header line: they are short, so a longer one is malformed. */
export const MAX_LINE_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;
const LF = 10;

/** Limits a {@linkcode ReplyParser} checks as it parses. */
export interface ReplyLimits {
  /** Largest bulk string, in bytes. @default {16777216} */
  maxBulkBytes?: number;
  /** Most elements in one array. @default {1000000} */
  maxArrayLength?: number;
}

interface ArrayFrame {
  items: RedisBytesReply[];
  length: number;
}

/**
 * Turns bytes from Redis into replies, however the bytes are split; holds at most one line
 * (up to {@linkcode MAX_LINE_BYTES}) or one bulk string (up to `maxBulkBytes`) meanwhile.
 * Throws a {@linkcode RedisProtocolError} on bytes that are not RESP2 or are over a limit;
 * after that it is unusable, as is the connection.
 */
export class ReplyParser {
  readonly #maxBulkBytes: number;
  readonly #maxArrayLength: number;
  /** The arrays being filled, outermost first. */
  readonly #stack: ArrayFrame[] = [];
  /** The part of a line read so far. */
  #line: Uint8Array[] = [];
  #lineBytes = 0;
  /** The bulk string being read, with its `\r\n`, and how much of it has come. */
  #bulk: Uint8Array | null = null;
  #bulkFilled = 0;
  #broken: RedisProtocolError | null = null;

  /** A parser with `limits` (16 MiB bulk strings, arrays of a million, by default). */
  constructor(limits: ReplyLimits = {}) {
    this.#maxBulkBytes = limits.maxBulkBytes ?? DEFAULT_MAX_BULK_BYTES;
    this.#maxArrayLength = limits.maxArrayLength ?? DEFAULT_MAX_ARRAY_LENGTH;
  }

  /** Parses `chunk`; returns the replies it completes, in order, bulk strings as text. */
  feed(chunk: Uint8Array): RedisReply[] {
    try {
      return this.feedBytes(chunk).map(textReply);
    } catch (error) {
      if (!(error instanceof RedisProtocolError)) throw error;
      throw new RedisProtocolError(error.message, error.parsed.map(textReply));
    }
  }

  /**
   * Parses `chunk` as {@linkcode ReplyParser.feed} does, but returns bulk strings as the bytes
   * Redis sent; {@linkcode textReply} makes text of one of them later.
   */
  feedBytes(chunk: Uint8Array): RedisBytesReply[] {
    if (this.#broken !== null) throw this.#broken;
    const replies: RedisBytesReply[] = [];
    try {
      let at = 0;
      while (at < chunk.length) {
        if (this.#bulk !== null) {
          at = this.#readBulk(chunk, at, replies);
          continue;
        }
        const end = chunk.indexOf(LF, at);
        const stop = end === -1 ? chunk.length : end;
        this.#lineBytes += stop - at;
        if (this.#lineBytes > MAX_LINE_BYTES) {
          throw new RedisProtocolError(`Redis reply line is over ${MAX_LINE_BYTES} bytes`);
        }
        this.#line.push(chunk.subarray(at, stop));
        if (end === -1) break;
        at = end + 1;
        this.#takeLine(replies);
      }
    } catch (error) {
      if (!(error instanceof RedisProtocolError)) throw error;
      this.#broken = new RedisProtocolError(error.message, replies);
      this.#line = [];
      this.#bulk = null;
      throw this.#broken;
    }
    return replies;
  }

  #readBulk(chunk: Uint8Array, at: number, replies: RedisBytesReply[]): number {
    const bulk = this.#bulk as Uint8Array;
    const take = Math.min(bulk.length - this.#bulkFilled, chunk.length - at);
    bulk.set(chunk.subarray(at, at + take), this.#bulkFilled);
    this.#bulkFilled += take;
    if (this.#bulkFilled === bulk.length) {
      if (bulk[bulk.length - 2] !== CR || bulk[bulk.length - 1] !== LF) {
        throw new RedisProtocolError("Redis bulk string is not followed by \\r\\n");
      }
      this.#bulk = null;
      this.#complete(bulk.subarray(0, bulk.length - 2), replies);
    }
    return at + take;
  }

  #takeLine(replies: RedisBytesReply[]): void {
    const parts = this.#line;
    const bytes = parts.length === 1 ? parts[0] as Uint8Array : concat(parts, this.#lineBytes);
    this.#line = [];
    this.#lineBytes = 0;
    if (bytes.length < 1 || bytes[bytes.length - 1] !== CR) {
      throw new RedisProtocolError("Redis reply line does not end in \\r\\n");
    }
    const type = bytes[0];
    const text = decoder.decode(bytes.subarray(1, bytes.length - 1));
    switch (type) {
      case 0x2b: // +
        return this.#complete(text, replies);
      case 0x2d: // -
        return this.#complete(new RedisError(text), replies);
      case 0x3a: // :
        return this.#complete(integer(text, "integer"), replies);
      case 0x24: { // $
        const length = integer(text, "bulk string length");
        if (length === -1) return this.#complete(null, replies);
        if (length < 0 || length > this.#maxBulkBytes) {
          throw new RedisProtocolError(
            `Redis bulk string of ${length} bytes is over the limit of ${this.#maxBulkBytes}`,
          );
        }
        this.#bulk = new Uint8Array(length + 2);
        this.#bulkFilled = 0;
        return;
      }
      case 0x2a: { // *
        const length = integer(text, "array length");
        if (length === -1) return this.#complete(null, replies);
        if (length < 0 || length > this.#maxArrayLength) {
          throw new RedisProtocolError(
            `Redis array of ${length} elements is over the limit of ${this.#maxArrayLength}`,
          );
        }
        if (length === 0) return this.#complete([], replies);
        if (this.#stack.length >= MAX_REPLY_DEPTH) {
          throw new RedisProtocolError(
            `Redis reply nests arrays deeper than ${MAX_REPLY_DEPTH}`,
          );
        }
        this.#stack.push({ items: [], length });
        return;
      }
      default:
        throw new RedisProtocolError(
          `Redis reply line begins with ${JSON.stringify(String.fromCharCode(type ?? 0))}, ` +
            "not a RESP2 type",
        );
    }
  }

  /** Puts a finished value in the array being filled, or among the replies. */
  #complete(value: RedisBytesReply, replies: RedisBytesReply[]): void {
    while (true) {
      const top = this.#stack[this.#stack.length - 1];
      if (top === undefined) {
        replies.push(value);
        return;
      }
      top.items.push(value);
      if (top.items.length < top.length) return;
      this.#stack.pop();
      value = top.items;
    }
  }
}

/**
 * A reply read by {@linkcode ReplyParser.feedBytes} with its bulk strings decoded as UTF-8,
 * as {@linkcode ReplyParser.feed} gives it; arrays are changed in place.
 */
export function textReply(reply: RedisBytesReply): RedisReply {
  if (reply instanceof Uint8Array) return decoder.decode(reply);
  if (Array.isArray(reply)) {
    for (let i = 0; i < reply.length; i++) reply[i] = textReply(reply[i] as RedisBytesReply);
  }
  return reply as RedisReply;
}

function integer(text: string, what: string): number {
  if (!/^-?\d{1,19}$/.test(text)) {
    throw new RedisProtocolError(`Redis ${what} ${JSON.stringify(text)} is not a number`);
  }
  return Number(text);
}

/** Joins `parts`, `length` bytes in all, into one buffer. */
export function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A command as Redis reads it: a RESP array of bulk strings, a `Uint8Array` one as it is. */
export function encodeCommand(args: readonly RedisArg[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const arg of args) {
    if (typeof arg === "number" && !Number.isFinite(arg)) {
      throw new TypeError(`Invalid Redis command argument: ${arg} is not a finite number`);
    }
    const bytes = arg instanceof Uint8Array ? arg : encoder.encode(String(arg));
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, encoder.encode("\r\n"));
  }
  return concat(parts, parts.reduce((sum, part) => sum + part.length, 0));
}
