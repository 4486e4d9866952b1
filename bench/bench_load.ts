/**
 * The benchmark's load side: {@linkcode runLoad} connects a scenario's
 * members to a running server (over TCP, or as browsers' WebSockets), sends
 * numbered lines and measures what comes back (delivered, lost, reordered,
 * latency). `bench.ts --load` runs it in a process of its own, so that the
 * load and the server do not share a CPU's time unseen.
 *
 * @module
 */

import { LINE_TOO_LONG, LineFramer } from "../protocol.ts";
import {
  type DownloadReport,
  randomBytes,
  runDownloadsInWorker,
  uploadFile,
} from "./bench_downloads.ts";

/** One scenario's settings. */
export interface ScenarioConfig {
  scenario: "saturate" | "fanout" | "idle" | "storm" | "wsfanout" | "register" | "download";
  port: number;
  /** The page's port, for WebSocket members. */
  webPort?: number;
  /**
   * Members connected (register: members that register, besides the probe;
   * download: downloads at once, the probe being the only member).
   */
  members: number;
  /** Members that send (fanout, saturate). */
  senders: number;
  /** Lines per second per sender (fanout), or of the probe (register, download). */
  rate: number;
  /** Unanswered lines per sender (saturate). */
  window: number;
  /** Bytes per line, newline included. */
  bytes: number;
  /** Seconds of sending (fanout, saturate), holding (idle), or of each phase (download). */
  seconds: number;
  /** The size of the file the download scenario shares. @default {10485760} */
  fileBytes?: number;
  /** Bytes a second each download reads at most; 0 or absent: as fast as it can. */
  downloadRate?: number;
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
  /**
   * The phases of the scenarios with a probe: register's registrations, then
   * its baseline; download's baseline, then its downloads.
   */
  phases?: PhaseReport[];
}

/** One phase of a scenario with a probe: what the probe saw, and what else went on. */
export interface PhaseReport {
  /**
   * `register` while the members register, `download` while the file is
   * downloaded; `register-baseline` and `download-baseline` with the probe alone.
   */
  name: "register" | "register-baseline" | "download" | "download-baseline";
  /** Lines the probe said, and their echoes it got back. */
  sent: number;
  echoed: number;
  /** The probe's echo times. */
  latencyMs: { p50: number; p99: number; max: number } | null;
  /** Seconds the phase lasted: until the last `* Registered `, or as long as that. */
  seconds: number;
  /** Members answered `* Registered ` (0 in the baseline). */
  registered: number;
  /** Members answered anything else (`! ...`), or nothing within a minute. */
  failed: number;
  /** The download phase's downloads. */
  downloads?: DownloadReport;
}

/** The file the download scenario shares by default: the server's largest, 10 MiB. */
export const DOWNLOAD_FILE_BYTES = 10 * 1024 * 1024;
/** How long the download scenario waits for the answer to its `/upload`. */
const UPLOAD_ANSWER_MS = 10_000;
/** The server's answer to `/upload`: the address to PUT the file to. */
const UPLOAD_ADDRESS = /^\* Upload within .*curl -T FILE (\S+)$/;
/** How long the register scenario waits for every answer before it counts the rest failed. */
const REGISTER_TIMEOUT_MS = 60_000;
/** The shortest baseline, so that it holds a few echoes even when registering is quick. */
const MIN_BASELINE_MS = 1000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MARK = "B|";

/** A member of the load: one connection, reading lines as they come. */
class LoadMember {
  readonly framer = new LineFramer(64 * 1024);
  /** Last sequence number seen from each sender. */
  readonly lastSeen: Int32Array;
  welcomed = false;
  onWelcome: (() => void) | null = null;
  /** Waits for the answer to `/register`: true for `* Registered `, false for `! ...`. */
  onRegisterAnswer: ((registered: boolean) => void) | null = null;
  /** Waits for the answer to `/upload`: its address line, or a `! ...` line. */
  onUploadAnswer: ((line: string) => void) | null = null;
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
  /** Called as each phase of a scenario with a probe starts (`end` after the last). */
  onPhase: (phase: PhaseReport["name"] | "end") => Promise<void> = () => Promise.resolve(),
): Promise<LoadReport> {
  const registering = config.scenario === "register";
  const downloading = config.scenario === "download";
  // A probe, member 0, says a line now and then and times its echo. The members that register
  // come after it; the download scenario has no other member (its downloads are HTTP).
  const probing = registering || downloading;
  const total = registering ? config.members + 1 : downloading ? 1 : config.members;
  const senders = probing ? 1 : Math.min(config.senders, config.members);
  const members: LoadMember[] = [];
  const counts = { delivered: 0, reordered: 0, duplicated: 0, lost: 0 };
  let latencies: number[] = [];
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
    if (member.onRegisterAnswer !== null) {
      if (text.startsWith("* Registered ")) member.onRegisterAnswer(true);
      else if (text.startsWith("! ")) member.onRegisterAnswer(false);
    }
    if (member.onUploadAnswer !== null && (UPLOAD_ADDRESS.test(text) || text.startsWith("! "))) {
      member.onUploadAnswer(text);
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
    // The scenarios with a probe time its own echoes only.
    if (measuring && latencies.length < MAX_SAMPLES && (!probing || member.index === sender)) {
      latencies.push(performance.now() - sentAt);
    }
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
    while (next < total) {
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
  await Promise.all(Array.from({ length: Math.min(config.concurrency, total) }, join));
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
  let phases: PhaseReport[] | undefined;
  // The probe says a line every 1/rate s and times its echo while a phase's work runs.
  const probe = members[0] as LoadMember;
  const interval = 1000 / config.rate;
  const phase = async (
    name: PhaseReport["name"],
    during: () => Promise<Pick<PhaseReport, "registered" | "failed" | "downloads">>,
  ): Promise<PhaseReport> => {
    await onPhase(name);
    latencies = [];
    const sentBefore = sent;
    const echoedBefore = echoed[0] as number;
    const start = performance.now();
    let chatting = true;
    const probeLoop = (async () => {
      for (let due = start; chatting; due += interval) {
        await pause(due - performance.now());
        if (chatting && !probe.closed) await sendOne(0);
      }
    })();
    const answers = await during();
    const seconds = (performance.now() - start) / 1000;
    chatting = false;
    await probeLoop;
    // Wait for the last echoes, so that they count in this phase.
    for (let waited = 0; (echoed[0] as number) < (seqs[0] as number) && waited < 2000;) {
      await pause(10);
      waited += 10;
    }
    const sorted = Float64Array.from(latencies).sort();
    return {
      name,
      sent: sent - sentBefore,
      echoed: (echoed[0] as number) - echoedBefore,
      latencyMs: latencyFigures(sorted),
      seconds,
      ...answers,
    };
  };
  if (registering) {
    const registerAll = async () => {
      const answers = members.slice(1).map((member) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), REGISTER_TIMEOUT_MS);
          member.onRegisterAnswer = (registered) => {
            clearTimeout(timer);
            member.onRegisterAnswer = null;
            resolve(registered);
          };
        })
      );
      // All at once: one write each, none waiting for another's answer.
      await Promise.all(
        members.slice(1).map((member) =>
          member.send(`/register ${`pw-${String(member.index).padStart(9, "0")}`}\n`)
        ),
      );
      const results = await Promise.all(answers);
      const registered = results.filter((ok) => ok).length;
      return { registered, failed: results.length - registered };
    };
    const during = await phase("register", registerAll);
    const baselineMs = Math.max(MIN_BASELINE_MS, during.seconds * 1000);
    const baseline = await phase("register-baseline", async () => {
      await pause(baselineMs);
      return { registered: 0, failed: 0 };
    });
    await onPhase("end");
    phases = [during, baseline];
  } else if (downloading) {
    // The probe shares a file of random bytes, then says its lines alone, then while the file is
    // downloaded `members` at a time, as long again: same server, same run.
    const bytes = config.fileBytes ?? DOWNLOAD_FILE_BYTES;
    const link = await uploadFile(await uploadAddress(probe), "bench.bin", randomBytes(bytes));
    const baseline = await phase("download-baseline", async () => {
      await pause(config.seconds * 1000);
      return { registered: 0, failed: 0 };
    });
    const during = await phase("download", async () => {
      const downloads = await runDownloadsInWorker({
        url: link,
        bytes,
        parallel: config.members,
        seconds: config.seconds,
        rate: config.downloadRate,
      });
      return { registered: 0, failed: 0, downloads };
    });
    await onPhase("end");
    phases = [baseline, during];
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
  const lost = probing
    ? sent - (echoed[0] as number)
    : Math.max(counts.lost, expected - counts.delivered - counts.duplicated);
  return {
    setupSeconds,
    ready,
    sent,
    delivered: counts.delivered,
    expected,
    lost: config.scenario === "idle" || config.scenario === "storm" ? 0 : lost,
    reordered: counts.reordered,
    duplicated: counts.duplicated,
    latencyMs: latencyFigures(sorted),
    runSeconds,
    ...(phases === undefined ? {} : { phases }),
  };
}

/** Asks the server for an upload address as `member`; throws on a refusal or silence. */
function uploadAddress(member: LoadMember): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      member.onUploadAnswer = null;
      reject(new Error(`no answer to /upload in ${UPLOAD_ANSWER_MS / 1000} s`));
    }, UPLOAD_ANSWER_MS);
    member.onUploadAnswer = (line) => {
      clearTimeout(timer);
      member.onUploadAnswer = null;
      const address = UPLOAD_ADDRESS.exec(line)?.[1];
      if (address === undefined) reject(new Error(`/upload refused: ${line}`));
      else resolve(address);
    };
    member.send("/upload\n").catch((error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** p50, p99 and max of sorted samples; null when there are none. */
function latencyFigures(
  sorted: Float64Array,
): { p50: number; p99: number; max: number } | null {
  return sorted.length === 0 ? null : {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] as number,
  };
}

async function write(conn: Deno.Conn, text: string): Promise<void> {
  const data = encoder.encode(text);
  for (let offset = 0; offset < data.length;) offset += await conn.write(data.subarray(offset));
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
