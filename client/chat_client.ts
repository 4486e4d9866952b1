/**
 * One connection to a chat server, or to any server that speaks UTF-8 lines
 * over TCP: {@linkcode ChatClient} connects (over TLS when asked), yields the
 * lines the server sends and sends yours; {@linkcode ConnectError} says why a
 * connection could not be opened. `client_mod.ts` publishes them; the
 * terminal client (`client.ts`) is built on them.
 *
 * @module
 */

import {
  CONNECT_TIMEOUT_S,
  DEFAULT_CLIENT_HOST,
  DEFAULT_PORT,
  LINE_TOO_LONG,
  QUIT_WORD,
  readLines,
} from "../protocol.ts";

/** Longest line the client reads from the server or from standard input. */
export const CLIENT_MAX_LINE_BYTES = 1024 * 1024;
/** How long quitting waits for the server to close the connection. */
export const QUIT_WAIT_MS = 2000;

/** Where and how a {@linkcode ChatClient} connects. */
export interface ChatClientOptions {
  /** Host name or address of the server. @default {"127.0.0.1"} */
  hostname?: string;
  /** Port of the server. @default {2003} */
  port?: number;
  /** Milliseconds the connection, TLS handshake included, may take. @default {5000} */
  timeoutMs?: number;
  /** Speak TLS. @default {false} */
  tls?: boolean;
  /** PEM certificates to trust besides the system's (a self-signed server's). */
  caCerts?: string[];
  /** Longest line read from the server; longer ones are skipped. @default {1048576} */
  maxLineBytes?: number;
  /** Called for every server line skipped for its length. */
  onLineTooLong?: () => void;
}

/** A connection that could not be opened; the message names host, port and reason. */
export class ConnectError extends Error {
  /** Builds the message `Cannot connect to HOST:PORT: REASON`. */
  constructor(readonly hostname: string, readonly port: number, readonly reason: string) {
    super(`Cannot connect to ${hostname}:${port}: ${reason}`);
    this.name = "ConnectError";
  }
}

const encoder = new TextEncoder();

/**
 * One connection to a chat server: received lines as an async iterator,
 * {@linkcode ChatClient.send} for lines to send, {@linkcode ChatClient.quit}
 * to leave.
 *
 * @example Join a room, say hello, read until your own line comes back, leave
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatServer } from "jsr:@chat/room";
 * import { ChatClient } from "jsr:@chat/room/client";
 *
 * await using server = new ChatServer({ hostname: "127.0.0.1", port: 0 });
 * const { port } = await server.start();
 *
 * await using client = await ChatClient.connect({ hostname: "127.0.0.1", port });
 * await client.send("alice"); // the first line is the nickname
 * await client.send("hello");
 * const seen: string[] = [];
 * for await (const line of client.lines()) {
 *   seen.push(line);
 *   if (line === "alice: hello") break;
 * }
 * assert.equal(seen.length, 3); // the greeting, the welcome, the message
 * await client.quit();
 * ```
 */
export class ChatClient {
  readonly #conn: Deno.Conn;
  readonly #maxLineBytes: number;
  readonly #onLineTooLong: () => void;
  #sending: Promise<void> = Promise.resolve();
  #closed = false;
  #received = 0;
  readonly #ended = Promise.withResolvers<void>();

  private constructor(conn: Deno.Conn, options: ChatClientOptions) {
    this.#conn = conn;
    this.#maxLineBytes = options.maxLineBytes ?? CLIENT_MAX_LINE_BYTES;
    this.#onLineTooLong = options.onLineTooLong ?? (() => {});
  }

  /** Opens a connection; throws {@linkcode ConnectError} when it cannot. */
  static async connect(options: ChatClientOptions = {}): Promise<ChatClient> {
    const hostname = options.hostname ?? DEFAULT_CLIENT_HOST;
    const port = options.port ?? DEFAULT_PORT;
    const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_S * 1000;
    const signal = AbortSignal.timeout(timeoutMs);
    let tcp: Deno.TcpConn;
    try {
      tcp = await Deno.connect({ hostname, port, signal });
    } catch (error) {
      throw new ConnectError(hostname, port, connectFailure(error, timeoutMs));
    }
    if (!options.tls) return new ChatClient(tcp, options);
    let tls: Deno.TlsConn | null = null;
    const onTimeout = () => (tls ?? tcp).close();
    signal.addEventListener("abort", onTimeout, { once: true });
    try {
      tls = await Deno.startTls(tcp, { hostname, caCerts: options.caCerts });
      await tls.handshake();
      return new ChatClient(tls, options);
    } catch (error) {
      if (!signal.aborted) (tls ?? tcp).close();
      const reason = signal.aborted
        ? `timed out after ${timeoutMs / 1000} s`
        : `TLS handshake failed: ${tlsFailure(error, options.caCerts !== undefined)}`;
      throw new ConnectError(hostname, port, reason);
    } finally {
      signal.removeEventListener("abort", onTimeout);
    }
  }

  /**
   * The lines the server sends, without their line endings, until it closes
   * the connection. Read it from one place only.
   */
  async *lines(): AsyncGenerator<string> {
    try {
      for await (const line of readLines(this.#conn.readable, this.#maxLineBytes)) {
        if (line === LINE_TOO_LONG) {
          this.#onLineTooLong();
        } else {
          this.#received++;
          yield line;
        }
      }
    } catch (error) {
      // Closing the connection ourselves ends the stream with an error, and
      // a reset is only a rude way of closing.
      if (!this.#closed && !(error instanceof Deno.errors.ConnectionReset)) throw error;
    } finally {
      this.#ended.resolve();
    }
  }

  /** How many lines the server has sent so far. */
  get receivedLines(): number {
    return this.#received;
  }

  /** Resolves when the server's lines have ended (read through {@linkcode ChatClient.lines}). */
  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  /** Sends one line; sends run in the order they are called. */
  send(line: string): Promise<void> {
    const data = encoder.encode(line + "\n");
    const sent = this.#sending.then(async () => {
      for (let offset = 0; offset < data.length;) {
        offset += await this.#conn.write(data.subarray(offset));
      }
    });
    this.#sending = sent.catch(() => {});
    return sent;
  }

  /**
   * Says goodbye: sends `<quit>`, waits up to `waitMs` for the server to close
   * the connection (while {@linkcode ChatClient.lines} is being read), closes.
   */
  async quit(waitMs: number = QUIT_WAIT_MS): Promise<void> {
    try {
      await this.send(QUIT_WORD);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, waitMs));
      await Promise.race([this.#ended.promise, timeout]);
      clearTimeout(timer);
    } catch {
      // The connection is gone already, which is what quitting wanted.
    } finally {
      this.close();
    }
  }

  /** Closes the connection at once; safe to call again. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Closed already.
    }
  }

  /** Closes the connection, as {@linkcode ChatClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

function connectFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return `timed out after ${timeoutMs / 1000} s`;
  }
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes("failed to lookup address")) return "unknown host";
  return message.replace(/ \(os error \d+\)$/, "").replace(/^./, (c) => c.toLowerCase());
}

/**
 * What a failed handshake means, and what would fix it; `trusting` says
 * whether certificates to trust were given (--ca).
 */
function tlsFailure(error: unknown, trusting: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/corrupt message|InvalidContentType/i.test(message)) {
    return "the server does not speak TLS (try without --tls)";
  }
  // rustls's verdicts on the server's certificate, by name.
  if (/CaUsedAsEndEntity/.test(message)) {
    // What `openssl req -x509` makes unless told otherwise; trusting it changes nothing.
    return "the server's certificate is a CA certificate (CA:TRUE), which clients refuse as " +
      "a server's own; the server needs one with basicConstraints=critical,CA:FALSE " +
      "(README: Encryption)";
  }
  if (/UnknownIssuer/.test(message)) {
    return trusting
      ? "the server's certificate is not signed by the --ca certificate or a trusted authority"
      : "the server's certificate is not signed by a trusted authority " +
        "(with a self-signed server, pass --ca FILE)";
  }
  return message;
}
