/**
 * HTTP/1 for the chat's web side, with no sockets: reading a request head
 * (where it ends, what it says, whether its `Origin` may open the chat's
 * socket), the headers every response carries, and the response heads the
 * web server writes.
 *
 * ```ts
 * import { parseRequestHead } from "./web_http.ts";
 * const request = parseRequestHead("GET /ws?x=1 HTTP/1.1\r\nHost: chat.example");
 * console.assert(request?.path === "/ws" && request.headers.get("host") === "chat.example");
 * ```
 *
 * @module
 */

import { acceptKey } from "./websocket_frames.ts";
/**
 * The longest request head read: a browser's is well under 2 KiB here (the
 * server sets no cookies), and 8 KiB is what common servers allow.
 */
export const MAX_HEAD_BYTES = 8 * 1024;

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
  201: "Created",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  416: "Range Not Satisfiable",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  503: "Service Unavailable",
  507: "Insufficient Storage",
};

/** A 16-byte `Sec-WebSocket-Key`, in base64. */
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;
/** An HTTP token (RFC 9110, section 5.6.2). */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const REQUEST_LINE = new RegExp(`^(${TOKEN}) (\\S+) HTTP/1\\.([01])$`);
const HEADER_LINE = new RegExp(`^(${TOKEN}):[ \\t]*(.*?)[ \\t]*$`);
const LF = 0x0a;
const CR = 0x0d;
const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

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

/**
 * The origins given as allowed, normalized.
 *
 * @throws {TypeError} when one is not an http or https origin.
 */
export function parseAllowedOrigins(origins: readonly string[]): Set<string> {
  const allowed = new Set<string>();
  for (const origin of origins) {
    const normal = normalizeOrigin(origin);
    if (normal === null) {
      throw new TypeError(
        `Invalid web origin: expected http(s)://HOST[:PORT], got ${JSON.stringify(origin)}`,
      );
    }
    allowed.add(normal);
  }
  return allowed;
}

/** Where a request head ends in `bytes` (after its blank line), searching from `from`; -1 if not yet. */
export function headEnd(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(LF, from); i !== -1; i = bytes.indexOf(LF, i + 1)) {
    if (bytes[i + 1] === LF) return i + 2;
    if (bytes[i + 1] === CR && bytes[i + 2] === LF) return i + 3;
  }
  return -1;
}

/**
 * The buffer of a head that holds `used` bytes, with room for `needed`:
 * `head` itself when it has the room, else a copy twice as large (never over
 * {@linkcode MAX_HEAD_BYTES}), so that a head sent a byte at a time is copied
 * a few times, not once a byte.
 */
export function growHead(head: Uint8Array, used: number, needed: number): Uint8Array {
  if (needed <= head.length) return head;
  const grown = new Uint8Array(Math.min(MAX_HEAD_BYTES, Math.max(needed, 2 * head.length)));
  grown.set(head.subarray(0, used));
  return grown;
}

/** A head's bytes as text: each byte one character, as HTTP/1 heads are read. */
export function decodeHead(head: Uint8Array): string {
  return latin1.decode(head);
}

/** The longest piece of a request quoted in the log. */
const MAX_LOGGED_CHARS = 200;

/**
 * A piece of a request as the log may show it: control characters escaped
 * (a request could carry terminal escape sequences to the operator's
 * screen) and cut to a readable length.
 */
export function printable(text: string): string {
  const cut = text.length > MAX_LOGGED_CHARS ? text.slice(0, MAX_LOGGED_CHARS) + "..." : text;
  return cut.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** Whether `key` is a well-formed `Sec-WebSocket-Key`: 16 bytes, in base64. */
function isWebSocketKey(key: string | undefined): key is string {
  return key !== undefined && KEY_PATTERN.test(key);
}

/** The body of a response that says no more than its status: the status in words, as text. */
export function statusBody(status: number): Uint8Array {
  return encoder.encode(`${status} ${STATUS_TEXT[status]}\n`);
}

/**
 * The head of a response that closes the connection once its body is sent:
 * status line, type, length, the security headers and then `headers`.
 */
export function responseHead(
  status: number,
  type: string,
  length: number,
  headers: readonly string[] = [],
): string {
  return [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}`,
    `Content-Type: ${type}`,
    `Content-Length: ${length}`,
    "Connection: close",
    SECURITY_HEADERS,
    ...headers,
  ].join("\r\n") + "\r\n\r\n";
}

/** The head of the response that upgrades a connection to a WebSocket, for its client's `key`. */
export function switchingProtocols(key: string): string {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`;
}

/** What a response holds besides its status. */
export interface Reply {
  /** Headers besides those every response carries. */
  headers?: string[];
  /** Defaults to the status in words, as text. */
  body?: Uint8Array;
  /** Its `Content-Type`. @default {"text/plain; charset=utf-8"} */
  type?: string;
  /** A response to HEAD: the headers of the body, not the body. */
  headOnly?: boolean;
  /** Why, for the log. */
  why?: string;
}

/** A response that turns a request down: its status, and the rest. */
export interface Rejection extends Reply {
  /** The response's status. */
  status: number;
}

/**
 * Why a request to the WebSocket's path may not be upgraded, as the response
 * that says so, or null when the handshake is sound and its `Origin` allowed
 * (see {@linkcode originAllowed}). `what` names the request in the log.
 */
export function refuseHandshake(
  request: RequestHead,
  what: string,
  secure: boolean,
  allowed: ReadonlySet<string>,
): Rejection | null {
  const headers = request.headers;
  const headOnly = request.method === "HEAD";
  if (headOnly || !hasToken(headers.get("upgrade"), "websocket")) {
    return {
      status: 426,
      headers: ["Upgrade: websocket"],
      body: encoder.encode("This is the chat's WebSocket; open it with a WebSocket client.\n"),
      headOnly,
      why: `${what} without an upgrade to websocket`,
    };
  }
  if (headers.get("sec-websocket-version") !== "13") {
    return {
      status: 426,
      headers: ["Sec-WebSocket-Version: 13"],
      why: `${what} with WebSocket version ${headers.get("sec-websocket-version") ?? "none"}`,
    };
  }
  if (
    request.minorVersion !== 1 || !hasToken(headers.get("connection"), "upgrade") ||
    !isWebSocketKey(headers.get("sec-websocket-key"))
  ) {
    return { status: 400, why: `${what}: a malformed WebSocket handshake` };
  }
  const origin = headers.get("origin");
  if (!originAllowed(origin, headers.get("host"), secure, allowed)) {
    return {
      status: 403,
      body: encoder.encode(`Origin ${origin} may not open this chat's socket.\n`),
      why: `${what} from origin ${printable(origin ?? "")} (allow it with --web-origin)`,
    };
  }
  return null;
}
