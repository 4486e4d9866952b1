/**
 * The chat's web side: serves the page and its files, and upgrades
 * `GET /ws` to a WebSocket whose {@linkcode WebSocketLink} goes to the room,
 * over HTTP or, given a TLS context, HTTPS (and so `wss://`). Built on
 * `node:net`, so the server still needs `--allow-net` only.
 *
 * One connection serves one request, unless it is upgraded. Every response
 * carries a Content-Security-Policy that allows no inline or foreign script
 * and no framing. An upgrade from a page of another site is refused (403):
 * see {@linkcode originAllowed}.
 *
 * What a stranger can hold is bounded. A request head may take
 * {@linkcode HEAD_GRACE_MS}, then must keep to {@linkcode MIN_HEAD_BYTES_PER_S}
 * and end within the head timeout (408 otherwise). At most `maxPending`
 * requests are under way at once (503 beyond) and `maxPerIp` from one address
 * (429 beyond); an address refused that many times over, with its refusals
 * still open, has its further connections closed unanswered.
 *
 * Reading and answering HTTP is in `web_http.ts`, the counting of requests
 * under way in `web_admission.ts`; this file holds the sockets.
 *
 * ```ts ignore
 * const assets = new Map([["/", { type: "text/html; charset=utf-8", body: page }]]);
 * await using web = new WebServer({ hostname: "127.0.0.1", port: 8080, assets, onLink });
 * await web.start();
 * ```
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import { AcceptGuard, canGuard } from "./accept_guard.ts";
import {
  addressOf,
  checkInteger,
  closeListener,
  describe,
  ignore,
  isConnectionError,
  isTlsHello,
  listenOn,
  peerLabel,
} from "./net_helpers.ts";
import { Admission, type Ticket } from "./web_admission.ts";
import {
  decodeHead,
  growHead,
  headEnd,
  MAX_HEAD_BYTES,
  parseAllowedOrigins,
  parseRequestHead,
  printable,
  refuseHandshake,
  type Reply,
  type RequestHead,
  responseHead,
  statusBody,
  switchingProtocols,
} from "./web_http.ts";
import { exchangeFile, fileRequestKind } from "./web_files.ts";
import { KeepAlive, PING_INTERVAL_MS, WebSocketLink } from "./websocket.ts";
import type { FileDoor } from "../core/files.ts";

export { MAX_PENDING } from "./web_admission.ts";
export {
  CONTENT_SECURITY_POLICY,
  MAX_HEAD_BYTES,
  normalizeOrigin,
  originAllowed,
  parseRequestHead,
  type RequestHead,
} from "./web_http.ts";

/** The path of the chat's WebSocket. */
export const WEBSOCKET_PATH = "/ws";
/**
 * How long a connection has to send its request head (and finish the TLS
 * handshake), however fast it comes: a browser sends it at once, and one that
 * trickles in holds a descriptor no longer than this.
 */
export const HEAD_TIMEOUT_MS = 10_000;
/**
 * How long a connection may take before its head must keep to
 * {@linkcode MIN_HEAD_BYTES_PER_S}: a browser sends its whole head in one
 * packet, one round trip after connecting (two more over TLS), and 3 s covers
 * a poor mobile link's 1 s round trip with room to spare.
 */
export const HEAD_GRACE_MS = 3000;
/**
 * The slowest a request head may arrive after {@linkcode HEAD_GRACE_MS}: each
 * 500 bytes buy one more second (Apache's `mod_reqtimeout` default), far above
 * a peer that dribbles a byte at a time and far below any real link.
 */
export const MIN_HEAD_BYTES_PER_S = 500;
/** How long a response may take to reach the client before the connection is cut. */
const LINGER_MS = 2000;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/** A file the server serves. */
export interface Asset {
  /** Its `Content-Type`. */
  readonly type: string;
  /** Its bytes. */
  readonly body: Uint8Array;
}

/** Settings of a {@linkcode WebServer}. */
export interface WebServerOptions {
  /** Address to listen on. @default {"0.0.0.0"} */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Shares the port with other processes that ask the same (SO_REUSEPORT). */
  reusePort?: boolean;
  /** With a TLS context the server speaks HTTPS only, and the socket is `wss://`. */
  tls?: tls.SecureContext;
  /** The files served, by path: `/` is the page. Any other path is 404. */
  assets: ReadonlyMap<string, Asset>;
  /** Origins besides the page's own whose pages may open the socket (`https://chat.example`). */
  allowedOrigins?: readonly string[];
  /** Receives each upgraded connection; add its listeners before returning. */
  onLink(link: WebSocketLink): void;
  /** Where uploads (`/upload/…`) go and shared files (`/files/…`) come from; none when absent. */
  files?: FileDoor | null;
  /** The window an upload must bring 16 KiB in, or be cut. @default {30000} */
  uploadStallMs?: number;
  /** Receives one line for every response and every refusal. */
  log?(event: string): void;
  /** Milliseconds a quiet socket waits for a ping, and then for its answer. @default {30000} */
  pingIntervalMs?: number;
  /** Milliseconds a connection has to send its request head, however fast. @default {10000} */
  headTimeoutMs?: number;
  /**
   * Connections under way at once, at most: sending their request or getting
   * their response, until they are closed or upgraded. @default {256}
   */
  maxPending?: number;
  /**
   * Connections under way from one address, at most; loopback is exempt
   * unless `limitLoopback`. @default {Infinity}
   */
  maxPerIp?: number;
  /** Holds loopback addresses to `maxPerIp` too. @default {false} */
  limitLoopback?: boolean;
}

/** A connection that has not been upgraded: it sends its request, and gets one response. */
interface Pending {
  /** The TCP socket. */
  readonly raw: net.Socket;
  /** What the request comes over: the TCP socket, or the TLS socket on it. */
  socket: net.Socket;
  readonly peer: string;
  /** What it counts as until it is closed or upgraded. */
  readonly ticket: Ticket;
  /** When it was accepted (`performance.now()`), for the head's minimum rate. */
  readonly since: number;
  /** The head's bytes so far: the first `headLength` bytes, the rest room to grow. */
  head: Uint8Array;
  headLength: number;
  /** The head's deadline, then the response's. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Whether it got its response (or was upgraded). */
  answered: boolean;
  /** Its sockets' listeners, taken off when it is upgraded. */
  // deno-lint-ignore no-explicit-any
  readonly listeners: [net.Socket, string, (...args: any[]) => void][];
}

/**
 * The web server: the page and its files over HTTP(S), and the chat's
 * WebSocket at {@linkcode WEBSOCKET_PATH}, whose links go to `onLink`.
 * Nothing a client sends can stop it: a failure ends that connection only.
 *
 * @example
 * ```ts ignore
 * const web = new WebServer({ hostname: "127.0.0.1", port: 0, assets, onLink: room.admit });
 * const { port } = await web.start();
 * ```
 */
export class WebServer {
  readonly #hostname: string;
  readonly #port: number;
  readonly #reusePort: boolean;
  readonly #tls: tls.SecureContext | null;
  readonly #assets: ReadonlyMap<string, Asset>;
  readonly #allowedOrigins: ReadonlySet<string>;
  readonly #onLink: (link: WebSocketLink) => void;
  readonly #files: FileDoor | null;
  readonly #uploadStallMs: number | undefined;
  readonly #log: ((event: string) => void) | undefined;
  readonly #headTimeoutMs: number;
  /** The requests under way, in all and per address, which decide whom to refuse. */
  readonly #admission: Admission;
  /** One timer that pings every quiet socket of this server. */
  readonly #keepAlive: KeepAlive;
  /** The connections not upgraded, refused ones included, so that shutdown closes them. */
  readonly #pending = new Set<Pending>();
  #listener: net.Server | null = null;
  /**
   * Keeps the listener accepting after it ran out of file descriptors (the
   * TCP listener's guard says so in the log; this one only re-arms).
   */
  #acceptGuard: AcceptGuard | null = null;
  #starting: Promise<Deno.NetAddr> | null = null;
  #closing: Promise<void> | null = null;

  /** Checks the options; nothing is opened before {@linkcode WebServer.start}. */
  constructor(options: WebServerOptions) {
    this.#hostname = options.hostname ?? "0.0.0.0";
    this.#port = checkInteger("port", options.port, 0, 65535);
    this.#reusePort = options.reusePort ?? false;
    this.#tls = options.tls ?? null;
    this.#assets = options.assets;
    this.#allowedOrigins = parseAllowedOrigins(options.allowedOrigins ?? []);
    this.#onLink = options.onLink;
    this.#files = options.files ?? null;
    this.#uploadStallMs = options.uploadStallMs;
    this.#log = options.log;
    this.#headTimeoutMs = checkInteger(
      "headTimeoutMs",
      options.headTimeoutMs ?? HEAD_TIMEOUT_MS,
      1,
    );
    this.#admission = new Admission({
      maxPending: options.maxPending,
      maxPerIp: options.maxPerIp,
      limitLoopback: options.limitLoopback,
      log: options.log,
    });
    this.#keepAlive = new KeepAlive(
      checkInteger("pingIntervalMs", options.pingIntervalMs ?? PING_INTERVAL_MS, 1),
    );
  }

  /** Starts listening; resolves with the bound address. */
  start(): Promise<Deno.NetAddr> {
    if (this.#closing !== null) {
      return Promise.reject(new Deno.errors.BadResource("Cannot start web server: it was closed"));
    }
    this.#starting ??= this.#listen();
    return this.#starting;
  }

  async #listen(): Promise<Deno.NetAddr> {
    const listener = net.createServer((raw) => this.#accept(raw));
    this.#listener = listener;
    try {
      await listenOn(listener, this.#hostname, this.#port, this.#reusePort);
    } catch (error) {
      this.#listener = null;
      throw error;
    }
    listener.on("error", (error) => this.#log?.(`web accept failed: ${describe(error)}`));
    if (canGuard()) this.#acceptGuard = new AcceptGuard(listener);
    return this.addr;
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return addressOf(this.#listener, "Web server");
  }

  /** How many sockets are watched for silence: the links that are open. */
  get linkCount(): number {
    return this.#keepAlive.size;
  }

  /**
   * Stops listening and closes the connections that are not upgraded;
   * resolves once every connection is closed. The links are their owner's to
   * close (the room says goodbye first).
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Closes the server, as {@linkcode WebServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(): Promise<void> {
    await this.#starting?.catch(() => {});
    this.#acceptGuard?.close();
    const stopped = closeListener(this.#listener);
    for (const pending of this.#pending) pending.raw.destroy();
    await stopped;
  }

  #accept(raw: net.Socket): void {
    const ip = raw.remoteAddress;
    const peer = peerLabel(ip, raw.remotePort);
    if (this.#closing !== null || ip === undefined) {
      raw.on("error", ignore);
      raw.destroy();
      return;
    }
    const ticket = this.#admission.admit(ip);
    if (ticket === null) {
      raw.on("error", ignore);
      raw.destroy();
      return;
    }
    const pending: Pending = {
      raw,
      socket: raw,
      peer,
      ticket,
      since: performance.now(),
      head: EMPTY,
      headLength: 0,
      timer: undefined,
      answered: false,
      listeners: [],
    };
    this.#hold(pending, raw, "error", (error: Error) => {
      if (!isConnectionError(error)) {
        this.#log?.(`${peer} web connection failed: ${describe(error)}`);
      }
    });
    this.#hold(pending, raw, "close", () => {
      clearTimeout(pending.timer);
      this.#pending.delete(pending);
      this.#admission.release(pending.ticket);
    });
    // Kept until closed, refused or not, so that shutdown closes it too.
    this.#pending.add(pending);
    const refusal = ticket.refusal;
    if (refusal !== null) {
      if (this.#tls === null) {
        this.#respond(pending, refusal.status, {
          headers: ["Retry-After: 1"],
          body: encoder.encode(refusal.body),
          why: `refused: ${refusal.why}`,
        });
      } else {
        this.#log?.(`${peer} refused: ${refusal.why}`);
        raw.destroy();
      }
      return;
    }
    pending.timer = setTimeout(
      () => this.#timedOut(pending),
      Math.min(HEAD_GRACE_MS, this.#headTimeoutMs),
    );
    if (this.#tls === null) {
      this.#read(pending);
      return;
    }
    raw.once("data", (first: Uint8Array) => {
      if (!isTlsHello(first)) {
        this.#respond(pending, 400, {
          body: encoder.encode("This server speaks HTTPS: use an https:// address.\n"),
          why: "plain HTTP at the HTTPS port",
        });
        return;
      }
      // The TLS socket over this one reads these bytes again, and all that follow.
      raw.pause();
      raw.unshift(first);
      const socket = new tls.TLSSocket(raw, {
        isServer: true,
        secureContext: this.#tls as tls.SecureContext,
      });
      pending.socket = socket;
      this.#hold(pending, socket, "error", (error: Error) => {
        if (!pending.answered) this.#log?.(`${peer} TLS handshake failed: ${describe(error)}`);
        raw.destroy();
      });
      this.#read(pending);
    });
  }

  /** Adds a listener that goes once the connection is upgraded: links are many and long. */
  #hold(
    pending: Pending,
    socket: net.Socket,
    event: string,
    // deno-lint-ignore no-explicit-any
    listener: (...args: any[]) => void,
  ): void {
    socket.on(event, listener);
    pending.listeners.push([socket, event, listener]);
  }

  /** Reads the request head from the pending connection's socket. */
  #read(pending: Pending): void {
    const socket = pending.socket;
    this.#hold(pending, socket, "data", (chunk: Uint8Array) => {
      if (pending.answered) return;
      try {
        this.#received(pending, chunk);
      } catch (error) {
        this.#log?.(`${pending.peer} web request failed: ${describe(error)}`);
        pending.raw.destroy();
      }
    });
    // A peer that ends before its request is done gets nothing.
    this.#hold(pending, socket, "end", () => {
      if (!pending.answered) pending.raw.destroy();
    });
  }

  /** Takes in the request head's next bytes, and answers once it is whole. */
  #received(pending: Pending, chunk: Uint8Array): void {
    const before = pending.headLength;
    // Only the first MAX_HEAD_BYTES are kept: a head that ends later is too long anyway.
    const kept = Math.min(chunk.length, MAX_HEAD_BYTES - before);
    pending.head = growHead(pending.head, before, before + kept);
    pending.head.set(chunk.subarray(0, kept), before);
    pending.headLength = before + kept;
    const head = pending.head.subarray(0, pending.headLength);
    const end = headEnd(head, Math.max(0, before - 2));
    if (end === -1) {
      if (kept < chunk.length) {
        this.#respond(pending, 431, { why: `a request head over ${MAX_HEAD_BYTES} bytes` });
      }
      return;
    }
    pending.head = EMPTY;
    // The head's end is among the new bytes: what follows it in the chunk is the rest.
    this.#handle(
      pending,
      decodeHead(head.subarray(0, end)).trimEnd(),
      chunk.subarray(end - before),
    );
  }

  /**
   * The head's deadline: it may take {@linkcode HEAD_GRACE_MS}, and one more
   * second for each {@linkcode MIN_HEAD_BYTES_PER_S} bytes of it that came,
   * never more than the head timeout. A response's deadline cuts the linger.
   */
  #timedOut(pending: Pending): void {
    if (pending.answered) {
      pending.raw.destroy();
      return;
    }
    const elapsed = performance.now() - pending.since;
    const allowed = Math.min(
      this.#headTimeoutMs,
      HEAD_GRACE_MS + pending.headLength * 1000 / MIN_HEAD_BYTES_PER_S,
    );
    if (elapsed < allowed) {
      // The bytes that came meanwhile bought more time.
      pending.timer = setTimeout(() => this.#timedOut(pending), Math.ceil(allowed - elapsed));
      return;
    }
    if (this.#tls !== null && pending.socket === pending.raw) {
      // Nothing at all came, not even a TLS handshake.
      this.#log?.(`${pending.peer} sent nothing in ${Math.round(elapsed)} ms`);
      pending.raw.destroy();
      return;
    }
    const why = elapsed >= this.#headTimeoutMs
      ? `no request head in ${this.#headTimeoutMs} ms`
      : `a request head too slow: ${pending.headLength} bytes in ${Math.round(elapsed)} ms`;
    // Over TLS before the handshake is done, this waits for it, and the linger cuts it.
    this.#respond(pending, 408, { why });
  }

  #handle(pending: Pending, headText: string, rest: Uint8Array): void {
    const request = parseRequestHead(headText);
    if (request === null) {
      this.#respond(pending, 400, { why: "a malformed request" });
      return;
    }
    const what = printable(`${request.method} ${request.target}`);
    if (request.minorVersion === 1 && !request.headers.has("host")) {
      this.#respond(pending, 400, { why: `${what} without a Host header` });
      return;
    }
    if (this.#files !== null && fileRequestKind(request) !== null) {
      // Uploads and downloads: web_files.ts answers them, and ends the connection.
      pending.answered = true;
      clearTimeout(pending.timer);
      pending.timer = undefined;
      const { socket, raw, peer } = pending;
      const stallMs = this.#uploadStallMs;
      exchangeFile({
        socket,
        raw,
        peer,
        request,
        rest,
        files: this.#files,
        log: this.#log,
        stallMs,
      });
      return;
    }
    const headOnly = request.method === "HEAD";
    if (request.method !== "GET" && !headOnly) {
      this.#respond(pending, 405, { headers: ["Allow: GET, HEAD"], why: what });
      return;
    }
    if (!request.path.startsWith("/")) {
      this.#respond(pending, 400, { headOnly, why: `${what}: not a path` });
      return;
    }
    if (request.path === WEBSOCKET_PATH) {
      this.#upgrade(pending, request, rest, what);
      return;
    }
    const asset = this.#assets.get(request.path);
    if (asset === undefined) {
      this.#respond(pending, 404, { headOnly, why: what });
      return;
    }
    this.#respond(pending, 200, { body: asset.body, type: asset.type, headOnly, why: what });
  }

  #upgrade(pending: Pending, request: RequestHead, rest: Uint8Array, what: string): void {
    const refusal = refuseHandshake(request, what, this.#tls !== null, this.#allowedOrigins);
    if (refusal !== null) {
      this.#respond(pending, refusal.status, refusal);
      return;
    }
    // Checked: the handshake has a well-formed key.
    const key = request.headers.get("sec-websocket-key") as string;
    const socket = pending.socket;
    pending.answered = true;
    clearTimeout(pending.timer);
    pending.timer = undefined;
    this.#pending.delete(pending);
    this.#admission.release(pending.ticket);
    for (const [on, event, listener] of pending.listeners) on.off(event, listener);
    // The link listens for the errors of the socket it reads; the TCP one under TLS needs one too.
    if (socket !== pending.raw) pending.raw.on("error", ignore);
    socket.write(switchingProtocols(key));
    this.#log?.(`${pending.peer} ${what} 101`);
    if (rest.length > 0) {
      // Frames sent right behind the request: the link reads them first.
      socket.pause();
      socket.unshift(rest);
    }
    const link = new WebSocketLink(socket, { keepAlive: this.#keepAlive });
    try {
      this.#onLink(link);
    } catch (error) {
      this.#log?.(`${pending.peer} failed: ${describe(error)}`);
      link.destroy();
    }
  }

  /** Sends one response and ends the connection; cuts it if the response takes too long. */
  #respond(pending: Pending, status: number, response: Reply): void {
    pending.answered = true;
    const body = response.body ?? statusBody(status);
    const head = responseHead(
      status,
      response.type ?? "text/plain; charset=utf-8",
      body.length,
      response.headers,
    );
    const socket = pending.socket;
    if (!socket.destroyed && !socket.writableEnded) {
      socket.write(head);
      if (!response.headOnly && body.length > 0) socket.write(body);
      socket.end();
    }
    // Whatever else it sends is read and dropped, so that its end is seen.
    socket.resume();
    this.#log?.(`${pending.peer} ${response.why ?? "request"} ${status}`);
    clearTimeout(pending.timer);
    pending.timer = setTimeout(() => pending.raw.destroy(), LINGER_MS);
  }
}
