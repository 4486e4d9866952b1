/**
 * Runs the floods of `floods_test.ts` for longer against a fresh `server.ts`
 * and prints the figures that docs/running.md's limits section quotes: what the
 * attacker got written, the probe member's echo times, whether the reader
 * lost anything, the server's CPU, and its memory before, at the peak and
 * 30 s after the attack.
 *
 * ```sh
 * deno run -A tools/floods.ts                      # every attack, 15 s each
 * deno run -A tools/floods.ts --seconds 5 ws-ping-4
 * deno run -A tools/floods.ts --server ../old/server.ts telnet-nop   # another checkout
 * ```
 *
 * Everything is on 127.0.0.1; each attack is bounded in time.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  cpuSeconds,
  flood,
  MemoryWatch,
  Probe,
  repeated,
  rssBytes,
} from "../test/flood_test_helpers.ts";
import { encodeFrame, OPCODE } from "../transport/websocket.ts";
import { upgradeRequest } from "../test/websocket_test_helpers.ts";

const IAC = 255;
const NOP = 241;
const SB = 250;
const WILL = 251;
const DO = 253;
const encoder = new TextEncoder();

/** Where the attacked server listens. */
interface Ports {
  port: number;
  webPort: number;
}

/** One attack: it opens its connections, floods until `signal` aborts, and closes them. */
type Attack = (ports: Ports, signal: AbortSignal) => Promise<number>;

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length;) offset += await conn.write(data.subarray(offset));
}

/** Reads and drops whatever `conn` gets, until it closes. */
async function drop(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(65536);
  try {
    while (await conn.read(buffer) !== null) { /* dropped */ }
  } catch {
    // Closed.
  }
}

/** Opens a WebSocket by hand on `webPort`; returns the connection after the 101. */
async function openWebSocket(webPort: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: webPort });
  await writeAll(conn, encoder.encode(upgradeRequest()));
  const buffer = new Uint8Array(4096);
  let head = "";
  while (!head.includes("\r\n\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`WebSocket refused: ${head}`);
    head += new TextDecoder().decode(buffer.subarray(0, n));
  }
  if (!head.startsWith("HTTP/1.1 101")) throw new Error(`WebSocket refused: ${head}`);
  return conn;
}

/** Floods from `count` connections made by `open`, each writing `chunk`; `read` drains them. */
function floodFrom(
  count: number,
  open: (ports: Ports) => Promise<Deno.Conn>,
  chunk: Uint8Array,
  read: boolean,
): Attack {
  return async (ports, signal) => {
    const conns = await Promise.all(Array.from({ length: count }, () => open(ports)));
    const reading = read ? conns.map(drop) : [];
    try {
      const written = await Promise.all(
        conns.map((conn) => flood((bytes) => writeAll(conn, bytes), chunk, signal)),
      );
      return written.reduce((a, b) => a + b, 0);
    } finally {
      for (const conn of conns) conn.close();
      await Promise.all(reading);
    }
  };
}

const tcp = ({ port }: Ports) => Deno.connect({ hostname: "127.0.0.1", port });
const namedTcp = async (ports: Ports) => {
  const conn = await tcp(ports);
  await writeAll(conn, encoder.encode(`flooder${Math.floor(Math.random() * 1e6)}\n`));
  return conn;
};
const ws = ({ webPort }: Ports) => openWebSocket(webPort);
const namedWs = async (ports: Ports) => {
  const conn = await ws(ports);
  const name = `pinger${Math.floor(Math.random() * 1e6)}`;
  await writeAll(conn, encodeFrame(OPCODE.text, encoder.encode(name), { mask: true }));
  return conn;
};
const openMessage = async (ports: Ports) => {
  const conn = await ws(ports);
  await writeAll(conn, encodeFrame(OPCODE.text, encoder.encode("x"), { fin: false, mask: true }));
  return conn;
};
const subnegotiation = async (ports: Ports) => {
  const conn = await tcp(ports);
  await writeAll(conn, new Uint8Array([IAC, SB, 24]));
  return conn;
};

const asks: number[] = [];
for (let option = 0; option < 256; option++) asks.push(IAC, WILL, option, IAC, DO, option);
const ping = encodeFrame(OPCODE.ping, encoder.encode("x"), { mask: true });
const empty = encodeFrame(OPCODE.continuation, new Uint8Array(0), { fin: false, mask: true });

/** Every attack, by the name the command line takes. */
const ATTACKS: Record<string, Attack> = {
  "telnet-nop": floodFrom(1, tcp, repeated([IAC, NOP]), true),
  "telnet-sb": floodFrom(1, subnegotiation, repeated([0]), true),
  "telnet-will": floodFrom(1, tcp, repeated(asks, asks.length * 40), false),
  "telnet-will-named": floodFrom(1, namedTcp, repeated(asks, asks.length * 40), false),
  "ws-ping-1": floodFrom(1, namedWs, repeated([...ping]), true),
  "ws-ping-4": floodFrom(4, namedWs, repeated([...ping]), true),
  "ws-ping-unnamed": floodFrom(1, ws, repeated([...ping]), true),
  "ws-empty-1": floodFrom(1, openMessage, repeated([...empty]), true),
  "ws-empty-4": floodFrom(4, openMessage, repeated([...empty]), true),
};

/** Starts `server` on free ports; returns it with its ports. */
async function startServer(server: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", server, "--host", "127.0.0.1", "--port", "0", "--web-port", "0"]
      .concat(["--quiet", "--no-console"]),
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/Open https?:\/\/\S+:\d+\//.test(text)) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`${server} did not start: ${text}`);
    text += value;
  }
  void (async () => {
    while (!(await lines.read()).done) { /* the event log is not needed */ }
  })();
  const port = Number(/listening on \S+:(\d+)/.exec(text)?.[1]);
  const webPort = Number(/Open https?:\/\/\S+:(\d+)\//.exec(text)?.[1]);
  return { child, ports: { port, webPort } };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

async function run(server: string, name: string, attack: Attack, seconds: number): Promise<void> {
  const { child, ports } = await startServer(server);
  try {
    const probe = await Probe.join(ports.port);
    const memory = await MemoryWatch.start(child.pid);
    const cpuBefore = await cpuSeconds(child.pid);
    const startedAt = performance.now();
    probe.start();
    const written = await attack(ports, AbortSignal.timeout(seconds * 1000));
    const elapsed = (performance.now() - startedAt) / 1000;
    const cpu = (await cpuSeconds(child.pid) - cpuBefore) / elapsed;
    const seen = await probe.stop();
    await memory.stop();
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    const after = await rssBytes(child.pid);
    const at = (q: number) => seen.echoMs[Math.floor((seen.echoMs.length - 1) * q)] ?? NaN;
    console.log(
      [
        name.padEnd(18),
        `written ${megabytes(written)} in ${elapsed.toFixed(1)} s`,
        `probe p50 ${at(0.5).toFixed(1)} ms p99 ${seen.p99.toFixed(1)} ms max ${
          at(1).toFixed(1)
        } ms (${seen.echoMs.length})`,
        `lost ${seen.lost}`,
        `cpu ${(cpu * 100).toFixed(0)}%`,
        `rss ${megabytes(memory.before)} / peak ${megabytes(memory.peak)} / 30 s after ${
          megabytes(after)
        }`,
      ].join(" | "),
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      server: { type: "string", default: new URL("../server.ts", import.meta.url).pathname },
      seconds: { type: "string", default: "15" },
    },
  });
  const names = positionals.length > 0 ? positionals : Object.keys(ATTACKS);
  for (const name of names) {
    const attack = ATTACKS[name];
    if (attack === undefined) {
      console.error(`Unknown attack: ${name} (known: ${Object.keys(ATTACKS).join(", ")})`);
      Deno.exit(2);
    }
    await run(values.server, name, attack, Number(values.seconds));
  }
}
