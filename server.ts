/**
 * A multi-user chat room over TCP: every line a member types reaches every
 * member, in one order that is the same for all.
 *
 * Try it:
 *
 * ```sh
 * deno run --allow-net server.ts --port 2003
 * nc 127.0.0.1 2003        # the first line you type is your nickname
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  chatLine,
  cleanNickname,
  cleanText,
  DEFAULT_PORT,
  DEFAULT_SERVER_HOST,
  GREETING,
  isQuitWord,
  LINE_TOO_LONG,
  LineFramer,
  MAX_CLIENTS,
  MAX_LINE_BYTES,
  MAX_QUEUE_BYTES,
  NAME_TIMEOUT_MS,
  nameKey,
  QUIT_WORD,
  uniqueName,
} from "./protocol.ts";

/** Settings of a {@linkcode ChatServer}; each has the default the CLI uses. */
export interface ChatServerOptions {
  /** Address to listen on. @default {"0.0.0.0"} */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. @default {2003} */
  port?: number;
  /** A listener to serve instead of opening one from `hostname` and `port`. */
  listener?: Deno.Listener;
  /** Connections held at once; the next one is told the room is full. @default {1000} */
  maxClients?: number;
  /** Milliseconds a connection has to send its nickname. @default {60000} */
  nameTimeoutMs?: number;
  /** Longest accepted line in bytes. @default {4096} */
  maxLineBytes?: number;
  /** Output that may wait for one member before it is dropped as too slow. @default {262144} */
  maxQueueBytes?: number;
  /** Milliseconds shutdown waits for queued output to reach members. @default {2000} */
  shutdownFlushMs?: number;
  /** Receives one line for every connect, nickname, quit and drop. */
  log?: (event: string) => void;
}

/** Why a member leaves; it decides what the others are told. */
type LeaveReason = "quit" | "lost" | "slow" | "shutdown";

const DEPARTURE_NOTICES: Record<LeaveReason, string | null> = {
  quit: "left the chat",
  lost: "left the chat (connection lost)",
  slow: "left the chat (too slow)",
  shutdown: null,
};

/** First read buffer of a connection: small, because most members are idle. */
const READ_BUFFER_MIN = 2048;
/** A busy connection's read buffer doubles up to this. */
const READ_BUFFER_MAX = 64 * 1024;
/** How long a leaving member's last lines may take to be written. */
const GOODBYE_FLUSH_MS = 2000;
/** Pause after an accept error that is not about one connection (say, out of file descriptors). */
const ACCEPT_RETRY_MS = 100;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One connection: its socket, its name once chosen, and its output queue. */
class Member {
  name: string | null = null;
  /** Encoded lines waiting to be written; shared with every other member's queue. */
  queue: Uint8Array[] = [];
  /** Bytes in `queue` plus the write in flight. */
  queuedBytes = 0;
  writing = false;
  flushScheduled = false;
  overflowed = false;
  closed = false;
  leaving: LeaveReason | null = null;
  nameTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  onFlushed: (() => void) | null = null;

  constructor(readonly conn: Deno.Conn, readonly peer: string) {}

  /** The member's name for logs: its nickname, or its address before it has one. */
  get label(): string {
    return this.name ?? this.peer;
  }
}

/**
 * The room: the named members in join order, and delivery to them. Every line
 * is encoded once; each member's queue holds a reference to that copy, and one
 * writer per member drains it, many lines to one write.
 */
class Room {
  /** Named members, in the order they joined. */
  readonly members: Set<Member> = new Set();
  readonly #byKey = new Map<string, Member>();
  readonly #toFlush: Member[] = [];
  #flushQueued = false;
  readonly #overflowed: Member[] = [];

  constructor(
    readonly maxQueueBytes: number,
    readonly onTooSlow: (member: Member) => void,
  ) {}

  /** Whether a name (by its {@linkcode nameKey}) is taken. */
  isTaken = (key: string): boolean => this.#byKey.has(key);

  add(member: Member, name: string): void {
    member.name = name;
    this.members.add(member);
    this.#byKey.set(nameKey(name), member);
  }

  /** Takes a member out of the room; false when it was not in it. */
  remove(member: Member): boolean {
    if (!this.members.delete(member)) return false;
    this.#byKey.delete(nameKey(member.name as string));
    return true;
  }

  /** Queues one line for one connection, named or not. */
  sendTo(member: Member, text: string): void {
    this.#enqueue(member, encoder.encode(text + "\n"));
    this.#dropOverflowed();
  }

  /** Queues one line for every member but `except`; never waits for a socket. */
  broadcast(text: string, except?: Member): void {
    const line = encoder.encode(text + "\n");
    for (const member of this.members) {
      if (member !== except) this.#enqueue(member, line);
    }
    this.#dropOverflowed();
  }

  /** Resolves once everything queued for `member` is written, it closes, or `ms` pass. */
  whenFlushed(member: Member, ms: number): Promise<void> {
    if (member.closed || member.queuedBytes === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const previous = member.onFlushed;
      function done() {
        clearTimeout(timer);
        member.onFlushed = null;
        previous?.();
        resolve();
      }
      member.onFlushed = done;
    });
  }

  #enqueue(member: Member, line: Uint8Array): void {
    if (member.closed || member.overflowed) return;
    member.queue.push(line);
    member.queuedBytes += line.length;
    if (member.queuedBytes > this.maxQueueBytes) {
      member.overflowed = true;
      this.#overflowed.push(member);
      return;
    }
    if (!member.writing && !member.flushScheduled) {
      member.flushScheduled = true;
      this.#toFlush.push(member);
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        // Whatever else this turn queues joins the same write.
        queueMicrotask(this.#flushAll);
      }
    }
  }

  // Dropped only after the broadcast loop, so that every member receives the
  // departure notice after the same line.
  #dropOverflowed(): void {
    for (let member = this.#overflowed.shift(); member; member = this.#overflowed.shift()) {
      member.queue = [];
      this.onTooSlow(member);
    }
  }

  #flushAll = (): void => {
    this.#flushQueued = false;
    const members = this.#toFlush.splice(0);
    for (const member of members) {
      member.flushScheduled = false;
      if (!member.writing) void this.#write(member);
    }
  };

  async #write(member: Member): Promise<void> {
    member.writing = true;
    try {
      while (member.queue.length > 0 && !member.closed) {
        const data = concatenate(member.queue);
        member.queue = [];
        for (let offset = 0; offset < data.length;) {
          offset += await member.conn.write(data.subarray(offset));
        }
        member.queuedBytes -= data.length;
      }
    } catch {
      // The reader sees the closed socket and reports the member as lost.
      closeConnection(member);
    } finally {
      member.writing = false;
      if (member.closed || member.queue.length === 0) member.onFlushed?.();
    }
  }
}

function concatenate(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const data = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return data;
}

/** Closes a member's socket once; safe to call again. */
function closeConnection(member: Member): void {
  if (member.closed) return;
  member.closed = true;
  clearTimeout(member.nameTimer);
  try {
    member.conn.close();
  } catch {
    // Already closed by the runtime.
  }
  member.onFlushed?.();
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function peerOf(conn: Deno.Conn): string {
  const addr = conn.remoteAddr as Deno.NetAddr;
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/** Errors that concern only the connection that was being accepted. */
function isConnectionError(error: unknown): boolean {
  return error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted;
}

/**
 * The chat server: listens, greets, names and serves members, and shuts down
 * cleanly. Nothing a client sends can stop it or reach another client.
 *
 * @example
 * ```ts ignore
 * await using server = new ChatServer({ hostname: "127.0.0.1", port: 0 });
 * const { port } = server.start();
 * ```
 */
export class ChatServer {
  readonly #hostname: string;
  readonly #port: number;
  readonly #maxClients: number;
  readonly #nameTimeoutMs: number;
  readonly #maxLineBytes: number;
  readonly #shutdownFlushMs: number;
  readonly #log: (event: string) => void;
  readonly #room: Room;
  readonly #connections = new Set<Member>();
  readonly #refusals = new Set<Promise<void>>();
  readonly #stopping = new AbortController();
  #listener: Deno.Listener | null;
  #acceptLoop: Promise<void> = Promise.resolve();
  #allGone: (() => void) | null = null;
  readonly #finished = Promise.withResolvers<void>();
  #closing: Promise<void> | null = null;

  /** Checks the options; nothing is opened before {@linkcode ChatServer.start}. */
  constructor(options: ChatServerOptions = {}) {
    this.#hostname = options.hostname ?? DEFAULT_SERVER_HOST;
    this.#port = checkInteger("port", options.port ?? DEFAULT_PORT, 0, 65535);
    this.#listener = options.listener ?? null;
    this.#maxClients = checkInteger("maxClients", options.maxClients ?? MAX_CLIENTS, 1);
    this.#nameTimeoutMs = checkInteger(
      "nameTimeoutMs",
      options.nameTimeoutMs ?? NAME_TIMEOUT_MS,
      1,
    );
    this.#maxLineBytes = checkInteger("maxLineBytes", options.maxLineBytes ?? MAX_LINE_BYTES, 1);
    const maxQueueBytes = checkInteger(
      "maxQueueBytes",
      options.maxQueueBytes ?? MAX_QUEUE_BYTES,
      1,
    );
    this.#shutdownFlushMs = checkInteger("shutdownFlushMs", options.shutdownFlushMs ?? 2000, 0);
    this.#log = options.log ?? (() => {});
    this.#room = new Room(maxQueueBytes, (member) => this.#dropTooSlow(member));
  }

  /** Starts listening and accepting; returns the bound address. */
  start(): Deno.NetAddr {
    if (this.#closing) throw new Deno.errors.BadResource("Cannot start chat server: it was closed");
    this.#listener ??= Deno.listen({ hostname: this.#hostname, port: this.#port });
    this.#acceptLoop = this.#accept(this.#listener);
    return this.addr;
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    if (this.#listener === null) throw new Deno.errors.BadResource("Chat server is not started");
    return this.#listener.addr as Deno.NetAddr;
  }

  /** How many connections are open, named or not. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Resolves when the server has shut down and every connection is closed. */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /**
   * Shuts down: stops accepting, tells every member, lets queued output drain
   * for at most `shutdownFlushMs`, then closes every connection.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Shuts the server down, as {@linkcode ChatServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(): Promise<void> {
    this.#stopping.abort();
    try {
      this.#listener?.close();
    } catch {
      // Closed already.
    }
    await this.#acceptLoop;
    const members = [...this.#connections];
    for (const member of members) {
      if (member.leaving === null) member.leaving = "shutdown";
      this.#room.sendTo(member, "* Server is shutting down");
    }
    await Promise.all(
      members.map((member) => this.#room.whenFlushed(member, this.#shutdownFlushMs)),
    );
    const allGone = new Promise<void>((resolve) => this.#allGone = resolve);
    for (const member of members) closeConnection(member);
    if (this.#connections.size > 0) await allGone;
    await Promise.all(this.#refusals);
    this.#log("server stopped");
    this.#finished.resolve();
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    const stopping = this.#stopping.signal;
    while (!stopping.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopping.aborted || error instanceof Deno.errors.BadResource) break;
        this.#log(`accept failed: ${describe(error)}`);
        if (!isConnectionError(error)) await pause(ACCEPT_RETRY_MS, stopping);
        continue;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.Conn): void {
    if (this.#stopping.signal.aborted) {
      conn.close();
      return;
    }
    const peer = peerOf(conn);
    if (this.#connections.size >= this.#maxClients) {
      this.#log(`${peer} refused: server full`);
      this.#refuse(conn, `! Server is full (${this.#maxClients} users); try again later.`);
      return;
    }
    try {
      // Lines go out at once (writes are coalesced already); dead peers are found.
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      if ("setKeepAlive" in conn) (conn as Deno.TcpConn).setKeepAlive(true);
    } catch {
      // The peer is gone already; the first read says so.
    }
    const member = new Member(conn, peer);
    this.#connections.add(member);
    void this.#serve(member);
  }

  #refuse(conn: Deno.Conn, text: string): void {
    const refusal = conn.write(encoder.encode(text + "\n"))
      .catch(() => 0)
      .then(() => conn.close())
      .catch(() => {})
      .finally(() => this.#refusals.delete(refusal));
    this.#refusals.add(refusal);
  }

  async #serve(member: Member): Promise<void> {
    this.#log(`${member.peer} connected`);
    this.#room.sendTo(member, GREETING);
    member.nameTimer = setTimeout(
      () => this.#guard(member, () => this.#join(member, "")),
      this.#nameTimeoutMs,
    );
    const framer = new LineFramer(this.#maxLineBytes);
    let buffer = new Uint8Array(READ_BUFFER_MIN);
    try {
      while (member.leaving === null) {
        const count = await member.conn.read(buffer);
        if (count === null) break;
        framer.feed(buffer.subarray(0, count));
        for (
          let line = framer.next();
          line !== null && member.leaving === null;
          line = framer.next()
        ) {
          if (line === LINE_TOO_LONG) {
            this.#room.sendTo(
              member,
              `! Line too long (max ${this.#maxLineBytes} bytes); message dropped.`,
            );
          } else {
            this.#receive(member, decoder.decode(line));
          }
        }
        if (count === buffer.length && buffer.length < READ_BUFFER_MAX) {
          buffer = new Uint8Array(buffer.length * 2);
        }
      }
    } catch (error) {
      if (!member.closed && !isConnectionError(error)) {
        this.#log(`${member.label} read failed: ${describe(error)}`);
      }
    } finally {
      await this.#leave(member);
    }
  }

  /** Runs `action` for one member; a failure ends that connection only. */
  #guard(member: Member, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#log(`${member.label} failed: ${describe(error)}`);
      closeConnection(member);
    }
  }

  #receive(member: Member, line: string): void {
    const text = cleanText(line);
    if (member.name === null) {
      if (isQuitWord(text)) member.leaving = "quit";
      else this.#join(member, text);
      return;
    }
    if (text === "") return;
    if (isQuitWord(text)) {
      member.leaving = "quit";
      return;
    }
    this.#room.broadcast(chatLine(member.name, text));
  }

  #join(member: Member, requested: string): void {
    if (member.name !== null || member.leaving !== null || member.closed) return;
    clearTimeout(member.nameTimer);
    const name = uniqueName(cleanNickname(requested), this.#room.isTaken);
    this.#room.add(member, name);
    this.#room.sendTo(member, `Welcome, ${name}! Type ${QUIT_WORD} to leave.`);
    this.#room.broadcast(`* ${name} joined the chat`, member);
    const how = requested === ""
      ? " (no name given in time)"
      : requested === name
      ? ""
      : ` (asked for ${JSON.stringify(requested)})`;
    this.#log(`${member.peer} is ${name}${how}`);
  }

  #dropTooSlow(member: Member): void {
    member.leaving ??= "slow";
    this.#announceDeparture(member, "slow");
    closeConnection(member);
  }

  #announceDeparture(member: Member, reason: LeaveReason): void {
    if (!this.#room.remove(member)) return;
    const notice = DEPARTURE_NOTICES[reason];
    if (notice !== null) this.#room.broadcast(`* ${member.name} ${notice}`);
    this.#log(`${member.peer} ${member.name} ${notice ?? "left at shutdown"}`);
  }

  async #leave(member: Member): Promise<void> {
    clearTimeout(member.nameTimer);
    const reason = member.leaving ?? "lost";
    member.leaving = reason;
    if (member.name === null && reason !== "shutdown") {
      this.#log(
        `${member.peer} ${reason === "quit" ? "quit" : "disconnected"} before choosing a name`,
      );
    }
    this.#announceDeparture(member, reason);
    if (reason === "quit") {
      this.#room.sendTo(member, member.name === null ? "* Goodbye!" : `* Goodbye, ${member.name}!`);
    }
    if (reason !== "shutdown") await this.#room.whenFlushed(member, GOODBYE_FLUSH_MS);
    closeConnection(member);
    this.#connections.delete(member);
    if (this.#connections.size === 0) this.#allGone?.();
  }
}

function checkInteger(
  name: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Invalid ${name}: expected a whole number from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

const USAGE = `Usage: deno run --allow-net server.ts [options]

Runs a chat room. Connect with client.ts, or with nc HOST PORT.

Options:
  --host HOST              address to listen on (default ${DEFAULT_SERVER_HOST})
  --port PORT              port to listen on, 0 for any free one (default ${DEFAULT_PORT})
  --max-clients N          connections held at once (default ${MAX_CLIENTS})
  --name-timeout SECONDS   time to send a nickname before getting "guest" (default ${
  NAME_TIMEOUT_MS / 1000
})
  --max-line-bytes N       longest accepted line (default ${MAX_LINE_BYTES})
  --max-queue-bytes N      output waiting for one member before it is dropped as too slow (default ${MAX_QUEUE_BYTES})
  --quiet                  print only the listening line, no event log
  -h, --help               show this help`;

/** Parses the command line into server options; throws a `TypeError` that names the bad flag. */
export function parseServerArgs(
  args: string[],
): ChatServerOptions & { help: boolean; quiet: boolean } {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "max-clients": { type: "string" },
      "name-timeout": { type: "string" },
      "max-line-bytes": { type: "string" },
      "max-queue-bytes": { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (positionals.length > 0) throw new TypeError(`Unexpected argument: ${positionals[0]}`);
  const number = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    const text = values[flag as keyof typeof values] as string | undefined;
    if (text === undefined) return undefined;
    const value = Number(text);
    if (text.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
      throw new TypeError(
        `Invalid --${flag}: expected a whole number from ${min} to ${max}, got "${text}"`,
      );
    }
    return value;
  };
  const nameTimeout = values["name-timeout"] === undefined
    ? undefined
    : Number(values["name-timeout"]);
  if (nameTimeout !== undefined && !(nameTimeout > 0 && nameTimeout <= 86400)) {
    throw new TypeError(
      `Invalid --name-timeout: expected seconds from 0 to 86400, got "${values["name-timeout"]}"`,
    );
  }
  return {
    help: values.help,
    quiet: values.quiet,
    hostname: values.host,
    port: number("port", 0, 65535),
    maxClients: number("max-clients", 1),
    nameTimeoutMs: nameTimeout === undefined
      ? undefined
      : Math.max(1, Math.round(nameTimeout * 1000)),
    maxLineBytes: number("max-line-bytes", 1),
    maxQueueBytes: number("max-queue-bytes", 1),
  };
}

function timestamp(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ` +
    `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
}

async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parseServerArgs(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const log = options.quiet ? undefined : (event: string) => console.log(`${timestamp()} ${event}`);
  const server = new ChatServer({ ...options, log });
  let addr: Deno.NetAddr;
  try {
    addr = server.start();
  } catch (error) {
    const where = `${options.hostname ?? DEFAULT_SERVER_HOST}:${options.port ?? DEFAULT_PORT}`;
    console.error(`Cannot listen on ${where}: ${(error as Error).message}`);
    return 1;
  }
  console.log(`Chat server listening on ${addr.hostname}:${addr.port}`);
  const stop = () => void server.close();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, stop);
    } catch {
      // SIGTERM cannot be listened for on Windows; Ctrl+C still works.
    }
  }
  await server.finished;
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
