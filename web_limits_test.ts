/**
 * End-to-end tests of the web listener's limits against a real in-process
 * {@linkcode ChatServer} on 127.0.0.1: the minimum rate of a request head.
 *
 * Connections from 127.0.0.2 and 127.0.0.3 are `node:net` sockets bound to
 * that local address: the server sees them come from it.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { ChatServer, type ChatServerOptions } from "./server.ts";
import { LEAK_CHECKS, WAIT_MS, withDeadline } from "./test_helpers.ts";
import { HEAD_GRACE_MS, HEAD_TIMEOUT_MS, MIN_HEAD_BYTES_PER_S } from "./web.ts";

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
