import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import net from "node:net";
import { setImmediate } from "node:timers";
import { LEAK_CHECKS, WAIT_MS, withDeadline } from "../test/test_helpers.ts";
import {
  encodeCloseFrame,
  encodeFrame,
  KeepAlive,
  OPCODE,
  WebSocketError,
  WebSocketLink,
} from "./websocket.ts";
import { clientFrame, concat, WsPeer } from "../test/websocket_test_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A stand-in link that records what the keep-alive does to it. */
function fakeLink(done: string[], paused = () => false): WebSocketLink {
  return {
    isPaused: paused,
    ping: () => done.push("ping"),
    destroy: () => done.push("destroy"),
  } as unknown as WebSocketLink;
}

Deno.test({
  name: "a keep-alive pings a link quiet for a tick, every tick, and cuts one that does not answer",
  ...LEAK_CHECKS,
  fn: () => {
    const keepAlive = new KeepAlive(1_000_000);
    const done: string[] = [];
    const link = fakeLink(done);
    keepAlive.add(link);
    try {
      keepAlive.tick();
      assert.deepEqual(done, [], "heard at the start: not quiet for a whole tick yet");
      keepAlive.tick();
      assert.deepEqual(done, ["ping"]);
      keepAlive.answered(link);
      keepAlive.tick();
      assert.deepEqual(done, ["ping", "ping"], "an answer alone leaves it quiet: pinged again");
      keepAlive.heard(link);
      keepAlive.tick();
      assert.deepEqual(done, ["ping", "ping"], "it sent something: no ping");
      keepAlive.tick();
      keepAlive.tick();
      assert.deepEqual(done, ["ping", "ping", "ping", "destroy"]);
      assert.equal(keepAlive.size, 0);
    } finally {
      keepAlive.delete(link);
    }
  },
});

Deno.test({
  name: "a keep-alive leaves a paused link alone: nobody reads its answers",
  ...LEAK_CHECKS,
  fn: () => {
    const keepAlive = new KeepAlive(1_000_000);
    const done: string[] = [];
    const link = fakeLink(done, () => true);
    keepAlive.add(link);
    try {
      for (let i = 0; i < 5; i++) keepAlive.tick();
      assert.deepEqual(done, []);
    } finally {
      keepAlive.delete(link);
    }
    assert.equal(keepAlive.size, 0);
  },
});

/** A link made straight on an accepted socket, and a raw peer at the other end. */
interface LinkPair {
  link: WebSocketLink;
  peer: WsPeer;
  /** The link's end, close and error events, in order. */
  events: string[];
  /** Its data events. */
  received: Uint8Array[];
  /** Waits until `test` holds, checking it after each of the link's events. */
  until(test: () => boolean, what: string): Promise<void>;
}

async function withLink(
  fn: (pair: LinkPair) => Promise<void>,
  keepAlive?: KeepAlive,
): Promise<void> {
  const accepted = Promise.withResolvers<net.Socket>();
  const server = net.createServer((socket) => accepted.resolve(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const peer = await WsPeer.connect(port);
  const link = new WebSocketLink(await accepted.promise, { keepAlive });
  const events: string[] = [];
  const received: Uint8Array[] = [];
  let changed = Promise.withResolvers<void>();
  const note = () => {
    changed.resolve();
    changed = Promise.withResolvers();
  };
  link.on("data", (chunk: Uint8Array) => {
    received.push(chunk.slice());
    note();
  });
  for (const event of ["end", "close"] as const) {
    link.on(event, () => {
      events.push(event);
      note();
    });
  }
  link.on("error", (error: Error) => {
    events.push(`error: ${error.message}`);
    note();
  });
  const until = async (test: () => boolean, what: string) => {
    const deadline = Date.now() + WAIT_MS;
    while (!test()) await withDeadline(changed.promise, Math.max(deadline - Date.now(), 1), what);
  };
  const closed = new Promise<void>((resolve) => link.once("close", resolve));
  try {
    await fn({ link, peer, events, received, until });
  } finally {
    await peer.close();
    link.destroy();
    await closed;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Waits until `test` holds, checking after each turn of the event loop: for what has no event. */
async function untilTurn(test: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

Deno.test({
  name: "a link's writes are one text frame each, and the client's messages arrive as data",
  ...LEAK_CHECKS,
  fn: () =>
    withLink(async ({ link, peer, received, until }) => {
      link.write(encoder.encode("* one\n* two\n"));
      link.write("three\n");
      assert.equal(await peer.readText(), "* one\n* two\n");
      assert.equal(await peer.readText(), "three\n");
      await peer.sendText("hello");
      await peer.sendText("a\nb\n");
      await until(() => decoder.decode(concat(...received)) === "hello\na\nb\n", "the lines");
      assert.equal(link.remoteAddress, "127.0.0.1");
    }),
});

Deno.test({
  name: "a ping is answered with a pong that holds its payload",
  ...LEAK_CHECKS,
  fn: () =>
    withLink(async ({ peer }) => {
      await peer.sendFrame(OPCODE.ping, encoder.encode("tick"));
      const pong = await peer.readFrame();
      assert.equal(pong?.opcode, OPCODE.pong);
      assert.equal(decoder.decode(pong?.payload), "tick");
    }),
});

Deno.test({
  name: "the client's close is echoed with its code, and the link ends and closes",
  ...LEAK_CHECKS,
  fn: () =>
    withLink(async ({ link, peer, events, until }) => {
      await peer.sendText("bye");
      await peer.send(clientFrame(OPCODE.close, encodeCloseFrame(1001, "leaving").subarray(2)));
      // The server closes the connection from its side once it has answered.
      assert.deepEqual(await peer.expectClose(), { code: 1001, reason: "" });
      assert.deepEqual(events, ["end"]);
      assert.ok(link.readableEnded && link.writableEnded);
      // The core ends it too: that must neither throw nor send a second close.
      const ended = Promise.withResolvers<void>();
      link.end(() => ended.resolve());
      await withDeadline(ended.promise, WAIT_MS, "end's callback");
      await peer.close();
      await until(() => events.includes("close"), "close");
      assert.deepEqual(events, ["end", "close"]);
    }),
});

Deno.test({
  name: "end() sends a close frame with 1000 and ends the connection",
  ...LEAK_CHECKS,
  fn: () =>
    withLink(async ({ link, peer }) => {
      link.write("* Goodbye\n");
      const ended = Promise.withResolvers<void>();
      link.end(() => ended.resolve());
      assert.equal(link.write("lost\n"), false);
      assert.equal(await peer.readText(), "* Goodbye\n");
      assert.equal((await peer.expectClose()).code, 1000);
      await withDeadline(ended.promise, WAIT_MS, "end's callback");
    }),
});

Deno.test({
  name: "pause() stops data events until resume()",
  ...LEAK_CHECKS,
  fn: () =>
    withLink(async ({ link, peer, received, until }) => {
      await peer.sendText("first");
      await until(() => received.length === 1, "the first message");
      link.pause();
      assert.ok(link.isPaused());
      await peer.sendText("second");
      await peer.sendFrame(OPCODE.ping, encoder.encode("still paused?"));
      // Nothing is read while paused: no data, and no pong either.
      assert.equal(await peer.closedWithin(200), false);
      assert.equal(received.length, 1);
      link.resume();
      const pong = await peer.readFrame();
      assert.equal(pong?.opcode, OPCODE.pong);
      assert.equal(decoder.decode(concat(...received)), "first\nsecond\n");
    }),
});

Deno.test({
  name: "a broken rule is answered with its close code, reported as an error, and ends the link",
  ...LEAK_CHECKS,
  fn: () =>
    withLink(async ({ link, peer, events }) => {
      const errors: Error[] = [];
      link.on("error", (error: Error) => errors.push(error));
      await peer.send(encodeFrame(OPCODE.text, encoder.encode("unmasked")));
      const close = Promise.withResolvers<void>();
      link.once("end", () => link.end(() => link.destroy()));
      link.once("close", () => close.resolve());
      const { code, reason } = await peer.expectClose();
      assert.equal(code, 1002);
      assert.match(reason, /not masked/);
      await withDeadline(close.promise, WAIT_MS, "the link to close");
      assert.ok(errors[0] instanceof WebSocketError);
      assert.equal(errors[0].closeCode, 1002);
      assert.ok(events.indexOf("end") < events.indexOf("close"));
    }),
});

Deno.test({
  name: "a quiet client is pinged, and destroyed when it does not answer",
  ...LEAK_CHECKS,
  fn: async () => {
    const keepAlive = new KeepAlive(50);
    await withLink(async ({ peer, events, until }) => {
      const ping = await peer.readFrame();
      assert.equal(ping?.opcode, OPCODE.ping);
      assert.equal(await peer.readFrame(), null);
      await until(() => events.includes("close"), "close");
    }, keepAlive);
    assert.equal(keepAlive.size, 0);
  },
});

Deno.test({
  name: "a quiet client that answers pings is kept",
  ...LEAK_CHECKS,
  fn: async () => {
    const keepAlive = new KeepAlive(50);
    await withLink(async ({ link, peer }) => {
      for (let i = 0; i < 3; i++) {
        const ping = await peer.readFrame();
        assert.equal(ping?.opcode, OPCODE.ping);
        await peer.sendFrame(OPCODE.pong, ping.payload);
      }
      assert.ok(!link.destroyed);
      assert.equal(keepAlive.size, 1);
    }, keepAlive);
    assert.equal(keepAlive.size, 0);
  },
});

Deno.test({
  name: "a link's writableLength keeps what a client that stops reading has not taken",
  ...LEAK_CHECKS,
  fn: () =>
    withLink(async ({ link }) => {
      const block = encoder.encode(("y".repeat(1023) + "\n").repeat(64));
      const total = 32 * 1024 * 1024;
      for (let sent = 0; sent < total; sent += block.length) link.write(block);
      // The kernel takes a few MB at most; the rest waits, and the core sees it here.
      await untilTurn(() => link.writableLength < total, "the kernel to take some");
      assert.ok(link.writableLength > total / 2, `${link.writableLength} waiting`);
    }),
});

/** A socket stand-in that keeps its writes and holds their callbacks, as a peer that never reads. */
class HeldSocket extends EventEmitter {
  readonly writes: Uint8Array[] = [];
  readonly callbacks: (() => void)[] = [];
  destroyed = false;
  writableEnded = false;
  writableLength = 0;
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  write(data: Uint8Array, callback?: () => void): boolean {
    this.writes.push(data);
    if (callback !== undefined) this.callbacks.push(callback);
    return true;
  }
}

Deno.test({
  name:
    "a ping flood gets one pong at a time: while one is unsent, a newer ping replaces the one waiting",
  ...LEAK_CHECKS,
  fn: () => {
    const socket = new HeldSocket();
    const keepAlive = new KeepAlive(1_000_000);
    const link = new WebSocketLink(socket as unknown as net.Socket, { keepAlive });
    const received: number[] = [];
    link.on("data", (chunk: Uint8Array, bytes?: number) => {
      assert.equal(chunk.length, 0);
      received.push(bytes ?? -1);
    });
    try {
      const ping = (n: number) => encodeFrame(OPCODE.ping, new Uint8Array([n]), { mask: true });
      for (let n = 1; n <= 1000; n++) socket.emit("data", ping(n % 256));
      // The first is answered; the kernel never takes it, so the rest wait as one, the latest.
      assert.deepEqual(socket.writes.map((frame) => [...frame]), [[0x8a, 1, 1]]);
      assert.equal(received.length, 1000, "every chunk is reported, text or not");
      assert.ok(received.every((bytes) => bytes === 7), "with its bytes, header included");
      socket.callbacks.shift()?.();
      assert.deepEqual(socket.writes.map((frame) => [...frame]), [[0x8a, 1, 1], [0x8a, 1, 232]]);
      socket.callbacks.shift()?.();
      assert.equal(socket.writes.length, 2, "nothing waits any more");
    } finally {
      keepAlive.delete(link);
    }
  },
});
