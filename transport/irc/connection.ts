/**
 * One IRC client's socket as the core's {@linkcode Link}: the client's
 * lines are cut at CR LF (512 bytes and 4,096 of tags at most), read as IRC
 * messages and handed to its {@linkcode IrcSession}, whose lines for the core
 * come out as this link's `data` events; what the core writes goes through
 * the session and out as IRC messages. The link also pings a quiet client
 * and closes one that does not answer.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import type net from "node:net";
import type { Link } from "../../core/link.ts";
import { formatMessage, MAX_CLIENT_TAG_BYTES, MAX_MESSAGE_BYTES, parseMessage } from "./message.ts";
import { quickLines } from "./quick_lines.ts";
import { IrcSession, type IrcSessionHost } from "./session.ts";
import {
  partsFor,
  sharedLines,
  type SharedOutput,
  tagsOf,
  translateMessages,
  translateShared,
} from "./shared_output.ts";

/** A client quiet this long is sent a PING. */
export const PING_IDLE_MS = 60_000;
/** How long a client cut as too slow has to take its last lines and its ERROR. */
export const FAREWELL_MS = 2000;
/** A client that answers no PING within this long is closed. */
export const PING_TIMEOUT_MS = 120_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** What an {@linkcode IrcConnection} is given. */
export interface IrcConnectionOptions extends IrcSessionHost {
  /** Quiet time before the server pings. @default {60000} */
  pingIdleMs?: number;
  /** Time to answer a PING. @default {120000} */
  pingTimeoutMs?: number;
  /** Where a failure of this connection is told. */
  log?: ((event: string) => void) | undefined;
  /** The door's translations shared by its clients (shared_output.ts); none: each says its own. */
  shared?: SharedOutput;
}

/** An IRC client's socket as a core link: see the module's description. */
export class IrcConnection extends EventEmitter implements Link {
  readonly #socket: net.Socket;
  readonly #session: IrcSession;
  readonly #serverName: string;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  #paused = false;
  #ended = false;
  /** Bytes of a line not yet ended by LF. */
  #buffer: Uint8Array = new Uint8Array(0);
  /** A line went over the cap: the rest of it, up to its LF, is skipped. */
  #skipping = false;
  /** Lines for the core gathered while a chunk is read. */
  #forCore: string[] = [];
  /** The core's lines for the last chunk, when every line was a message to the client's channel. */
  #quick: Buffer | null = null;
  /** What waits for those lines to be handed over (a further channel's seat, after an earlier JOIN). */
  #afterCore: (() => void)[] = [];
  /** Why the connection ends, for the ERROR line the client gets. */
  #closing: string | null = null;
  /** The core cut it (too slow): its ERROR goes out as it is destroyed. */
  #farewell = false;
  /** Lines said while the core's write is read, sent together at its end; null outside one. */
  #batch: string[] | null = null;
  #lastHeard = performance.now();
  #pingSent: number | null = null;
  #pinger: ReturnType<typeof setInterval> | undefined;
  readonly #pingIdleMs: number;
  readonly #pingTimeoutMs: number;
  readonly #log: ((event: string) => void) | undefined;
  /** The door's translations of the core's last write, shared by the clients of a channel. */
  readonly #shared: SharedOutput | undefined;

  /** A link over `socket` (plain or TLS), whose IRC session asks `options` about the chat. */
  constructor(socket: net.Socket, options: IrcConnectionOptions) {
    super();
    this.#socket = socket;
    this.#serverName = options.serverName;
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.#pingIdleMs = options.pingIdleMs ?? PING_IDLE_MS;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? PING_TIMEOUT_MS;
    this.#log = options.log;
    this.#shared = options.shared;
    this.#session = new IrcSession({
      toClient: (line) => this.#send(line),
      toCore: (line) => this.#forCore.push(line),
      afterCore: (action) => this.#afterCore.push(action),
      guard: (action) => this.#guard(action),
      close: (reason) => this.#close(reason),
      writableLength: () => this.#socket.writableLength,
    }, options);
    // An error with nobody listening (the core has let the link go) must not throw.
    this.on("error", () => {});
    socket.on("data", (chunk: Uint8Array) => this.#read(chunk));
    socket.on("end", () => this.emit("end"));
    socket.on("error", (error: Error) => this.emit("error", error));
    socket.on("close", () => {
      clearInterval(this.#pinger);
      this.#session.dispose();
      this.emit("close");
    });
    const check = Math.max(10, Math.min(this.#pingIdleMs, this.#pingTimeoutMs) / 4);
    this.#pinger = setInterval(() => this.#checkAlive(), check);
  }

  get writableLength(): number {
    return this.#socket.writableLength;
  }
  get writableEnded(): boolean {
    return this.#ended;
  }
  get readableEnded(): boolean {
    return this.#socket.readableEnded;
  }
  get destroyed(): boolean {
    return this.#socket.destroyed;
  }

  /** The core's lines, said to the client in IRC's words. */
  write(data: Uint8Array | string): boolean {
    // A room's broadcast, said once for the clients of a channel who see it alike.
    if (this.#shared !== undefined && typeof data !== "string" && this.#writeShared(data)) {
      return true;
    }
    const text = typeof data === "string" ? data : decoder.decode(data);
    // What the core hands over at once goes out in one write, as the line port's does.
    const batch: string[] = [];
    this.#batch = batch;
    try {
      for (const line of text.split("\n")) {
        if (line === "") continue;
        // A refusal says why before the core closes; a member's own errors do not end it.
        if (line.startsWith("! ") && this.#session.name === null) this.#closing = line.slice(2);
        else if (line === "* Server is shutting down") this.#closing = "Server is shutting down";
        this.#guard(() => this.#session.fromCore(line));
      }
    } finally {
      this.#batch = null;
    }
    if (batch.length > 0 && !this.#ended && !this.#socket.destroyed) {
      this.#socket.write(batch.join(""));
    }
    return true;
  }

  /**
   * Writes the core's `data` as the door's other clients of this channel
   * who see it alike had it said (shared_output.ts), or says it and keeps
   * it for them; false when it is not such a broadcast.
   */
  #writeShared(data: Uint8Array): boolean {
    const shared = this.#shared as SharedOutput;
    const session = this.#session;
    const view = session.sharedView;
    if (view === null) return false;
    let entry = shared.get(data, view);
    if (entry === undefined) {
      const time = session.serverTime ? `time=${new Date().toISOString()}` : "";
      const accountOf = session.accountTag ? (name: string) => session.accountOf(name) : null;
      // Members' messages from their bytes; anything else through their text.
      entry = translateMessages(data, shared.headsFor(session.channel), time, accountOf);
      if (entry === undefined) {
        const lines = sharedLines(decoder.decode(data));
        entry = lines === null ? null : translateShared(lines, session.channel, time, accountOf);
      }
      shared.set(data, view, entry);
    }
    if (entry === null) return false;
    if (!this.#ended && !this.#socket.destroyed) {
      const parts = partsFor(entry, session.name as string, session.echo);
      if (parts.length === 1) this.#socket.write(parts[0] as Uint8Array);
      else if (parts.length > 1) {
        // One write of the views, not a copy of them: the socket hands them to the kernel at once.
        this.#socket.cork();
        for (const part of parts) this.#socket.write(part);
        this.#socket.uncork();
      }
    }
    return true;
  }

  pause(): this {
    this.#paused = true;
    this.#socket.pause();
    return this;
  }
  resume(): this {
    this.#paused = false;
    this.#socket.resume();
    return this;
  }
  isPaused(): boolean {
    return this.#paused;
  }

  /** Says why in an ERROR line, then ends once it is sent. */
  end(callback?: () => void): this {
    if (!this.#ended && !this.#socket.destroyed) {
      // What was said before the end goes first.
      if (this.#batch !== null && this.#batch.length > 0) {
        this.#socket.write(this.#batch.join(""));
        this.#batch.length = 0;
      }
      this.#ended = true;
      const why = this.#closing ?? "Quit";
      this.#socket.write(
        `${this.#tagged(formatMessage(null, "ERROR", [`Closing Link: ${why}`]))}\r\n`,
      );
    }
    this.#ended = true;
    this.#socket.end(callback);
    return this;
  }

  /** The core closes it for `reason` (too slow): the client is told so last, as it closes. */
  closingBecause(reason: string): void {
    this.#closing = reason;
    this.#farewell = true;
  }

  destroy(): this {
    clearInterval(this.#pinger);
    if (this.#farewell && !this.#ended && !this.#socket.destroyed) {
      // Behind what the client has not read yet; it closes within FAREWELL_MS whatever it does.
      this.#ended = true;
      this.#socket.end(
        `${this.#tagged(formatMessage(null, "ERROR", [`Closing Link: ${this.#closing}`]))}\r\n`,
      );
      const timer = setTimeout(() => this.#socket.destroy(), FAREWELL_MS);
      this.#socket.once("close", () => clearTimeout(timer));
      return this;
    }
    this.#socket.destroy();
    return this;
  }

  #send(line: string): void {
    if (this.#ended || this.#socket.destroyed) return;
    const out = this.#tagged(line);
    if (this.#batch !== null) this.#batch.push(out + "\r\n");
    else this.#socket.write(out + "\r\n");
  }

  /**
   * `line` with the time it is sent (`@time=...`) for a client that asked
   * for server-time, and its sender's account (`account=...`) for one that
   * asked for account-tag.
   */
  #tagged(line: string): string {
    // A line that has its tags already (a history batch's, with the time it was said) keeps them.
    if (line.startsWith("@")) return line;
    const session = this.#session;
    const time = session.serverTime ? `time=${new Date().toISOString()}` : "";
    const account = session.accountTag ? session.accountOf(sourceNick(line)) : null;
    return tagsOf(time, account) + line;
  }

  /** Ends the connection from the door's side (QUIT before registration, no PONG). */
  #close(reason: string): void {
    this.#closing = reason;
    this.end(() => this.#socket.destroy());
  }

  #checkAlive(): void {
    const now = performance.now();
    if (this.#pingSent !== null) {
      if (now - this.#pingSent >= this.#pingTimeoutMs) {
        this.#close(`Ping timeout: ${Math.round(this.#pingTimeoutMs / 1000)} seconds`);
      }
      return;
    }
    if (now - this.#lastHeard >= this.#pingIdleMs) {
      this.#pingSent = now;
      this.#send(formatMessage(null, "PING", [this.#serverName]));
    }
  }

  /** Cuts the client's bytes into lines, handles them, and hands the core what they asked. */
  #read(chunk: Uint8Array): void {
    this.#lastHeard = performance.now();
    this.#pingSent = null;
    const data = this.#buffer.length > 0 ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const lastFeed = data.lastIndexOf(10);
    let start = 0;
    // A busy client's lines, messages to its channel, straight to the core.
    const quickly = this.#session.quickMessages;
    const quick = lastFeed > 0 && quickly !== null && !this.#skipping && this.#forCore.length === 0
      ? quickLines(data, lastFeed, quickly.room, quickly.longest)
      : null;
    if (quick !== null) {
      this.#quick = quick;
      start = lastFeed + 1;
    } else {
      // The complete lines decoded at once (a line feed is never inside a character); when that
      // fails, some line is not UTF-8, and each is decoded on its own to tell which.
      let texts: string[] | null = null;
      if (lastFeed > 0) {
        try {
          texts = strictDecoder.decode(data.subarray(0, lastFeed)).split("\n");
        } catch {
          texts = null;
        }
      }
      let index = 0;
      for (let end = data.indexOf(10); end !== -1; end = data.indexOf(10, start)) {
        const line = data.subarray(start, end > start && data[end - 1] === 13 ? end - 1 : end);
        start = end + 1;
        const text = texts?.[index++];
        if (this.#skipping) {
          this.#skipping = false;
          continue;
        }
        this.#line(line, text?.endsWith("\r") ? text.slice(0, -1) : text);
        if (this.#ended) break;
      }
    }
    const rest = data.subarray(start);
    if (rest.length > MAX_MESSAGE_BYTES + MAX_CLIENT_TAG_BYTES) {
      if (!this.#skipping) this.#session.inputTooLong();
      this.#skipping = true;
      this.#buffer = new Uint8Array(0);
    } else {
      // A copy: a view would keep the socket's whole chunk.
      this.#buffer = new Uint8Array(rest);
    }
    // Every byte counts for flood control, whatever the door made of it.
    this.#flushToCore(chunk.length);
  }

  /** Hands the core the lines gathered, paced by `received` bytes. */
  #flushToCore(received: number): void {
    const quick = this.#quick;
    if (quick !== null) {
      this.#quick = null;
      this.emit("data", quick, Math.max(received, quick.length));
    } else if (this.#forCore.length > 0 || received > 0) {
      const text = this.#forCore.length === 0 ? "" : this.#forCore.join("\n") + "\n";
      this.#forCore = [];
      const encoded = encoder.encode(text);
      // As a Buffer, as sockets' chunks are: the core's framer finds line feeds in it natively.
      const lines = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length);
      this.emit("data", lines, Math.max(received, lines.length));
    }
    const after = this.#afterCore;
    this.#afterCore = [];
    for (const action of after) this.#guard(action);
  }

  /** Handles one line, `bytes` without CR LF; `decoded`, when given, is its text. */
  #line(bytes: Uint8Array, decoded?: string): void {
    // A client's tags may take 4,096 bytes with their `@` and space, the rest 512 with CR LF.
    let body = bytes;
    if (bytes[0] === 64 /* @ */) {
      const space = bytes.indexOf(32);
      if (
        space > MAX_CLIENT_TAG_BYTES - 1 || (space === -1 && bytes.length > MAX_CLIENT_TAG_BYTES)
      ) {
        return this.#session.inputTooLong();
      }
      if (space !== -1) body = bytes.subarray(space + 1);
    }
    if (body.length > MAX_MESSAGE_BYTES - 2) return this.#session.inputTooLong();
    let text: string;
    try {
      text = decoded ?? strictDecoder.decode(bytes);
    } catch {
      // UTF8ONLY: a line that is not UTF-8 is refused, not mangled.
      const command = parseMessage(decoder.decode(bytes))?.command;
      if (command !== undefined) this.#session.invalidUtf8(command);
      return;
    }
    const message = parseMessage(text);
    if (message === null) return;
    this.#guard(() => this.#session.handle(message));
  }

  /** Runs `action`; a failure ends this connection only, never the server or the room. */
  #guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      const where = `${this.remoteAddress}:${this.remotePort}`;
      this.#log?.(`${where} IRC failed: ${error instanceof Error ? error.message : error}`);
      this.destroy();
    }
  }
}

/** The nickname of a message's `nick!user@host` source, or "" when a server sent it. */
function sourceNick(line: string): string {
  if (!line.startsWith(":")) return "";
  const bang = line.indexOf("!");
  const space = line.indexOf(" ");
  return bang > 1 && (space === -1 || bang < space) ? line.slice(1, bang) : "";
}
