/**
 * Helpers for the end-to-end tests: the real `server.ts` and `client.ts` as
 * subprocesses, and a raw TCP peer that reads lines with a deadline.
 *
 * @module
 */

import { EventEmitter } from "node:events";
import { Chat, type ChatOptions } from "../core/chat.ts";
import type { Link } from "../core/link.ts";
import { MAX_ROOMS } from "../core/rooms.ts";
import {
  ANNOUNCE_LIMIT,
  HISTORY_LINES,
  LINE_TOO_LONG,
  LineFramer,
  MAX_LINE_BYTES,
  MAX_QUEUE_BYTES,
} from "../protocol.ts";

/** How long a test waits for an expected event before failing. */
export const WAIT_MS = 5000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options every network test passes to `Deno.test`, so leaks fail the test. */
export const LEAK_CHECKS = { sanitizeOps: true, sanitizeResources: true } as const;

/** Resolves with `promise`, or rejects naming `what` after `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Collects a child's output stream as lines, so tests can wait for one. */
export class LineCollector {
  readonly lines: string[] = [];
  #waiters: (() => void)[] = [];
  readonly done: Promise<void>;

  /** Starts reading `stream` to its end. */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      this.lines.push(...parts);
      this.#wake();
    }
    if (partial !== "") this.lines.push(partial);
    this.#wake();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /** Everything collected so far, one string. */
  get text(): string {
    return this.lines.join("\n");
  }

  /** Waits for a line matching `test`, failing after `ms`. */
  async waitFor(test: (line: string) => boolean, ms: number = WAIT_MS): Promise<string> {
    const deadline = Date.now() + ms;
    let ended = false;
    this.done.then(() => ended = true, () => ended = true);
    while (true) {
      const found = this.lines.find(test);
      if (found !== undefined) return found;
      if (ended) throw new Error(`Output ended without the line wanted:\n${this.text}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No line wanted within ${ms} ms:\n${this.text}`);
      await withDeadline(
        Promise.race([new Promise<void>((resolve) => this.#waiters.push(resolve)), this.done]),
        left,
        "a line of output",
      ).catch(() => {});
    }
  }
}

/** Starts one of the project's scripts with `deno run`, its output piped. */
function spawnScript(
  script: string,
  args: string[],
  permissions: string[],
  stdin: "null" | "piped",
  env?: Record<string, string>,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, script, ...args],
    cwd: new URL("..", import.meta.url),
    env,
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** A running `server.ts` subprocess. */
export interface ServerProcess {
  /** The port it listens on, read from its listening line. */
  port: number;
  /** The port of its IRC listener, read from its `IRC clients:` line; null with `--no-irc`. */
  ircPort: number | null;
  /** The process itself. */
  child: Deno.ChildProcess;
  /** Its standard output (the listening line and the event log). */
  stdout: LineCollector;
  /** Its standard error. */
  stderr: LineCollector;
  /** Sends `signal` (SIGTERM by default) and returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /**
   * Types a line at its console (when started with `console: true`), ended
   * by `end`: "" leaves it unfinished, as text typed before Ctrl+D.
   */
  type(line: string, end?: string): Promise<void>;
  /** Ends its standard input, as Ctrl+D at a terminal (when started with `console: true`). */
  endInput(): Promise<void>;
  /** Stops it, as `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts `server.ts` on 127.0.0.1 and a free port (unless `args` name one),
 * with extra flags; with `console`, its standard input is a pipe to type into.
 */
export async function startServer(
  args: string[] = [],
  permissions: string[] = ["--allow-net"],
  { console = false }: { console?: boolean } = {},
): Promise<ServerProcess> {
  const port = args.includes("--port") ? [] : ["--port", "0"];
  // The page's listener gets a free port too, unless the test says otherwise.
  const web = args.includes("--web-port") || args.includes("--no-web") ? [] : ["--web-port", "0"];
  // So does the IRC listener: nothing in a test listens on a fixed port.
  const irc = args.includes("--irc-port") || args.includes("--no-irc") ? [] : ["--irc-port", "0"];
  const serverArgs = ["--host", "127.0.0.1", ...port, ...web, ...irc, ...args];
  const child = spawnScript("server.ts", serverArgs, permissions, console ? "piped" : "null");
  const stdout = new LineCollector(child.stdout);
  const stderr = new LineCollector(child.stderr);
  const input = console ? child.stdin.getWriter() : null;
  let inputOpen = console;
  const type = async (line: string, end = "\n") => {
    if (input === null) throw new Error("server.ts was started without a console");
    await input.write(encoder.encode(line + end));
  };
  const endInput = async () => {
    if (!inputOpen) return;
    inputOpen = false;
    await input?.close().catch(() => {});
  };
  let stopped: Promise<number> | null = null;
  const stop = (signal: Deno.Signal = "SIGTERM"): Promise<number> => {
    stopped ??= (async () => {
      try {
        child.kill(signal);
      } catch {
        // Exited already.
      }
      await endInput();
      const status = await child.status;
      await Promise.all([stdout.done, stderr.done]);
      return status.code;
    })();
    return stopped;
  };
  try {
    const line = await stdout.waitFor((l) => l.startsWith("Chat server listening on "), 15_000);
    const port = Number(line.slice(line.lastIndexOf(":") + 1));
    let ircPort: number | null = null;
    if (!args.includes("--no-irc")) {
      // Printed right after the listening line (and the page's).
      const ircLine = await stdout.waitFor((l) => l.startsWith("IRC clients: "), 15_000);
      ircPort = Number(ircLine.slice(ircLine.lastIndexOf(":") + 1));
    }
    const dispose = async () => void await stop();
    return {
      port,
      ircPort,
      child,
      stdout,
      stderr,
      stop,
      type,
      endInput,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await stop("SIGKILL");
    throw new Error(`server.ts did not start: ${(error as Error).message}\n${stderr.text}`);
  }
}

/** Runs `body` against a fresh quiet `server.ts` started with `args`, then stops it. */
export async function withServer(
  args: string[],
  body: (port: number) => Promise<void>,
  permissions: string[] = ["--allow-net"],
): Promise<void> {
  const server = await startServer(["--quiet", ...args], permissions);
  try {
    await body(server.port);
  } finally {
    await server.stop();
  }
}

/** A `client.ts` left running, for tests that talk to it while it runs. */
export interface ClientProcess {
  /** The process itself. */
  child: Deno.ChildProcess;
  /** What it prints on standard output. */
  stdout: LineCollector;
  /** What it prints on standard error. */
  stderr: LineCollector;
  /** Types a line (or several) into it. */
  type(text: string): Promise<void>;
  /** Ends its input, as Ctrl+D does. */
  endInput(): Promise<void>;
  /** Waits for it to exit and returns the exit code. */
  exitCode(ms?: number): Promise<number>;
  /** Kills it if still running and waits for its streams. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts `client.ts` with `args` and leaves it running. */
export function spawnClient(
  args: string[],
  permissions: string[] = ["--allow-net"],
): ClientProcess {
  const child = spawnScript("client.ts", args, permissions, "piped");
  const stdout = new LineCollector(child.stdout);
  const stderr = new LineCollector(child.stderr);
  const input = child.stdin.getWriter();
  const endInput = () => input.close().catch(() => {});
  return {
    child,
    stdout,
    stderr,
    type: (text) => input.write(encoder.encode(text)),
    endInput,
    async exitCode(ms = WAIT_MS) {
      return (await withDeadline(child.status, ms, "client.ts to exit")).code;
    },
    async [Symbol.asyncDispose]() {
      await endInput();
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited already.
      }
      await child.status;
      await Promise.all([stdout.done, stderr.done]);
    },
  };
}

/** Result of running one of the project's scripts to its end. */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** How {@linkcode runClient} runs the client. */
export interface ClientOptions {
  /** How long it may take to exit. */
  ms?: number;
  /** Deno permission flags. @default {["--allow-net"]} */
  permissions?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/**
 * Runs `client.ts` with `args`, feeding it `input` and then end of input
 * (`null`: input stays open, as when a person sits at the terminal), and
 * waits for it to exit.
 */
export async function runClient(
  args: string[],
  input: string | null = "",
  options: ClientOptions = {},
): Promise<ScriptRun> {
  const ms = options.ms ?? WAIT_MS * 2;
  const permissions = options.permissions ?? ["--allow-net"];
  const child = spawnScript("client.ts", args, permissions, "piped", options.env);
  const writer = child.stdin.getWriter();
  if (input !== null) {
    await writer.write(encoder.encode(input)).catch(() => {});
    await writer.close().catch(() => {});
  }
  try {
    return await untilExit(child, ms, "client.ts");
  } finally {
    await writer.close().catch(() => {});
  }
}

/** Runs `server.ts` with `args` and no input, and waits for it to exit (it is killed after `ms`). */
export function runServerToExit(
  args: string[],
  permissions: string[] = ["--allow-net"],
  ms: number = WAIT_MS * 2,
): Promise<ScriptRun> {
  // Never the IRC listener's fixed default port: other tests run beside this one.
  const irc = args.some((arg) => arg.startsWith("--irc-port") || arg === "--no-irc")
    ? []
    : ["--no-irc"];
  return untilExit(
    spawnScript("server.ts", [...irc, ...args], permissions, "null"),
    ms,
    "server.ts",
  );
}

/** Waits for `child` to exit and returns its output; kills it after `ms`. */
async function untilExit(child: Deno.ChildProcess, ms: number, script: string): Promise<ScriptRun> {
  try {
    const output = await withDeadline(child.output(), ms, `${script} to exit`);
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } catch (error) {
    child.kill("SIGKILL");
    await child.output().catch(() => {});
    throw error;
  }
}

/** A raw TCP connection that reads whole lines with a deadline. */
export class Peer {
  readonly #conn: Deno.TcpConn | Deno.TlsConn;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #framer = new LineFramer(1 << 20);
  readonly #lines: string[] = [];
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  #ended = false;
  #closed = false;

  private constructor(conn: Deno.TcpConn | Deno.TlsConn) {
    this.#conn = conn;
    this.#reader = conn.readable.getReader();
  }

  /** A peer over a connection made already (a TLS one, say). */
  static over(conn: Deno.TcpConn | Deno.TlsConn): Peer {
    return new Peer(conn);
  }

  /** Connects to 127.0.0.1 at `port`. */
  static async connect(port: number): Promise<Peer> {
    return new Peer(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Connects, reads the greeting, sends `name` and returns the welcome line. */
  static async join(port: number, name: string): Promise<Peer> {
    const peer = await Peer.connect(port);
    await peer.expect(/nickname/);
    await peer.send(`${name}\n`);
    await peer.expect(/^Welcome, /);
    return peer;
  }

  /** Says it will send nothing more (a half-close, as `nc -N` does at end of input); it still reads. */
  async finish(): Promise<void> {
    await this.#conn.closeWrite();
  }

  /** Sends raw text (add the `\n` yourself). */
  async send(text: string | Uint8Array): Promise<void> {
    const data = typeof text === "string" ? encoder.encode(text) : text;
    for (let offset = 0; offset < data.length;) {
      offset += await this.#conn.write(data.subarray(offset));
    }
  }

  /** The next line, or `null` when the server closed the connection; fails after `ms`. */
  async readLine(ms: number = WAIT_MS): Promise<string | null> {
    const deadline = Date.now() + ms;
    while (this.#lines.length === 0) {
      if (this.#ended) return null;
      this.#pending ??= this.#reader.read();
      const left = deadline - Date.now();
      const result = await withDeadline(this.#pending, Math.max(left, 1), "a line from the server");
      this.#pending = null;
      if (result.done) {
        this.#ended = true;
        continue;
      }
      this.#framer.feed(result.value);
      for (let line = this.#framer.next(); line !== null; line = this.#framer.next()) {
        this.#lines.push(line === LINE_TOO_LONG ? "<too long>" : decoder.decode(line));
      }
    }
    return this.#lines.shift() as string;
  }

  /** Reads the next line and fails unless it matches (a string must match exactly). */
  async expect(wanted: string | RegExp, ms: number = WAIT_MS): Promise<string> {
    const line = await this.readLine(ms);
    const matches = line !== null &&
      (typeof wanted === "string" ? line === wanted : wanted.test(line));
    if (!matches) throw new Error(`Expected ${wanted}, got ${JSON.stringify(line)}`);
    return line as string;
  }

  /** Reads lines until one matches; returns all read, the match last. */
  async readUntil(wanted: string | RegExp, ms: number = WAIT_MS): Promise<string[]> {
    const deadline = Date.now() + ms;
    const seen: string[] = [];
    while (true) {
      const line = await this.readLine(Math.max(deadline - Date.now(), 1));
      if (line === null) {
        throw new Error(`Connection closed before ${wanted}; got:\n${seen.join("\n")}`);
      }
      seen.push(line);
      if (typeof wanted === "string" ? line === wanted : wanted.test(line)) return seen;
    }
  }

  /** Waits until the server closes the connection; returns the lines read before. */
  async expectClosed(ms: number = WAIT_MS): Promise<string[]> {
    const deadline = Date.now() + ms;
    const seen: string[] = [];
    while (true) {
      const line = await this.readLine(Math.max(deadline - Date.now(), 1)).catch((error) => {
        if (error instanceof Deno.errors.ConnectionReset) return null;
        throw error;
      });
      if (line === null) return seen;
      seen.push(line);
    }
  }

  /** Closes the connection; safe to call again. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reader.cancel().catch(() => {});
    await this.#pending?.catch(() => {});
    try {
      this.#conn.close();
    } catch {
      // Cancelling the reader closed it already.
    }
  }

  /** Closes the connection, as {@linkcode Peer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Peers that close together when the group is disposed. */
export class Peers extends Array<Peer> {
  /** Closes every peer. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const peer of this) await peer.close();
  }
}

/** Joins `names` in order; each earlier member sees each later one arrive. */
export async function joinAll(port: number, names: string[]): Promise<Peers> {
  const peers = new Peers();
  for (const name of names) {
    const peer = await Peer.join(port, name);
    for (const earlier of peers) await earlier.expect(`* ${name} joined the chat`);
    peers.push(peer);
  }
  return peers;
}

/**
 * A link that keeps what is written to it, for the core's unit tests: no
 * socket. `writableLength` is what the test says the kernel has not taken.
 */
export class MemoryLink extends EventEmitter implements Link {
  readonly remoteAddress = "192.0.2.1";
  readonly remotePort = 4000;
  /** Every write, in order. */
  readonly writes: Uint8Array[] = [];
  writableLength = 0;
  writableEnded = false;
  readableEnded = false;
  destroyed = false;
  #paused = false;

  /** Everything written, as text. */
  get text(): string {
    return this.writes.map((write) => decoder.decode(write)).join("");
  }

  /** Keeps the bytes. */
  write(data: Uint8Array | string): boolean {
    this.writes.push(typeof data === "string" ? encoder.encode(data) : data);
    return true;
  }

  /** Stops the data events. */
  pause(): this {
    this.#paused = true;
    return this;
  }

  /** Restarts the data events. */
  resume(): this {
    this.#paused = false;
    return this;
  }

  /** Whether the data events are stopped. */
  isPaused(): boolean {
    return this.#paused;
  }

  /** Ends at once: everything is "sent". */
  end(callback?: () => void): this {
    this.writableEnded = true;
    callback?.();
    return this;
  }

  /** Closes. */
  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.emit("close");
    }
    return this;
  }
}

/**
 * The chat core alone, for unit tests that drive it through memory links:
 * the server's defaults, no flood control, no password, no cluster and no
 * log, with `overrides` on top.
 */
export function memoryChat(overrides: Partial<ChatOptions> = {}): Chat {
  return new Chat({
    maxClients: 10,
    maxPerIp: 10,
    limitLoopback: false,
    nameTimeoutMs: WAIT_MS * 2,
    maxLineBytes: MAX_LINE_BYTES,
    maxQueueBytes: MAX_QUEUE_BYTES,
    history: HISTORY_LINES,
    rate: 0,
    burst: 10,
    password: null,
    operatorPassword: null,
    announceLimit: ANNOUNCE_LIMIT,
    maxRooms: MAX_ROOMS,
    log: undefined,
    ...overrides,
  });
}
