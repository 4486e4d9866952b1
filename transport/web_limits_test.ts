/**
 * End-to-end tests of the web listener's limits against a real in-process
 * {@linkcode ChatServer} on 127.0.0.1: requests under way from one address
 * (`maxPerIp`, loopback held to it with `limitLoopback`), the minimum rate of
 * a request head, a slowloris from 127.0.0.2 while a visitor from 127.0.0.1
 * loads the page and chats, and 2,000 WebSocket joins at once.
 *
 * Connections from 127.0.0.2 and 127.0.0.3 are `node:net` sockets bound to
 * that local address: the server sees them come from it.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { GREETING } from "../protocol.ts";
import { ChatServer, type ChatServerOptions } from "../server.ts";
import { LEAK_CHECKS, WAIT_MS, withDeadline } from "../test/test_helpers.ts";
import { HEAD_GRACE_MS, HEAD_TIMEOUT_MS, MIN_HEAD_BYTES_PER_S } from "./web.ts";
import { httpRequest, upgradeRequest, WsPeer } from "../test/websocket_test_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The most of a response a raw peer keeps: its status line and a little more. */
const MAX_KEPT_CHARS = 4096;

/** Wakes whoever waits on a condition over many sockets whenever one of them changes. */
class Watch {
  readonly #waiters = new Set<() => void>();

  /** Something changed: conditions are looked at again. */
  notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves once `condition()` holds; fails naming `what` after `ms`. */
  async until(condition: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    // Each turn waits for a change or the deadline, so the loop ends by the deadline.
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
      let waiter: () => void = () => {};
      const changed = new Promise<void>((resolve) => {
        waiter = resolve;
        this.#waiters.add(waiter);
      });
      try {
        await withDeadline(changed, left, what);
      } finally {
        this.#waiters.delete(waiter);
      }
    }
  }
}

/** A raw TCP peer from a chosen loopback address, that notes what it got and when it closed. */
class RawPeer {
  readonly socket: net.Socket;
  /** When it connected (`performance.now()`). */
  readonly openedAt: number;
  /** The start of what the server sent. */
  text = "";
  /** When the server's end or a reset closed it; null while open. */
  closedAt: number | null = null;
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket, watch: Watch) {
    this.socket = socket;
    this.openedAt = performance.now();
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    socket.on("data", (chunk: Uint8Array) => {
      if (this.text.length < MAX_KEPT_CHARS) this.text += decoder.decode(chunk);
      watch.notify();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closedAt = performance.now();
      closed.resolve();
      watch.notify();
    });
  }

  /**
   * Connects from `from` to 127.0.0.1 at `port`. With `halfOpen`, it stays
   * open after the server's end, as a peer that never closes does.
   */
  static connect(
    port: number,
    from: string,
    watch: Watch,
    { halfOpen = false }: { halfOpen?: boolean } = {},
  ): Promise<RawPeer> {
    const socket = net.connect({
      host: "127.0.0.1",
      port,
      localAddress: from,
      allowHalfOpen: halfOpen,
    });
    const peer = new RawPeer(socket, watch);
    return withDeadline(
      new Promise<RawPeer>((resolve, reject) => {
        socket.once("connect", () => resolve(peer));
        socket.once("error", reject);
      }),
      WAIT_MS,
      `a connection from ${from}`,
    ).catch(async (error) => {
      await peer.close();
      throw error;
    });
  }

  /** The status line the server sent, or "" before one. */
  get status(): string {
    const end = this.text.indexOf("\r\n");
    return end === -1 ? "" : this.text.slice(0, end);
  }

  /** The body of the server's response, once it is all here. */
  get body(): string {
    const start = this.text.indexOf("\r\n\r\n");
    return start === -1 ? "" : this.text.slice(start + 4);
  }

  /** Whether the server answered or closed it. */
  get settled(): boolean {
    return this.text !== "" || this.closedAt !== null;
  }

  /** Writes `text` unless it is closed. */
  write(text: string): void {
    if (this.closedAt === null && !this.socket.destroyed) this.socket.write(text);
  }

  /** Closes it and waits until it is closed; safe to call again. */
  async close(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

/** Closes every peer, waiting until all are closed. */
async function closeAll(peers: Iterable<RawPeer>): Promise<void> {
  await Promise.all([...peers].map((peer) => peer.close()));
}

/** Runs `fn` against a chat server with a web port on 127.0.0.1, its log kept; then closes it. */
async function withChat(
  options: ChatServerOptions,
  fn: (webPort: number, log: string[]) => Promise<void>,
): Promise<void> {
  const log: string[] = [];
  const server = new ChatServer({
    hostname: "127.0.0.1",
    port: 0,
    webPort: 0,
    log: (event) => log.push(event),
    ...options,
  });
  try {
    await server.start();
    await fn((server.webAddr as Deno.NetAddr).port, log);
  } finally {
    await withDeadline(server.close(), 3 * WAIT_MS, "the server to close");
  }
}

/** Reads frames until a line matching `wanted` comes; fails after `ms`. */
async function expectLine(peer: WsPeer, wanted: RegExp, ms: number = WAIT_MS): Promise<string> {
  const deadline = Date.now() + ms;
  const seen: string[] = [];
  // At most a hundred messages, each read with what is left of the deadline.
  for (let i = 0; i < 100; i++) {
    const text = await peer.readText(Math.max(1, deadline - Date.now()));
    for (const line of text.split("\n")) {
      if (wanted.test(line)) return line;
      seen.push(line);
    }
  }
  throw new Error(`No line matching ${wanted} in ${JSON.stringify(seen)}`);
}

/** A visitor from 127.0.0.1: the page, then /ws: joins as `name`, says a line, hears it back. */
async function visit(port: number, name: string): Promise<{ pageMs: number; chatMs: number }> {
  const pageStarted = performance.now();
  const page = await httpRequest(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const pageMs = performance.now() - pageStarted;
  assert.equal(page.status, 200, `the page: ${page.status} ${page.body}`);
  assert.match(page.body, /<!doctype html>/i);
  const chatStarted = performance.now();
  await using member = await WsPeer.open(port);
  await expectLine(member, new RegExp(`^${GREETING}$`));
  await member.sendText(name);
  await expectLine(member, new RegExp(`^Welcome, ${name}!`));
  await member.sendText("hello from the visitor");
  await expectLine(member, new RegExp(`^${name}: hello from the visitor$`));
  return { pageMs, chatMs: performance.now() - chatStarted };
}

Deno.test({
  name: "one address gets --max-per-ip requests under way, then 429, then a close without a word",
  ...LEAK_CHECKS,
  fn: () =>
    withChat({ maxPerIp: 2, limitLoopback: true }, async (port, log) => {
      const watch = new Watch();
      const peers: RawPeer[] = [];
      try {
        // Two heads under way from 127.0.0.2, unfinished.
        for (let i = 0; i < 2; i++) {
          const held = await RawPeer.connect(port, "127.0.0.2", watch);
          peers.push(held);
          held.write("GET / HTTP/1.1\r\n");
        }
        // The third is answered at once, before it sends anything; it never closes.
        const refused: RawPeer[] = [];
        for (let i = 0; i < 2; i++) {
          const peer = await RawPeer.connect(port, "127.0.0.2", watch, { halfOpen: true });
          peers.push(peer);
          refused.push(peer);
          await watch.until(() => peer.body.endsWith("\n"), WAIT_MS, "a refusal");
        }
        for (const peer of refused) {
          assert.equal(peer.status, "HTTP/1.1 429 Too Many Requests");
          assert.match(peer.text, /\r\nRetry-After: 1\r\n/);
          assert.match(peer.text, /\r\nConnection: close\r\n/);
          assert.equal(
            peer.body,
            "Too many requests under way from your address; try again in a moment.\n",
          );
        }
        // Its refusals take as much as its requests may: the next is closed unanswered.
        const silent = await RawPeer.connect(port, "127.0.0.2", watch);
        peers.push(silent);
        await watch.until(() => silent.closedAt !== null, WAIT_MS, "the unanswered close");
        assert.equal(silent.text, "");
        assert.equal(
          log.filter((line) => line.includes("closing its further connections unanswered")).length,
          1,
          log.join("\n"),
        );
        assert.ok(
          log.some((line) =>
            /^127\.0\.0\.2:\d+ refused: too many requests under way from this address 429$/.test(
              line,
            )
          ),
          log.join("\n"),
        );
        // Other addresses are served meanwhile.
        const other = await RawPeer.connect(port, "127.0.0.3", watch);
        peers.push(other);
        other.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        await watch.until(() => other.closedAt !== null, WAIT_MS, "the page for 127.0.0.3");
        assert.equal(other.status, "HTTP/1.1 200 OK");
        assert.equal((await httpRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")).status, 200);
        // Once they are all closed, the address has its places back: two served, the third
        // refused. The server hears of the closes a moment after they are done here, so this
        // tries again (each round waits for its answers), a bounded number of times.
        await closeAll(peers.splice(0));
        const deadline = Date.now() + WAIT_MS;
        let round: RawPeer[] = [];
        const served = () =>
          round.length === 3 &&
          round.slice(0, 2).every((peer) => peer.status === "HTTP/1.1 200 OK");
        for (let i = 0; i < 20 && Date.now() < deadline && !served(); i++) {
          await closeAll(round);
          round = [];
          for (let j = 0; j < 3; j++) {
            const peer = await RawPeer.connect(port, "127.0.0.2", watch);
            round.push(peer);
            peers.push(peer);
            peer.write(j < 2 ? "GET / HTTP/1.1\r\n" : "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
          }
          await watch.until(() => (round[2] as RawPeer).settled, WAIT_MS, "an answer");
          // Only now do the first two finish their heads: both were under way when the third came.
          for (const peer of round.slice(0, 2)) peer.write("Host: x\r\n\r\n");
          await watch.until(
            () => round.every((peer) => peer.closedAt !== null),
            WAIT_MS,
            "answers",
          );
        }
        assert.ok(served(), round.map((peer) => peer.status).join(", "));
        assert.equal(round[2]?.status, "HTTP/1.1 429 Too Many Requests");
      } finally {
        await closeAll(peers);
      }
    }),
});

Deno.test({
  name:
    "a head that trickles in is cut with 408 after the grace; one that keeps to the rate is served",
  ...LEAK_CHECKS,
  fn: () =>
    withChat({}, async (port) => {
      const watch = new Watch();
      const dribbler = await RawPeer.connect(port, "127.0.0.2", watch);
      const steady = await RawPeer.connect(port, "127.0.0.3", watch);
      // A byte every 100 ms from one; twice the minimum rate from the other, for longer than the grace.
      const piece = `X-Pad: ${"p".repeat(MIN_HEAD_BYTES_PER_S / 10 - 10)}\r\n`;
      const sendFor = HEAD_GRACE_MS + 1000;
      dribbler.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      steady.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      const dribble = setInterval(() => dribbler.write("X"), 100);
      const pieces = setInterval(() => {
        if (performance.now() - steady.openedAt < sendFor) {
          steady.write(piece);
        } else {
          steady.write("\r\n");
          clearInterval(pieces);
        }
      }, 50);
      try {
        await watch.until(
          () => dribbler.closedAt !== null && steady.closedAt !== null,
          HEAD_TIMEOUT_MS,
          "both to be answered",
        );
      } finally {
        // So that the sanitizer does not report the timers.
        clearInterval(dribble);
        clearInterval(pieces);
        await closeAll([dribbler, steady]);
      }
      const cutAfter = (dribbler.closedAt as number) - dribbler.openedAt;
      assert.equal(dribbler.status, "HTTP/1.1 408 Request Timeout");
      assert.equal(dribbler.body, "408 Request Timeout\n");
      assert.ok(
        cutAfter >= HEAD_GRACE_MS - 100 && cutAfter < HEAD_GRACE_MS + 2000,
        `cut after ${cutAfter.toFixed(0)} ms`,
      );
      assert.equal(steady.status, "HTTP/1.1 200 OK");
      assert.ok((steady.closedAt as number) - steady.openedAt >= sendFor);
    }),
});

Deno.test({
  name:
    "a slowloris of 300 connections from one address leaves a visitor from another the page and the chat",
  ...LEAK_CHECKS,
  fn: () =>
    withChat({ maxPerIp: 16, limitLoopback: true }, async (port, log) => {
      const watch = new Watch();
      const attackers: RawPeer[] = [];
      // One timer dribbles a byte every 200 ms into every attacker still open.
      const dribble = setInterval(() => {
        for (const peer of attackers) peer.write("X");
      }, 200);
      try {
        const connected = await Promise.allSettled(
          Array.from({ length: 300 }, () => RawPeer.connect(port, "127.0.0.2", watch)),
        );
        for (const result of connected) {
          if (result.status === "fulfilled") attackers.push(result.value);
        }
        for (const peer of attackers) peer.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        // All but 16 are turned away at once: told 429, or closed unanswered.
        await watch.until(
          () => attackers.filter((peer) => peer.settled).length >= attackers.length - 16,
          WAIT_MS,
          "the attacker's excess connections to be refused",
        );
        const held = attackers.filter((peer) => !peer.settled);
        const refused = attackers.filter((peer) => peer.settled);
        assert.equal(held.length, 16);
        for (const peer of refused) {
          assert.ok(peer.status === "" || peer.status === "HTTP/1.1 429 Too Many Requests");
        }
        const visits: { pageMs: number; chatMs: number }[] = [];
        for (let i = 0; i < 3; i++) visits.push(await visit(port, `visitor${i}`));
        for (const { pageMs, chatMs } of visits) {
          assert.ok(pageMs < 1000 && chatMs < 1000, `page ${pageMs} ms, chat ${chatMs} ms`);
        }
        // The 16 that dribble are cut at the grace, far inside the head timeout.
        await watch.until(
          () => held.every((peer) => peer.closedAt !== null),
          HEAD_GRACE_MS + 2000,
          "the dribblers to be cut",
        );
        for (const peer of held) {
          assert.equal(peer.status, "HTTP/1.1 408 Request Timeout");
          const cutAfter = (peer.closedAt as number) - peer.openedAt;
          assert.ok(cutAfter < HEAD_GRACE_MS + 2000, `cut after ${cutAfter.toFixed(0)} ms`);
        }
        assert.ok(log.some((line) => line.includes("a request head too slow")), log.join("\n"));
      } finally {
        clearInterval(dribble);
        await closeAll(attackers);
      }
    }),
});

Deno.test({
  name: "2,000 WebSocket joins at once all get 101 and the greeting when --max-clients allows them",
  ...LEAK_CHECKS,
  async fn() {
    const joins = 2000;
    await withChat({ maxClients: joins }, async (port) => {
      const conns: Deno.Conn[] = [];
      const statuses = new Map<string, number>();
      let greeted = 0;
      /** One browser's join: the handshake, then its first message, the greeting. */
      const join = async (): Promise<void> => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conns.push(conn);
        await conn.write(encoder.encode(upgradeRequest()));
        const buffer = new Uint8Array(4096);
        let text = "";
        // A read at a time, until the greeting or the end: bounded by the deadline below.
        while (!text.includes(GREETING)) {
          const n = await conn.read(buffer);
          if (n === null) break;
          text += decoder.decode(buffer.subarray(0, n));
        }
        const status = text.slice(0, text.indexOf("\r\n"));
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (text.includes(GREETING)) greeted++;
      };
      try {
        const started = performance.now();
        await withDeadline(
          Promise.all(Array.from({ length: joins }, join)),
          3 * WAIT_MS,
          `${joins} joins`,
        );
        const took = performance.now() - started;
        assert.deepEqual(
          Object.fromEntries(statuses),
          { "HTTP/1.1 101 Switching Protocols": joins },
        );
        assert.equal(greeted, joins, `greeted in ${took.toFixed(0)} ms`);
      } finally {
        for (const conn of conns) conn.close();
      }
    });
  },
});
