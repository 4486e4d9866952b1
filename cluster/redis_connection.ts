/**
 * One connection to Redis, {@linkcode RedisConnection}: RESP2 over `node:net`
 * (or `node:tls` for `rediss://`), pipelined, authenticated, answered on
 * before it counts as up, and made again with backoff when it drops; and
 * {@linkcode parseRedisUrl}, which reads where to connect. The client the
 * cluster uses, two of these, is in `redis.ts`.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import {
  RedisError,
  RedisNoReplyError,
  RedisProtocolError,
  RedisUnavailableError,
} from "./redis_errors.ts";
import {
  concat,
  encodeCommand,
  type RedisArg,
  type RedisBytesReply,
  type RedisReply,
  type ReplyLimits,
  ReplyParser,
  textReply,
} from "./redis_resp.ts";
/** The port of a `redis://` URL without one. */
export const DEFAULT_REDIS_PORT = 6379;
/** Time a command (and a connection attempt) may take before the connection is given up on. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;
/** Commands that may wait for one connection's replies; past it Redis is too slow or away. */
export const DEFAULT_MAX_WAITING = 10_000;
/** First reconnect delay; each failed attempt doubles it. */
export const RECONNECT_MIN_MS = 100;
/** Longest reconnect delay, so a Redis that comes back is found within seconds. */
export const RECONNECT_MAX_MS = 5000;

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

/** How a {@linkcode RedisConnection} (or a `RedisClient`, which has two) behaves. */
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
  resolve: (reply: RedisBytesReply) => void;
  reject: (error: Error) => void;
  /** Its bulk strings are wanted as bytes, not text. */
  bytes: boolean;
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
  command(args: readonly RedisArg[], blockMs: number = 0): Promise<RedisReply> {
    return this.#command(args, blockMs, false) as Promise<RedisReply>;
  }

  /**
   * Sends a command as {@linkcode RedisConnection.command} does, and resolves with its reply's
   * bulk strings as the bytes Redis sent (`Uint8Array`), for values that are not text.
   */
  commandBytes(args: readonly RedisArg[], blockMs: number = 0): Promise<RedisBytesReply> {
    return this.#command(args, blockMs, true);
  }

  #command(args: readonly RedisArg[], blockMs: number, raw: boolean): Promise<RedisBytesReply> {
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
    return this.#send(bytes, blockMs, raw).then((reply) => {
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
    const steps: Promise<RedisBytesReply>[] = [];
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

  #send(bytes: Uint8Array, blockMs: number, raw = false): Promise<RedisBytesReply> {
    return new Promise((resolve, reject) => {
      const previous = this.#waiting[this.#waiting.length - 1];
      // A reply cannot come before the ones ahead of it: its time starts no sooner than theirs ends.
      const deadline = Math.max(
        performance.now() + this.#timeoutMs + blockMs,
        previous?.deadline ?? 0,
      );
      this.#waiting.push({ resolve, reject, deadline, bytes: raw });
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
    let replies: RedisBytesReply[];
    let failure: RedisProtocolError | null = null;
    try {
      // Bulk strings stay bytes until it is known whose reply they are.
      replies = this.#parser.feedBytes(chunk);
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
      waiter.resolve(waiter.bytes ? reply : textReply(reply));
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
