/**
 * Shared files over HTTP, on the page's port: `PUT /upload/TOKEN[/NAME]`
 * (or `POST`) takes an upload's body and hands it to the core
 * ({@linkcode FileDoor}), and `GET /files/ID/NAME` (or `HEAD`) serves a
 * shared file so that no browser runs it.
 *
 * An upload's body has a `Content-Length` or is chunked; one past the largest
 * file is refused at once by its length, or the moment it passes (413). One
 * that stalls (less than {@linkcode STALL_BYTES} in {@linkcode STALL_MS}) or
 * lasts over {@linkcode UPLOAD_MS} is cut (408) and nothing of it is kept.
 * `Expect: 100-continue` is answered once the upload may go ahead, so
 * `curl -T` sends nothing that would be refused.
 *
 * A download is served with `X-Content-Type-Options: nosniff`,
 * `Content-Security-Policy: sandbox; default-src 'none'`, and as an
 * attachment unless its first bytes made it a PNG, JPEG, GIF or WebP
 * picture; with `Range`, `ETag`, and a `Cache-Control` as long as its life
 * (a link never changes content). Its body is written as the client takes
 * it, a slice at a time, so that many downloads at once never hold the
 * event loop.
 *
 * @module
 */

import type net from "node:net";
import type { FileDoor, OpenFile, Upload } from "../core/files.ts";
import { describe } from "./net_helpers.ts";
import { printable, type RequestHead, responseHead } from "./web_http.ts";

/** An upload must bring at least this many bytes in every {@linkcode STALL_MS}. */
export const STALL_BYTES = 16 * 1024;
/** The window of {@linkcode STALL_BYTES}: 30 s. */
export const STALL_MS = 30_000;
/** The longest an upload may last: 10 minutes. */
export const UPLOAD_MS = 10 * 60_000;
/** How long a download may wait for its client to take the next slice. */
export const DOWNLOAD_STALL_MS = 60_000;
/** The slice of a download written at once. */
const SLICE_BYTES = 64 * 1024;
/** The longest line of a chunked body's framing (a size and its extensions). */
const MAX_CHUNK_LINE = 1024;

const encoder = new TextEncoder();

/** The path of an upload: `/upload/TOKEN` with an optional `/NAME`. */
const UPLOAD_PATH = /^\/upload\/([0-9a-f]{32})(?:\/([^/]*))?$/;
/** The path of a download: `/files/ID/NAME`. */
const FILE_PATH = /^\/files\/([0-9a-f]{32})(?:\/[^/]*)?$/;

/** Whether a request is one for files: an upload, a download, or null for neither. */
export function fileRequestKind(request: RequestHead): "upload" | "download" | null {
  if (request.path.startsWith("/upload/")) return "upload";
  if (request.path.startsWith("/files/")) return "download";
  return null;
}

/** What {@linkcode exchangeFile} is given: a connection whose request head was read. */
export interface FileExchange {
  /** What the request comes over (the TLS socket over TCP, or the TCP one). */
  socket: net.Socket;
  /** The TCP socket, destroyed to cut the connection. */
  raw: net.Socket;
  /** The client's address and port, for the log. */
  peer: string;
  request: RequestHead;
  /** The bytes that followed the head in its last chunk: the body's first. */
  rest: Uint8Array;
  /** Where uploads go and files come from. */
  files: FileDoor;
  /** One line for each response. */
  log?: (event: string) => void;
  /** The window an upload must bring {@linkcode STALL_BYTES} in. @default {STALL_MS} */
  stallMs?: number;
}

/** A response for an upload or a download: plain text, then the connection closes. */
function reply(
  exchange: FileExchange,
  status: number,
  text: string,
  headers: string[] = [],
): void {
  const socket = exchange.socket;
  const body = encoder.encode(text.endsWith("\n") ? text : text + "\n");
  if (!socket.destroyed && !socket.writableEnded) {
    socket.write(responseHead(status, "text/plain; charset=utf-8", body.length, headers));
    if (exchange.request.method !== "HEAD") socket.write(body);
    socket.end();
  }
  // Whatever else it sends is read and dropped, so that its end is seen.
  socket.resume();
  // Cut if the client does not take it in time.
  const raw = exchange.raw;
  const linger = setTimeout(() => raw.destroy(), 2000);
  raw.once("close", () => clearTimeout(linger));
  exchange.log?.(
    `${exchange.peer} ${printable(exchange.request.method)} ${
      printable(exchange.request.path)
    } ${status}`,
  );
}

/** Serves a request for files: an upload or a download, by its path and method. */
export function exchangeFile(exchange: FileExchange): void {
  const { method, path } = exchange.request;
  const upload = UPLOAD_PATH.exec(path);
  if (upload !== null) {
    if (method !== "PUT" && method !== "POST") {
      return reply(exchange, 405, "Upload with PUT (curl -T FILE URL) or POST", [
        "Allow: PUT, POST",
      ]);
    }
    void receive(exchange, upload[1] as string, upload[2]).catch((error) => {
      exchange.log?.(`${exchange.peer} upload failed: ${describe(error)}`);
      exchange.raw.destroy();
    });
    return;
  }
  const download = FILE_PATH.exec(path);
  if (download !== null) {
    if (method !== "GET" && method !== "HEAD") {
      return reply(exchange, 405, "Method Not Allowed", ["Allow: GET, HEAD"]);
    }
    void serve(exchange, download[1] as string).catch((error) => {
      exchange.log?.(`${exchange.peer} download failed: ${describe(error)}`);
      exchange.raw.destroy();
    });
    return;
  }
  reply(exchange, 404, "Not Found");
}

// ---------------------------------------------------------------------------
// Uploads

/** The name an upload was sent with: in its path, else `?name=`, else none. */
function uploadName(request: RequestHead, inPath: string | undefined): string {
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  if (inPath !== undefined && inPath !== "") return decode(inPath);
  const query = request.target.indexOf("?");
  if (query === -1) return "";
  return new URLSearchParams(request.target.slice(query + 1)).get("name") ?? "";
}

/** Takes an upload's body in, or refuses it. */
async function receive(
  exchange: FileExchange,
  token: string,
  pathName: string | undefined,
): Promise<void> {
  const { request, socket } = exchange;
  const headers = request.headers;
  const chunked = headers.get("transfer-encoding")?.toLowerCase() === "chunked";
  const lengthText = headers.get("content-length");
  if (headers.has("transfer-encoding") && !chunked) {
    return reply(exchange, 501, "Only chunked transfer coding is understood");
  }
  if (!chunked && (lengthText === undefined || !/^\d{1,15}$/.test(lengthText))) {
    return reply(exchange, 411, "Send the file with a Content-Length (curl -T FILE URL)");
  }
  const length = chunked ? null : Number(lengthText);
  // The body waits in the kernel until the core says yes.
  socket.pause();
  const start = await exchange.files.startUpload(token, length, uploadName(request, pathName));
  if ("refused" in start) {
    const status = {
      "unknown": 404,
      "too large": 413,
      "no room": 507,
      "too many": 429,
      "unavailable": 503,
    }[start.refused];
    return reply(exchange, status, start.message);
  }
  const upload = start.upload;
  if (socket.destroyed) return upload.abort("the connection broke");
  if (headers.get("expect")?.toLowerCase() === "100-continue") {
    socket.write("HTTP/1.1 100 Continue\r\n\r\n");
  }
  new BodyReader(exchange, upload, length).start();
}

/** Reads one upload's body into its {@linkcode Upload}, with the clocks that cut it. */
class BodyReader {
  readonly #exchange: FileExchange;
  readonly #upload: Upload;
  readonly #length: number | null;
  readonly #chunks: ChunkedDecoder | null;
  #received = 0;
  #inWindow = 0;
  #done = false;
  #stallTimer: ReturnType<typeof setInterval> | undefined;
  #totalTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #onData = (chunk: Uint8Array) => this.#take(chunk);
  readonly #onClose = () => this.#end("the connection broke");

  constructor(exchange: FileExchange, upload: Upload, length: number | null) {
    this.#exchange = exchange;
    this.#upload = upload;
    this.#length = length;
    this.#chunks = length === null ? new ChunkedDecoder() : null;
  }

  start(): void {
    const socket = this.#exchange.socket;
    const stallMs = this.#exchange.stallMs ?? STALL_MS;
    this.#stallTimer = setInterval(() => {
      if (this.#inWindow < STALL_BYTES) {
        this.#cut(`less than ${STALL_BYTES / 1024} KiB in ${stallMs / 1000} s`);
      }
      this.#inWindow = 0;
    }, stallMs);
    this.#totalTimer = setTimeout(
      () => this.#cut(`longer than ${UPLOAD_MS / 60_000} minutes`),
      UPLOAD_MS,
    );
    socket.on("data", this.#onData);
    socket.on("close", this.#onClose);
    if (this.#exchange.rest.length > 0) this.#take(this.#exchange.rest);
    if (!this.#done && this.#length === 0) void this.#finish();
    socket.resume();
  }

  /** Takes the body's next bytes (framed, when chunked). */
  #take(chunk: Uint8Array): void {
    if (this.#done) return;
    this.#inWindow += chunk.length;
    if (this.#chunks === null) {
      const wanted = (this.#length as number) - this.#received;
      // Bytes past the body would be a next request, which this connection does not take.
      this.#feed(chunk.subarray(0, wanted));
      if (!this.#done && this.#received === this.#length) void this.#finish();
      return;
    }
    let data: Uint8Array[];
    try {
      data = this.#chunks.push(chunk);
    } catch (error) {
      this.#stop();
      this.#upload.abort("a malformed chunked body");
      return reply(this.#exchange, 400, `Malformed chunked body: ${(error as Error).message}`);
    }
    for (const piece of data) {
      this.#feed(piece);
      if (this.#done) return;
    }
    if (this.#chunks.ended) void this.#finish();
  }

  #feed(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#received += piece.length;
    // A copy: the socket's buffers are reused.
    if (!this.#upload.add(piece.slice())) {
      this.#stop();
      reply(this.#exchange, 413, `File too large (over ${this.#upload.limit} bytes)`);
    }
  }

  async #finish(): Promise<void> {
    this.#stop();
    try {
      const link = await this.#upload.finish();
      reply(this.#exchange, 201, link, [`Location: ${link}`]);
    } catch (error) {
      reply(this.#exchange, 507, `The file was not kept: ${describe(error)}`);
    }
  }

  /** The upload took too long: nothing of it is kept. */
  #cut(why: string): void {
    if (this.#done) return;
    this.#stop();
    this.#upload.abort(`too slow: ${why}`);
    reply(this.#exchange, 408, `Upload too slow (${why}); nothing was kept`);
  }

  #end(why: string): void {
    if (this.#done) return;
    this.#stop();
    this.#upload.abort(why);
  }

  #stop(): void {
    this.#done = true;
    clearInterval(this.#stallTimer);
    clearTimeout(this.#totalTimer);
    const socket = this.#exchange.socket;
    socket.off("data", this.#onData);
    socket.off("close", this.#onClose);
  }
}

/**
 * A chunked body's framing (RFC 9112, section 7.1), undone: sizes in hex,
 * extensions ignored, trailers read and dropped. Throws on anything else.
 */
export class ChunkedDecoder {
  #state: "size" | "data" | "data-end" | "trailer" | "done" = "size";
  #line = "";
  #left = 0;

  /** Whether the last chunk and the trailers have been read. */
  get ended(): boolean {
    return this.#state === "done";
  }

  /** The data in `bytes`, its framing taken off. */
  push(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < bytes.length && this.#state !== "done") {
      if (this.#state === "data") {
        const take = Math.min(this.#left, bytes.length - at);
        out.push(bytes.subarray(at, at + take));
        at += take;
        this.#left -= take;
        if (this.#left === 0) this.#state = "data-end";
        continue;
      }
      const lf = bytes.indexOf(0x0a, at);
      const end = lf === -1 ? bytes.length : lf;
      this.#line += String.fromCharCode(...bytes.subarray(at, end));
      if (this.#line.length > MAX_CHUNK_LINE) throw new Error("a chunk line too long");
      at = lf === -1 ? bytes.length : lf + 1;
      if (lf === -1) break;
      const line = this.#line.replace(/\r$/, "");
      this.#line = "";
      this.#takeLine(line);
    }
    return out;
  }

  #takeLine(line: string): void {
    if (this.#state === "data-end") {
      if (line !== "") throw new Error("no line end after a chunk");
      this.#state = "size";
    } else if (this.#state === "size") {
      const size = /^([0-9a-fA-F]{1,12})(?:[ \t]*;.*)?$/.exec(line)?.[1];
      if (size === undefined) throw new Error("a chunk size that is not hex");
      this.#left = parseInt(size, 16);
      this.#state = this.#left === 0 ? "trailer" : "data";
    } else if (this.#state === "trailer" && line === "") {
      this.#state = "done";
    }
  }
}

// ---------------------------------------------------------------------------
// Downloads

/** Serves a shared file, or 404 when it expired, was removed, or never was. */
async function serve(exchange: FileExchange, id: string): Promise<void> {
  const { request, socket } = exchange;
  // Nothing more is read from a download.
  socket.pause();
  const open = await exchange.files.open(id);
  if (open === null) return reply(exchange, 404, "This file is not shared (any more)");
  const size = open.bytes.length;
  const etag = `"${id}"`;
  const headers = fileHeaders(open, etag);
  if (request.headers.get("if-none-match") === etag) {
    return writeFile(exchange, open, 304, headers, 0, -1);
  }
  const range = parseRange(request.headers.get("range"), size);
  if (range === "unsatisfiable") {
    return reply(exchange, 416, "Range Not Satisfiable", [`Content-Range: bytes */${size}`]);
  }
  if (range === null) return writeFile(exchange, open, 200, headers, 0, size - 1);
  const [first, last] = range;
  headers.push(`Content-Range: bytes ${first}-${last}/${size}`);
  writeFile(exchange, open, 206, headers, first, last);
}

/** The headers every download carries, so that no browser runs what a stranger shared. */
function fileHeaders(open: OpenFile, etag: string): string[] {
  const { file } = open;
  const seconds = Math.max(0, Math.floor((file.expiresAt - Date.now()) / 1000));
  const fallback = file.name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const disposition = file.picture === null ? "attachment" : "inline";
  return [
    `Content-Type: ${file.picture ?? "application/octet-stream"}`,
    `Content-Disposition: ${disposition}; filename="${fallback}"; filename*=UTF-8''${
      encodeURIComponent(file.name)
    }`,
    "Content-Security-Policy: sandbox; default-src 'none'",
    "X-Content-Type-Options: nosniff",
    "Referrer-Policy: no-referrer",
    `Cache-Control: private, max-age=${seconds}, immutable`,
    "Accept-Ranges: bytes",
    `ETag: ${etag}`,
  ];
}

/**
 * The byte range a `Range` header asks for within `size` bytes: [first,
 * last], null for the whole file (no header, or one this server does not
 * take, such as several ranges), or `unsatisfiable`.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): [number, number] | null | "unsatisfiable" {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return null;
  const [, from = "", to = ""] = match;
  if (from === "" && to === "") return null;
  if (from === "") {
    const suffix = Number(to);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return [Math.max(0, size - suffix), size - 1];
  }
  const first = Number(from);
  const last = to === "" ? size - 1 : Math.min(Number(to), size - 1);
  if (first >= size || last < first) return "unsatisfiable";
  return [first, last];
}

/** Writes a file's response: its head, then bytes first..last as the client takes them. */
function writeFile(
  exchange: FileExchange,
  open: OpenFile,
  status: number,
  headers: string[],
  first: number,
  last: number,
): void {
  const { socket, raw, request } = exchange;
  const length = last - first + 1;
  const statusText = { 200: "OK", 206: "Partial Content", 304: "Not Modified" }[status];
  const head = [
    `HTTP/1.1 ${status} ${statusText}`,
    ...headers,
    ...(status === 304 ? [] : [`Content-Length: ${length}`]),
    "Connection: close",
  ].join("\r\n") + "\r\n\r\n";
  exchange.log?.(`${exchange.peer} ${request.method} /files/${open.file.id} ${status}`);
  if (socket.destroyed) return;
  socket.write(head);
  if (request.method === "HEAD" || status === 304 || length <= 0) {
    socket.end();
    return;
  }
  let at = first;
  let stall: ReturnType<typeof setTimeout> | undefined;
  const finish = () => {
    clearTimeout(stall);
    socket.off("drain", next);
    socket.off("close", finish);
  };
  const next = () => {
    clearTimeout(stall);
    while (at <= last) {
      const end = Math.min(at + SLICE_BYTES, last + 1);
      const more = socket.write(open.bytes.subarray(at, end));
      at = end;
      if (!more && at <= last) {
        // The client has not taken what was written: wait, but not for ever.
        stall = setTimeout(() => raw.destroy(), DOWNLOAD_STALL_MS);
        return;
      }
    }
    finish();
    socket.end();
  };
  socket.on("drain", next);
  socket.on("close", finish);
  next();
}
