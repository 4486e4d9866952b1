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
import { isLoopback } from "./session.ts";
import { acceptKey, KeepAlive, PING_INTERVAL_MS, WebSocketLink } from "./websocket.ts";

/** The path of the chat's WebSocket. */
export const WEBSOCKET_PATH = "/ws";
/**
 * The longest request head read: a browser's is well under 2 KiB here (the
 * server sets no cookies), and 8 KiB is what common servers allow.
 */
export const MAX_HEAD_BYTES = 8 * 1024;
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
/**
 * Connections under way at once (sending their request or getting their
 * response) when the owner sets no other limit: each holds a descriptor and
 * at most {@linkcode MAX_HEAD_BYTES} of head, and a page load needs a few.
 */
export const MAX_PENDING = 256;
/** How long a response may take to reach the client before the connection is cut. */
const LINGER_MS = 2000;

/** The page's policy: its own script, style and socket only, no inline script, no framing. */
export const CONTENT_SECURITY_POLICY: string = "default-src 'none'; script-src 'self'; " +
  "style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; " +
  "form-action 'none'; frame-ancestors 'none'";

/** Headers every response carries. */
const SECURITY_HEADERS = [
  `Content-Security-Policy: ${CONTENT_SECURITY_POLICY}`,
  "X-Content-Type-Options: nosniff",
  "X-Frame-Options: DENY",
  "Referrer-Policy: no-referrer",
  "Cache-Control: no-cache",
].join("\r\n");

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

/** Why a connection is turned away before it is read, and what it is told. */
interface Refusal {
  readonly status: number;
  readonly body: string;
  /** For the log. */
  readonly why: string;
}

/** Its address has `maxPerIp` requests under way already. */
const PER_ADDRESS_REFUSAL: Refusal = {
  status: 429,
  body: "Too many requests under way from your address; try again in a moment.\n",
  why: "too many requests under way from this address",
};

/** The server has `maxPending` requests under way already. */
const SERVER_REFUSAL: Refusal = {
  status: 503,
  body: "The server has too many requests under way; try again in a moment.\n",
  why: "too many requests under way",
};

/** A 16-byte `Sec-WebSocket-Key`, in base64. */
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;
/** An HTTP token (RFC 9110, section 5.6.2). */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const REQUEST_LINE = new RegExp(`^(${TOKEN}) (\\S+) HTTP/1\\.([01])$`);
const HEADER_LINE = new RegExp(`^(${TOKEN}):[ \\t]*(.*?)[ \\t]*$`);
const LF = 0x0a;
const CR = 0x0d;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

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

/** A request head, as {@linkcode parseRequestHead} reads it. */
export interface RequestHead {
  /** The method, as sent (methods are case-sensitive). */
  method: string;
  /** The request target as sent, query included. */
  target: string;
  /** The target's path, without the query. */
  path: string;
  /** The minor version of HTTP/1: 0 or 1. */
  minorVersion: number;
  /** Header values by lower-cased name; repeated headers are joined with `, `. */
  headers: Map<string, string>;
}

/** Reads a request head (without its blank line); null when it is malformed. */
export function parseRequestHead(text: string): RequestHead | null {
  const lines = text.split(/\r?\n/);
  const match = REQUEST_LINE.exec(lines[0] ?? "");
  if (match === null) return null;
  const [, method = "", target = "", minor = ""] = match;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    // Folded lines (obsolete) and anything else that is not `name: value` is malformed.
    const header = HEADER_LINE.exec(line);
    if (header === null) return null;
    const name = (header[1] as string).toLowerCase();
    const value = header[2] as string;
    const before = headers.get(name);
    if (before !== undefined && name === "host") return null;
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  const query = target.indexOf("?");
  return {
    method,
    target,
    path: query === -1 ? target : target.slice(0, query),
    minorVersion: Number(minor),
    headers,
  };
}

/** Whether a comma-separated header value holds `token`, in any case. */
function hasToken(value: string | undefined, token: string): boolean {
  return value !== undefined &&
    value.split(",").some((part) => part.trim().toLowerCase() === token);
}

/**
 * An origin in the form browsers send (`scheme://host[:port]`, the host in
 * lower case, no default port), or null when `text` is not an http or https
 * origin. `null` (an opaque origin) is not one.
 */
export function normalizeOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  const bare = url.username === "" && url.password === "" && url.pathname === "/" &&
    url.search === "" && url.hash === "";
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !bare) return null;
  return url.origin;
}

/** Whether a host is an address or `localhost`, which a DNS rebinding cannot put in `Host`. */
function isAddressHost(hostname: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(hostname) || hostname.startsWith("[") ||
    hostname === "localhost" || hostname.endsWith(".localhost");
}

/**
 * Whether a WebSocket upgrade may go ahead, by its `Origin`:
 *
 * - no `Origin`: yes. Browsers always send one with a WebSocket handshake;
 *   a client without one is a program (Deno's `WebSocket`, a script), which
 *   could send any `Origin` it liked, so refusing it would protect nobody.
 * - an origin in `allowed` (normalized): yes.
 * - the page's own origin, `http(s)://` and the request's `Host`: yes, over
 *   TLS, or when `Host` is an address or `localhost`. A plain-HTTP name is
 *   not enough: a page elsewhere can point its own name at this server's
 *   address (DNS rebinding), and then `Origin` and `Host` agree; over TLS
 *   the certificate stops that. Such a name must be in `allowed`.
 * - anything else, `null` included: no.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  secure: boolean,
  allowed: ReadonlySet<string>,
): boolean {
  if (origin === undefined) return true;
  const normal = normalizeOrigin(origin);
  if (normal === null) return false;
  if (allowed.has(normal)) return true;
  if (host === undefined || host === "") return false;
  const own = normalizeOrigin(`${secure ? "https" : "http"}://${host}`);
  if (own !== normal) return false;
  return secure || isAddressHost(new URL(own).hostname);
}

/** Where a request head ends in `bytes` (after its blank line), searching from `from`; -1 if not yet. */
function headEnd(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(LF, from); i !== -1; i = bytes.indexOf(LF, i + 1)) {
    if (bytes[i + 1] === LF) return i + 2;
    if (bytes[i + 1] === CR && bytes[i + 2] === LF) return i + 3;
  }
  return -1;
}

/** The longest piece of a request quoted in the log. */
const MAX_LOGGED_CHARS = 200;

/**
 * A piece of a request as the log may show it: control characters escaped
 * (a request could carry terminal escape sequences to the operator's
 * screen) and cut to a readable length.
 */
function printable(text: string): string {
  const cut = text.length > MAX_LOGGED_CHARS ? text.slice(0, MAX_LOGGED_CHARS) + "..." : text;
  return cut.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** What one address has under way, when it is held to the per-address limit. */
interface AddressCount {
  readonly address: string;
  /** Its connections under way: sending their request or getting the response. */
  requests: number;
  /** Its connections still getting a refusal. */
  refusals: number;
  /** Whether the log said that its further connections are closed without a response. */
  silenced: boolean;
}

/** A connection that has not been upgraded: it sends its request, and gets one response. */
interface Pending {
  /** The TCP socket. */
  readonly raw: net.Socket;
  /** What the request comes over: the TCP socket, or the TLS socket on it. */
  socket: net.Socket;
  readonly peer: string;
  /** Its address's counts, when the address is held to the per-address limit. */
  readonly from: AddressCount | null;
  /** What it counts as until it is closed or upgraded; null once it counts no more. */
  holds: "request" | "refusal" | null;
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

/** What a response holds besides its status. */
interface Reply {
  headers?: string[];
  /** Defaults to the status in words, as text. */
  body?: Uint8Array;
  type?: string;
  /** A response to HEAD: the headers of the body, not the body. */
  headOnly?: boolean;
  /** Why, for the log. */
  why?: string;
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
  readonly #log: ((event: string) => void) | undefined;
  readonly #headTimeoutMs: number;
  readonly #maxPending: number;
  readonly #maxPerIp: number;
  readonly #limitLoopback: boolean;
  /** One timer that pings every quiet socket of this server. */
  readonly #keepAlive: KeepAlive;
  /** The connections not upgraded, refused ones included, so that shutdown closes them. */
  readonly #pending = new Set<Pending>();
  /** The requests under way, which {@linkcode WebServerOptions.maxPending} bounds. */
  #requests = 0;
  /** What each address held to the per-address limit has under way; none, it is not here. */
  readonly #perAddress = new Map<string, AddressCount>();
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
    const allowed = new Set<string>();
    for (const origin of options.allowedOrigins ?? []) {
      const normal = normalizeOrigin(origin);
      if (normal === null) {
        throw new TypeError(
          `Invalid web origin: expected http(s)://HOST[:PORT], got ${JSON.stringify(origin)}`,
        );
      }
      allowed.add(normal);
    }
    this.#allowedOrigins = allowed;
    this.#onLink = options.onLink;
    this.#log = options.log;
    this.#headTimeoutMs = checkInteger(
      "headTimeoutMs",
      options.headTimeoutMs ?? HEAD_TIMEOUT_MS,
      1,
    );
    this.#maxPending = checkInteger("maxPending", options.maxPending ?? MAX_PENDING, 1);
    this.#maxPerIp = options.maxPerIp === undefined
      ? Infinity
      : checkInteger("maxPerIp", options.maxPerIp, 1);
    this.#limitLoopback = options.limitLoopback ?? false;
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
    const from = this.#limitLoopback || !isLoopback(ip) ? this.#countOf(ip) : null;
    const refusal = from !== null && from.requests >= this.#maxPerIp
      ? PER_ADDRESS_REFUSAL
      : this.#requests >= this.#maxPending
      ? SERVER_REFUSAL
      : null;
    if (refusal !== null && from !== null && from.refusals >= this.#maxPerIp) {
      // Its refusals take as much as its requests may already: this one costs nothing more.
      if (!from.silenced) {
        from.silenced = true;
        this.#log?.(`${ip} refused: ${refusal.why}; closing its further connections unanswered`);
      }
      raw.on("error", ignore);
      raw.destroy();
      return;
    }
    const pending: Pending = {
      raw,
      socket: raw,
      peer,
      from,
      holds: refusal === null ? "request" : "refusal",
      since: performance.now(),
      head: EMPTY,
      headLength: 0,
      timer: undefined,
      answered: false,
      listeners: [],
    };
    if (refusal !== null) {
      if (from !== null) from.refusals++;
    } else {
      this.#requests++;
      if (from !== null) from.requests++;
    }
    this.#hold(pending, raw, "error", (error: Error) => {
      if (!isConnectionError(error)) {
        this.#log?.(`${peer} web connection failed: ${describe(error)}`);
      }
    });
    this.#hold(pending, raw, "close", () => {
      clearTimeout(pending.timer);
      this.#pending.delete(pending);
      this.#release(pending);
    });
    // Kept until closed, refused or not, so that shutdown closes it too.
    this.#pending.add(pending);
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

  /** The counts of an address held to the per-address limit, made when it has none. */
  #countOf(address: string): AddressCount {
    let count = this.#perAddress.get(address);
    if (count === undefined) {
      count = { address, requests: 0, refusals: 0, silenced: false };
      this.#perAddress.set(address, count);
    }
    return count;
  }

  /** Gives back what the connection counts as: it was closed or upgraded. */
  #release(pending: Pending): void {
    const from = pending.from;
    if (pending.holds === "request") {
      this.#requests--;
      if (from !== null) from.requests--;
    } else if (pending.holds === "refusal" && from !== null) {
      from.refusals--;
    }
    pending.holds = null;
    if (from !== null && from.requests === 0 && from.refusals === 0) {
      this.#perAddress.delete(from.address);
    }
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
    if (before + kept > pending.head.length) {
      // Doubling, so that a head sent a byte at a time is copied a few times, not once a byte.
      const grown = new Uint8Array(
        Math.min(MAX_HEAD_BYTES, Math.max(before + kept, 2 * pending.head.length)),
      );
      grown.set(pending.head.subarray(0, before));
      pending.head = grown;
    }
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
      latin1.decode(head.subarray(0, end)).trimEnd(),
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
    const headers = request.headers;
    const headOnly = request.method === "HEAD";
    if (headOnly || !hasToken(headers.get("upgrade"), "websocket")) {
      this.#respond(pending, 426, {
        headers: ["Upgrade: websocket"],
        body: encoder.encode("This is the chat's WebSocket; open it with a WebSocket client.\n"),
        headOnly,
        why: `${what} without an upgrade to websocket`,
      });
      return;
    }
    if (headers.get("sec-websocket-version") !== "13") {
      this.#respond(pending, 426, {
        headers: ["Sec-WebSocket-Version: 13"],
        why: `${what} with WebSocket version ${headers.get("sec-websocket-version") ?? "none"}`,
      });
      return;
    }
    const key = headers.get("sec-websocket-key");
    if (
      request.minorVersion !== 1 || !hasToken(headers.get("connection"), "upgrade") ||
      key === undefined || !KEY_PATTERN.test(key)
    ) {
      this.#respond(pending, 400, { why: `${what}: a malformed WebSocket handshake` });
      return;
    }
    const origin = headers.get("origin");
    if (!originAllowed(origin, headers.get("host"), this.#tls !== null, this.#allowedOrigins)) {
      this.#respond(pending, 403, {
        body: encoder.encode(`Origin ${origin} may not open this chat's socket.\n`),
        why: `${what} from origin ${printable(origin ?? "")} (allow it with --web-origin)`,
      });
      return;
    }
    const socket = pending.socket;
    pending.answered = true;
    clearTimeout(pending.timer);
    pending.timer = undefined;
    this.#pending.delete(pending);
    this.#release(pending);
    for (const [on, event, listener] of pending.listeners) on.off(event, listener);
    // The link listens for the errors of the socket it reads; the TCP one under TLS needs one too.
    if (socket !== pending.raw) pending.raw.on("error", ignore);
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
    );
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
    const body = response.body ?? encoder.encode(`${status} ${STATUS_TEXT[status]}\n`);
    const head = [
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}`,
      `Content-Type: ${response.type ?? "text/plain; charset=utf-8"}`,
      `Content-Length: ${body.length}`,
      "Connection: close",
      SECURITY_HEADERS,
      ...response.headers ?? [],
    ].join("\r\n") + "\r\n\r\n";
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
