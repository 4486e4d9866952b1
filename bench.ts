/**
 * The chat server's benchmark: starts `server.ts` on a free loopback port,
 * drives it from a separate load process, and prints one table.
 *
 * ```sh
 * deno task bench                 # all scenarios, small sizes, under a minute
 * deno task bench --json          # the same as JSON
 * deno task bench --scenario fanout --members 1000 --senders 10 --rate 10
 * ```
 *
 * Scenarios: `saturate` (every member sends as fast as a window of unanswered
 * lines allows), `fanout` (some members send at a fixed rate, everyone
 * receives), `idle` (members connect and wait: memory per connection),
 * `storm` (members connect at once: time until all are welcomed), `wsfanout`
 * (fanout with every member a browser's WebSocket on the page's port). Server CPU
 * and memory come from /proc on Linux and are left out elsewhere.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startRedis } from "./redis_test_helpers.ts";
import { LINE_TOO_LONG, LineFramer } from "./protocol.ts";

/** One scenario's settings. */
export interface ScenarioConfig {
  scenario: "saturate" | "fanout" | "idle" | "storm" | "wsfanout";
  port: number;
  /** The page's port, for WebSocket members. */
  webPort?: number;
  /** Members connected. */
  members: number;
  /** Members that send (fanout, saturate). */
  senders: number;
  /** Lines per second per sender (fanout). */
  rate: number;
  /** Unanswered lines per sender (saturate). */
  window: number;
  /** Bytes per line, newline included. */
  bytes: number;
  /** Seconds of sending (fanout, saturate) or holding (idle). */
  seconds: number;
  /** Connections and handshakes in flight while members join. */
  concurrency: number;
}

/** What the load process measured. */
export interface LoadReport {
  setupSeconds: number;
  ready: number;
  sent: number;
  delivered: number;
  expected: number;
  lost: number;
  reordered: number;
  duplicated: number;
  latencyMs: { p50: number; p99: number; max: number } | null;
  runSeconds: number;
}

/** One row of the benchmark's table. */
export interface BenchRow {
  scenario: string;
  members: number;
  deliveriesPerSecond: number | null;
  latencyMs: { p50: number; p99: number; max: number } | null;
  lost: number;
  reordered: number;
  setupSeconds: number;
  serverCpuSeconds: number | null;
  serverPeakRssMb: number | null;
  bytesPerConnection: number | null;
  loadCpuCores: number | null;
  loadBound: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MARK = "B|";

// ---------------------------------------------------------------- load side

/** A member of the load: one connection, reading lines as they come. */
class LoadMember {
  readonly framer = new LineFramer(64 * 1024);
  /** Last sequence number seen from each sender. */
  readonly lastSeen: Int32Array;
  welcomed = false;
  onWelcome: (() => void) | null = null;
  closed = false;

  constructor(
    readonly index: number,
    readonly name: string,
    /** Sends text (whole lines) to the server. */
    readonly send: (text: string) => Promise<void>,
    /** Closes the connection. */
    readonly close: () => void,
    senders: number,
  ) {
    this.lastSeen = new Int32Array(senders).fill(-1);
  }
}

/** Percentile of sorted samples. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** Runs one scenario against the server as the load process; returns what it measured. */
export async function runLoad(
  config: ScenarioConfig,
  onReady: () => Promise<void>,
): Promise<LoadReport> {
  const senders = Math.min(config.senders, config.members);
  const members: LoadMember[] = [];
  const counts = { delivered: 0, reordered: 0, duplicated: 0, lost: 0 };
  const latencies: number[] = [];
  const MAX_SAMPLES = 2_000_000;
  const echoed = new Int32Array(senders);
  let runStart = 0;
  let measuring = false;
  const readers: Promise<void>[] = [];

  const handleLine = (member: LoadMember, text: string) => {
    if (!member.welcomed) {
      if (text.startsWith(`Welcome, ${member.name}!`)) {
        member.welcomed = true;
        member.onWelcome?.();
      } else if (text.includes("nickname")) {
        void member.send(`${member.name}\n`);
      }
      return;
    }
    const at = text.indexOf(MARK);
    if (at === -1) return;
    // NAME: B|sender|seq|sentAt|padding
    const fields = text.slice(at + 2).split("|", 3);
    const sender = Number(fields[0]);
    const seq = Number(fields[1]);
    const sentAt = Number(fields[2]);
    const last = member.lastSeen[sender] as number;
    if (seq <= last) {
      if (seq === last) counts.duplicated++;
      else counts.reordered++;
      return;
    }
    if (seq > last + 1) counts.lost += seq - last - 1;
    member.lastSeen[sender] = seq;
    counts.delivered++;
    if (member.index === sender) echoed[sender] = (echoed[sender] as number) + 1;
    if (measuring && latencies.length < MAX_SAMPLES) latencies.push(performance.now() - sentAt);
  };

  // A WebSocket member: every message holds whole lines.
  const readSocket = (member: LoadMember, socket: WebSocket) =>
    new Promise<void>((resolve) => {
      socket.onmessage = (event) => {
        const text = event.data as string;
        let from = 0;
        for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", from)) {
          handleLine(member, text.slice(from, end));
          from = end + 1;
        }
      };
      socket.onclose = () => {
        member.closed = true;
        member.onWelcome?.();
        resolve();
      };
    });

  const read = async (member: LoadMember, conn: Deno.TcpConn) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const count = await conn.read(buffer);
        if (count === null) break;
        member.framer.feed(buffer.subarray(0, count));
        for (let line = member.framer.next(); line !== null; line = member.framer.next()) {
          if (line !== LINE_TOO_LONG) handleLine(member, decoder.decode(line));
        }
      }
    } catch {
      // Closed at the end of the run.
    } finally {
      member.closed = true;
      member.onWelcome?.();
    }
  };

  // Setup: connect and name every member, `concurrency` at a time.
  const setupStart = performance.now();
  let next = 0;
  const join = async () => {
    while (next < config.members) {
      const index = next++;
      const name = `b${String(index).padStart(5, "0")}`;
      let member: LoadMember;
      let welcomed: Promise<void>;
      if (config.scenario === "wsfanout") {
        const socket = new WebSocket(`ws://127.0.0.1:${config.webPort}/ws`);
        member = new LoadMember(
          index,
          name,
          (text) => {
            socket.send(text);
            return Promise.resolve();
          },
          () => socket.close(),
          senders,
        );
        welcomed = new Promise<void>((resolve) => member.onWelcome = resolve);
        readers.push(readSocket(member, socket));
      } else {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: config.port });
        member = new LoadMember(
          index,
          name,
          (text) => write(conn, text),
          () => conn.close(),
          senders,
        );
        welcomed = new Promise<void>((resolve) => member.onWelcome = resolve);
        readers.push(read(member, conn));
      }
      members.push(member);
      await welcomed;
      member.onWelcome = null;
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.concurrency, config.members) }, join));
  const setupSeconds = (performance.now() - setupStart) / 1000;
  const ready = members.filter((m) => m.welcomed && !m.closed).length;
  await onReady();

  let sent = 0;
  const padding = "x".repeat(Math.max(0, config.bytes - 40));
  const line = (sender: number, seq: number) =>
    `${MARK}${sender}|${seq}|${performance.now().toFixed(3)}|${padding}\n`;
  const seqs = new Int32Array(senders);
  const sendOne = (sender: number) => {
    const seq = seqs[sender] as number;
    seqs[sender] = seq + 1;
    sent++;
    return (members[sender] as LoadMember).send(line(sender, seq));
  };

  runStart = performance.now();
  measuring = true;
  const runMs = config.seconds * 1000;
  if (config.scenario === "fanout" || config.scenario === "wsfanout") {
    // Open loop: each sender sends at its rate, its start spread over the first interval.
    const interval = 1000 / config.rate;
    await Promise.all(Array.from({ length: senders }, async (_, sender) => {
      await pause((interval * sender) / senders);
      for (let due = performance.now(); due - runStart < runMs; due += interval) {
        await pause(due - performance.now());
        await sendOne(sender);
      }
    }));
  } else if (config.scenario === "saturate") {
    // Closed loop: a sender keeps `window` of its own lines unanswered (not yet echoed to it).
    await Promise.all(Array.from({ length: senders }, async (_, sender) => {
      while (performance.now() - runStart < runMs) {
        const inFlight = (seqs[sender] as number) - (echoed[sender] as number);
        if (inFlight < config.window) {
          let batch = "";
          for (let i = inFlight; i < config.window; i++) {
            const seq = seqs[sender] as number;
            seqs[sender] = seq + 1;
            sent++;
            batch += line(sender, seq);
          }
          await (members[sender] as LoadMember).send(batch);
        } else {
          await pause(0);
        }
      }
    }));
  } else if (config.scenario === "idle") {
    await pause(runMs);
  }
  const runSeconds = (performance.now() - runStart) / 1000;
  // Drain: wait until every line sent has arrived everywhere, or nothing moves for 2 s.
  const expected = sent * ready;
  for (let idle = 0, seen = -1; counts.delivered < expected && idle < 20; idle++) {
    if (counts.delivered !== seen) idle = 0;
    seen = counts.delivered;
    await pause(100);
  }
  measuring = false;
  for (const member of members) {
    try {
      member.close();
    } catch {
      // Closed by the server.
    }
  }
  await Promise.all(readers);
  const sorted = Float64Array.from(latencies).sort();
  // Lines never received count as lost too.
  const lost = Math.max(counts.lost, expected - counts.delivered - counts.duplicated);
  return {
    setupSeconds,
    ready,
    sent,
    delivered: counts.delivered,
    expected,
    lost: config.scenario === "idle" || config.scenario === "storm" ? 0 : lost,
    reordered: counts.reordered,
    duplicated: counts.duplicated,
    latencyMs: sorted.length === 0 ? null : {
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted[sorted.length - 1] as number,
    },
    runSeconds,
  };
}

async function write(conn: Deno.Conn, text: string): Promise<void> {
  const data = encoder.encode(text);
  for (let offset = 0; offset < data.length;) offset += await conn.write(data.subarray(offset));
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

// ------------------------------------------------------------ orchestrator

/** CPU seconds and memory of a process, from /proc; `null` where there is no /proc. */
export function processStats(
  pid: number,
): { cpuSeconds: number; rssKb: number; peakRssKb: number } | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name, which may hold spaces, inside parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    return { cpuSeconds: ticks / 100, rssKb: kb("VmRSS"), peakRssKb: kb("VmHWM") };
  } catch {
    return null;
  }
}

const SERVER_FLAGS = [
  "--host",
  "127.0.0.1",
  "--port",
  "0",
  "--web-port",
  "0",
  "--quiet",
  "--rate",
  "0",
  "--max-clients",
  "100000",
];

/** Stops the servers of a run and waits for them and their output. */
async function stopBenchServers(servers: BenchServer[], signal: Deno.Signal = "SIGTERM") {
  for (const one of servers) {
    try {
      one.child.kill(signal);
    } catch {
      // Exited already.
    }
  }
  await Promise.all(servers.map(async (one) => {
    await one.child.status;
    await one.drained.catch(() => {});
  }));
}

/** A `server.ts` started for a run: its process, its ports, and its output read to the end. */
interface BenchServer {
  child: Deno.ChildProcess;
  port: number;
  webPort: number;
  /** Resolves when its output ends. */
  drained: Promise<void>;
}

/** Starts `server.ts` with `flags` and waits until it listens. */
async function startBenchServer(flags: string[]): Promise<BenchServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "server.ts", ...flags],
    cwd: new URL(".", import.meta.url),
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let output = "";
    while (!output.includes(" in a browser\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("server.ts exited before it listened");
      output += value;
    }
    const port = Number(/listening on [^\n]*:(\d+)/.exec(output)?.[1]);
    const webPort = Number(/Open https?:\/\/[^\n]*:(\d+)\//.exec(output)?.[1]);
    // Keep reading, so that the server never blocks on a full pipe.
    const drained = (async () => {
      while (!(await lines.read()).done);
    })();
    return { child, port, webPort, drained };
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    await child.status;
    throw error;
  }
}

/** Several processes' figures as one: CPU and memory added up; null when any is unknown. */
function sumStats(
  stats: ({ cpuSeconds: number; rssKb: number; peakRssKb: number } | null)[],
): { cpuSeconds: number; rssKb: number; peakRssKb: number } | null {
  if (stats.some((stat) => stat === null)) return null;
  return stats.reduce<{ cpuSeconds: number; rssKb: number; peakRssKb: number }>(
    (sum, stat) => ({
      cpuSeconds: sum.cpuSeconds + (stat?.cpuSeconds ?? 0),
      rssKb: sum.rssKb + (stat?.rssKb ?? 0),
      peakRssKb: sum.peakRssKb + (stat?.peakRssKb ?? 0),
    }),
    { cpuSeconds: 0, rssKb: 0, peakRssKb: 0 },
  );
}

/**
 * Runs one scenario: fresh servers (one, or `processes` of a cluster on one
 * port with a Redis of their own), a separate load process, and the figures
 * of both (the servers' added up; Redis's own CPU is not counted).
 */
async function runScenario(
  config: Omit<ScenarioConfig, "port">,
  processes = 1,
): Promise<BenchRow> {
  const here = new URL(".", import.meta.url);
  const redis = processes > 1 ? await startRedis() : null;
  const cluster = redis === null ? [] : ["--redis", redis.url(), "--reuse-port", "--no-console"];
  const servers: BenchServer[] = [];
  try {
    servers.push(await startBenchServer([...SERVER_FLAGS, ...cluster]));
    const first = servers[0] as BenchServer;
    const samePort = SERVER_FLAGS.map((flag, i) =>
      SERVER_FLAGS[i - 1] === "--port" ? String(first.port) : flag
    );
    for (let i = 1; i < processes; i++) {
      servers.push(await startBenchServer([...samePort, ...cluster]));
    }
  } catch (error) {
    await stopBenchServers(servers);
    await redis?.[Symbol.asyncDispose]();
    throw error;
  }
  const { port, webPort } = servers[0] as BenchServer;
  const server = { pids: servers.map((one) => one.child.pid) };
  const statsOf = () => sumStats(server.pids.map(processStats));
  try {
    const load = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "bench.ts",
        "--load",
        JSON.stringify({ ...config, port, webPort }),
      ],
      cwd: here,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const loadLines = load.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const loadInput = load.stdin.getWriter();
    let pending = "";
    const nextLine = async (): Promise<string> => {
      while (!pending.includes("\n")) {
        const { value, done } = await loadLines.read();
        if (done) throw new Error("the load process exited early");
        pending += value;
      }
      const line = pending.slice(0, pending.indexOf("\n"));
      pending = pending.slice(pending.indexOf("\n") + 1);
      return line;
    };
    if ((await nextLine()) !== "start") throw new Error("the load process did not start");
    const before = statsOf();
    const loadAtStart = processStats(load.pid);
    if ((await nextLine()) !== "ready") throw new Error("the load process did not get ready");
    const atReady = statsOf();
    const loadAtReady = processStats(load.pid);
    await loadInput.write(encoder.encode("go\n"));
    const report = JSON.parse(await nextLine()) as LoadReport;
    const atEnd = statsOf();
    const loadAtEnd = processStats(load.pid);
    await loadInput.close();
    await load.status;
    await loadLines.cancel().catch(() => {});
    const sending = config.scenario !== "idle" && config.scenario !== "storm";
    // The storm is all setup; the others are measured over their run.
    const loadCpuCores = config.scenario === "storm"
      ? loadAtStart && loadAtReady && report.setupSeconds > 0
        ? (loadAtReady.cpuSeconds - loadAtStart.cpuSeconds) / report.setupSeconds
        : null
      : loadAtReady && loadAtEnd && report.runSeconds > 0
      ? (loadAtEnd.cpuSeconds - loadAtReady.cpuSeconds) / report.runSeconds
      : null;
    const row: BenchRow = {
      scenario: config.scenario,
      members: report.ready,
      deliveriesPerSecond: sending ? report.delivered / report.runSeconds : null,
      latencyMs: report.latencyMs,
      lost: report.lost,
      reordered: report.reordered + report.duplicated,
      setupSeconds: report.setupSeconds,
      serverCpuSeconds: atEnd && atReady
        ? (sending
          ? atEnd.cpuSeconds - atReady.cpuSeconds
          : atReady.cpuSeconds - (before?.cpuSeconds ?? 0))
        : null,
      serverPeakRssMb: atEnd ? atEnd.peakRssKb / 1024 : null,
      bytesPerConnection: config.scenario === "idle" && before && atReady && report.ready > 0
        ? ((atReady.rssKb - before.rssKb) * 1024) / report.ready
        : null,
      loadCpuCores,
      // A single-threaded load process that is busy most of the time is the limit, not the server.
      loadBound: loadCpuCores !== null && loadCpuCores > 0.85,
    };
    await stopBenchServers(servers);
    return row;
  } catch (error) {
    await stopBenchServers(servers, "SIGKILL");
    throw error;
  } finally {
    await redis?.[Symbol.asyncDispose]();
  }
}

const SCENARIOS = ["saturate", "fanout", "wsfanout", "idle", "storm"] as const;

const USAGE = `Usage: deno task bench [options]

Starts server.ts on a free loopback port and measures it from a separate load process.

Options:
  --scenario NAME     saturate, fanout, wsfanout, idle, storm or all (default all)
  --members N         members connected (default: 20 saturate, 100 fanout, 1000 idle, 500 storm)
  --senders N         members that send (default: all for saturate, 10 for fanout)
  --rate N            lines per second per sender, fanout (default 20)
  --window N          unanswered lines per sender, saturate (default 16)
  --bytes N           bytes per line (default 100)
  --seconds N         seconds of sending or holding (default 5)
  --concurrency N     joins in flight during setup (default 100)
  --processes N       N servers of a cluster on one port (--reuse-port) with a Redis of
                      their own (redis-server must be installed), instead of one (default 1)
  --json              print JSON instead of a table
  -h, --help          show this help`;

function defaultsFor(scenario: ScenarioConfig["scenario"]): Omit<ScenarioConfig, "port"> {
  const common = { bytes: 100, seconds: 5, concurrency: 100, rate: 20, window: 16 };
  switch (scenario) {
    case "saturate":
      return { ...common, scenario, members: 20, senders: 20 };
    case "fanout":
    case "wsfanout":
      return { ...common, scenario, members: 100, senders: 10 };
    case "idle":
      return { ...common, scenario, members: 1000, senders: 0, seconds: 2 };
    case "storm":
      return { ...common, scenario, members: 500, senders: 0, seconds: 0 };
  }
}

function formatRow(row: BenchRow): string[] {
  const number = (value: number | null, digits = 0) =>
    value === null ? "-" : value.toLocaleString("en-US", {
      maximumFractionDigits: digits,
      minimumFractionDigits: digits,
    });
  return [
    row.scenario,
    number(row.members),
    number(row.deliveriesPerSecond),
    row.latencyMs
      ? `${number(row.latencyMs.p50, 1)} / ${number(row.latencyMs.p99, 1)} / ${
        number(row.latencyMs.max, 1)
      }`
      : "-",
    `${row.lost} / ${row.reordered}`,
    number(row.setupSeconds, 2),
    number(row.serverCpuSeconds, 2),
    number(row.serverPeakRssMb, 1),
    row.bytesPerConnection === null ? "-" : `${number(row.bytesPerConnection / 1024, 1)} KB`,
    row.loadCpuCores === null
      ? "-"
      : `${number(row.loadCpuCores, 2)}${row.loadBound ? " (load-bound)" : ""}`,
  ];
}

/** The results as a Markdown table. */
export function formatTable(rows: BenchRow[]): string {
  const header = [
    "scenario",
    "members",
    "deliveries/s",
    "latency p50 / p99 / max ms",
    "lost / reordered",
    "setup s",
    "server CPU s",
    "server peak RSS MB",
    "memory per conn",
    "load CPU (cores)",
  ];
  const lines = [header, header.map(() => "---"), ...rows.map(formatRow)];
  return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      load: { type: "string" },
      scenario: { type: "string", default: "all" },
      members: { type: "string" },
      senders: { type: "string" },
      rate: { type: "string" },
      window: { type: "string" },
      bytes: { type: "string" },
      seconds: { type: "string" },
      concurrency: { type: "string" },
      processes: { type: "string", default: "1" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.load !== undefined) {
    // The load process: run, say "ready" after setup, wait for "go", report as JSON.
    const config = JSON.parse(values.load) as ScenarioConfig;
    const stdin = Deno.stdin.readable.getReader();
    console.log("start");
    const report = await runLoad(config, async () => {
      console.log("ready");
      await stdin.read();
    });
    console.log(JSON.stringify(report));
    return 0;
  }
  const processes = Number(values.processes);
  if (!Number.isInteger(processes) || processes < 1 || processes > 16) {
    console.error(`Invalid --processes: expected 1 to 16, got "${values.processes}"\n\n${USAGE}`);
    return 2;
  }
  const chosen = values.scenario === "all" ? [...SCENARIOS] : [values.scenario];
  const rows: BenchRow[] = [];
  for (const name of chosen) {
    if (!(SCENARIOS as readonly string[]).includes(name as string)) {
      console.error(`Unknown scenario "${name}"\n\n${USAGE}`);
      return 2;
    }
    const config = defaultsFor(name as ScenarioConfig["scenario"]);
    for (
      const key of [
        "members",
        "senders",
        "rate",
        "window",
        "bytes",
        "seconds",
        "concurrency",
      ] as const
    ) {
      const text = values[key];
      if (text === undefined) continue;
      const value = Number(text);
      if (!(value >= 0) || !Number.isFinite(value)) {
        console.error(`Invalid --${key}: "${text}"\n\n${USAGE}`);
        return 2;
      }
      config[key] = value;
    }
    if (config.scenario === "saturate" && values.senders === undefined) {
      config.senders = config.members;
    }
    if (!values.json) {
      const on = processes > 1 ? ` on ${processes} processes` : "";
      console.error(`running ${name} with ${config.members} members${on}...`);
    }
    rows.push(await runScenario(config, processes));
  }
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
  } else {
    console.log(formatTable(rows));
    if (rows.some((row) => row.loadBound)) {
      console.log(
        "\n(load-bound): the load process was busy most of the time; the server could do more.",
      );
    }
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
