/**
 * Helpers for the WebSocket tests: a raw peer that writes its own frames
 * (masked or not, whole or cut anywhere) and reads the server's with a
 * deadline, and a raw HTTP request.
 *
 * @module
 */

import { WAIT_MS, withDeadline } from "./test_helpers.ts";
import { encodeFrame, OPCODE } from "../transport/websocket.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One frame from the server. */
export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** An HTTP response, read to the end of the connection. */
export interface HttpResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Map<string, string>;
  body: string;
}

/** A handshake request for `path`, with `headers` added (or, set to null, left out). */
export function upgradeRequest(
  path = "/ws",
  headers: Record<string, string | null> = {},
): string {
  const all: Record<string, string | null> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  const lines = Object.entries(all).filter(([, value]) => value !== null)
    .map(([name, value]) => `${name}: ${value}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

function parseHead(head: string): { status: number; headers: Map<string, string> } {
  const [statusLine = "", ...lines] = head.split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, headers };
}

/** Sends `request` as it is to 127.0.0.1:`port` and reads the response until the server closes. */
export async function httpRequest(
  port: number,
  request: string | Uint8Array,
  ms: number = WAIT_MS,
): Promise<HttpResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, typeof request === "string" ? encoder.encode(request) : request);
    const bytes = await withDeadline(readToEnd(conn), ms, "the end of an HTTP response");
    const text = decoder.decode(bytes);
    const split = text.indexOf("\r\n\r\n");
    if (split === -1) throw new Error(`No HTTP response head in ${JSON.stringify(text)}`);
    return { ...parseHead(text.slice(0, split)), body: text.slice(split + 4) };
  } finally {
    conn.close();
  }
}

async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) break;
      throw error;
    }
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length;) offset += await conn.write(data.subarray(offset));
}

/** A client that does the handshake by hand and then writes and reads raw frames. */
export class WsPeer {
  readonly #conn: Deno.Conn;
  #buffer: Uint8Array = new Uint8Array(0);
  #ended = false;
  #pending: Promise<number | null> | null = null;
  readonly #scratch = new Uint8Array(65536);
  #closed = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects to 127.0.0.1 at `port` with no handshake: for a link made straight on the socket. */
  static async connect(port: number): Promise<WsPeer> {
    return new WsPeer(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Connects (over TLS with `caCerts`), sends `request` and fails unless the answer is 101. */
  static async open(
    port: number,
    options: { request?: string; tls?: { caCerts: string[] } } = {},
  ): Promise<WsPeer> {
    const conn = options.tls
      ? await Deno.connectTls({ hostname: "localhost", port, caCerts: options.tls.caCerts })
      : await Deno.connect({ hostname: "127.0.0.1", port });
    const peer = new WsPeer(conn);
    try {
      await peer.send(options.request ?? upgradeRequest());
      const head = await peer.#readHead();
      const { status } = parseHead(head);
      if (status !== 101) throw new Error(`Expected 101, got ${JSON.stringify(head)}`);
    } catch (error) {
      await peer.close();
      throw error;
    }
    return peer;
  }

  /** Sends raw bytes. */
  async send(data: string | Uint8Array): Promise<void> {
    await writeAll(this.#conn, typeof data === "string" ? encoder.encode(data) : data);
  }

  /** Sends one masked text frame. */
  async sendText(text: string, options: { fin?: boolean } = {}): Promise<void> {
    await this.send(encodeFrame(OPCODE.text, encoder.encode(text), { ...options, mask: true }));
  }

  /** Sends one masked frame. */
  async sendFrame(opcode: number, payload: Uint8Array, fin = true): Promise<void> {
    await this.send(encodeFrame(opcode, payload, { fin, mask: true }));
  }

  async #fill(deadline: number): Promise<boolean> {
    if (this.#ended) return false;
    this.#pending ??= this.#conn.read(this.#scratch).catch((error) => {
      if (error instanceof Deno.errors.ConnectionReset) return null;
      throw error;
    });
    const n = await withDeadline(
      this.#pending,
      Math.max(deadline - Date.now(), 1),
      "bytes from the server",
    );
    this.#pending = null;
    if (n === null) {
      this.#ended = true;
      return false;
    }
    const grown = new Uint8Array(this.#buffer.length + n);
    grown.set(this.#buffer);
    grown.set(this.#scratch.subarray(0, n), this.#buffer.length);
    this.#buffer = grown;
    return true;
  }

  async #readHead(ms: number = WAIT_MS): Promise<string> {
    const deadline = Date.now() + ms;
    while (true) {
      const text = decoder.decode(this.#buffer);
      const end = text.indexOf("\r\n\r\n");
      if (end !== -1) {
        this.#buffer = this.#buffer.subarray(encoder.encode(text.slice(0, end + 4)).length);
        return text.slice(0, end);
      }
      if (!await this.#fill(deadline)) throw new Error(`Closed before a response: ${text}`);
    }
  }

  /** The next frame from the server, or null once it closed the connection. */
  async readFrame(ms: number = WAIT_MS): Promise<Frame | null> {
    const deadline = Date.now() + ms;
    while (true) {
      const frame = this.#takeFrame();
      if (frame !== null) return frame;
      if (!await this.#fill(deadline)) return null;
    }
  }

  #takeFrame(): Frame | null {
    const bytes = this.#buffer;
    if (bytes.length < 2) return null;
    const first = bytes[0] as number;
    const second = bytes[1] as number;
    if ((second & 0x80) !== 0) throw new Error("The server sent a masked frame");
    let length = second & 0x7f;
    let start = 2;
    if (length === 126) {
      if (bytes.length < 4) return null;
      length = new DataView(bytes.buffer, bytes.byteOffset).getUint16(2);
      start = 4;
    } else if (length === 127) {
      if (bytes.length < 10) return null;
      length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(2));
      start = 10;
    }
    if (bytes.length < start + length) return null;
    this.#buffer = bytes.subarray(start + length);
    return {
      fin: (first & 0x80) !== 0,
      opcode: first & 0x0f,
      payload: bytes.slice(start, start + length),
    };
  }

  /** The text of the next text frame, skipping pings and pongs; fails on anything else. */
  async readText(ms: number = WAIT_MS): Promise<string> {
    while (true) {
      const frame = await this.readFrame(ms);
      if (frame === null) throw new Error("Closed while a text frame was expected");
      if (frame.opcode === OPCODE.ping || frame.opcode === OPCODE.pong) continue;
      if (frame.opcode !== OPCODE.text) {
        throw new Error(`Expected a text frame, got ${describeFrame(frame)}`);
      }
      return decoder.decode(frame.payload);
    }
  }

  /** Reads until the server's close frame and the end of the connection; returns its status code. */
  async expectClose(ms: number = WAIT_MS): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + ms;
    let close: { code: number; reason: string } | null = null;
    while (true) {
      const frame = await this.readFrame(Math.max(deadline - Date.now(), 1));
      if (frame === null) break;
      if (close !== null) throw new Error(`A frame after the close: ${describeFrame(frame)}`);
      if (frame.opcode !== OPCODE.close) continue;
      const code = frame.payload.length >= 2
        ? ((frame.payload[0] as number) << 8) | (frame.payload[1] as number)
        : 1005;
      close = { code, reason: decoder.decode(frame.payload.subarray(2)) };
    }
    if (close === null) throw new Error("The connection closed without a close frame");
    return close;
  }

  /** Whether the server closed the connection within `ms` (frames before it are dropped). */
  async closedWithin(ms: number): Promise<boolean> {
    try {
      while (await this.readFrame(ms) !== null) { /* drop it */ }
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the connection; safe to call again. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Closed already.
    }
    await this.#pending?.catch(() => {});
  }

  /** Closes the connection, as {@linkcode WsPeer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function describeFrame(frame: Frame): string {
  return `opcode ${frame.opcode} (${frame.payload.length} bytes: ${
    JSON.stringify(decoder.decode(frame.payload.subarray(0, 80)))
  })`;
}

/** A client's (masked) frame. */
export function clientFrame(opcode: number, payload: string | Uint8Array, fin = true): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  return encodeFrame(opcode, bytes, { fin, mask: true });
}

/** The parts, one after another, in one buffer. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}
