/**
 * A terminal chat client: prints every line the server sends while you type.
 * It works with any line-based TCP server, not only `server.ts`.
 *
 * Try it:
 *
 * ```sh
 * deno run --allow-net client.ts 127.0.0.1 2003 --name alice
 * printf 'bob\nhello\n' | deno run --allow-net client.ts   # post one line and leave
 * deno run --allow-net --allow-sys client.ts --serve        # host a room and join it
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BOLD, BOLD_ITALIC, DIM, ITALIC, MENTION, PRIVATE, RED, RESET } from "./ansi.ts";
import {
  asksForPassword,
  CONNECT_TIMEOUT_S,
  DEFAULT_CLIENT_HOST,
  DEFAULT_PORT,
  isQuitWord,
  LINE_TOO_LONG,
  LineFramer,
  QUIT_WORD,
  readLines,
  removeEscapes,
} from "./protocol.ts";
import { ChatServer } from "./server.ts";
import { type ChatConsole, TerminalConsole } from "./terminal_console.ts";
import { classify } from "./web/lines.js";

/** Longest line the client reads from the server or from standard input. */
export const CLIENT_MAX_LINE_BYTES = 1024 * 1024;
/** How long quitting waits for the server to close the connection. */
export const QUIT_WAIT_MS = 2000;
/** First and longest wait between reconnection attempts. */
export const RECONNECT_MIN_MS = 1000;
/** The longest wait between reconnection attempts. */
export const RECONNECT_MAX_MS = 30_000;
/** Environment variable the client reads the room's password from (with --allow-env). */
export const PASSWORD_VARIABLE = "CHAT_PASSWORD";

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

// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/**
 * What the terminal shows for a received line: terminal escape sequences
 * removed whole, then any other control character.
 */
export function printable(line: string): string {
  return removeEscapes(line).replace(UNPRINTABLE, "");
}

/**
 * Whether a received line says the server speaks TLS: a TLS record (an
 * alert), or this project's server saying so in words.
 */
function looksLikeTls(line: string): boolean {
  return line.startsWith("\x15\x03") || line.startsWith("\x16\x03") ||
    line.startsWith("! This port speaks TLS");
}

/** How received lines are shown. */
export interface DisplayOptions {
  /** Prefix each line with the local time as `HH:MM`. */
  timestamps: boolean;
  /** Dim notices, make errors red, actions italic and your own messages and actions bold. */
  color: boolean;
}

/**
 * The color of a line, by what it is: `** NAME action` is a member's action
 * (content, like a message), `* ` a notice and `! ` an error from the server.
 */
function styleOf(text: string, me: string | null): string {
  const info = classify(text, me);
  if (info.direct) return PRIVATE;
  if (info.mention) return MENTION;
  if (text.startsWith("** ")) {
    return me !== null && text.startsWith(`** ${me} `) ? BOLD_ITALIC : ITALIC;
  }
  if (text.startsWith("* ")) return DIM;
  if (text.startsWith("! ")) return RED;
  if (me !== null && (text.startsWith(`${me}: `) || text.startsWith("(private to "))) return BOLD;
  return "";
}

/** Formats one received line for the terminal; `me` is your current name, if known. */
export function formatLine(
  line: string,
  options: DisplayOptions,
  me: string | null,
  now: Date = new Date(),
): string {
  let text = printable(line);
  if (options.color) {
    const style = styleOf(text, me);
    if (style !== "") text = style + text + RESET;
  }
  if (options.timestamps) {
    const pad = (n: number) => String(n).padStart(2, "0");
    text = `${pad(now.getHours())}:${pad(now.getMinutes())} ${text}`;
  }
  return text;
}

/** The wait before reconnection attempt `attempt` (0 first): doubling from 1 s to 30 s, ±20 %. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.8 + 0.4 * random()));
}

const USAGE = `Usage: deno run --allow-net client.ts [HOST] [PORT] [options]

Joins a chat server (default ${DEFAULT_CLIENT_HOST} ${DEFAULT_PORT}). Every line you type is sent;
${QUIT_WORD}, end of input (Ctrl+D) or Ctrl+C leaves. Started on a terminal with no
arguments at all, it asks for the host and port.

Options:
  --name NAME          answer the server's nickname question with NAME
  --port PORT          the server's port (or the second argument)
  --timeout SECONDS    give up connecting after SECONDS, TLS handshake included (default ${CONNECT_TIMEOUT_S})
  --tls                connect with TLS
  --ca FILE            trust the PEM certificate in FILE (needs --allow-read)
  --reconnect          when the connection drops, connect again (1 s to 30 s apart)
  --timestamps         show the time (HH:MM) before each line
  --no-bell            do not ring the terminal's bell for a line that names you
  --serve              host a room on PORT in this process and join it
                       (--allow-sys lets it list this machine's addresses)
  -h, --help           show this help

A locked room's password is asked for without echo, or read from $${PASSWORD_VARIABLE}
when run with --allow-env.

Exit codes: 0 you left, 1 the server closed the connection, 2 bad arguments or no connection.`;

/** Settings read from the client's command line. */
export interface ClientArgs {
  /** Host from the command line, if given. */
  hostname?: string;
  /** Port from the command line, if given. */
  port?: number;
  /** Nickname to send, if given. */
  name?: string;
  /** Connect timeout in milliseconds. */
  timeoutMs: number;
  /** Connect with TLS. */
  tls: boolean;
  /** File with a certificate to trust. */
  caFile?: string;
  /** Connect again when the connection drops. */
  reconnect: boolean;
  /** Show times before lines. */
  timestamps: boolean;
  /** Ring the terminal's bell for a mention or a private message. */
  bell: boolean;
  /** Host a room in this process. */
  serve: boolean;
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
      port: { type: "string" },
      timeout: { type: "string" },
      tls: { type: "boolean", default: false },
      ca: { type: "string" },
      reconnect: { type: "boolean", default: false },
      timestamps: { type: "boolean", default: false },
      "no-bell": { type: "boolean", default: false },
      serve: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (positionals.length > 2) throw new TypeError(`Unexpected argument: ${positionals[2]}`);
  const [hostname, portText] = positionals;
  if (portText !== undefined && values.port !== undefined) {
    throw new TypeError("Give the port once: as an argument or with --port");
  }
  const timeout = Number(values.timeout ?? CONNECT_TIMEOUT_S);
  if (!(timeout > 0 && timeout <= 3600)) {
    throw new TypeError(
      `Invalid --timeout: expected seconds from 0 to 3600, got "${values.timeout}"`,
    );
  }
  if (values.ca !== undefined && !values.tls) throw new TypeError("--ca goes with --tls");
  const port = portText ?? values.port;
  return {
    hostname: hostname === "" ? undefined : hostname,
    port: port === undefined ? undefined : parsePort(port),
    name: values.name,
    timeoutMs: Math.round(timeout * 1000),
    tls: values.tls,
    caFile: values.ca,
    reconnect: values.reconnect,
    timestamps: values.timestamps,
    bell: !values["no-bell"],
    serve: values.serve,
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

/** The room's password from the environment, when the client may read it. */
function passwordFromEnvironment(): string | null {
  const permission = Deno.permissions.querySync({ name: "env", variable: PASSWORD_VARIABLE });
  if (permission.state !== "granted") return null;
  return Deno.env.get(PASSWORD_VARIABLE) ?? null;
}

/** The machine's non-loopback IPv4 addresses, or `null` without --allow-sys. */
function machineAddresses(): string[] | null {
  // Asked first: on a terminal, calling without the permission brings up Deno's prompt.
  const permission = Deno.permissions.querySync({ name: "sys", kind: "networkInterfaces" });
  if (permission.state !== "granted") return null;
  try {
    return Deno.networkInterfaces()
      .filter((iface) => iface.family === "IPv4" && !iface.address.startsWith("127."))
      .map((iface) => iface.address)
      .filter((address, i, all) => all.indexOf(address) === i);
  } catch {
    return null;
  }
}

async function writeOut(text: string): Promise<void> {
  const data = encoder.encode(text);
  for (let offset = 0; offset < data.length;) {
    offset += await Deno.stdout.write(data.subarray(offset));
  }
}

/**
 * Standard input as lines, with one twist: on a terminal, a line can be read
 * without echo (for a password) by switching to raw mode for that line only.
 */
class Input implements ChatConsole {
  readonly #reader = Deno.stdin.readable.getReader();
  readonly #framer = new LineFramer(CLIENT_MAX_LINE_BYTES);
  readonly #decoder = new TextDecoder();
  readonly #lines: (string | typeof LINE_TOO_LONG)[] = [];
  readonly isTerminal = Deno.stdin.isTerminal();
  #secret: number[] | null = null;
  #done = false;
  /** Called when Ctrl+C is typed while the terminal is in raw mode. */
  onInterrupt: () => void = () => {};

  /** The next line typed, `null` at end of input. */
  async next(): Promise<string | typeof LINE_TOO_LONG | null> {
    while (this.#lines.length === 0) {
      if (this.#done) return null;
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#done = true;
        this.#framer.feed(new Uint8Array([0x0a]));
        if (this.#framer.bufferedBytes > 0) this.#take();
        continue;
      }
      this.#take(this.#secret === null ? value : this.#readSecret(value));
    }
    return this.#lines.shift() as string | typeof LINE_TOO_LONG;
  }

  /** Reads the next line without echo; a no-op when input is not a terminal. */
  startSecretLine(): void {
    if (!this.isTerminal || this.#secret !== null) return;
    Deno.stdin.setRaw(true);
    this.#secret = [];
  }

  #take(chunk?: Uint8Array): void {
    if (chunk !== undefined) this.#framer.feed(chunk);
    for (let line = this.#framer.next(); line !== null; line = this.#framer.next()) {
      this.#lines.push(line === LINE_TOO_LONG ? line : this.#decoder.decode(line));
    }
  }

  /** Collects secret bytes; returns what follows the secret line in the chunk. */
  #readSecret(chunk: Uint8Array): Uint8Array {
    const secret = this.#secret as number[];
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (byte === 0x0d || byte === 0x0a) {
        this.#endSecret();
        this.#lines.push(this.#decoder.decode(new Uint8Array(secret)));
        return chunk.subarray(i + 1);
      }
      if (byte === 0x03) {
        this.#endSecret();
        this.onInterrupt();
        return new Uint8Array(0);
      }
      if (byte === 0x7f || byte === 0x08) {
        // Backspace: drop the last character, all of its UTF-8 bytes.
        while (secret.length > 0 && ((secret.pop() as number) & 0xc0) === 0x80);
      } else if (secret.length < 1024) {
        secret.push(byte);
      }
    }
    return new Uint8Array(0);
  }

  #endSecret(): void {
    this.#secret = null;
    Deno.stdin.setRaw(false);
    void writeOut("\n");
  }

  /** Leaves raw mode if a secret line was being read. */
  restore(): void {
    if (this.#secret !== null) {
      this.#secret = null;
      Deno.stdin.setRaw(false);
    }
  }

  /** Writes the line to standard output. */
  show(text: string): Promise<void> {
    return writeOut(text + "\n");
  }

  /** Writes the note to standard error. */
  note(text: string): void {
    console.error(text);
  }

  /** Plain output has no prompt. */
  where(): void {}
}

/**
 * When typed lines may go to the server. They wait while the client itself has
 * an answer to give (the password from the environment, the nickname from
 * --name); a question the person answers first lets one line through.
 */
class Gate {
  #open = false;
  #passes = 0;
  #waiters: (() => void)[] = [];

  /** Lets every line through from now on. */
  open(): void {
    this.#open = true;
    this.#wake();
  }

  /** Lets one line through: the person's answer to the question just asked. */
  passOne(): void {
    this.#passes++;
    this.#wake();
  }

  /** Resolves when the next line may go. */
  async pass(): Promise<void> {
    while (!this.#open) {
      if (this.#passes > 0) {
        this.#passes--;
        return;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** Everything a terminal session needs to know, across reconnections. */
interface Session {
  connect: () => Promise<ChatClient>;
  timeoutMs: number;
  name: string | undefined;
  reconnect: boolean;
  display: DisplayOptions;
  /** The line editor, on a terminal; plain input and output otherwise. */
  console?: ChatConsole;
}

/** What a move to another room says: `* You are now in #dev (3 here)`. */
const MOVED = /^\* You are now in #(\S+) \(\d+ here\)$/;

/** How one connection ended. */
type Ending = "quit" | "closed";

/**
 * Runs the terminal session: prints the server's lines while sending what is
 * typed, across reconnections when asked; returns the exit code.
 */
async function chat(session: Session, first: ChatClient): Promise<number> {
  const input: ChatConsole = session.console ?? new Input();
  const quit = Promise.withResolvers<"quit">();
  const onInterrupt = () => quit.resolve("quit");
  input.onInterrupt = onInterrupt;
  Deno.addSignalListener("SIGINT", onInterrupt);
  let client: ChatClient | null = first;
  let name = session.name ?? null;
  /** The room the server last put us in, to go back to after a reconnection. */
  let room = "lobby";
  const password = passwordFromEnvironment();
  // Typed lines wait until the client's own answers (password, name) are sent.
  let gate = new Gate();
  let tlsSpoken = false;

  const sendInput = async () => {
    for (let line = await input.next(); line !== null; line = await input.next()) {
      if (line === LINE_TOO_LONG) {
        input.note(`[line over ${CLIENT_MAX_LINE_BYTES} bytes not sent]`);
        continue;
      }
      if (isQuitWord(line.trim())) return;
      await gate.pass();
      if (client === null) {
        input.note("[not connected; line not sent]");
        continue;
      }
      await client.send(line).catch(() => input.note("[connection lost; line not sent]"));
    }
  };

  /** Reads one connection's lines to their end, answering the server's questions. */
  const receive = async (current: ChatClient): Promise<Ending> => {
    let welcomed = false;
    let nameSent = false;
    gate = new Gate();
    if (name === null && password === null) gate.open();
    // A server silent for as long as connecting may take is worth a word:
    // a TLS server waits for a handshake that a plain client never starts.
    const silence = setTimeout(() => {
      input.note(
        `[the server has said nothing for ${session.timeoutMs / 1000} s; ` +
          "if it uses TLS, add --tls]",
      );
      if (!nameSent && name !== null) {
        nameSent = true;
        void current.send(name).catch(() => {});
      }
      gate.open();
    }, session.timeoutMs);
    for await (const line of current.lines()) {
      clearTimeout(silence);
      if (looksLikeTls(line)) {
        tlsSpoken = true;
        continue;
      }
      if (!welcomed) {
        const welcome = /^Welcome, (.+?)! /.exec(line);
        if (welcome) {
          welcomed = true;
          name = welcome[1] as string;
          // Everyone starts in #lobby, after a reconnection too: then we go back.
          input.where(name, "lobby");
          if (current !== first && room !== "lobby") {
            void current.send(`/join #${room}`).catch(() => {});
          }
          room = "lobby";
          gate.open();
        } else if (asksForPassword(line)) {
          if (password !== null) void current.send(password).catch(() => {});
          else input.startSecretLine();
          // With a nickname of our own to send, only the typed password may
          // go before the nickname question; without one, the person answers both.
          if (name === null) gate.open();
          else if (password === null) gate.passOne();
        } else if (
          !nameSent && name !== null && (session.name !== undefined || current !== first)
        ) {
          // The nickname question: --name answers it, and after a reconnection
          // the name the server last welcomed us by does.
          nameSent = true;
          void current.send(name).catch(() => {});
          gate.open();
        }
      } else if (name !== null && line.startsWith(`* ${name} is now known as `)) {
        name = line.slice(`* ${name} is now known as `.length);
        input.where(name, null);
      } else {
        const moved = MOVED.exec(line);
        if (moved !== null) {
          room = moved[1] as string;
          input.where(name, room);
        }
      }
      await input.show(formatLine(line, session.display, welcomed ? name : null), line, name);
    }
    clearTimeout(silence);
    gate.open();
    return "closed";
  };

  void sendInput().then(() => quit.resolve("quit"), () => quit.resolve("quit"));
  try {
    for (let attempt = 0;;) {
      if (client !== null) {
        const ending = await Promise.race([receive(client), quit.promise]);
        if (ending === "quit") {
          input.restore();
          await client.quit();
          return 0;
        }
        const heard = client.receivedLines > 0;
        client.close();
        client = null;
        if (!session.reconnect) {
          input.note(
            tlsSpoken
              ? "Connection closed by server: it speaks TLS (add --tls)."
              : heard
              ? "Connection closed by server."
              : "Connection closed by server before it said anything (if it uses TLS, add --tls).",
          );
          return 1;
        }
        attempt = 0;
      }
      const delay = reconnectDelay(attempt++);
      input.note(`Connection lost; reconnecting in ${(delay / 1000).toFixed(1)} s...`);
      const stop = await Promise.race([pauseFor(delay), quit.promise]);
      if (stop === "quit") return 0;
      try {
        client = await session.connect();
        input.note("Reconnected.");
      } catch (error) {
        input.note((error as Error).message);
      }
    }
  } catch (error) {
    input.note(`Connection failed: ${(error as Error).message}`);
    return 1;
  } finally {
    input.restore();
    Deno.removeSignalListener("SIGINT", onInterrupt);
    (client as ChatClient | null)?.close();
  }
}

function pauseFor(ms: number): Promise<"waited"> {
  return new Promise((resolve) => setTimeout(() => resolve("waited"), ms));
}

/** Starts a room in this process for `--serve`; prints where others can join. */
async function host(port: number): Promise<ChatServer> {
  const server = new ChatServer({ hostname: "0.0.0.0", port });
  const { port: bound } = await server.start();
  const addresses = machineAddresses();
  console.log(`Hosting a chat room on port ${bound}.`);
  if (addresses === null) {
    console.log(
      `Others join with this machine's address and port ${bound} ` +
        "(run with --allow-sys to have the addresses listed here).",
    );
  } else if (addresses.length === 0) {
    console.log("This machine has no network address besides loopback; only local users can join.");
  } else {
    console.log("Others join with one of:");
    for (const address of addresses) {
      console.log(`  deno run --allow-net client.ts ${address} ${bound}`);
    }
  }
  return server;
}

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
  // Questions only for a bare start: given any argument, the command line is
  // the interface, and what it leaves out takes the defaults the help names.
  if (args.length === 0 && Deno.stdin.isTerminal()) {
    hostname = prompt(`Host [${DEFAULT_CLIENT_HOST}]:`)?.trim() || undefined;
    const answer = prompt(`Port [${DEFAULT_PORT}]:`)?.trim();
    try {
      port = answer ? parsePort(answer) : undefined;
    } catch (error) {
      console.error((error as Error).message);
      return 2;
    }
  }
  let caCerts: string[] | undefined;
  if (options.caFile !== undefined) {
    try {
      caCerts = [await Deno.readTextFile(options.caFile)];
    } catch (error) {
      console.error(`Cannot read certificate ${options.caFile}: ${(error as Error).message}`);
      return 2;
    }
  }
  let server: ChatServer | null = null;
  if (options.serve) {
    try {
      server = await host(port ?? DEFAULT_PORT);
    } catch (error) {
      console.error(`Cannot host on port ${port ?? DEFAULT_PORT}: ${(error as Error).message}`);
      return 2;
    }
    hostname = "127.0.0.1";
    port = server.addr.port;
  }
  const color = Deno.stdout.isTerminal() && !Deno.noColor;
  const connect = () =>
    ChatClient.connect({
      hostname,
      port,
      timeoutMs: options.timeoutMs,
      tls: options.tls,
      caCerts,
      onLineTooLong: () =>
        console.error(`[a line over ${CLIENT_MAX_LINE_BYTES} bytes was not shown]`),
    });
  try {
    let first: ChatClient;
    try {
      first = await connect();
    } catch (error) {
      console.error((error as Error).message);
      return 2;
    }
    // On a terminal, the line editor; piped, lines as they come, with no escape codes.
    const editor = Deno.stdin.isTerminal() && Deno.stdout.isTerminal()
      ? new TerminalConsole({ bell: options.bell, color })
      : undefined;
    editor?.start();
    return await chat({
      connect,
      timeoutMs: options.timeoutMs,
      name: options.name,
      reconnect: options.reconnect,
      display: { timestamps: options.timestamps, color },
      console: editor,
    }, first);
  } finally {
    // The host leaving closes the room: everyone gets "* Server is shutting down".
    await server?.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
