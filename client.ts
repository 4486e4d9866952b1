/**
 * A terminal chat client: prints every line the server sends while you type.
 * It works with any line-based TCP server, not only `server.ts`.
 *
 * Try it:
 *
 * ```sh
 * deno run --allow-net client.ts 127.0.0.1 2003 --name alice
 * printf 'bob\nhello\n' | deno run --allow-net client.ts   # post one line and leave
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  CONNECT_TIMEOUT_S,
  DEFAULT_CLIENT_HOST,
  DEFAULT_PORT,
  isQuitWord,
  LINE_TOO_LONG,
  QUIT_WORD,
  readLines,
} from "./protocol.ts";

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
  /** Milliseconds the connection may take to open. @default {5000} */
  timeoutMs?: number;
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
 * @example
 * ```ts ignore
 * await using client = await ChatClient.connect({ port: 2003 });
 * await client.send("alice");
 * for await (const line of client.lines()) console.log(line);
 * ```
 */
export class ChatClient {
  readonly #conn: Deno.Conn;
  readonly #maxLineBytes: number;
  readonly #onLineTooLong: () => void;
  #sending: Promise<void> = Promise.resolve();
  #closed = false;
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
    try {
      const conn = await Deno.connect({ hostname, port, signal: AbortSignal.timeout(timeoutMs) });
      return new ChatClient(conn, options);
    } catch (error) {
      throw new ConnectError(hostname, port, connectFailure(error, timeoutMs));
    }
  }

  /**
   * The lines the server sends, without their line endings, until it closes
   * the connection. Read it from one place only.
   */
  async *lines(): AsyncGenerator<string> {
    try {
      for await (const line of readLines(this.#conn.readable, this.#maxLineBytes)) {
        if (line === LINE_TOO_LONG) this.#onLineTooLong();
        else yield line;
      }
    } catch (error) {
      // Closing the connection ourselves ends the stream with an error.
      if (!this.#closed) throw error;
    } finally {
      this.#ended.resolve();
    }
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

// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/** What the terminal shows for a received line: control characters (terminal escapes) removed. */
export function printable(line: string): string {
  return line.replace(UNPRINTABLE, "");
}

const USAGE = `Usage: deno run --allow-net client.ts [HOST] [PORT] [options]

Joins a chat server (default ${DEFAULT_CLIENT_HOST} ${DEFAULT_PORT}). Every line you type is sent;
${QUIT_WORD}, end of input (Ctrl+D) or Ctrl+C leaves.

Options:
  --name NAME          answer the server's nickname question with NAME
  --timeout SECONDS    give up connecting after SECONDS (default ${CONNECT_TIMEOUT_S})
  -h, --help           show this help

Exit codes: 0 you left, 1 the server closed the connection, 2 bad arguments or no connection.`;

/** Settings read from the client's command line. */
export interface ClientArgs {
  /** Host from the command line, if given. */
  hostname?: string;
  /** Port from the command line, if given. */
  port?: number;
  /** Nickname to send first, if given. */
  name?: string;
  /** Connect timeout in milliseconds. */
  timeoutMs: number;
  /** Whether to print the usage and stop. */
  help: boolean;
}

/** Parses the command line; throws a `TypeError` that names the bad argument. */
export function parseClientArgs(args: string[]): ClientArgs {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (positionals.length > 2) throw new TypeError(`Unexpected argument: ${positionals[2]}`);
  const [hostname, portText] = positionals;
  const timeout = Number(values.timeout ?? CONNECT_TIMEOUT_S);
  if (!(timeout > 0 && timeout <= 3600)) {
    throw new TypeError(
      `Invalid --timeout: expected seconds from 0 to 3600, got "${values.timeout}"`,
    );
  }
  return {
    hostname: hostname === "" ? undefined : hostname,
    port: portText === undefined ? undefined : parsePort(portText),
    name: values.name,
    timeoutMs: Math.round(timeout * 1000),
    help: values.help,
  };
}

/** Reads a port number 1-65535; throws a `TypeError` naming the text otherwise. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (text.trim() === "" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`Invalid port "${text}": expected a whole number from 1 to 65535`);
  }
  return port;
}

/** How a terminal session ended. */
type Ending = "quit" | "closed";

async function main(args: string[]): Promise<number> {
  let options: ClientArgs;
  try {
    options = parseClientArgs(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  let { hostname, port } = options;
  if (Deno.stdin.isTerminal()) {
    hostname ??= prompt(`Host [${DEFAULT_CLIENT_HOST}]:`)?.trim() || undefined;
    if (port === undefined) {
      const answer = prompt(`Port [${DEFAULT_PORT}]:`)?.trim();
      try {
        port = answer ? parsePort(answer) : undefined;
      } catch (error) {
        console.error((error as Error).message);
        return 2;
      }
    }
  }
  let client: ChatClient;
  try {
    client = await ChatClient.connect({
      hostname,
      port,
      timeoutMs: options.timeoutMs,
      onLineTooLong: () =>
        console.error(`[a line over ${CLIENT_MAX_LINE_BYTES} bytes was not shown]`),
    });
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  return await chat(client, options.name);
}

/** Runs the two loops of a terminal session and returns the exit code. */
async function chat(client: ChatClient, name: string | undefined): Promise<number> {
  const quit = Promise.withResolvers<Ending>();
  const onInterrupt = () => quit.resolve("quit");
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    if (name !== undefined) await client.send(name);
    const received = printLines(client).then((): Ending => "closed");
    void sendInput(client).then(() => quit.resolve("quit"), () => quit.resolve("quit"));
    const ending = await Promise.race([received, quit.promise]);
    if (ending === "closed") {
      console.error("Connection closed by server.");
      return 1;
    }
    await client.quit();
    return 0;
  } catch (error) {
    console.error(`Connection failed: ${(error as Error).message}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    client.close();
  }
}

async function printLines(client: ChatClient): Promise<void> {
  for await (const line of client.lines()) {
    const data = encoder.encode(printable(line) + "\n");
    for (let offset = 0; offset < data.length;) {
      offset += await Deno.stdout.write(data.subarray(offset));
    }
  }
}

async function sendInput(client: ChatClient): Promise<void> {
  for await (const line of readLines(Deno.stdin.readable, CLIENT_MAX_LINE_BYTES)) {
    if (line === LINE_TOO_LONG) {
      console.error(`[line over ${CLIENT_MAX_LINE_BYTES} bytes not sent]`);
      continue;
    }
    if (isQuitWord(line.trim())) return;
    await client.send(line);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
