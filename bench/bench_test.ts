import assert from "node:assert/strict";
import { type BenchRow, downloadsLine, formatTable, runLoad } from "./bench.ts";
import { randomBytes, runDownloads, uploadFile } from "./bench_downloads.ts";
import { ChatServer } from "../server.ts";
import { LEAK_CHECKS } from "../test/test_helpers.ts";

Deno.test({
  name:
    "the load counts every line delivered to every member, and nothing lost, against the real server",
  ...LEAK_CHECKS,
  async fn() {
    const server = new ChatServer({ hostname: "127.0.0.1", port: 0, rate: 0 });
    const { port } = await server.start();
    try {
      let readyCalls = 0;
      const report = await runLoad({
        scenario: "fanout",
        port,
        members: 6,
        senders: 2,
        rate: 40,
        window: 4,
        bytes: 100,
        seconds: 0.5,
        concurrency: 3,
      }, () => {
        readyCalls++;
        return Promise.resolve();
      });
      assert.equal(readyCalls, 1);
      assert.equal(report.ready, 6);
      assert.ok(report.sent >= 20, `sent only ${report.sent}`);
      assert.equal(report.expected, report.sent * 6);
      assert.equal(report.delivered, report.expected);
      assert.equal(report.lost, 0);
      assert.equal(report.reordered, 0);
      assert.ok(report.latencyMs !== null && report.latencyMs.p50 > 0);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name:
    "the register scenario registers every member at once while the probe gets every echo, then the probe alone",
  ...LEAK_CHECKS,
  async fn() {
    // Default flood control, as the benchmark's server has: the probe says 10 lines a second.
    const server = new ChatServer({ hostname: "127.0.0.1", port: 0 });
    const { port } = await server.start();
    try {
      const phasesSeen: string[] = [];
      const report = await runLoad(
        {
          scenario: "register",
          port,
          members: 5,
          senders: 1,
          rate: 10,
          window: 1,
          bytes: 100,
          seconds: 0,
          concurrency: 10,
        },
        () => Promise.resolve(),
        (phase) => {
          phasesSeen.push(phase);
          return Promise.resolve();
        },
      );
      assert.deepEqual(phasesSeen, ["register", "register-baseline", "end"]);
      assert.equal(report.ready, 6);
      const [during, baseline] = report.phases ?? [];
      assert.equal(during?.name, "register");
      assert.equal(during.registered, 5);
      assert.equal(during.failed, 0);
      assert.ok(during.seconds > 0);
      assert.equal(baseline?.name, "register-baseline");
      assert.equal(baseline.registered, 0);
      // The baseline lasts at least a second: ten lines or so.
      assert.ok(baseline.sent >= 9, `the baseline probe said only ${baseline.sent} lines`);
      for (const phase of [during, baseline]) {
        assert.ok(phase.sent > 0, `${phase.name}: the probe said nothing`);
        assert.equal(phase.echoed, phase.sent, `${phase.name}: the probe missed echoes`);
        assert.ok(phase.latencyMs !== null && phase.latencyMs.p50 > 0);
      }
      assert.equal(report.lost, 0);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name:
    "the download scenario shares a file, times the probe alone and then while downloads of it run, each read whole",
  ...LEAK_CHECKS,
  async fn() {
    // Default flood control, as the benchmark's server has: the probe says 10 lines a second.
    const server = new ChatServer({ hostname: "127.0.0.1", port: 0, webPort: 0 });
    const { port } = await server.start();
    try {
      const phasesSeen: string[] = [];
      const report = await runLoad(
        {
          scenario: "download",
          port,
          members: 4,
          senders: 1,
          rate: 10,
          window: 1,
          bytes: 100,
          seconds: 0.6,
          concurrency: 10,
          fileBytes: 200_000,
        },
        () => Promise.resolve(),
        (phase) => {
          phasesSeen.push(phase);
          return Promise.resolve();
        },
      );
      assert.deepEqual(phasesSeen, ["download-baseline", "download", "end"]);
      assert.equal(report.ready, 1);
      const [baseline, during] = report.phases ?? [];
      assert.equal(baseline?.name, "download-baseline");
      assert.equal(baseline.downloads, undefined);
      assert.equal(during?.name, "download");
      const downloads = during.downloads;
      assert.ok(downloads !== undefined && downloads.finished > 4, JSON.stringify(downloads));
      assert.equal(downloads.failed, 0);
      assert.ok(downloads.bytes >= downloads.finished * 200_000);
      for (const phase of [baseline, during]) {
        assert.ok(phase.sent >= 5, `${phase.name}: the probe said only ${phase.sent} lines`);
        assert.equal(phase.echoed, phase.sent, `${phase.name}: the probe missed echoes`);
      }
      assert.equal(report.lost, 0);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name:
    "a download that ends short of the file's length counts as failed, and a paced one reads at its rate",
  ...LEAK_CHECKS,
  async fn() {
    const server = new ChatServer({ hostname: "127.0.0.1", port: 0, webPort: 0 });
    const { port } = await server.start();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const lines = conn.readable.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      const waitFor = async (pattern: RegExp) => {
        while (!pattern.test(text)) text += (await lines.read()).value ?? "";
        return pattern.exec(text) as RegExpExecArray;
      };
      await waitFor(/nickname/);
      await conn.write(new TextEncoder().encode("sharer\n/upload\n"));
      const address = (await waitFor(/curl -T FILE (\S+)\n/))[1] as string;
      const link = await uploadFile(address, "f.bin", randomBytes(1000));
      // The length said is not the file's: every download is read whole, and counted failed.
      const report = await runDownloads({ url: link, bytes: 999, parallel: 2, seconds: 0.2 });
      assert.equal(report.finished, 0);
      assert.ok(report.failed > 0);
      // At 10,000 bytes a second, a 1000-byte download takes 0.1 s: about three each in 0.3 s.
      const paced = await runDownloads({
        url: link,
        bytes: 1000,
        parallel: 2,
        seconds: 0.3,
        rate: 10_000,
      });
      assert.ok(paced.finished >= 2 && paced.finished <= 8, JSON.stringify(paced));
      await lines.cancel();
    } finally {
      try {
        conn.close();
      } catch {
        // Closed with its reader.
      }
      await server.close();
    }
  },
});

Deno.test({
  name: "lines a server never delivers count as lost",
  ...LEAK_CHECKS,
  async fn() {
    // A server that welcomes and then swallows everything.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conns: Deno.Conn[] = [];
    const serving = (async () => {
      for (let i = 0; i < 2; i++) {
        const conn = await listener.accept();
        conns.push(conn);
        await conn.write(new TextEncoder().encode("nickname?\n"));
        const buffer = new Uint8Array(100);
        const count = await conn.read(buffer);
        const name = new TextDecoder().decode(buffer.subarray(0, (count ?? 1) - 1));
        await conn.write(new TextEncoder().encode(`Welcome, ${name}! \n`));
      }
    })();
    try {
      const report = await runLoad({
        scenario: "fanout",
        port: listener.addr.port,
        members: 2,
        senders: 1,
        rate: 20,
        window: 1,
        bytes: 60,
        seconds: 0.3,
        concurrency: 1,
      }, () => Promise.resolve());
      await serving;
      assert.ok(report.sent > 0);
      assert.equal(report.delivered, 0);
      assert.equal(report.lost, report.expected);
    } finally {
      for (const conn of conns) conn.close();
      listener.close();
    }
  },
});

Deno.test("the download row's line says what the downloads did", () => {
  assert.equal(
    downloadsLine("download", {
      parallel: 50,
      rate: 0,
      finished: 364,
      failed: 0,
      cut: 12,
      megabytesPerSecond: 727.4,
      seconds: 5.2,
    }),
    "download: 50 at once for 5.2 s, 364 finished whole (12 cut at the end), 727 MB/s; " +
      "latency is the probe's echo, beside download-baseline with the probe alone.",
  );
  assert.match(
    downloadsLine("download", {
      parallel: 50,
      rate: 2_000_000,
      finished: 30,
      failed: 1,
      cut: 50,
      megabytesPerSecond: 100,
      seconds: 5,
    }),
    /^download: 50 at once \(each at most 2 MB\/s\) for 5\.0 s, 30 finished whole, 1 failed \(50 cut/,
  );
});

Deno.test("the table has one row per scenario and marks a load-bound run", () => {
  const row: BenchRow = {
    scenario: "fanout",
    members: 100,
    deliveriesPerSecond: 20000,
    latencyMs: { p50: 1.25, p99: 3.5, max: 7 },
    lost: 0,
    reordered: 0,
    setupSeconds: 0.02,
    serverCpuSeconds: 0.9,
    serverPeakRssMb: 53.3,
    bytesPerConnection: null,
    loadCpuCores: 0.95,
    loadBound: true,
  };
  const table = formatTable([row]).split("\n");
  assert.equal(table.length, 3);
  assert.match(
    table[2] as string,
    /^\| fanout \| 100 \| 20,000 \| 1\.3 \/ 3\.5 \/ 7\.0 \| 0 \/ 0 \|/,
  );
  assert.match(table[2] as string, /0\.95 \(load-bound\) \|$/);
});

Deno.test({
  name: "deno task bench runs from the repository's root: a short fanout loses nothing",
  ...LEAK_CHECKS,
  async fn() {
    // The benchmark starts server.ts and its own load process by path: this pins where they are.
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "bench/bench.ts",
        "--scenario",
        "fanout",
        "--members",
        "6",
        "--senders",
        "2",
        "--seconds",
        "0.5",
        "--json",
      ],
      cwd: new URL("..", import.meta.url),
      stdin: "null",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const [row] = JSON.parse(new TextDecoder().decode(stdout)) as BenchRow[];
    assert.equal(row?.scenario, "fanout");
    assert.equal(row?.members, 6);
    assert.equal(row?.lost, 0);
    assert.ok((row?.deliveriesPerSecond ?? 0) > 0);
  },
});

Deno.test({
  name:
    "deno task bench --scenario download runs its downloads in a worker of the load process, side by side",
  ...LEAK_CHECKS,
  async fn() {
    // The load process may read the worker's module only: this pins that it is allowed to.
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "bench/bench.ts",
        ...["--scenario", "download", "--members", "3", "--seconds", "0.5"],
        ...["--file-bytes", "100000", "--json"],
      ],
      cwd: new URL("..", import.meta.url),
      stdin: "null",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const rows = JSON.parse(new TextDecoder().decode(stdout)) as BenchRow[];
    assert.deepEqual(rows.map((row) => row.scenario), ["download-baseline", "download"]);
    const [baseline, during] = rows as [BenchRow, BenchRow];
    assert.equal(baseline.members, 0);
    assert.equal(during.members, 3);
    assert.equal(during.downloads?.failed, 0);
    assert.ok((during.downloads?.finished ?? 0) > 0);
    for (const row of rows) {
      assert.equal(row.lost, 0);
      assert.ok(row.latencyMs !== null && row.latencyMs.p50 > 0);
    }
  },
});
