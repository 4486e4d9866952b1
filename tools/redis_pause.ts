/**
 * Measures what members see when Redis is paused (SIGSTOP) under a cluster while they chat:
 * a real `redis-server` in a temporary directory, `--processes` real `server.ts` processes on
 * it, and `--members` raw TCP members spread over them, each typing a line, waiting to see it
 * (its own echo) or be told otherwise, then typing the next after `--pace-ms`. A member told
 * "not sent" believes it and types the same message again; one told it "may arrive late" does
 * not. Redis is stopped for `--stop-ms`, then continued; then every member says a last line and
 * the run ends once everyone has heard all of them.
 *
 * It prints, per member, what it was told and when, and for the run: lines told "not sent"
 * that arrived anyway, messages that arrived twice, lines told "may arrive late" that never
 * arrived, whether everyone heard one order, and any "* The chat is back" heard while Redis was
 * still stopped.
 *
 * ```sh
 * deno run --allow-net --allow-run --allow-read --allow-write --allow-env tools/redis_pause.ts
 * deno run ... tools/redis_pause.ts --stop-ms 17000 --members 8 --processes 2 --pace-ms 300
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startRedis } from "../test/redis_test_helpers.ts";
import { Peer, type ServerProcess, startServer } from "../test/test_helpers.ts";

const NOT_SENT = "! Chat is unavailable right now; your message was not sent";
const LATE = "! Chat is not answering; your message may arrive late";
const LOST = "* The chat lost its connection to Redis; messages cannot be sent until it is back";
const BACK = "* The chat is back";
/** Longest a member waits to see its line or be told about it. */
const OUTCOME_MS = 30_000;

/** A line as one member heard it, with when (ms since the run began). */
interface Heard {
  at: number;
  line: string;
}

/** One line a member typed and what became of it. */
interface Sent {
  /** The message's number; a retyped message keeps it. */
  message: number;
  text: string;
  at: number;
  outcome: "seen" | "not sent" | "late" | "no answer";
  /** When the outcome came. */
  settled: number;
}

/** A member typing and listening. */
class Member {
  readonly heard: Heard[] = [];
  readonly sent: Sent[] = [];
  readonly #waiters: (() => void)[] = [];
  #reading: Promise<void>;

  constructor(readonly name: string, readonly peer: Peer, readonly began: number) {
    this.#reading = this.#read();
  }

  async #read(): Promise<void> {
    while (true) {
      let line: string | null;
      try {
        line = await this.peer.readLine(3_600_000);
      } catch {
        return;
      }
      if (line === null) return;
      this.heard.push({ at: performance.now() - this.began, line });
      for (const waiter of this.#waiters.splice(0)) waiter();
    }
  }

  /** Waits for a line after index `from` that `test` picks; null after `ms`. */
  async next(from: number, test: (line: string) => boolean, ms: number): Promise<Heard | null> {
    const deadline = performance.now() + ms;
    for (let i = from;;) {
      for (; i < this.heard.length; i++) {
        if (test(this.heard[i]!.line)) return this.heard[i]!;
      }
      const left = deadline - performance.now();
      if (left <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
        this.#waiters.push(resolve);
      });
      clearTimeout(timer);
    }
  }

  /** Types messages until `stopped()`, each waited for; a message told "not sent" is retyped. */
  async type(stopped: () => boolean, paceMs: number): Promise<void> {
    for (let message = 1; !stopped(); message++) {
      for (let attempt = 1;; attempt++) {
        const text = `${this.name}-${message}` + (attempt === 1 ? "" : ` again ${attempt}`);
        const from = this.heard.length;
        const at = performance.now() - this.began;
        await this.peer.send(`${text}\n`);
        const echo = `${this.name}: ${text}`;
        const got = await this.next(
          from,
          (line) => line === echo || line === NOT_SENT || line === LATE,
          OUTCOME_MS,
        );
        const outcome = got === null
          ? "no answer"
          : got.line === echo
          ? "seen"
          : got.line === NOT_SENT
          ? "not sent"
          : "late";
        this.sent.push({ message, text, at, outcome, settled: got?.at ?? -1 });
        await new Promise((resolve) => setTimeout(resolve, paceMs));
        if (outcome !== "not sent" || stopped()) break;
      }
    }
  }

  async close(): Promise<void> {
    await this.peer.close();
    await this.#reading;
  }
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      "stop-ms": { type: "string", default: "17000" },
      members: { type: "string", default: "8" },
      processes: { type: "string", default: "2" },
      "pace-ms": { type: "string", default: "300" },
    },
  });
  const stopMs = Number(values["stop-ms"]);
  const count = Number(values.members);
  const processes = Number(values.processes);
  const paceMs = Number(values["pace-ms"]);

  await using redis = await startRedis();
  const servers: ServerProcess[] = [];
  const members: Member[] = [];
  const began = performance.now();
  const now = () => Math.round(performance.now() - began);
  try {
    for (let i = 0; i < processes; i++) {
      servers.push(await startServer(["--rate", "0", "--redis", redis.url()]));
    }
    for (let i = 0; i < count; i++) {
      const name = `m${i}`;
      const member = new Member(name, await Peer.join(servers[i % processes]!.port, name), began);
      for (const earlier of members) {
        await earlier.next(0, (line) => line === `* ${name} joined the chat`, 10_000);
      }
      members.push(member);
    }
    let stopSending = false;
    const typing = members.map((member) => member.type(() => stopSending, paceMs));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stoppedAt = now();
    Deno.kill(redis.pid, "SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, stopMs));
    Deno.kill(redis.pid, "SIGCONT");
    const continuedAt = now();
    const back = await Promise.all(
      members.map((member) => member.next(0, (line) => line === BACK, 30_000)),
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    stopSending = true;
    await Promise.all(typing);
    // A last line from each: once everyone has heard them all, whatever was coming has come.
    for (const member of members) await member.peer.send(`${member.name}-end\n`);
    await Promise.all(members.map(async (member) => {
      for (const other of members) {
        await member.next(0, (line) => line === `${other.name}: ${other.name}-end`, 30_000);
      }
    }));

    const chatOf = (member: Member) =>
      member.heard.map((heard) => heard.line).filter((line) => /^m\d+: m\d+-\d+/.test(line));
    const chats = members.map(chatOf);
    const all = members.flatMap((member) => member.sent.map((sent) => ({ member, sent })));
    const heardAnywhere = (member: Member, text: string) =>
      chats.some((chat) => chat.includes(`${member.name}: ${text}`));
    const notSentArrived = all.filter(({ member, sent }) =>
      sent.outcome === "not sent" && heardAnywhere(member, sent.text)
    );
    const lateMissing = all.filter(({ member, sent }) =>
      sent.outcome === "late" && !heardAnywhere(member, sent.text)
    );
    // Copies of one message that arrived, its retyped lines included.
    const repeated = members.flatMap((member) => {
      const messages = new Set(member.sent.map((sent) => sent.message));
      return [...messages].map((message) => ({
        message: `${member.name}-${message}`,
        copies: member.sent.filter((sent) =>
          sent.message === message && chats[0]!.includes(`${member.name}: ${sent.text}`)
        ).length,
      })).filter(({ copies }) =>
        copies > 1
      );
    });
    const copies = chats.flatMap((chat) => chat.filter((line, i) => chat.indexOf(line) !== i));
    const sameOrder = chats.every((chat) => JSON.stringify(chat) === JSON.stringify(chats[0]));
    const earlyBack = members.flatMap((member) =>
      member.heard.filter((heard) => heard.line === BACK && heard.at < continuedAt)
        .map((heard) => `${member.name} at ${Math.round(heard.at)} ms`)
    );

    console.log(
      `Redis stopped at ${stoppedAt} ms, continued at ${continuedAt} ms (${
        continuedAt - stoppedAt
      } ms); ${count} members on ${processes} processes, ${paceMs} ms between lines`,
    );
    for (const [i, member] of members.entries()) {
      const by = (outcome: Sent["outcome"]) =>
        member.sent.filter((sent) => sent.outcome === outcome).length;
      const told = member.heard.filter((heard) => heard.line === LOST || heard.line === BACK)
        .map((heard) =>
          `${heard.line === LOST ? "lost" : "back"} at ${Math.round(heard.at - stoppedAt)}`
        );
      const notices = member.sent.filter((sent) => sent.outcome !== "seen").map((sent) =>
        `${sent.text} (${Math.round(sent.at - stoppedAt)}): ${sent.outcome} at ${
          Math.round(sent.settled - stoppedAt)
        }`
      );
      console.log(
        `${member.name}: typed ${member.sent.length}, seen ${by("seen")}, not sent ${
          by("not sent")
        }, may arrive late ${by("late")}, no answer ${by("no answer")}; heard ${
          chats[i]!.length
        } lines; room notices (ms after the stop): ${told.join(", ") || "none"}; back heard ${
          back[i] === null ? "never" : `at ${Math.round(back[i]!.at - stoppedAt)}`
        }`,
      );
      if (notices.length > 0) console.log(`  told: ${notices.join("; ")}`);
    }
    console.log(`lines told "not sent" that arrived anyway: ${notSentArrived.length}`);
    for (const { member, sent } of notSentArrived) {
      console.log(`  ${member.name}: ${sent.text}`);
    }
    console.log(
      `messages that arrived more than once (retyped after "not sent"): ${repeated.length}, ${
        repeated.reduce((sum, { copies }) => sum + copies - 1, 0)
      } extra copies`,
    );
    if (repeated.length > 0) {
      console.log(`  ${repeated.map(({ message, copies }) => `${message} x${copies}`).join(", ")}`);
    }
    console.log(`one line heard twice by one member: ${copies.length}`);
    console.log(`lines told "may arrive late" that never arrived: ${lateMissing.length}`);
    console.log(`every member heard one order: ${sameOrder}`);
    console.log(`"${BACK}" while Redis was stopped: ${earlyBack.join(", ") || "none"}`);
  } finally {
    await Promise.all(members.map((member) => member.close()));
    await Promise.all(servers.map((server) => server.stop()));
  }
}

if (import.meta.main) {
  await main(Deno.args);
}
