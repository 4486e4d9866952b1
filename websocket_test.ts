import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import net from "node:net";
import { setImmediate } from "node:timers";
import { LEAK_CHECKS, WAIT_MS, withDeadline } from "./test_helpers.ts";
import {
  acceptKey,
  CLOSE_CODE,
  encodeCloseFrame,
  encodeFrame,
  encodeTextFrame,
  type FrameChunk,
  FrameReader,
  KeepAlive,
  MAX_CONTROL_PAYLOAD_BYTES,
  MAX_HEADER_BYTES,
  OPCODE,
  WebSocketError,
  WebSocketLink,
} from "./websocket.ts";
import { WsPeer } from "./websocket_test_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client's (masked) frame. */
function clientFrame(opcode: number, payload: string | Uint8Array, fin = true): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  return encodeFrame(opcode, bytes, { fin, mask: true });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}

/** What a reader made of some chunks, all together. */
interface Read {
  text: string;
  pings: string[];
  close: FrameChunk["close"];
  failure: FrameChunk["failure"];
  /** The most the reader held between two chunks. */
  mostHeld: number;
}

/** Feeds copies of `chunks` (the reader unmasks in place) to one reader. */
function readChunks(chunks: Uint8Array[], reader = new FrameReader()): Read {
  const read: Read = { text: "", pings: [], close: null, failure: null, mostHeld: 0 };
  const text: Uint8Array[] = [];
  for (const chunk of chunks) {
    const result = reader.read(chunk.slice());
    text.push(result.text.slice());
    if (result.ping !== null) read.pings.push(decoder.decode(result.ping));
    read.close ??= result.close;
    read.failure ??= result.failure;
    read.mostHeld = Math.max(read.mostHeld, reader.bufferedBytes);
  }
  read.text = decoder.decode(concat(...text));
  return read;
}

/** Cuts `bytes` into chunks of `size`. */
function cut(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

Deno.test("acceptKey gives the answer of RFC 6455's example", () => {
  assert.equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("a message reads as its lines, with a newline added only where it ends without one", () => {
  const cases: [string, string][] = [
    ["hi", "hi\n"],
    ["a\nb", "a\nb\n"],
    ["a\n", "a\n"],
    ["a\r\n", "a\r\n"],
    ["", "\n"],
    ["héllo €", "héllo €\n"],
  ];
  for (const [message, lines] of cases) {
    assert.equal(readChunks([clientFrame(OPCODE.text, message)]).text, lines, message);
  }
  // Several messages in one chunk: each ends by itself.
  const chunk = concat(clientFrame(OPCODE.text, "one"), clientFrame(OPCODE.text, "two\n"));
  assert.equal(readChunks([chunk]).text, "one\ntwo\n");
});

Deno.test("the fragments of a message are one line, and a ping between them is reported", () => {
  const read = readChunks([concat(
    clientFrame(OPCODE.text, "hel", false),
    clientFrame(OPCODE.ping, "are you there"),
    clientFrame(OPCODE.continuation, "", false),
    clientFrame(OPCODE.continuation, "lo"),
  )]);
  assert.equal(read.text, "hello\n");
  assert.deepEqual(read.pings, ["are you there"]);
  assert.equal(read.failure, null);
  // A newline at the end of one fragment, and an empty last fragment: no second newline.
  const ended = readChunks([concat(
    clientFrame(OPCODE.text, "a\n", false),
    clientFrame(OPCODE.continuation, ""),
  )]);
  assert.equal(ended.text, "a\n");
});

Deno.test("frames cut into one-byte chunks read as they do whole", () => {
  const frames = concat(
    clientFrame(OPCODE.text, "x".repeat(300)),
    clientFrame(OPCODE.text, "part ", false),
    clientFrame(OPCODE.ping, "p".repeat(MAX_CONTROL_PAYLOAD_BYTES)),
    clientFrame(OPCODE.continuation, "é€😀"),
    clientFrame(OPCODE.text, "y".repeat(70_000)),
    clientFrame(OPCODE.close, new Uint8Array([0x03, 0xe8, ...encoder.encode("bye")])),
  );
  const whole = readChunks([frames]);
  for (const size of [1, 2, 3, 7, 13, 14, 100]) {
    const pieces = readChunks(cut(frames, size));
    assert.equal(pieces.text, whole.text, `chunks of ${size}`);
    assert.deepEqual(pieces.pings, whole.pings);
    assert.deepEqual(pieces.close, whole.close);
    assert.ok(
      pieces.mostHeld <= MAX_HEADER_BYTES + MAX_CONTROL_PAYLOAD_BYTES,
      `${pieces.mostHeld}`,
    );
  }
  assert.equal(whole.text, `${"x".repeat(300)}\npart é€😀\n${"y".repeat(70_000)}\n`);
  assert.deepEqual(whole.close, { code: 1000, reason: "bye" });
});

Deno.test("16-bit and 64-bit lengths are read", () => {
  for (const length of [125, 126, 65_535, 65_536, 200_000]) {
    const frame = clientFrame(OPCODE.text, "z".repeat(length));
    assert.equal(frame[1]! & 0x7f, length <= 125 ? length : length <= 65_535 ? 126 : 127);
    assert.equal(readChunks([frame]).text.length, length + 1);
  }
});

Deno.test("a 64-bit length of 2^53 or more is a protocol error", () => {
  // Length 2^53 (high half 0x00200000), then a mask key.
  const frame = new Uint8Array([0x81, 0xff, 0, 0x20, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  assert.equal(readChunks([frame]).failure?.code, CLOSE_CODE.protocolError);
  // The most significant bit set.
  frame[2] = 0x80;
  frame[3] = 0;
  assert.equal(readChunks([frame]).failure?.code, CLOSE_CODE.protocolError);
  // 2^53 - 1 is a length like any other: nothing fails until the bytes run out.
  const largest = new Uint8Array([
    0x81,
    0xff,
    0,
    0x1f,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0,
    0,
    0,
    0,
  ]);
  assert.equal(readChunks([largest, encoder.encode("abc")]).text, "abc");
});

Deno.test("broken framing rules are protocol errors, and nothing is read after one", () => {
  const cases: [string, Uint8Array, number][] = [
    ["an unmasked frame", encodeFrame(OPCODE.text, encoder.encode("hi")), 1002],
    ["an unknown opcode", clientFrame(0x3, "hi"), 1002],
    ["an unknown control opcode", clientFrame(0xb, ""), 1002],
    [
      "a reserved bit",
      (() => {
        const frame = clientFrame(OPCODE.text, "hi");
        frame[0] = frame[0]! | 0x40;
        return frame;
      })(),
      1002,
    ],
    ["a fragmented ping", clientFrame(OPCODE.ping, "", false), 1002],
    ["a ping over 125 bytes", clientFrame(OPCODE.ping, "p".repeat(126)), 1002],
    ["a continuation with no message", clientFrame(OPCODE.continuation, "hi"), 1002],
    [
      "a new message inside a fragmented one",
      concat(clientFrame(OPCODE.text, "a", false), clientFrame(OPCODE.text, "b")),
      1002,
    ],
    ["a binary message", clientFrame(OPCODE.binary, "hi"), 1003],
    ["a close with a 1-byte payload", clientFrame(OPCODE.close, new Uint8Array([3])), 1002],
    ["a close with status 1005", clientFrame(OPCODE.close, new Uint8Array([3, 0xed])), 1002],
    ["a close with status 999", clientFrame(OPCODE.close, new Uint8Array([3, 0xe7])), 1002],
  ];
  for (const [what, frame, code] of cases) {
    const reader = new FrameReader();
    const read = readChunks([frame, clientFrame(OPCODE.text, "after")], reader);
    assert.equal(read.failure?.code, code, what);
    assert.ok(reader.done, what);
    assert.ok(!read.text.includes("after"), what);
    assert.equal(reader.bufferedBytes, 0, what);
  }
});

Deno.test("text that is not UTF-8 closes with 1007, wherever it is cut", () => {
  const bad: [string, number[]][] = [
    ["a byte that never occurs", [0xff]],
    ["a stray continuation byte", [0x61, 0x80]],
    ["an overlong slash", [0xc0, 0xaf]],
    ["an overlong three-byte form", [0xe0, 0x80, 0xaf]],
    ["a surrogate", [0xed, 0xa0, 0x80]],
    ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["a character cut by the message's end", [0x61, 0xc3]],
  ];
  for (const [what, bytes] of bad) {
    for (const size of [1, 64]) {
      const read = readChunks(cut(clientFrame(OPCODE.text, new Uint8Array(bytes)), size));
      assert.equal(read.failure?.code, CLOSE_CODE.invalidData, `${what}, chunks of ${size}`);
    }
  }
  // A character cut between fragments is fine.
  const euro = encoder.encode("€");
  const read = readChunks([
    clientFrame(OPCODE.text, euro.subarray(0, 1), false),
    clientFrame(OPCODE.continuation, euro.subarray(1, 2), false),
    clientFrame(OPCODE.continuation, euro.subarray(2)),
  ]);
  assert.equal(read.failure, null);
  assert.equal(read.text, "€\n");
  // A close reason that is not UTF-8.
  const close = clientFrame(OPCODE.close, new Uint8Array([3, 0xe8, 0xff]));
  assert.equal(readChunks([close]).failure?.code, CLOSE_CODE.invalidData);
});

Deno.test("a close frame is read with its status code and reason, and nothing after it", () => {
  const reader = new FrameReader();
  const read = readChunks([
    concat(
      clientFrame(OPCODE.text, "last"),
      encodeFrame(OPCODE.close, encodeCloseFrame(4000, "done").subarray(2), { mask: true }),
      clientFrame(OPCODE.text, "ignored"),
    ),
  ], reader);
  assert.equal(read.text, "last\n");
  assert.deepEqual(read.close, { code: 4000, reason: "done" });
  assert.ok(reader.done);
  assert.deepEqual(readChunks([clientFrame(OPCODE.close, "")]).close, {
    code: CLOSE_CODE.noStatus,
    reason: "",
  });
});

Deno.test("a 100 MB message in 64 KiB chunks streams through a reader that holds only a header", () => {
  // One fragmented message: 1 MiB fragments of 1 KiB lines, then an empty last one.
  const line = "x".repeat(1023) + "\n";
  const fragment = encoder.encode(line.repeat(1024));
  const fragments = 100;
  const stream = concat(
    clientFrame(OPCODE.text, fragment, false),
    ...Array.from(
      { length: fragments - 1 },
      () => clientFrame(OPCODE.continuation, fragment, false),
    ),
    clientFrame(OPCODE.continuation, ""),
  );
  const reader = new FrameReader();
  let passed = 0;
  let views = 0;
  let chunks = 0;
  let last = 0;
  for (const piece of cut(stream, 64 * 1024)) {
    const chunk = piece.slice();
    const { text, failure } = reader.read(chunk);
    assert.equal(failure, null);
    if (text.buffer === chunk.buffer) views++;
    chunks++;
    passed += text.length;
    if (text.length > 0) last = text[text.length - 1]!;
    assert.ok(text.every((byte) => byte === 0x78 || byte === 0x0a));
    assert.ok(reader.bufferedBytes <= MAX_HEADER_BYTES, `held ${reader.bufferedBytes}`);
  }
  assert.equal(passed, fragments * fragment.length);
  assert.equal(last, 0x0a);
  // Passed on in place, not copied or assembled.
  assert.equal(views, chunks);
});

Deno.test("a server frame uses the shortest length field, unmasked", () => {
  for (const [length, header] of [[0, 2], [125, 2], [126, 4], [65_535, 4], [65_536, 10]]) {
    const frame = encodeTextFrame(new Uint8Array(length!));
    assert.equal(frame.length, length! + header!);
    assert.equal(frame[0], 0x81);
    assert.equal(frame[1]! & 0x80, 0);
  }
  // A long reason is cut to fit, between characters.
  const close = encodeCloseFrame(1000, "é".repeat(100));
  assert.equal(close.length, 2 + 2 + 122);
  new TextDecoder("utf-8", { fatal: true }).decode(close.subarray(4));
  assert.equal(encodeCloseFrame(1000, "x".repeat(200)).length, 2 + 125);
});

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

Deno.test("a control frame cut across chunks keeps its payload, and a ping's payload is its own copy", () => {
  const reader = new FrameReader();
  const frame = encodeFrame(OPCODE.ping, new TextEncoder().encode("hello"), { mask: true });
  assert.equal(reader.read(frame.slice(0, 8)).ping, null);
  assert.equal(reader.bufferedBytes, 2);
  const { ping } = reader.read(frame.slice(8));
  assert.equal(new TextDecoder().decode(ping as Uint8Array), "hello");
  assert.equal(reader.bufferedBytes, 0);
  reader.read(encodeFrame(OPCODE.ping, new TextEncoder().encode("later"), { mask: true }));
  assert.equal(new TextDecoder().decode(ping as Uint8Array), "hello");
});
