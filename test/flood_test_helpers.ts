/**
 * What the flood tests measure while an attack runs: a probe member's echo
 * time, a reader that checks it lost nothing, the server's memory, and
 * attackers that write as fast as the server lets them. `tools/floods.ts`
 * runs the same attacks for longer and prints the figures docs/running.md's
 * limits section quotes.
 *
 * @module
 */

import { Peer, Peers, WAIT_MS } from "./test_helpers.ts";

/** How often the probe sends a line: 10 a second is `--rate`'s default, so it is never paced. */
const PROBE_INTERVAL_MS = 100;

/**
 * A file of `/proc` (Linux), read by `cat`: Deno lets a program read
 * `/proc/PID` itself only with `--allow-all`, and the tests run with less.
 */
async function readProc(pid: number, file: string): Promise<string> {
  const { code, stdout } = await new Deno.Command("cat", {
    args: [`/proc/${pid}/${file}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error(`Cannot read /proc/${pid}/${file}: is the process gone?`);
  return new TextDecoder().decode(stdout);
}

/** The server's resident memory in bytes, from `/proc` (Linux). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readProc(pid, "status");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** The CPU time a process has used so far, in seconds, from `/proc` (Linux). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readProc(pid, "stat");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/** Samples a process's memory every 100 ms until stopped; keeps the peak. */
export class MemoryWatch {
  readonly before: number;
  peak: number;
  readonly #pid: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #sampling: Promise<void> = Promise.resolve();

  private constructor(pid: number, before: number) {
    this.#pid = pid;
    this.before = before;
    this.peak = before;
    this.#timer = setInterval(() => {
      this.#sampling = this.#sampling.then(async () => {
        this.peak = Math.max(this.peak, await rssBytes(this.#pid).catch(() => 0));
      });
    }, 100);
  }

  /** Starts watching `pid`. */
  static async start(pid: number): Promise<MemoryWatch> {
    return new MemoryWatch(pid, await rssBytes(pid));
  }

  /** Stops sampling; returns the growth from before to the peak, in bytes. */
  async stop(): Promise<number> {
    clearInterval(this.#timer);
    await this.#sampling;
    this.peak = Math.max(this.peak, await rssBytes(this.#pid));
    return this.peak - this.before;
  }
}

/** What a probe saw: its echo times in milliseconds, and what the reader missed. */
export interface ProbeResult {
  /** Echo times of the probe's lines, sorted. */
  echoMs: number[];
  /** The 99th percentile of `echoMs`. */
  p99: number;
  /** Lines the probe sent that the reader did not get, in order. */
  lost: number;
}

/**
 * A member that says `probe N` ten times a second and times each echo,
 * beside a reader that checks it gets every one of them, in order.
 */
export class Probe {
  readonly #peers: Peers;
  readonly #probe: Peer;
  readonly #reader: Peer;
  #sent = 0;
  #running: Promise<number[]> | null = null;
  #stopped = false;

  private constructor(peers: Peers) {
    this.#peers = peers;
    [this.#probe, this.#reader] = peers as Peer[] as [Peer, Peer];
  }

  /** Joins the probe and the reader on `port`. */
  static async join(port: number, names: [string, string] = ["probe", "reader"]): Promise<Probe> {
    const peers = new Peers();
    try {
      peers.push(await Peer.join(port, names[0]));
      peers.push(await Peer.join(port, names[1]));
      await (peers[0] as Peer).expect(`* ${names[1]} joined the chat`);
    } catch (error) {
      await peers[Symbol.asyncDispose]();
      throw error;
    }
    return new Probe(peers);
  }

  /** Starts sending and timing, until {@linkcode Probe.stop}. */
  start(): void {
    this.#running = this.#run();
  }

  async #run(): Promise<number[]> {
    const echoes: number[] = [];
    while (!this.#stopped) {
      const n = this.#sent++;
      const sentAt = performance.now();
      await this.#probe.send(`probe ${n}\n`);
      await this.#probe.readUntil(`probe: probe ${n}`, 4 * WAIT_MS);
      const echo = performance.now() - sentAt;
      echoes.push(echo);
      const rest = PROBE_INTERVAL_MS - echo;
      if (rest > 0 && !this.#stopped) await new Promise((resolve) => setTimeout(resolve, rest));
    }
    return echoes;
  }

  /** Stops, checks the reader got every line in order, closes both; returns what was seen. */
  async stop(): Promise<ProbeResult> {
    this.#stopped = true;
    try {
      const echoMs = (await this.#running ?? []).sort((a, b) => a - b);
      const last = `probe: probe ${this.#sent - 1}`;
      const seen = this.#sent === 0 ? [] : await this.#reader.readUntil(last, 4 * WAIT_MS);
      const got = seen.filter((line) => line.startsWith("probe: probe "));
      const inOrder = got.every((line, n) => line === `probe: probe ${n}`);
      const lost = inOrder ? this.#sent - got.length : this.#sent;
      const p99 = echoMs[Math.min(echoMs.length - 1, Math.floor(echoMs.length * 0.99))] ?? NaN;
      return { echoMs, p99, lost };
    } finally {
      await this.#peers[Symbol.asyncDispose]();
    }
  }
}

/**
 * Writes `chunk` with `write` again and again until `signal` aborts; returns
 * the bytes the kernel took. The server reads them no faster than it pays
 * for them, so this is what it read plus what the sockets' buffers hold.
 */
export async function flood(
  write: (chunk: Uint8Array) => Promise<unknown>,
  chunk: Uint8Array,
  signal: AbortSignal,
): Promise<number> {
  let written = 0;
  const aborted = new Promise<null>((resolve) => {
    if (signal.aborted) resolve(null);
    signal.addEventListener("abort", () => resolve(null), { once: true });
  });
  let pending: Promise<unknown> | null = null;
  try {
    while (!signal.aborted) {
      pending ??= write(chunk);
      if (await Promise.race([pending.then(() => true), aborted]) === null) break;
      pending = null;
      written += chunk.length;
    }
  } catch (error) {
    // The server closed the connection: the flood is over.
    if (
      !(error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe)
    ) {
      throw error;
    }
    pending = null;
  }
  // A write still waiting fails once the connection is closed; that is expected.
  pending?.catch(() => {});
  return written;
}

/**
 * Reads `conn` until it has seen `count` telnet answers (IAC, verb, option)
 * or `ms` pass; other bytes (lines of the chat) are skipped. Returns them as
 * `verb option`.
 */
export async function readTelnetAnswers(
  conn: Deno.Conn,
  count: number,
  ms: number,
): Promise<string[]> {
  const answers: string[] = [];
  const buffer = new Uint8Array(65536);
  let held: number[] = [];
  const deadline = Date.now() + ms;
  while (answers.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = conn.read(buffer);
    const n = await Promise.race([
      read,
      new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), left)),
    ]);
    clearTimeout(timer);
    if (n === "late") {
      // Its read is still pending; closing the connection ends it.
      read.catch(() => {});
      break;
    }
    if (n === null) break;
    for (const byte of buffer.subarray(0, n)) {
      if (held.length === 0 && byte !== 255) continue;
      held.push(byte);
      if (held.length === 3) {
        answers.push(`${held[1]} ${held[2]}`);
        held = [];
      }
    }
  }
  return answers;
}

/** Bytes repeated to `size`: a flood's chunk. */
export function repeated(pattern: number[], size = 65536): Uint8Array {
  const chunk = new Uint8Array(size - (size % pattern.length));
  for (let i = 0; i < chunk.length; i++) chunk[i] = pattern[i % pattern.length] as number;
  return chunk;
}

/** Megabytes, for messages. */
export function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
