import assert from "node:assert/strict";
import {
  acceptKey,
  CLOSE_CODE,
  encodeCloseFrame,
  encodeFrame,
  encodeTextFrame,
  type FrameChunk,
  FrameReader,
  MAX_CONTROL_PAYLOAD_BYTES,
  MAX_HEADER_BYTES,
  OPCODE,
} from "./websocket_frames.ts";

import { clientFrame, concat } from "../test/websocket_test_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
