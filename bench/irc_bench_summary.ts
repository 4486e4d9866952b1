/**
 * The IRC benchmark's table: reads run_bench.sh's JSON lines (bench/irc_bench.sh) and prints, per
 * scenario, each peer's median (and range) deliveries/s, latency p99 and the server's CPU per
 * delivery, and the IRC door's CPU per delivery over the line port's, against the 1.5 bar.
 *
 * ```sh
 * deno run --allow-read bench/irc_bench_summary.ts /tmp/chat-bench-irc-XXXXXX.jsonl
 * ```
 *
 * @module
 */

/** The fields of one run_bench.sh line that the table reads. */
export interface RunLine {
  peer: string;
  scenario: string;
  loadgen: {
    setup?: { ready?: number };
    run?: {
      deliveries_per_s?: number;
      delivered_in_window?: number;
      missing?: number;
      gaps?: number;
      out_of_order?: number;
    };
    latency_us?: { p99?: number };
    server?: { run_cpu_s?: number };
  };
}

/** One peer's figures in one scenario, over its runs. */
export interface PeerSummary {
  peer: string;
  runs: number;
  deliveriesPerS: number[];
  p99Ms: number[];
  /** Server CPU µs per delivery, during the run window. */
  cpuUsPerDelivery: number[];
  /** Lines missing, gaps and out of order, summed over the runs. */
  faults: number;
}

/** The bar: an IRC member may cost the server this many times a line member's CPU per delivery. */
export const CPU_BAR = 1.5;

/** The median of some numbers (NaN for none). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Groups the runs by scenario, then by peer, in the order they first appear. */
export function summarize(lines: RunLine[]): Map<string, Map<string, PeerSummary>> {
  const out = new Map<string, Map<string, PeerSummary>>();
  for (const line of lines) {
    let peers = out.get(line.scenario);
    if (peers === undefined) out.set(line.scenario, peers = new Map());
    let s = peers.get(line.peer);
    if (s === undefined) {
      peers.set(
        line.peer,
        s = {
          peer: line.peer,
          runs: 0,
          deliveriesPerS: [],
          p99Ms: [],
          cpuUsPerDelivery: [],
          faults: 0,
        },
      );
    }
    const run = line.loadgen.run ?? {};
    s.runs++;
    s.faults += (run.missing ?? 0) + (run.gaps ?? 0) + (run.out_of_order ?? 0);
    if (!(line.loadgen.setup?.ready ?? 0)) continue; // a failed run has no figures
    if (run.deliveries_per_s !== undefined) s.deliveriesPerS.push(run.deliveries_per_s);
    const p99 = line.loadgen.latency_us?.p99;
    if (p99 !== undefined) s.p99Ms.push(p99 / 1000);
    const cpu = line.loadgen.server?.run_cpu_s;
    const delivered = run.delivered_in_window;
    if (cpu !== undefined && cpu >= 0 && delivered) s.cpuUsPerDelivery.push(cpu * 1e6 / delivered);
  }
  return out;
}

/** "median (min-max)", or the one value, with `digits` decimals. */
export function cell(values: number[], digits: number): string {
  if (values.length === 0) return "-";
  const f = (v: number) =>
    v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const lo = Math.min(...values), hi = Math.max(...values);
  return lo === hi ? f(lo) : `${f(median(values))} (${f(lo)}-${f(hi)})`;
}

/** The IRC door's median CPU per delivery over the line port's, or null without both. */
export function cpuRatio(peers: Map<string, PeerSummary>): number | null {
  const irc = median(peers.get("project_irc")?.cpuUsPerDelivery ?? []);
  const line = median(peers.get("project")?.cpuUsPerDelivery ?? []);
  return Number.isFinite(irc) && Number.isFinite(line) && line > 0 ? irc / line : null;
}

/** The Markdown table of every scenario, with the CPU ratio under each. */
export function formatSummary(summary: Map<string, Map<string, PeerSummary>>): string {
  const out: string[] = [];
  for (const [scenario, peers] of summary) {
    out.push(`#### ${scenario}`, "");
    out.push(
      "| peer | runs | deliveries/s | latency p99 ms | server CPU µs per delivery | lost/gaps/reordered |",
    );
    out.push("| --- | --- | --- | --- | --- | --- |");
    for (const s of peers.values()) {
      out.push(
        `| ${s.peer} | ${s.runs} | ${cell(s.deliveriesPerS, 0)} | ${cell(s.p99Ms, 1)} | ${
          cell(s.cpuUsPerDelivery, 2)
        } | ${s.faults} |`,
      );
    }
    const ratio = cpuRatio(peers);
    if (ratio !== null) {
      out.push(
        "",
        `IRC/line server CPU per delivery: ${ratio.toFixed(2)} (bar ${CPU_BAR}: ${
          ratio <= CPU_BAR ? "met" : "NOT met"
        })`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

/** Reads JSON lines, skipping blank and broken ones (with a warning). */
export function parseLines(text: string): RunLine[] {
  const lines: RunLine[] = [];
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue;
    try {
      lines.push(JSON.parse(raw) as RunLine);
    } catch {
      console.error(`irc_bench_summary: not JSON: ${raw.slice(0, 80)}`);
    }
  }
  return lines;
}

if (import.meta.main) {
  if (Deno.args.length === 0) {
    console.error("usage: deno run --allow-read bench/irc_bench_summary.ts RESULTS.jsonl...");
    Deno.exit(2);
  }
  const lines = (await Promise.all(Deno.args.map((p) => Deno.readTextFile(p)))).flatMap(parseLines);
  console.log(formatSummary(summarize(lines)));
}
