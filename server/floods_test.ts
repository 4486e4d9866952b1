/**
 * Floods at every door, each end to end against a real `server.ts` while a
 * probe member times its echo and a reader checks that it loses nothing:
 * telnet's commands, WebSocket control frames and empty fragments, from
 * connections named and not. Every byte a connection sends is paced, and
 * what the server queues for it is bounded, whatever the bytes are. Each
 * test pins an attack that once worked (the figures from before are in
 * docs/running.md's limits section).
 */
import assert from "node:assert/strict";
import {
  flood,
  mb,
  MemoryWatch,
  Probe,
  type ProbeResult,
  readTelnetAnswers,
  repeated,
} from "../test/flood_test_helpers.ts";
import { MAX_LINE_BYTES } from "../protocol.ts";
import { Member, UNJOINED_OUTPUT_BYTES } from "../core/session.ts";
import {
  LEAK_CHECKS,
  memoryChat,
  MemoryLink,
  Peer,
  type ServerProcess,
  startServer,
  WAIT_MS,
} from "../test/test_helpers.ts";
import { encodeFrame, OPCODE } from "../transport/websocket.ts";
import { WsPeer } from "../test/websocket_test_helpers.ts";

/** How long each flood runs: long enough to pass the burst allowance (200 KiB) many times over. */
const ATTACK_MS = 3000;
/** The probe's echo stays this quick through every flood (1.5 ms on a quiet machine). */
const PROBE_P99_MS = 50;
/** The server's memory grows less than this through every flood. */
const MEMORY_GROWTH_BYTES = 64 * 1024 * 1024;
/**
 * More than a flood may get written in {@linkcode ATTACK_MS}: the server reads at most its
 * burst (200 KiB) and 40 KiB a second, and the sockets' buffers on loopback hold about 4 MB
 * more. Unpaced, a flood got over a gigabyte through in that time.
 */
const MAX_FLOOD_BYTES = 32 * 1024 * 1024;
const IAC = 255;
const NOP = 241;
const SB = 250;
const WILL = 251;
const WONT = 252;
const DO = 253;
const DONT = 254;

const encoder = new TextEncoder();

/** A server under attack: where to reach it. */
interface Target {
  server: ServerProcess;
  port: number;
  webPort: number;
}

/**
 * Starts a server with `args`, a probe and a reader in it, runs `attack`,
 * and checks that the probe stayed quick, the reader lost nothing and the
 * server's memory stayed within bounds.
 */
async function underAttack(args: string[], attack: (target: Target) => Promise<void>) {
  const server = await startServer(["--quiet", ...args]);
  try {
    const open = await server.stdout.waitFor((line) => line.startsWith("Open http://"));
    const webPort = Number(/:(\d+)\//.exec(open)?.[1]);
    const probe = await Probe.join(server.port);
    const memory = await MemoryWatch.start(server.child.pid);
    probe.start();
    let seen: ProbeResult;
    try {
      await attack({ server, port: server.port, webPort });
    } finally {
      seen = await probe.stop();
    }
    const growth = await memory.stop();
    assert.equal(seen.lost, 0, "the reader lost lines");
    assert.ok(
      seen.p99 < PROBE_P99_MS,
      `probe p99 ${seen.p99.toFixed(1)} ms (${seen.echoMs.length} echoes; slowest ${
        seen.echoMs.slice(-5).map((ms) => ms.toFixed(1)).join(", ")
      })`,
    );
    assert.ok(growth < MEMORY_GROWTH_BYTES, `server memory grew ${mb(growth)}`);
  } finally {
    await server.stop();
  }
}

/** Writes all of `data`. */
async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length;) offset += await conn.write(data.subarray(offset));
}

/** Floods `conn` with `chunk` for {@linkcode ATTACK_MS}; fails if more got through than pacing allows. */
async function floodFor(conn: Deno.Conn, chunk: Uint8Array, what: string): Promise<void> {
  const written = await flood(
    (bytes) => writeAll(conn, bytes),
    chunk,
    AbortSignal.timeout(ATTACK_MS),
  );
  assert.ok(written < MAX_FLOOD_BYTES, `${what}: ${mb(written)} written in ${ATTACK_MS} ms`);
}

Deno.test({
  name:
    "a telnet NOP flood from a connection that never names itself is read only at the allowed pace",
  ...LEAK_CHECKS,
  fn: () =>
    underAttack([], async ({ port }) => {
      // Once read at full speed: 6 GB in 15 s, and the probe's p99 went from 1.5 ms to 287 ms.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await floodFor(conn, repeated([IAC, NOP]), "IAC NOP");
      } finally {
        conn.close();
      }
    }),
});

Deno.test({
  name: "an endless telnet subnegotiation from a member is paced, then cut as a line far too long",
  ...LEAK_CHECKS,
  fn: () =>
    // At --rate 100 the pace is 400 KiB a second, so the 1 MiB without a newline comes soon.
    underAttack(["--rate", "100"], async ({ port }) => {
      // Once read at full speed: 7.4 GB in 10 s.
      await using flooder = await Peer.join(port, "flooder");
      await using watcher = await Peer.join(port, "watcher");
      await flooder.readUntil("* watcher joined the chat");
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await writeAll(conn, new Uint8Array([IAC, SB, 24]));
      conn.close();
      const flooding = flooder.send(repeated([0], 64 * 1024 * 1024)).catch(() => {});
      const lines = await flooder.expectClosed(4 * WAIT_MS);
      assert.ok(
        lines.includes("! Line far too long (over 1048576 bytes); closing the connection."),
        lines.join("\n"),
      );
      await watcher.readUntil("* flooder left the chat (line too long)");
      await flooding;
    }),
});

Deno.test({
  name: "a peer asking for telnet options again and again, never reading, gets each answer once",
  ...LEAK_CHECKS,
  fn: () =>
    underAttack([], async ({ port }) => {
      // Once, each ask queued an answer: memory grew 65 MB a second without limit.
      const round: number[] = [];
      for (let option = 0; option < 256; option++) round.push(IAC, WILL, option, IAC, DO, option);
      const asks = repeated(round, round.length * 40);
      const expected: string[] = [];
      for (let option = 0; option < 256; option++) {
        expected.push(`${DONT} ${option}`, `${option === 6 ? WILL : WONT} ${option}`);
      }
      // One never names itself; the other is a member.
      const conns = await Promise.all(
        [0, 1].map(() => Deno.connect({ hostname: "127.0.0.1", port })),
      );
      try {
        await writeAll(conns[1] as Deno.Conn, encoder.encode("asker\n"));
        await Promise.all(conns.map((conn) => floodFor(conn, asks, "IAC WILL/DO")));
        for (const conn of conns) {
          // All that the server answered, once the peer reads at last: one answer each.
          assert.deepEqual(await readTelnetAnswers(conn, expected.length, WAIT_MS), expected);
          assert.deepEqual(await readTelnetAnswers(conn, 1, 300), []);
        }
      } finally {
        for (const conn of conns) conn.close();
      }
    }),
});

Deno.test({
  name:
    "WebSocket ping floods from four connections are paced, and at most one pong waits for each",
  ...LEAK_CHECKS,
  fn: () =>
    underAttack([], async ({ webPort }) => {
      // Once read at full speed: the probe's p99 was 6.5 s with four of them.
      const ping = encodeFrame(OPCODE.ping, encoder.encode("x"), { mask: true });
      const pings = repeated([...ping]);
      const peers = await Promise.all([0, 1, 2, 3].map(() => WsPeer.open(webPort)));
      try {
        await (peers[0] as WsPeer).readText();
        // Two of them name themselves; two never do.
        for (const [i, peer] of peers.slice(2).entries()) {
          await peer.readText();
          await peer.sendText(`pinger${i}`);
          assert.match(await peer.readText(), /^Welcome, pinger\d/);
        }
        await Promise.all(peers.map(async (peer) => {
          const written = await flood(
            (bytes) => peer.send(bytes),
            pings,
            AbortSignal.timeout(ATTACK_MS),
          );
          assert.ok(written < MAX_FLOOD_BYTES, `${mb(written)} of pings written`);
        }));
      } finally {
        for (const peer of peers) await peer.close();
      }
    }),
});

Deno.test({
  name: "a WebSocket flood of empty continuation frames is paced like any bytes",
  ...LEAK_CHECKS,
  fn: () =>
    underAttack([], async ({ webPort }) => {
      // Once read at full speed: 5.1 GB in 15 s, and the probe's p99 went to 351 ms.
      const empty = encodeFrame(OPCODE.continuation, new Uint8Array(0), { fin: false, mask: true });
      const frames = repeated([...empty]);
      const peers = await Promise.all([0, 1].map(() => WsPeer.open(webPort)));
      try {
        await Promise.all(peers.map(async (peer) => {
          await peer.readText();
          await peer.sendText("never ends", { fin: false });
          const written = await flood(
            (bytes) => peer.send(bytes),
            frames,
            AbortSignal.timeout(ATTACK_MS),
          );
          assert.ok(written < MAX_FLOOD_BYTES, `${mb(written)} of empty frames written`);
        }));
      } finally {
        for (const peer of peers) await peer.close();
      }
    }),
});

Deno.test({
  name: "output waiting for a connection that has not joined is capped: past it, it is closed",
  ...LEAK_CHECKS,
  fn: async () => {
    const chat = memoryChat();
    const link = new MemoryLink();
    const member = chat.admit(link, link.remoteAddress, link.remotePort, () => new MemoryLink());
    assert.ok(member !== null);
    chat.greet(member);
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Each line over the limit is answered with an error line, before the connection has a name.
    const tooLong = encoder.encode("x".repeat(MAX_LINE_BYTES + 1) + "\n");
    // The kernel has taken nothing for a while: the greeting and more wait.
    link.writableLength = UNJOINED_OUTPUT_BYTES;
    link.emit("data", tooLong);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(link.destroyed, false, "closed at the cap");
    link.writableLength = UNJOINED_OUTPUT_BYTES + 1;
    link.emit("data", tooLong);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(link.destroyed, true, "still open past the cap");
    await chat.shutdown(0);
  },
});

Deno.test("bytes without text count toward the longest line while they stream, not when a second apart", () => {
  const reading = new Member(new MemoryLink(), "192.0.2.1", 4000, MAX_LINE_BYTES).reading;
  // A flood: 64 KiB of pings every few milliseconds adds up.
  for (let at = 1000; at < 1100; at += 5) reading.receivedWithoutText(65536, at);
  assert.equal(reading.bytesWithoutText, 20 * 65536);
  // A browser's pong every 30 s, for a day: never more than one at a time.
  for (let at = 2000; at < 2000 + 86_400_000; at += 30_000) reading.receivedWithoutText(6, at);
  assert.equal(reading.bytesWithoutText, 6);
});
