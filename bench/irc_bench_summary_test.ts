import assert from "node:assert/strict";
import {
  cell,
  cpuRatio,
  formatSummary,
  median,
  parseLines,
  type RunLine,
  summarize,
} from "./irc_bench_summary.ts";

function run(peer: string, cpu: number, delivered: number, p99Us = 2000): RunLine {
  return {
    peer,
    scenario: "saturate-50-w64",
    loadgen: {
      setup: { ready: 50 },
      run: {
        deliveries_per_s: delivered / 10,
        delivered_in_window: delivered,
        missing: 0,
        gaps: 0,
        out_of_order: 0,
      },
      latency_us: { p99: p99Us },
      server: { run_cpu_s: cpu },
    },
  };
}

Deno.test("the IRC summary takes medians and the server's CPU per delivery per peer", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
  const summary = summarize([
    run("project", 1, 1_000_000),
    run("project_irc", 3, 1_000_000),
    run("project", 1, 2_000_000),
    run("project_irc", 2, 1_000_000),
  ]);
  const peers = summary.get("saturate-50-w64")!;
  assert.deepEqual(peers.get("project")!.cpuUsPerDelivery, [1, 0.5]);
  assert.deepEqual(peers.get("project_irc")!.cpuUsPerDelivery, [3, 2]);
  assert.equal(cpuRatio(peers), 2.5 / 0.75);
  assert.equal(cell([1, 2, 3], 1), "2.0 (1.0-3.0)");
  assert.equal(cell([5], 0), "5");
  const table = formatSummary(summary);
  assert.match(table, /\| project_irc \| 2 \| 100,000 \| 2\.0 \| 2\.50 \(2\.00-3\.00\) \| 0 \|/);
  assert.match(table, /IRC\/line server CPU per delivery: 3\.33 \(bar 1\.5: NOT met\)/);
});

Deno.test("the IRC summary leaves out a run with no member ready, and broken lines", () => {
  const failed = run("ngircd", 1, 0);
  failed.loadgen.setup = { ready: 0 };
  const lines = parseLines(`${JSON.stringify(failed)}\nnot json\n\n`);
  assert.equal(lines.length, 1);
  const s = summarize(lines).get("saturate-50-w64")!.get("ngircd")!;
  assert.equal(s.runs, 1);
  assert.deepEqual(s.deliveriesPerS, []);
  assert.equal(cpuRatio(summarize(lines).get("saturate-50-w64")!), null);
});

Deno.test("the IRC benchmark's scripts parse, and server.ts takes the flags they give it", async () => {
  const dir = new URL(".", import.meta.url).pathname;
  for (const script of ["irc_bench.sh", "peers/start_project_irc.sh"]) {
    const check = await new Deno.Command("bash", { args: ["-n", dir + script] }).output();
    assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
  }
  const start = await Deno.readTextFile(dir + "peers/start_project_irc.sh");
  const usage = await Deno.readTextFile(dir + "../server/server_cli.ts");
  const flags = [...start.slice(start.indexOf("exec deno")).matchAll(/ (--[a-z-]+)/g)].map((m) =>
    m[1]!
  );
  assert.ok(flags.includes("--irc-port"));
  for (const flag of flags) {
    if (flag === "--allow-net") continue;
    assert.match(usage, new RegExp(`\\n  ${flag}[ \\n]`), `server.ts takes no ${flag}`);
  }
});
