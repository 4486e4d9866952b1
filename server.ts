/**
 * A multi-user chat room over TCP: every line a member types reaches every
 * member, in one order that is the same for all.
 *
 * Try it:
 *
 * ```sh
 * deno run --allow-net server.ts --port 2003
 * nc 127.0.0.1 2003        # the first line you type is your nickname; /help lists commands
 * ```
 *
 * @module
 */

import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { parseArgs } from "node:util";
import { AcceptGuard, canGuard } from "./accept_guard.ts";
import { type CommandHost, runCommand } from "./commands.ts";
import type { Link } from "./link.ts";
import { Recipient, Room } from "./room.ts";
import { Deadlines } from "./deadlines.ts";
import { GuessLimiter } from "./guesses.ts";
import { type Pacing, takeBytes, takeLine } from "./pacing.ts";
import { IAC, TelnetFilter } from "./telnet.ts";
import {
  actionLine,
  ANNOUNCE_LIMIT,
  chatLine,
  cleanNickname,
  cleanText,
  DEFAULT_NAME,
  DEFAULT_PORT,
  DEFAULT_SERVER_HOST,
  DEFAULT_WEB_PORT,
  GREETING,
  HISTORY_LINES,
  isQuitWord,
  LINE_TOO_LONG,
  LineFramer,
  MAX_CLIENTS,
  MAX_HISTORY_LINES,
  MAX_LINE_BYTES,
  MAX_PER_IP,
  MAX_QUEUE_BYTES,
  MAX_UNFINISHED_LINE_BYTES,
  messageText,
  NAME_TIMEOUT_MS,
  parseCommand,
  PASSWORD_GREETING,
  QUIT_WORD,
  RATE_BURST,
  RATE_LINES_PER_S,
  TLS_HANDSHAKE_TIMEOUT_MS,
  uniqueName,
  WRONG_PASSWORD_DELAY_MS,
} from "./protocol.ts";

/** Settings of a {@linkcode ChatServer}; each has the default the CLI uses. */
export interface ChatServerOptions {
  /** Address to listen on. @default {"0.0.0.0"} */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. @default {2003} */
  port?: number;
  /**
   * Port to serve the browser page and its WebSocket on, on `hostname` too;
   * 0 picks a free one. Without it there is no web listener (the command
   * line's default is 8080).
   */
  webPort?: number;
  /** Origins besides the page's own whose pages may open the WebSocket. */
  webOrigins?: string[];
  /** PEM certificate chain; with `key`, the server speaks TLS. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /** Connections held at once; the next one is told the room is full. @default {1000} */
  maxClients?: number;
  /** Connections from one address; loopback is exempt unless `limitLoopback`. @default {16} */
  maxPerIp?: number;
  /** Applies `maxPerIp` to loopback addresses too (for tests). @default {false} */
  limitLoopback?: boolean;
  /** Milliseconds a connection has to send its nickname (and password). @default {60000} */
  nameTimeoutMs?: number;
  /** Longest accepted line in bytes. @default {4096} */
  maxLineBytes?: number;
  /** Output that may wait for one member before it is dropped as too slow. @default {262144} */
  maxQueueBytes?: number;
  /** Public lines kept for newcomers; 0 keeps none. @default {20} */
  history?: number;
  /** Lines per second a member may send over time; 0 turns pacing off. @default {10} */
  rate?: number;
  /** Lines a member may send at once before pacing starts. @default {50} */
  burst?: number;
  /** When set, the room is locked: a connection must send this first. */
  password?: string;
  /** Joins and leaves are announced while the room has at most this many members. @default {100} */
  announceLimit?: number;
  /** Stops the server when the last member leaves. @default {false} */
  exitWhenEmpty?: boolean;
  /** Milliseconds shutdown waits for queued output to reach members. @default {2000} */
  shutdownFlushMs?: number;
  /** Receives one line for every connect, nickname, quit and drop. */
  log?: (event: string) => void;
}

/** Why a member leaves; it decides what the others are told. */
type LeaveReason = "quit" | "lost" | "slow" | "flood" | "shutdown" | "refused";

const DEPARTURE_NOTICES: Record<LeaveReason, string | null> = {
  quit: "left the chat",
  lost: "left the chat (connection lost)",
  slow: "left the chat (too slow)",
  flood: "left the chat (line too long)",
  shutdown: null,
  refused: null,
};

/** How long a leaving member's last lines may take to be written. */
const GOODBYE_FLUSH_MS = 2000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The greetings, encoded once: every connection gets one. */
const GREETING_LINE = encoder.encode(GREETING + "\n");
const PASSWORD_GREETING_LINE = encoder.encode(PASSWORD_GREETING + "\n");

/**
 * Where a connection is in its life: it finishes the TLS handshake, proves the
 * password, then names itself, then chats.
 */
type Stage = "handshake" | "password" | "name" | "member";

/** One connection: its link, its name once chosen, and where it is in its life. */
class Member extends Recipient {
  stage: Stage = "name";
  name: string | null = null;
  /** Lines received and not yet handled: reading pauses while they wait. */
  readonly framer: LineFramer;
  /** Whether its received lines are being handled (reading is paused while that waits). */
  draining = false;
  leaving: LeaveReason | null = null;
  /** Set once it has been taken out of the server's books. */
  left = false;
  /** The TLS handshake's time limit. */
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Ends a pause of the reader early, when the connection closes. */
  wake: (() => void) | null = null;
  /** Flood control: lines and bytes it may send now, as of `pacedAt`; bytes may go below 0. */
  lineTokens = 0;
  byteTokens = 0;
  pacedAt = 0;
  /** Who sent this member the last private message, for /reply. */
  replyTo: Member | null = null;
  /** Whether its first bytes have been looked at (a TLS client at a plain port, say). */
  heard = false;
  /** Telnet's commands in its stream, while one is cut across chunks. */
  telnet: TelnetFilter | null = null;
  /** It sent telnet's Interrupt Process: it leaves once the lines before it are handled. */
  interrupted = false;

  /** A connection over `link` (a TCP one is replaced by TLS over it once TLS begins). */
  constructor(
    link: Link,
    readonly ip: string,
    readonly port: number,
    maxLineBytes: number,
  ) {
    super(link);
    this.framer = new LineFramer(maxLineBytes);
  }

  /** The peer's address and port, for logs. */
  get peer(): string {
    return peerLabel(this.ip, this.port);
  }

  /** The member's name for logs: its nickname, or its address before it has one. */
  get label(): string {
    return this.name ?? this.peer;
  }
}

/**
 * Ends a socket once what it holds (and `last`) is written, or destroys it
 * after `ms` at the latest; resolves when it is closed.
 */
function endWithin(socket: Link, ms: number, last?: string): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    // Half-open: the peer may never end its side, so this side closes itself.
    const close = () => socket.destroy();
    if (last !== undefined) socket.write(last);
    socket.end(close);
  });
}

/** Closes a member's socket once; safe to call again. */
function closeConnection(member: Member): void {
  if (member.closed) return;
  member.closed = true;
  stopTimer(member);
  member.link.destroy();
  member.wake?.();
}

/** Cancels the member's timer and lets it go: idle connections are many. */
function stopTimer(member: Member): void {
  clearTimeout(member.timer);
  member.timer = undefined;
}

/** Waits `ms`, or less if the member's connection closes meanwhile. */
function pauseReading(member: Member, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      member.wake = null;
      resolve();
    }
    member.wake = done;
  });
}

/** Compares two secrets in time that depends on neither (both are hashed first). */
async function secretsMatch(given: string, expected: string): Promise<boolean> {
  const digest = async (text: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1" || ip.startsWith("::ffff:127.");
}

/** Where a socket keeps its member, for the handlers that all sockets share. */
const MEMBER = Symbol("member");

/** A socket that belongs to a member. */
type MemberSocket = net.Socket & { [MEMBER]: Member };

/** What a server does when one of its members' sockets reports something. */
interface SocketEvents {
  data(this: net.Socket, chunk: Uint8Array): void;
  end(this: net.Socket): void;
  close(this: net.Socket): void;
  error(this: net.Socket, error: Error): void;
}

/** The member a socket belongs to. */
function memberOf(socket: net.Socket): Member {
  return (socket as MemberSocket)[MEMBER];
}

/** An error listener for sockets whose errors do not matter: without one, an error would be thrown. */
function ignore(): void {}

/** Error codes that mean a peer went away, not that anything is wrong here. */
const CONNECTION_ERRORS = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTCONN",
  "EPIPE",
  "ETIMEDOUT",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
]);

/** Whether an error only says that one peer went away. */
function isConnectionError(error: unknown): boolean {
  return CONNECTION_ERRORS.has((error as { code?: unknown } | null)?.code as string);
}

/** A TLS context, with the certificate and key checked now rather than at the first handshake. */
function tlsContext(cert: string, key: string): tls.SecureContext {
  let certificate: X509Certificate;
  let privateKey: KeyObject;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new TypeError(`Invalid TLS certificate: not a PEM certificate (${describe(error)})`);
  }
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TypeError(`Invalid TLS key: not a PEM private key (${describe(error)})`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TypeError("Invalid TLS key: it does not belong to the certificate");
  }
  return tls.createSecureContext({ cert, key });
}

/** How a member came by its name, for the log. */
function howNamed(requested: string, name: string): string {
  if (requested === "") return " (no name given in time)";
  return requested === name ? "" : ` (asked for ${JSON.stringify(requested)})`;
}

/** Whether a connection's first bytes are a TLS handshake record (content type 22, version 3.x). */
function isTlsHello(chunk: Uint8Array): boolean {
  return chunk[0] === 0x16 && (chunk.length < 2 || chunk[1] === 0x03);
}

/** The peer's address as logs show it, with brackets around an IPv6 one. */
function peerLabel(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The chat server: listens, greets, names and serves members, and shuts down
 * cleanly. Nothing a client sends can stop it or reach another client.
 *
 * @example
 * ```ts ignore
 * await using server = new ChatServer({ hostname: "127.0.0.1", port: 0 });
 * const { port } = await server.start();
 * ```
 */
export class ChatServer {
  readonly #hostname: string;
  readonly #port: number;
  readonly #tls: tls.SecureContext | null;
  readonly #maxClients: number;
  readonly #maxPerIp: number;
  readonly #limitLoopback: boolean;
  readonly #nameTimeoutMs: number;
  readonly #maxLineBytes: number;
  /** A line this long with no newline yet closes the connection. */
  readonly #maxUnfinishedLineBytes: number;
  /** Flood control; null when it is off. */
  readonly #pacing: Pacing | null;
  readonly #burst: number;
  readonly #password: string | null;
  /** Wrong passwords by address, so that guessing is slow however many connections guess. */
  readonly #guesses = new GuessLimiter();
  readonly #exitWhenEmpty: boolean;
  readonly #announceLimit: number;
  readonly #shutdownFlushMs: number;
  /** Absent when nobody listens, so that no log line is even built. */
  readonly #log: ((event: string) => void) | undefined;
  readonly #room: Room<Member>;
  /** Connections that have yet to give their password and name. */
  readonly #naming: Deadlines<Member>;
  readonly #connections = new Set<Member>();
  readonly #perIp = new Map<string, number>();
  readonly #refusals = new Set<Promise<void>>();
  #listener: net.Server | null = null;
  /** Keeps the listener accepting through a shortage of file descriptors. */
  #acceptGuard: AcceptGuard | null = null;
  #starting: Promise<Deno.NetAddr> | null = null;
  #allGone: (() => void) | null = null;
  readonly #finished = Promise.withResolvers<void>();
  #closing: Promise<void> | null = null;

  /** Checks the options; nothing is opened before {@linkcode ChatServer.start}. */
  constructor(options: ChatServerOptions = {}) {
    this.#hostname = options.hostname ?? DEFAULT_SERVER_HOST;
    this.#port = checkInteger("port", options.port ?? DEFAULT_PORT, 0, 65535);
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError("Invalid TLS settings: cert and key go together");
    }
    this.#tls = options.cert !== undefined && options.key !== undefined
      ? tlsContext(options.cert, options.key)
      : null;
    this.#maxClients = checkInteger("maxClients", options.maxClients ?? MAX_CLIENTS, 1);
    this.#maxPerIp = checkInteger("maxPerIp", options.maxPerIp ?? MAX_PER_IP, 1);
    this.#limitLoopback = options.limitLoopback ?? false;
    this.#nameTimeoutMs = checkInteger(
      "nameTimeoutMs",
      options.nameTimeoutMs ?? NAME_TIMEOUT_MS,
      1,
    );
    this.#maxLineBytes = checkInteger("maxLineBytes", options.maxLineBytes ?? MAX_LINE_BYTES, 1);
    this.#maxUnfinishedLineBytes = Math.max(MAX_UNFINISHED_LINE_BYTES, 4 * this.#maxLineBytes);
    const maxQueueBytes = checkInteger(
      "maxQueueBytes",
      options.maxQueueBytes ?? MAX_QUEUE_BYTES,
      1,
    );
    const history = checkInteger("history", options.history ?? HISTORY_LINES, 0, MAX_HISTORY_LINES);
    const rate = checkNumber("rate", options.rate ?? RATE_LINES_PER_S);
    this.#burst = checkInteger("burst", options.burst ?? RATE_BURST, 1);
    this.#pacing = rate > 0 ? { rate, burst: this.#burst, lineBytes: this.#maxLineBytes } : null;
    this.#password = options.password ?? null;
    if (this.#password === "") throw new TypeError("Invalid password: it is empty");
    this.#exitWhenEmpty = options.exitWhenEmpty ?? false;
    this.#announceLimit = checkInteger("announceLimit", options.announceLimit ?? ANNOUNCE_LIMIT, 0);
    this.#shutdownFlushMs = checkInteger(
      "shutdownFlushMs",
      options.shutdownFlushMs ?? GOODBYE_FLUSH_MS,
      0,
    );
    this.#log = options.log;
    this.#room = new Room<Member>(
      maxQueueBytes,
      history,
      (member) => this.#dropTooSlow(member),
    );
    this.#naming = new Deadlines(
      this.#nameTimeoutMs,
      (member) => this.#guard(member, () => this.#nameTimedOut(member)),
    );
  }

  /** Starts listening and accepting; resolves with the bound address. */
  start(): Promise<Deno.NetAddr> {
    if (this.#closing) {
      return Promise.reject(
        new Deno.errors.BadResource("Cannot start chat server: it was closed"),
      );
    }
    this.#starting ??= this.#listen().catch((error) => {
      this.#starting = null;
      throw error;
    });
    return this.#starting;
  }

  async #listen(): Promise<Deno.NetAddr> {
    // Half-open: a peer that stops sending still gets its goodbye.
    const listener = net.createServer({ allowHalfOpen: true }, (socket) => this.#admit(socket));
    this.#listener = listener;
    try {
      await new Promise<void>((resolve, reject) => {
        listener.once("error", reject);
        listener.listen({ host: this.#hostname, port: this.#port }, () => {
          listener.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      this.#listener = null;
      throw error;
    }
    listener.on("error", (error) => this.#log?.(`accept failed: ${describe(error)}`));
    if (canGuard()) {
      this.#acceptGuard = new AcceptGuard(listener, this.#log);
    } else {
      this.#log?.("not watching for a shortage of file descriptors: no permission for 127.0.0.1");
    }
    return this.addr;
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    const address = this.#listener?.address();
    if (address === null || address === undefined || typeof address === "string") {
      throw new Deno.errors.BadResource("Chat server is not started");
    }
    return { transport: "tcp", hostname: address.address, port: address.port };
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
    // A start under way finishes first, so that its listener is closed too.
    await this.#starting?.catch(() => {});
    const listener = this.#listener;
    this.#acceptGuard?.close();
    // The listener reports closed once its last connection is.
    const stopped = new Promise<void>((resolve) => {
      if (listener === null || !listener.listening) resolve();
      else listener.close(() => resolve());
    });
    const members = [...this.#connections];
    const allGone = new Promise<void>((resolve) => this.#allGone = resolve);
    for (const member of members) {
      if (member.leaving === null) member.leaving = "shutdown";
      this.#room.sendTo(member, "* Server is shutting down");
    }
    await Promise.all(members.map((member) => this.#end(member, this.#shutdownFlushMs)));
    if (this.#connections.size > 0) await allGone;
    await Promise.all(this.#refusals);
    await stopped;
    this.#log?.("server stopped");
    this.#finished.resolve();
  }

  /**
   * Handlers that every member's socket shares, finding the member through
   * the socket: idle connections are many, and closures for each add up.
   */
  readonly #socketEvents: SocketEvents = (() => {
    const drain = (member: Member) => void this.#drain(member);
    const opening = (member: Member, chunk: Uint8Array) => this.#opening(member, chunk);
    const telnet = (member: Member, chunk: Uint8Array) => this.#telnet(member, chunk);
    const received = (member: Member, bytes: number) => {
      if (this.#pacing !== null) takeBytes(member, this.#pacing, bytes, performance.now());
    };
    const leave = (member: Member) => void this.#leave(member);
    const failed = (member: Member, error: Error) => {
      if (!isConnectionError(error)) this.#log?.(`${member.label} failed: ${describe(error)}`);
    };
    return {
      data(chunk) {
        const member = memberOf(this);
        if (!member.heard && !opening(member, chunk)) return;
        if (member.telnet !== null || chunk.includes(IAC)) chunk = telnet(member, chunk);
        member.framer.feed(chunk);
        received(member, chunk.length);
        drain(member);
      },
      end() {
        // While lines wait, the drain notices the end itself once they are handled.
        const member = memberOf(this);
        if (!member.draining) leave(member);
      },
      close() {
        leave(memberOf(this));
      },
      error(error) {
        failed(memberOf(this), error);
      },
    };
  })();

  #admit(raw: net.Socket): void {
    const ip = raw.remoteAddress;
    const port = raw.remotePort;
    if (this.#closing !== null || ip === undefined || port === undefined) {
      // Shutting down, or the peer is gone already.
      raw.destroy();
      return;
    }
    // Lines go out at once (writes are coalesced already); dead peers are found.
    raw.setNoDelay(true);
    raw.setKeepAlive(true);
    // A refusal is said over TLS at a TLS port; the TCP socket's errors are no matter then.
    const refusalLink = () => this.#tls === null ? raw : this.#tlsOver(raw.on("error", ignore));
    const guard = this.#acceptGuard;
    if (guard?.short) {
      this.#log?.(`${peerLabel(ip, port)} refused: out of file descriptors`);
      // Its descriptor, once free, takes the next connection waiting.
      raw.once("close", () => guard.rearm());
      this.#refuse(refusalLink(), "! Server is busy; try again later.");
      return;
    }
    const member = this.#admitLink(raw, ip, port, refusalLink);
    if (member === null) return;
    if (this.#tls === null) {
      this.#greet(member);
    } else {
      // TLS begins once the first bytes show that the peer speaks it.
      member.stage = "handshake";
      const limit = Math.min(TLS_HANDSHAKE_TIMEOUT_MS, this.#nameTimeoutMs);
      member.timer = setTimeout(() => this.#handshakeFailed(member, "timed out"), limit);
    }
  }

  /**
   * Admits a connection over any link, unless the server is full or its
   * address has too many already: then it is told so over `refusalLink()`
   * and closed, and the result is null.
   */
  #admitLink(link: Link, ip: string, port: number, refusalLink: () => Link): Member | null {
    if (this.#connections.size >= this.#maxClients) {
      this.#log?.(`${peerLabel(ip, port)} refused: server full`);
      this.#refuse(refusalLink(), `! Server is full (${this.#maxClients} users); try again later.`);
      return null;
    }
    const fromIp = this.#perIp.get(ip) ?? 0;
    if (fromIp >= this.#maxPerIp && (this.#limitLoopback || !isLoopback(ip))) {
      this.#log?.(`${peerLabel(ip, port)} refused: ${fromIp} connections from ${ip} already`);
      this.#refuse(refusalLink(), "! Too many connections from your address");
      return null;
    }
    this.#perIp.set(ip, fromIp + 1);
    const member = new Member(link, ip, port, this.#maxLineBytes);
    member.lineTokens = this.#burst;
    member.byteTokens = this.#burst * this.#maxLineBytes;
    member.pacedAt = performance.now();
    this.#connections.add(member);
    this.#log?.(`${member.peer} connected`);
    this.#listenTo(link, member);
    return member;
  }

  /** A TLS socket over an accepted TCP one, server side. */
  #tlsOver(raw: net.Socket): tls.TLSSocket {
    return new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: this.#tls as tls.SecureContext,
    });
  }

  /** Makes the member's events come from `socket`. */
  #listenTo(socket: Link, member: Member): void {
    const events = this.#socketEvents;
    (socket as MemberSocket)[MEMBER] = member;
    socket.on("error", events.error);
    socket.on("data", events.data);
    socket.on("end", events.end);
    socket.on("close", events.close);
  }

  /** Sends one line and closes; the connection never joins. */
  #refuse(link: Link, text: string): void {
    // Whatever goes wrong, the connection closes and that is all.
    link.on("error", ignore);
    const refusal = endWithin(link, GOODBYE_FLUSH_MS, text + "\n")
      .finally(() => this.#refusals.delete(refusal));
    this.#refusals.add(refusal);
  }

  /**
   * Looks at a connection's first bytes: a TLS client at a plain port is
   * closed at once, and at a TLS port TLS begins only with a client that
   * speaks it. Returns whether the bytes are to be read as lines.
   */
  #opening(member: Member, chunk: Uint8Array): boolean {
    member.heard = true;
    // Only TCP links come here: TLS begins over the plain socket.
    const raw = member.link as net.Socket;
    if (this.#tls === null) {
      if (!isTlsHello(chunk)) return true;
      this.#log?.(`${member.peer} refused: it speaks TLS, and this port does not`);
      member.leaving = "refused";
      closeConnection(member);
      return false;
    }
    if (!isTlsHello(chunk)) {
      this.#plainAtTlsPort(member, "it does not speak TLS");
      return false;
    }
    // The TLS socket over this one reads these bytes again, and all that follow.
    raw.off("data", this.#socketEvents.data);
    raw.off("end", this.#socketEvents.end);
    raw.pause();
    raw.unshift(chunk);
    const socket = this.#tlsOver(raw);
    member.link = socket;
    this.#listenTo(socket, member);
    socket.once("secure", () => {
      if (member.stage !== "handshake") return;
      stopTimer(member);
      this.#greet(member);
    });
    socket.once("error", (error) => this.#handshakeFailed(member, describe(error)));
    socket.once("close", () => this.#handshakeFailed(member, "connection closed"));
    return false;
  }

  /** Tells a plain client at the TLS port so, in words it can read, and closes. */
  #plainAtTlsPort(member: Member, why: string): void {
    this.#log?.(`${member.peer} TLS handshake failed: ${why}`);
    stopTimer(member);
    member.stage = "name";
    member.leaving = "refused";
    this.#room.sendTo(member, "! This port speaks TLS; connect with TLS (client.ts --tls).");
    void this.#leave(member);
  }

  /** Ends a connection whose TLS handshake failed or took too long, unless it is done. */
  #handshakeFailed(member: Member, why: string): void {
    if (member.stage !== "handshake") return;
    // Nothing heard at all: perhaps a plain client waiting for the server to speak.
    if (!member.heard) {
      this.#plainAtTlsPort(member, why);
      return;
    }
    this.#log?.(`${member.peer} TLS handshake failed: ${why}`);
    member.stage = "name";
    member.leaving = "refused";
    closeConnection(member);
  }

  /** Takes telnet's commands out of a chunk, answers them, and notes an interrupt. */
  #telnet(member: Member, chunk: Uint8Array): Uint8Array {
    const filter = member.telnet ?? new TelnetFilter();
    const { data, reply, interrupted } = filter.filter(chunk);
    // Kept only while a command is cut across chunks: idle connections are many.
    member.telnet = filter.midCommand ? filter : null;
    if (reply !== null && !member.link.writableEnded) member.link.write(reply);
    if (interrupted) {
      member.interrupted = true;
      // Nothing after an interrupt is read.
      member.link.pause();
    }
    return data;
  }

  /** Starts the naming clock and asks for the password or the nickname. */
  #greet(member: Member): void {
    this.#naming.add(member);
    member.stage = this.#password === null ? "name" : "password";
    this.#room.sendBytes(member, this.#password === null ? GREETING_LINE : PASSWORD_GREETING_LINE);
  }

  /**
   * Handles the lines received so far, in order. Reading pauses while a line
   * waits (flood control, a full turn, a password check), so TCP pushes back
   * on this sender alone and nothing is dropped.
   */
  async #drain(member: Member): Promise<void> {
    if (member.draining) return;
    member.draining = true;
    const socket = member.link;
    const pacing = this.#pacing;
    try {
      const framer = member.framer;
      for (let line = framer.next(); line !== null; line = framer.next()) {
        if (member.leaving !== null || member.closed) break;
        while (this.#room.turnFull && !member.closed) {
          // This turn carries all it may: the line goes out in a later one.
          socket.pause();
          await this.#room.nextTurn();
        }
        if (member.closed) break;
        if (pacing !== null) {
          // Out of tokens: read nothing more until one is due.
          const wait = takeLine(member, pacing, performance.now());
          if (wait > 0) {
            socket.pause();
            await pauseReading(member, wait);
            if (member.closed) break;
            takeLine(member, pacing, performance.now());
          }
        }
        if (member.leaving !== null) break;
        if (line === LINE_TOO_LONG) {
          this.#room.sendTo(
            member,
            `! Line too long (max ${this.#maxLineBytes} bytes); message dropped.`,
          );
        } else if (member.stage === "password") {
          socket.pause();
          await this.#checkPassword(member, decoder.decode(line));
        } else if (member.stage !== "handshake") {
          this.#receive(member, decoder.decode(line));
        }
      }
      // Telnet's Ctrl+C, after the lines before it: as if it had typed the quit word.
      if (member.interrupted && member.leaving === null) this.#receive(member, QUIT_WORD);
      if (framer.unfinishedLineBytes > this.#maxUnfinishedLineBytes && member.leaving === null) {
        this.#log?.(
          `${member.label} sent over ${this.#maxUnfinishedLineBytes} bytes without a newline`,
        );
        this.#room.sendTo(
          member,
          `! Line far too long (over ${this.#maxUnfinishedLineBytes} bytes); closing the connection.`,
        );
        member.leaving = "flood";
      }
      // More bytes came than the byte bucket allows: read nothing until they are paid for.
      const owed = pacing === null ? 0 : takeBytes(member, pacing, 0, performance.now());
      if (owed > 0 && member.leaving === null && !member.closed) {
        socket.pause();
        await pauseReading(member, owed);
      }
    } catch (error) {
      this.#log?.(`${member.label} failed: ${describe(error)}`);
      closeConnection(member);
    } finally {
      member.draining = false;
    }
    if (member.leaving !== null || member.closed || socket.readableEnded) void this.#leave(member);
    else if (socket.isPaused()) socket.resume();
  }

  /** Runs `action` for one member; a failure ends that connection only. */
  #guard(member: Member, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#log?.(`${member.label} failed: ${describe(error)}`);
      closeConnection(member);
    }
  }

  #nameTimedOut(member: Member): void {
    if (member.stage === "password") {
      this.#room.sendTo(member, "! Timed out waiting for the password");
      member.leaving = "refused";
      void this.#leave(member);
    } else {
      this.#join(member, "");
    }
  }

  #receive(member: Member, line: string): void {
    const text = cleanText(line);
    if (member.stage === "name") {
      if (isQuitWord(text)) member.leaving = "quit";
      else this.#join(member, text);
      return;
    }
    if (text === "") return;
    if (isQuitWord(text)) {
      member.leaving = "quit";
      return;
    }
    const command = parseCommand(text);
    if (command === null) {
      this.#room.broadcast(chatLine(member.name as string, messageText(text)), { public: true });
    } else {
      runCommand(this.#commandHost, member, command.name, command.rest);
    }
  }

  async #checkPassword(member: Member, line: string): Promise<void> {
    const wait = this.#guesses.take(member.ip, performance.now());
    if (wait > 0) {
      this.#log?.(`${member.peer} refused: too many wrong passwords from ${member.ip}`);
      this.#room.sendTo(
        member,
        `! Too many wrong passwords from your address; try again in ${Math.ceil(wait / 1000)} s`,
      );
      member.leaving = "refused";
      return;
    }
    if (await secretsMatch(line, this.#password as string)) {
      this.#guesses.right(member.ip);
      member.stage = "name";
      this.#room.sendTo(member, GREETING);
      return;
    }
    this.#log?.(`${member.peer} gave a wrong password`);
    await pauseReading(member, WRONG_PASSWORD_DELAY_MS);
    this.#room.sendTo(member, "! Wrong password");
    member.leaving = "refused";
  }

  /** What the commands may do, for the member who typed one. */
  readonly #commandHost: CommandHost<Member> = {
    tell: (member, ...lines) => this.#room.sendTo(member, ...lines),
    names: () => [...this.#room.members].map((member) => member.name as string),
    whisper: (from, to, text) => this.#whisper(from, to, this.#room.find(to), text),
    replyTo: (member) => member.replyTo?.name ?? null,
    reply: (from, text) => {
      const to = from.replyTo as Member;
      this.#whisper(from, to.name as string, this.#room.members.has(to) ? to : undefined, text);
    },
    rename: (member, requested) => this.#rename(member, requested),
    act: (member, action) =>
      this.#room.broadcast(actionLine(member.name as string, action), { public: true }),
  };

  #whisper(from: Member, toName: string, to: Member | undefined, text: string): void {
    if (to === undefined) {
      this.#room.sendTo(from, `! No such user: ${toName}`);
      return;
    }
    this.#room.sendTo(to, `(private) ${from.name}: ${text}`);
    if (to !== from) this.#room.sendTo(from, `(private to ${to.name}) ${from.name}: ${text}`);
    to.replyTo = from;
  }

  #rename(member: Member, requested: string): void {
    const old = member.name as string;
    if (requested === "") {
      this.#room.sendTo(member, "! Usage: /nick NEW");
      return;
    }
    const name = cleanNickname(requested);
    if (name === DEFAULT_NAME && requested !== DEFAULT_NAME) {
      this.#room.sendTo(member, `! Invalid name: ${requested}`);
      return;
    }
    if (this.#room.find(name, member) !== undefined) {
      this.#room.sendTo(member, `! Name taken: ${name}`);
      return;
    }
    if (name === old) {
      this.#room.sendTo(member, `! You are already ${name}`);
      return;
    }
    this.#room.rename(member, name);
    this.#room.broadcast(`* ${old} is now known as ${name}`);
    this.#log?.(`${member.peer} ${old} is now ${name}`);
  }

  #join(member: Member, requested: string): void {
    if (member.stage !== "name" || member.leaving !== null || member.closed) return;
    this.#naming.delete(member);
    const name = uniqueName(cleanNickname(requested), this.#room.isTaken);
    member.stage = "member";
    this.#room.add(member, name);
    this.#room.sendTo(member, `Welcome, ${name}! Type ${QUIT_WORD} to leave.`);
    this.#room.sendHistory(member);
    if (this.#room.members.size <= this.#announceLimit) {
      this.#room.broadcast(`* ${name} joined the chat`, { except: member });
    }
    this.#log?.(`${member.peer} is ${name}${howNamed(requested, name)}`);
  }

  #dropTooSlow(member: Member): void {
    member.leaving ??= "slow";
    this.#announceDeparture(member, "slow");
    closeConnection(member);
  }

  #announceDeparture(member: Member, reason: LeaveReason): void {
    const size = this.#room.members.size;
    if (!this.#room.remove(member)) return;
    const notice = DEPARTURE_NOTICES[reason];
    if (notice !== null && size <= this.#announceLimit) {
      this.#room.broadcast(`* ${member.name} ${notice}`);
    }
    this.#log?.(`${member.peer} ${member.name} ${notice ?? "left at shutdown"}`);
    if (this.#exitWhenEmpty && this.#room.members.size === 0) {
      this.#log?.("the last member left");
      void this.close();
    }
  }

  /**
   * Ends the member's link once what is queued for it is written; closes it
   * outright after `ms`. Resolves when it is closed.
   */
  async #end(member: Member, ms: number): Promise<void> {
    // A flush already queued for this turn runs first.
    await null;
    if (member.closed) return;
    await endWithin(member.link, ms);
    closeConnection(member);
  }

  async #leave(member: Member): Promise<void> {
    if (member.left) return;
    member.left = true;
    stopTimer(member);
    this.#naming.delete(member);
    const reason = member.leaving ?? "lost";
    member.leaving = reason;
    if (member.name === null && reason !== "shutdown") {
      this.#log?.(`${member.peer} ${reason === "quit" ? "quit" : "disconnected"} before joining`);
    }
    this.#announceDeparture(member, reason);
    if (reason === "quit") {
      this.#room.sendTo(member, member.name === null ? "* Goodbye!" : `* Goodbye, ${member.name}!`);
    }
    if (reason !== "shutdown") await this.#end(member, GOODBYE_FLUSH_MS);
    closeConnection(member);
    this.#connections.delete(member);
    const fromIp = (this.#perIp.get(member.ip) ?? 1) - 1;
    if (fromIp > 0) this.#perIp.set(member.ip, fromIp);
    else this.#perIp.delete(member.ip);
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

function checkNumber(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Invalid ${name}: expected a number from 0 up, got ${value}`);
  }
  return value;
}

const USAGE = `Usage: deno run --allow-net server.ts [options]

Runs a chat room. Connect with client.ts, or with nc HOST PORT.

Options:
  --host HOST              address to listen on (default ${DEFAULT_SERVER_HOST})
  --port PORT              port to listen on, 0 for any free one (default ${DEFAULT_PORT})
  --web-port PORT          port of the browser page, on --host too, 0 for any (default ${DEFAULT_WEB_PORT})
  --no-web                 serve no browser page
  --web-origin ORIGIN      also let pages from ORIGIN join over WebSocket (repeatable)
  --max-clients N          connections held at once (default ${MAX_CLIENTS})
  --max-per-ip N           connections from one address, loopback exempt (default ${MAX_PER_IP})
  --name-timeout SECONDS   time to send a nickname before getting "guest" (default ${
  NAME_TIMEOUT_MS / 1000
})
  --max-line-bytes N       longest accepted line (default ${MAX_LINE_BYTES})
  --max-queue-bytes N      output waiting for one member before it is dropped as too slow (default ${MAX_QUEUE_BYTES})
  --history N              recent public lines shown to newcomers, 0 for none (default ${HISTORY_LINES})
  --rate N                 lines per second one member may send, 0 for no limit (default ${RATE_LINES_PER_S})
  --burst N                lines one member may send at once (default ${RATE_BURST})
  --password-file PATH     lock the room with the password in PATH (needs --allow-read)
  --cert FILE --key FILE   speak TLS with this certificate and key (needs --allow-read)
  --announce-limit N       announce joins and leaves while the room has at most N members (default ${ANNOUNCE_LIMIT})
  --exit-when-empty        stop when the last member leaves
  --quiet                  print only the listening line, no event log
  -h, --help               show this help`;

/** Server settings read from the command line, before any file is read. */
export interface ServerArgs {
  /** The options that go straight to {@linkcode ChatServer}. */
  options: ChatServerOptions;
  /** File holding the room's password. */
  passwordFile?: string;
  /** Files holding the TLS certificate and key. */
  certFile?: string;
  keyFile?: string;
  /** Print no event log. */
  quiet: boolean;
  /** Print the usage and stop. */
  help: boolean;
}

/** Parses the command line; throws a `TypeError` that names the bad flag. */
export function parseServerArgs(args: string[]): ServerArgs {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "web-port": { type: "string" },
      "no-web": { type: "boolean", default: false },
      "web-origin": { type: "string", multiple: true },
      "max-clients": { type: "string" },
      "max-per-ip": { type: "string" },
      "name-timeout": { type: "string" },
      "max-line-bytes": { type: "string" },
      "max-queue-bytes": { type: "string" },
      history: { type: "string" },
      rate: { type: "string" },
      burst: { type: "string" },
      "password-file": { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      "announce-limit": { type: "string" },
      "exit-when-empty": { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (positionals.length > 0) throw new TypeError(`Unexpected argument: ${positionals[0]}`);
  const number = (
    flag: keyof typeof values,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
    whole = true,
  ): number | undefined => {
    const text = values[flag] as string | undefined;
    if (text === undefined) return undefined;
    const value = Number(text);
    const ok = text.trim() !== "" && Number.isFinite(value) && value >= min && value <= max &&
      (!whole || Number.isInteger(value));
    if (!ok) {
      const kind = whole ? "a whole number" : "a number";
      throw new TypeError(
        `Invalid --${flag}: expected ${kind} from ${min} to ${max}, got "${text}"`,
      );
    }
    return value;
  };
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new TypeError("Invalid TLS flags: --cert and --key go together");
  }
  if (
    values["no-web"] && (values["web-port"] !== undefined || values["web-origin"] !== undefined)
  ) {
    throw new TypeError(
      "Invalid web flags: --no-web goes with neither --web-port nor --web-origin",
    );
  }
  for (const origin of values["web-origin"] ?? []) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new TypeError(
        `Invalid --web-origin: expected scheme://host[:port] such as http://chat.lan:8080, got "${origin}"`,
      );
    }
  }
  const nameTimeout = number("name-timeout", 0.001, 86400, false);
  return {
    options: {
      hostname: values.host,
      port: number("port", 0, 65535),
      webPort: values["no-web"] ? undefined : number("web-port", 0, 65535) ?? DEFAULT_WEB_PORT,
      webOrigins: values["web-origin"],
      maxClients: number("max-clients", 1),
      maxPerIp: number("max-per-ip", 1),
      nameTimeoutMs: nameTimeout === undefined ? undefined : Math.ceil(nameTimeout * 1000),
      maxLineBytes: number("max-line-bytes", 1),
      maxQueueBytes: number("max-queue-bytes", 1),
      history: number("history", 0, MAX_HISTORY_LINES),
      rate: number("rate", 0, 1e9, false),
      burst: number("burst", 1),
      announceLimit: number("announce-limit", 0),
      exitWhenEmpty: values["exit-when-empty"],
    },
    passwordFile: values["password-file"],
    certFile: values.cert,
    keyFile: values.key,
    quiet: values.quiet,
    help: values.help,
  };
}

/** Reads the files the flags name; the message says which file failed. */
async function readFiles(args: ServerArgs): Promise<ChatServerOptions> {
  const read = async (what: string, path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new Error(`Cannot read ${what} ${path}: ${(error as Error).message}`);
    }
  };
  const options = { ...args.options };
  if (args.passwordFile !== undefined) {
    // The first line is the password; a trailing newline from an editor is not part of it.
    const password = (await read("password file", args.passwordFile)).split(/\r?\n/)[0] ?? "";
    if (password === "") {
      throw new Error(`Cannot use password file ${args.passwordFile}: it is empty`);
    }
    options.password = password;
  }
  if (args.certFile !== undefined && args.keyFile !== undefined) {
    options.cert = await read("certificate", args.certFile);
    options.key = await read("key", args.keyFile);
  }
  return options;
}

function timestamp(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ` +
    `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
}

/** Runs a server until it is stopped, printing the listening line; returns the exit code. */
export async function runServer(
  options: ChatServerOptions,
  onListen: (addr: Deno.NetAddr) => void,
): Promise<number> {
  let server: ChatServer;
  try {
    server = new ChatServer(options);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  let addr: Deno.NetAddr;
  try {
    addr = await server.start();
  } catch (error) {
    const where = `${options.hostname ?? DEFAULT_SERVER_HOST}:${options.port ?? DEFAULT_PORT}`;
    console.error(`Cannot listen on ${where}: ${(error as Error).message}`);
    return 1;
  }
  onListen(addr);
  const stop = () => void server.close();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    await server.finished;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
  return 0;
}

async function main(args: string[]): Promise<number> {
  let parsed: ServerArgs;
  let options: ChatServerOptions;
  try {
    parsed = parseServerArgs(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    options = await readFiles(parsed);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const log = parsed.quiet ? undefined : (event: string) => console.log(`${timestamp()} ${event}`);
  return await runServer({ ...options, log }, (addr) => {
    console.log(`Chat server listening on ${addr.hostname}:${addr.port}`);
    if (options.cert !== undefined) console.log("Connections use TLS.");
    if (options.cert !== undefined && new X509Certificate(options.cert).ca) {
      // What `openssl req -x509` makes by default; rustls refuses it (CaUsedAsEndEntity).
      console.error(
        `Warning: the certificate in ${parsed.certFile} is a CA certificate (CA:TRUE), ` +
          "which TLS clients refuse as a server's own; make one with " +
          "basicConstraints=critical,CA:FALSE (README: Encryption).",
      );
    }
    if (options.password !== undefined) console.log("The room is locked with a password.");
  });
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
