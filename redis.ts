/**
 * A small Redis client, RESP2 over `node:net` (or `node:tls` for `rediss://`), with no package
 * dependencies: only the commands the cluster uses. {@linkcode RedisClient} keeps two
 * connections, one for commands and one for blocking reads (`XREAD BLOCK`), each pipelined,
 * authenticated and reconnected by itself.
 *
 * Bulk strings come back as JavaScript strings (decoded as UTF-8: the cluster stores text), Redis
 * error replies reject the command with a {@linkcode RedisError}, and everything bounded: replies
 * are size-checked as they are parsed, commands waiting are capped and time out, reconnects back
 * off with jitter up to 5 s. A connection is up only once Redis has answered on it, and a command
 * that fails says whether it was written ({@linkcode RedisNoReplyError}: Redis may yet do it) or
 * not ({@linkcode RedisUnavailableError}: it never will).
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

import net from "node:net";
import tls from "node:tls";

/** The port of a `redis://` URL without one. */
export const DEFAULT_REDIS_PORT = 6379;
/** Largest bulk string accepted in a reply: Redis's own `proto-max-bulk-len` is 512 MiB, far more than the cluster stores. */
export const DEFAULT_MAX_BULK_BYTES = 16 * 1024 * 1024;
/** Most elements accepted in one reply array: a bound on what one reply may make us allocate. */
export const DEFAULT_MAX_ARRAY_LENGTH = 1_000_000;
/** Deepest nesting of arrays accepted: XREAD's replies are four deep, nothing we send needs more. */
export const MAX_REPLY_DEPTH = 8;
/** Longest simple-string, error or header line: they are short, so a longer one is malformed. */
export const MAX_LINE_BYTES = 64 * 1024;
/** Time a command (and a connection attempt) may take before the connection is given up on. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;
/** Commands that may wait for one connection's replies; past it Redis is too slow or away. */
export const DEFAULT_MAX_WAITING = 10_000;
/** First reconnect delay; each failed attempt doubles it. */
export const RECONNECT_MIN_MS = 100;
/** Longest reconnect delay, so a Redis that comes back is found within seconds. */
export const RECONNECT_MAX_MS = 5000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;
const LF = 10;

/** Where a Redis server is and how to log in, from a `redis://` or `rediss://` URL. */
export interface RedisAddress {
  /** The host name or address, an IPv6 one without brackets. */
  hostname: string;
  /** The TCP port. @default {6379} */
  port: number;
  /** Sent with the password as `AUTH username password` (Redis 6 ACLs). */
  username?: string;
  /** Sent as `AUTH password` (or with the user name) on every connection. */
  password?: string;
  /** The database, sent as `SELECT db` on every connection unless 0. @default {0} */
  db: number;
  /** Whether to speak TLS (`rediss://`). */
  tls: boolean;
}

/**
 * Reads `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS); user and password
 * are percent-decoded. Throws a `TypeError` naming the part that is wrong.
 */
export function parseRedisUrl(url: string): RedisAddress {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme === undefined) {
    throw new TypeError("Invalid Redis URL: it does not begin with redis:// or rediss://");
  }
  if (scheme !== "redis" && scheme !== "rediss") {
    throw new TypeError(`Invalid Redis URL: scheme "${scheme}" is not redis or rediss`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const port = /^rediss?:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/]*):([^/?#]*)/.exec(url)?.[1];
    if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) > 65535)) {
      throw new TypeError(`Invalid Redis URL: port "${port}" is not from 1 to 65535`);
    }
    throw new TypeError(`Invalid Redis URL: not a URL like redis://[user:password@]host:port[/db]`);
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (hostname === "") throw new TypeError(`Invalid Redis URL: no host`);
  const port = parsed.port === "" ? DEFAULT_REDIS_PORT : Number(parsed.port);
  if (port === 0) throw new TypeError(`Invalid Redis URL: port "0" is not from 1 to 65535`);
  const path = parsed.pathname.replace(/^\//, "");
  if (!/^\d{0,5}$/.test(path)) {
    throw new TypeError(`Invalid Redis URL: database "${path}" is not a number`);
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new TypeError(`Invalid Redis URL: query or fragment is not supported`);
  }
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new TypeError(`Invalid Redis URL: the ${what} is not valid percent-encoding`);
    }
  };
  const address: RedisAddress = {
    hostname,
    port,
    db: path === "" ? 0 : Number(path),
    tls: parsed.protocol === "rediss:",
  };
  if (parsed.username !== "") address.username = decode(parsed.username, "user name");
  if (parsed.password !== "") address.password = decode(parsed.password, "password");
  else if (parsed.username !== "") {
    throw new TypeError(
      `Invalid Redis URL: a user name without a password (redis://:password@host is a password alone)`,
    );
  }
  return address;
}

/** An error reply from Redis (`-ERR ...`): a value in the reply stream, thrown by `command`. */
export class RedisError extends Error {
  /** The reply's first word: `ERR`, `WRONGPASS`, `NOAUTH`, `WRONGTYPE`... */
  readonly code: string;
  /** An error from Redis's reply line `message`; `code` is its first word unless given. */
  constructor(message: string, code?: string) {
    super(message);
    this.name = "RedisError";
    this.code = code ?? message.split(" ", 1)[0] ?? "";
  }
}

/** A reply that breaks RESP2 or a size limit; the connection that read it is closed. */
export class RedisProtocolError extends Error {
  /** Replies completed in the same chunk before the bad bytes. */
  readonly parsed: RedisReply[];
  /** A protocol error saying `message`, after the replies `parsed`. */
  constructor(message: string, parsed: RedisReply[] = []) {
    super(message);
    this.name = "RedisProtocolError";
    this.parsed = parsed;
  }
}

/**
 * Redis cannot take the command now: the connection is down (or being made again), closed, or
 * has too many commands waiting. The command was never written to Redis, so Redis never carries
 * it out: the caller may say it was not done, or try again. Its subclass
 * {@linkcode RedisNoReplyError} is the other case, a command written and not answered.
 */
export class RedisUnavailableError extends Error {
  /** Whether the command was written to Redis before it failed: false here, true for a {@linkcode RedisNoReplyError}. */
  readonly written: boolean = false;
  /** Why a command could not be done, with what caused it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisUnavailableError";
  }
}

/**
 * A command written to Redis got no reply: the connection timed out or was lost after the write.
 * Redis may have carried it out, or may yet (a paused Redis runs what it was sent when it
 * resumes), so it is not to be reported as not done, nor sent again unless doing it twice is
 * harmless. "Written" means handed to the socket; some of those bytes may never have left.
 */
export class RedisNoReplyError extends RedisUnavailableError {
  /** Always true: the command was written. */
  override readonly written: boolean = true;
  /** Why a command written got no reply, with what caused it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisNoReplyError";
  }
}

/**
 * One RESP2 reply: simple and bulk strings as `string`, integers as `number` (exact up to
 * 2^53), null bulk strings and null arrays as `null`, arrays nested, and error replies as a
 * {@linkcode RedisError} value so that pipelined replies keep their order.
 */
export type RedisReply = string | number | null | RedisError | RedisReply[];

/** Limits a {@linkcode ReplyParser} checks as it parses. */
export interface ReplyLimits {
  /** Largest bulk string, in bytes. @default {16777216} */
  maxBulkBytes?: number;
  /** Most elements in one array. @default {1000000} */
  maxArrayLength?: number;
}

interface ArrayFrame {
  items: RedisReply[];
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

  /** Parses `chunk`; returns the replies it completes, in order. */
  feed(chunk: Uint8Array): RedisReply[] {
    if (this.#broken !== null) throw this.#broken;
    const replies: RedisReply[] = [];
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

  #readBulk(chunk: Uint8Array, at: number, replies: RedisReply[]): number {
    const bulk = this.#bulk as Uint8Array;
    const take = Math.min(bulk.length - this.#bulkFilled, chunk.length - at);
    bulk.set(chunk.subarray(at, at + take), this.#bulkFilled);
    this.#bulkFilled += take;
    if (this.#bulkFilled === bulk.length) {
      if (bulk[bulk.length - 2] !== CR || bulk[bulk.length - 1] !== LF) {
        throw new RedisProtocolError("Redis bulk string is not followed by \\r\\n");
      }
      this.#bulk = null;
      this.#complete(decoder.decode(bulk.subarray(0, bulk.length - 2)), replies);
    }
    return at + take;
  }

  #takeLine(replies: RedisReply[]): void {
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
  #complete(value: RedisReply, replies: RedisReply[]): void {
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

function integer(text: string, what: string): number {
  if (!/^-?\d{1,19}$/.test(text)) {
    throw new RedisProtocolError(`Redis ${what} ${JSON.stringify(text)} is not a number`);
  }
  return Number(text);
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A command as Redis reads it: a RESP array of bulk strings. */
export function encodeCommand(args: readonly (string | number)[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const arg of args) {
    if (typeof arg === "number" && !Number.isFinite(arg)) {
      throw new TypeError(`Invalid Redis command argument: ${arg} is not a finite number`);
    }
    const bytes = encoder.encode(String(arg));
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, encoder.encode("\r\n"));
  }
  return concat(parts, parts.reduce((sum, part) => sum + part.length, 0));
}

/** How a {@linkcode RedisConnection} (or {@linkcode RedisClient}) behaves. */
export interface RedisOptions extends ReplyLimits {
  /** Time a command may wait for its reply (longer by its blocking time); then the connection is made again. @default {5000} */
  commandTimeoutMs?: number;
  /** Commands that may wait for replies at once; past it `command` rejects at once. @default {10000} */
  maxWaiting?: number;
  /** First reconnect delay. @default {100} */
  reconnectMinMs?: number;
  /** Longest reconnect delay. @default {5000} */
  reconnectMaxMs?: number;
  /** PEM certificates to trust for `rediss://` instead of the system's (a private CA). */
  ca?: string;
  /** Closes the connection (or client) when aborted. */
  signal?: AbortSignal;
  /**
   * Each time the connection is ready: connected, authenticated, its database selected, and
   * answered on (a paused Redis completes the TCP handshake, in the kernel, and answers nothing).
   */
  onConnect?: () => void;
  /** When a ready connection is lost, with why; reconnecting begins. */
  onDisconnect?: (error: Error) => void;
}

interface Waiting {
  resolve: (reply: RedisReply) => void;
  reject: (error: Error) => void;
  /** When it is given up on, in `performance.now()` time. */
  deadline: number;
}

/** The first `connect()`, waiting to hear how it went. */
interface FirstConnect {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** `idle` before `connect()`; `waiting` between reconnect attempts. */
type State = "idle" | "connecting" | "ready" | "waiting" | "closed";

/** Longest delay `setTimeout` keeps (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One connection to Redis: pipelined (replies matched to commands in order), `AUTH` and
 * `SELECT` (or `PING` when neither is needed) before anything else on every (re)connect, and
 * ready only once Redis has answered them; reconnected with backoff and jitter until
 * {@linkcode RedisConnection.close}. While it is not ready, commands reject at once with a
 * {@linkcode RedisUnavailableError}: never written. The ones in flight when it drops or times
 * out reject with a {@linkcode RedisNoReplyError} once written, as Redis may still do them.
 */
export class RedisConnection {
  /** Where it connects. */
  readonly address: RedisAddress;
  /** `host:port`, for messages. */
  readonly label: string;
  readonly #options: RedisOptions;
  readonly #timeoutMs: number;
  readonly #maxWaiting: number;
  #state: State = "idle";
  #first: FirstConnect | null = null;
  #socket: net.Socket | null = null;
  #parser: ReplyParser | null = null;
  /** Commands sent and not yet answered, oldest from `#waitingHead` on. */
  #waiting: (Waiting | undefined)[] = [];
  #waitingHead = 0;
  /** Encoded commands to write at the end of this turn, as one write. */
  #outbox: Uint8Array[] = [];
  /** The one timer: the connect deadline, the oldest command's deadline, or the reconnect delay. */
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Failed attempts since the last success, for the backoff. */
  #attempt = 0;
  /** Resolves when the socket has closed; `close()` waits for it. */
  #socketClosed: Promise<void> = Promise.resolve();
  #onAbort = (): void => void this.close();

  /** A connection to `address`; nothing is opened before {@linkcode RedisConnection.connect}. */
  constructor(address: RedisAddress | string, options: RedisOptions = {}) {
    this.address = typeof address === "string" ? parseRedisUrl(address) : address;
    this.label = this.address.hostname.includes(":")
      ? `[${this.address.hostname}]:${this.address.port}`
      : `${this.address.hostname}:${this.address.port}`;
    this.#options = options;
    this.#timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#maxWaiting = options.maxWaiting ?? DEFAULT_MAX_WAITING;
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Whether commands can be sent now. */
  get ready(): boolean {
    return this.#state === "ready";
  }

  /** Commands sent and not yet answered. */
  get waiting(): number {
    return this.#waiting.length - this.#waitingHead;
  }

  /**
   * Makes the first connection; rejects, naming the address, if it cannot be made (a
   * {@linkcode RedisUnavailableError}) or Redis refuses `AUTH` or `SELECT` (a
   * {@linkcode RedisError}), and the connection is closed then. Once made, it is made again by
   * itself whenever it drops.
   */
  connect(): Promise<void> {
    if (this.#state !== "idle") {
      return Promise.reject(
        new Deno.errors.BadResource(`Redis ${this.label}: connect() was already called`),
      );
    }
    if (this.#options.signal?.aborted) {
      this.#state = "closed";
      return Promise.reject(new RedisUnavailableError(`Redis ${this.label}: aborted`));
    }
    return new Promise((resolve, reject) => {
      this.#first = { resolve, reject };
      this.#open();
    });
  }

  /**
   * Sends a command; resolves with its reply, or rejects with a {@linkcode RedisError} for an
   * error reply, a {@linkcode RedisNoReplyError} when it was written but the connection timed out
   * or was lost before the reply (Redis may still carry it out), and a
   * {@linkcode RedisUnavailableError} when it was never written (not ready, too many waiting, or
   * lost before the write). `blockMs` lengthens its timeout by the time it may block in Redis.
   */
  command(args: readonly (string | number)[], blockMs: number = 0): Promise<RedisReply> {
    if (this.#state !== "ready") return Promise.reject(this.#unavailable());
    if (this.waiting >= this.#maxWaiting) {
      return Promise.reject(
        new RedisUnavailableError(
          `Redis ${this.label} is too slow or unreachable: ${this.waiting} commands are waiting`,
        ),
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeCommand(args);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#send(bytes, blockMs).then((reply) => {
      if (reply instanceof RedisError) throw reply;
      return reply;
    });
  }

  /** Ends the connection and rejects every command waiting; safe to call twice. */
  async close(): Promise<void> {
    if (this.#state !== "closed") {
      this.#state = "closed";
      this.#options.signal?.removeEventListener("abort", this.#onAbort);
      this.#drop("connection closed");
    }
    await this.#socketClosed;
  }

  /** Closes it, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #unavailable(): RedisUnavailableError {
    const why = this.#state === "closed"
      ? "connection closed"
      : this.#state === "idle"
      ? "not connected"
      : "reconnecting";
    return new RedisUnavailableError(`Redis ${this.label} is unavailable: ${why}`);
  }

  /** Opens a socket, then logs in; every way it can end goes through `#lose`. */
  #open(): void {
    this.#state = "connecting";
    const { hostname, port } = this.address;
    const socket = this.address.tls
      ? tls.connect({
        host: hostname,
        port,
        // SNI takes names only; an address is checked against the certificate's IP entries.
        servername: net.isIP(hostname) === 0 ? hostname : undefined,
        ca: this.#options.ca,
      })
      : net.createConnection({ host: hostname, port });
    this.#socket = socket;
    this.#parser = new ReplyParser(this.#options);
    this.#socketClosed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.setNoDelay(true);
    socket.on("error", (error: Error) => this.#lose(socket, error));
    socket.on("close", () => this.#lose(socket, new Error("closed by Redis")));
    socket.on("data", (chunk: Uint8Array) => this.#read(socket, chunk));
    let connected = false;
    // One deadline for connecting and for the login's replies: a paused Redis connects, silent.
    this.#arm(performance.now() + this.#timeoutMs, () => {
      const what = connected ? "no reply after connecting" : "no connection";
      this.#lose(socket, new Error(`${what} within ${this.#timeoutMs} ms`));
    });
    socket.once(this.address.tls ? "secureConnect" : "connect", () => {
      if (this.#socket !== socket) return;
      connected = true;
      this.#login().then(() => {
        if (this.#socket !== socket || this.#state !== "connecting") return;
        this.#state = "ready";
        this.#attempt = 0;
        this.#armOldest();
        this.#first?.resolve();
        this.#first = null;
        this.#options.onConnect?.();
      }, (error: Error) => {
        this.#lose(
          socket,
          error instanceof RedisError
            ? new RedisError(`Redis ${this.label} refused the login: ${error.message}`, error.code)
            : error,
        );
      });
    });
  }

  #caList(): string[] | undefined {
    return this.#options.ca === undefined ? undefined : [...tls.rootCertificates, this.#options.ca];
  }

  /**
   * `AUTH` and `SELECT`, pipelined, before any command of the caller's; `PING` when neither is
   * sent, so that the connection is ready only once Redis has answered on it.
   */
  async #login(): Promise<void> {
    const { username, password, db } = this.address;
    const steps: Promise<RedisReply>[] = [];
    if (password !== undefined) {
      const args = username === undefined ? ["AUTH", password] : ["AUTH", username, password];
      steps.push(this.#send(encodeCommand(args), 0));
    }
    if (db !== 0) steps.push(this.#send(encodeCommand(["SELECT", db]), 0));
    if (steps.length === 0) {
      // Any reply will do, an error too (NOAUTH from a Redis that wants a password): it answered.
      await this.#send(encodeCommand(["PING"]), 0);
      return;
    }
    for (const reply of await Promise.all(steps)) {
      if (reply instanceof RedisError) throw reply;
    }
  }

  #send(bytes: Uint8Array, blockMs: number): Promise<RedisReply> {
    return new Promise((resolve, reject) => {
      const previous = this.#waiting[this.#waiting.length - 1];
      // A reply cannot come before the ones ahead of it: its time starts no sooner than theirs ends.
      const deadline = Math.max(
        performance.now() + this.#timeoutMs + blockMs,
        previous?.deadline ?? 0,
      );
      this.#waiting.push({ resolve, reject, deadline });
      if (this.#outbox.push(bytes) === 1) queueMicrotask(this.#flush);
      if (this.#state === "ready" && this.waiting === 1) this.#armOldest();
    });
  }

  #flush = (): void => {
    const parts = this.#outbox;
    this.#outbox = [];
    if (parts.length === 0 || this.#socket === null) return;
    this.#socket.write(
      parts.length === 1
        ? parts[0] as Uint8Array
        : concat(parts, parts.reduce((sum, part) => sum + part.length, 0)),
    );
  };

  #read(socket: net.Socket, chunk: Uint8Array): void {
    if (this.#socket !== socket || this.#parser === null) return;
    let replies: RedisReply[];
    let failure: RedisProtocolError | null = null;
    try {
      replies = this.#parser.feed(chunk);
    } catch (error) {
      if (!(error instanceof RedisProtocolError)) throw error;
      failure = error;
      replies = error.parsed;
    }
    for (const reply of replies) {
      const waiter = this.#waiting[this.#waitingHead];
      if (waiter === undefined) {
        failure = new RedisProtocolError("Redis sent a reply to no command");
        break;
      }
      this.#waiting[this.#waitingHead++] = undefined;
      waiter.resolve(reply);
    }
    if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#waitingHead);
      this.#waitingHead = 0;
    }
    if (failure !== null) this.#lose(socket, failure);
    else if (this.#state === "ready") this.#armOldest();
  }

  /** Sets the timer for the oldest command waiting, or clears it if none is. */
  #armOldest(): void {
    const oldest = this.#waiting[this.#waitingHead];
    if (oldest === undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      return;
    }
    const socket = this.#socket;
    this.#arm(oldest.deadline, () => {
      if (socket !== null) this.#lose(socket, new Error(`no reply within ${this.#timeoutMs} ms`));
    });
  }

  #arm(deadline: number, expire: () => void): void {
    clearTimeout(this.#timer);
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, deadline - performance.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A deadline past what one timer holds (BLOCK 0) waits another round.
      if (performance.now() < deadline - 1) this.#arm(deadline, expire);
      else expire();
    }, delay);
  }

  /** The connection over `socket` failed with `error`: drop it, then reconnect (or give up on a first attempt). */
  #lose(socket: net.Socket, error: Error): void {
    if (this.#socket !== socket) return;
    const first = this.#first;
    this.#drop(
      `connection lost (${error.message})`,
      error,
      error instanceof RedisError ? error : new RedisUnavailableError(
        `Cannot connect to Redis at ${this.label}: ${error.message}`,
        { cause: error },
      ),
    );
    if (first !== null) this.#state = "closed";
    else this.#scheduleReconnect();
  }

  /**
   * Closes the socket and rejects every command waiting, saying `why` (a first `connect()` with
   * `firstError`): the one place both happen. The commands written to the socket get a
   * {@linkcode RedisNoReplyError}, the ones still in the outbox a {@linkcode RedisUnavailableError}.
   */
  #drop(why: string, cause?: Error, firstError?: Error): void {
    const wasReady = this.#state === "ready";
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const socket = this.#socket;
    // The outbox holds the newest commands waiting, one each, not yet written.
    const unwritten = this.#outbox.length;
    this.#socket = null;
    this.#parser = null;
    this.#outbox = [];
    if (socket !== null) {
      socket.removeAllListeners("data");
      socket.destroy();
    }
    const waiting = this.#waiting.slice(this.#waitingHead);
    this.#waiting = [];
    this.#waitingHead = 0;
    const error = new RedisUnavailableError(`Redis ${this.label}: ${why}`, { cause });
    const written = waiting.length - unwritten;
    const noReply = written <= 0 ? error : new RedisNoReplyError(
      `Redis ${this.label}: ${why}, with no reply to a command written to it; ` +
        "Redis may still carry it out",
      { cause },
    );
    waiting.forEach((waiter, i) => waiter?.reject(i < written ? noReply : error));
    if (this.#state !== "closed") this.#state = "waiting";
    this.#first?.reject(firstError ?? error);
    this.#first = null;
    if (wasReady) this.#options.onDisconnect?.(error);
  }

  #scheduleReconnect(): void {
    if (this.#state === "closed") return;
    const min = this.#options.reconnectMinMs ?? RECONNECT_MIN_MS;
    const max = this.#options.reconnectMaxMs ?? RECONNECT_MAX_MS;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.#attempt, 16));
    this.#attempt++;
    // Half the delay fixed, half random: servers that lost Redis together do not return together.
    const delay = ceiling / 2 + Math.random() * ceiling / 2;
    this.#arm(performance.now() + delay, () => {
      if (this.#state === "waiting") this.#open();
    });
  }
}

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
  command(args: readonly (string | number)[]): Promise<RedisReply> {
    return this.#commands.command(args);
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
    args: readonly (string | number)[],
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
