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
 * (fanout with every member a browser's WebSocket on the page's port),
 * `register` (members register at once while a probe chats: the probe's echo
 * times beside a baseline with the probe alone), `download` (the probe shares
 * a 10 MiB file and chats alone, then while 50 downloads of it run at once,
 * again and again: its echo times side by side, and the downloads' figures).
 * Server CPU and memory come from /proc on Linux and are left out elsewhere.
 *
 * This file starts the servers, reads their figures and prints the table; the
 * load side, run as `bench.ts --load`, is in `bench_load.ts`, and the
 * download scenario's uploads and downloads in `bench_downloads.ts`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRedis } from "../test/redis_test_helpers.ts";
import { type LoadReport, runLoad, type ScenarioConfig } from "./bench_load.ts";

export { type LoadReport, runLoad, type ScenarioConfig } from "./bench_load.ts";

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
  /** The register scenario's `register` row: members answered `* Registered `, and how fast. */
  registrations?: { registered: number; failed: number; seconds: number };
  /** The download scenario's `download` row: what the downloads did. */
  downloads?: {
    /** Downloads at once. */
    parallel: number;
    /** Bytes a second each read at most; 0: as fast as it could. */
    rate: number;
    /** Read whole with the right length; failed; cut when the time was up. */
    finished: number;
    failed: number;
    cut: number;
    /** Body bytes received per second, in millions. */
    megabytesPerSecond: number;
    seconds: number;
  };
}

const encoder = new TextEncoder();

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
  "--no-irc",
  "--quiet",
  "--max-clients",
  "100000",
];

/** Flood control off, so that the load measures the room and not the pacing. */
const NO_FLOOD_CONTROL = ["--rate", "0"];

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
    cwd: new URL("..", import.meta.url),
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
): Promise<BenchRow[]> {
  const here = new URL("..", import.meta.url);
  const redis = processes > 1 ? await startRedis() : null;
  const cluster = redis === null ? [] : ["--redis", redis.url(), "--reuse-port", "--no-console"];
  // The scenarios with a probe run with default flood control, as a real server does: the probe
  // says 10 lines a second, and the other members one line each (or none).
  const probed = config.scenario === "register" || config.scenario === "download";
  const flood = probed ? [] : NO_FLOOD_CONTROL;
  const servers: BenchServer[] = [];
  try {
    servers.push(await startBenchServer([...SERVER_FLAGS, ...flood, ...cluster]));
    const first = servers[0] as BenchServer;
    const samePort = SERVER_FLAGS.map((flag, i) =>
      SERVER_FLAGS[i - 1] === "--port" ? String(first.port) : flag
    );
    for (let i = 1; i < processes; i++) {
      servers.push(await startBenchServer([...samePort, ...flood, ...cluster]));
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
        // Deno loads a Worker's module only with read access: the downloads run in one.
        `--allow-read=${fileURLToPath(new URL("./bench_downloads.ts", import.meta.url))}`,
        "bench/bench.ts",
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
    // The scenarios with a probe say `phase NAME` as each phase starts (and `phase end`): the
    // server's and the load's CPU at each, and when.
    const statsAt = new Map<string, { server: number | null; load: number | null; at: number }>();
    let reportLine = await nextLine();
    while (reportLine.startsWith("phase ")) {
      statsAt.set(reportLine.slice("phase ".length), {
        server: statsOf()?.cpuSeconds ?? null,
        load: processStats(load.pid)?.cpuSeconds ?? null,
        at: performance.now(),
      });
      reportLine = await nextLine();
    }
    const report = JSON.parse(reportLine) as LoadReport;
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
    if (report.phases === undefined) return [row];
    // The scenarios with a probe: one row per phase, the probe's figures in each, and the CPU
    // from the phase's start to the next's.
    const order = [...report.phases.map((phase) => phase.name), "end"];
    return report.phases.map((phase, i) => {
      const from = statsAt.get(phase.name);
      const to = statsAt.get(order[i + 1] as string);
      const cpu = (key: "server" | "load") =>
        typeof from?.[key] === "number" && typeof to?.[key] === "number"
          ? (to[key] as number) - (from[key] as number)
          : null;
      const seconds = from && to ? (to.at - from.at) / 1000 : 0;
      const loadCpu = cpu("load");
      const loadCpuCores = loadCpu !== null && seconds > 0 ? loadCpu / seconds : null;
      const downloads = phase.downloads;
      return {
        ...row,
        scenario: phase.name,
        members: phase.name === "download"
          ? config.members
          : phase.name === "download-baseline"
          ? 0
          : report.ready - 1,
        deliveriesPerSecond: null,
        latencyMs: phase.latencyMs,
        lost: phase.sent - phase.echoed,
        reordered: phase.name === "register" || phase.name === "download" ? row.reordered : 0,
        serverCpuSeconds: cpu("server"),
        loadCpuCores,
        loadBound: loadCpuCores !== null && loadCpuCores > 0.85,
        ...(phase.name === "register"
          ? {
            registrations: {
              registered: phase.registered,
              failed: phase.failed,
              seconds: phase.seconds,
            },
          }
          : {}),
        ...(downloads === undefined ? {} : {
          downloads: {
            parallel: config.members,
            rate: config.downloadRate ?? 0,
            finished: downloads.finished,
            failed: downloads.failed,
            cut: downloads.cut,
            megabytesPerSecond: downloads.bytes / downloads.seconds / 1e6,
            seconds: downloads.seconds,
          },
        }),
      };
    });
  } catch (error) {
    await stopBenchServers(servers, "SIGKILL");
    throw error;
  } finally {
    await redis?.[Symbol.asyncDispose]();
  }
}

const SCENARIOS = [
  "saturate",
  "fanout",
  "wsfanout",
  "idle",
  "storm",
  "register",
  "download",
] as const;

const USAGE = `Usage: deno task bench [options]

Starts server.ts on a free loopback port and measures it from a separate load process.

Options:
  --scenario NAME     saturate, fanout, wsfanout, idle, storm, register, download or all
                      (default all)
  --members N         members connected (default: 20 saturate, 100 fanout, 1000 idle, 500 storm);
                      register: members that register at once, besides the probe (default 50);
                      download: downloads at once (default 50)
  --senders N         members that send (default: all for saturate, 10 for fanout)
  --rate N            lines per second per sender, fanout (default 20); the probe's, register
                      and download (default 10)
  --window N          unanswered lines per sender, saturate (default 16)
  --bytes N           bytes per line (default 100)
  --seconds N         seconds of sending or holding (default 5); download: of each phase
  --file-bytes N      download: the shared file's size (default 10485760, the server's largest)
  --download-rate N   download: bytes a second each download reads at most, as over a link
                      of that speed, past the megabytes socket buffers take at once
                      (default 0: as fast as the machine allows)
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
    case "register":
      return { ...common, scenario, members: 50, senders: 1, rate: 10, seconds: 0 };
    case "download":
      return {
        ...common,
        scenario,
        members: 50,
        senders: 1,
        rate: 10,
        fileBytes: 10 * 1024 * 1024,
      };
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

/** What the download row's downloads did, in one line under the table. */
export function downloadsLine(
  scenario: string,
  downloads: NonNullable<BenchRow["downloads"]>,
): string {
  const { parallel, rate, finished, failed, cut, megabytesPerSecond, seconds } = downloads;
  const total = megabytesPerSecond.toLocaleString("en-US", { maximumFractionDigits: 0 });
  const each = rate > 0 ? ` (each at most ${rate / 1e6} MB/s)` : "";
  return `${scenario}: ${parallel} at once${each} for ${seconds.toFixed(1)} s, ` +
    `${finished} finished whole` +
    (failed > 0 ? `, ${failed} failed` : "") +
    ` (${cut} cut at the end), ${total} MB/s; latency is the probe's echo, beside ` +
    "download-baseline with the probe alone.";
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
      "file-bytes": { type: "string" },
      "download-rate": { type: "string" },
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
    }, (phase) => {
      console.log(`phase ${phase}`);
      return Promise.resolve();
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
    if (values["file-bytes"] !== undefined) {
      const value = Number(values["file-bytes"]);
      if (!Number.isInteger(value) || value < 1) {
        console.error(`Invalid --file-bytes: "${values["file-bytes"]}"\n\n${USAGE}`);
        return 2;
      }
      config.fileBytes = value;
    }
    if (values["download-rate"] !== undefined) {
      const value = Number(values["download-rate"]);
      if (!(value >= 0) || !Number.isFinite(value)) {
        console.error(`Invalid --download-rate: "${values["download-rate"]}"\n\n${USAGE}`);
        return 2;
      }
      config.downloadRate = value;
    }
    if (config.scenario === "saturate" && values.senders === undefined) {
      config.senders = config.members;
    }
    if (!values.json) {
      const on = processes > 1 ? ` on ${processes} processes` : "";
      console.error(`running ${name} with ${config.members} members${on}...`);
    }
    rows.push(...await runScenario(config, processes));
  }
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
  } else {
    console.log(formatTable(rows));
    for (const row of rows) {
      if (row.registrations !== undefined) {
        const { registered, failed, seconds } = row.registrations;
        console.log(
          `\n${row.scenario}: ${registered} registered in ${seconds.toFixed(2)} s` +
            (failed > 0 ? `, ${failed} failed` : "") +
            "; latency is the probe's echo, beside register-baseline with the probe alone.",
        );
      }
      if (row.downloads !== undefined) {
        console.log(`\n${downloadsLine(row.scenario, row.downloads)}`);
      }
    }
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
