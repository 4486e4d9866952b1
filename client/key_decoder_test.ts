/** Tests of {@linkcode KeyDecoder}: the bytes a terminal sends, split anywhere, as keys. */

import assert from "node:assert/strict";
import { type Key, KeyDecoder } from "./key_decoder.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

/** Runs of text joined, since where text is cut into keys depends on the chunks. */
function joined(keys: Key[]): Key[] {
  const out: Key[] = [];
  for (const key of keys) {
    const last = out.at(-1);
    if (key.type === "text" && last?.type === "text") last.text += key.text;
    else out.push(key.type === "text" ? { ...key } : key);
  }
  return out;
}

function decode(...chunks: string[]): Key[] {
  const decoder = new KeyDecoder();
  return chunks.flatMap((chunk) => decoder.feed(bytes(chunk)));
}

const test = (name: string, fn: () => void) =>
  Deno.test({ name, fn, sanitizeOps: true, sanitizeResources: true });

test("consecutive printable characters are one text key, UTF-8 included", () => {
  assert.deepEqual(decode("héllo 漢字 👋🏽"), [{ type: "text", text: "héllo 漢字 👋🏽" }]);
});

test("CR, LF and CRLF are each one Enter; CR CR and LF LF are two", () => {
  assert.deepEqual(decode("a\rb\nc\r\nd"), [
    { type: "text", text: "a" },
    { type: "enter" },
    { type: "text", text: "b" },
    { type: "enter" },
    { type: "text", text: "c" },
    { type: "enter" },
    { type: "text", text: "d" },
  ]);
  assert.deepEqual(decode("\r\r\n\n"), [{ type: "enter" }, { type: "enter" }, { type: "enter" }]);
});

test("a CRLF split between chunks is still one Enter", () => {
  assert.deepEqual(decode("a\r", "\nb"), [
    { type: "text", text: "a" },
    { type: "enter" },
    { type: "text", text: "b" },
  ]);
});

test("control bytes are keys: Backspace, Tab and the Ctrl letters", () => {
  const controls: [string, Key][] = [
    ["\x7f", { type: "backspace" }],
    ["\x08", { type: "backspace" }],
    ["\t", { type: "tab" }],
    ["\x01", { type: "ctrl-a" }],
    ["\x02", { type: "ctrl-b" }],
    ["\x03", { type: "ctrl-c" }],
    ["\x04", { type: "ctrl-d" }],
    ["\x05", { type: "ctrl-e" }],
    ["\x06", { type: "ctrl-f" }],
    ["\x0b", { type: "ctrl-k" }],
    ["\x0c", { type: "ctrl-l" }],
    ["\x0e", { type: "ctrl-n" }],
    ["\x10", { type: "ctrl-p" }],
    ["\x15", { type: "ctrl-u" }],
    ["\x17", { type: "ctrl-w" }],
    ["\x19", { type: "ctrl-y" }],
  ];
  for (const [input, key] of controls) {
    assert.deepEqual(decode(input), [key], JSON.stringify(input));
  }
});

test("other control bytes are ignored, never inserted", () => {
  assert.deepEqual(decode("a\x00\x07\x0f\x1a\x1cb"), [{ type: "text", text: "ab" }]);
});

test("escape sequences are keys: arrows, Home, End, Delete, word moves, Alt keys", () => {
  const sequences: [string, Key][] = [
    ["\x1b[A", { type: "up" }],
    ["\x1b[B", { type: "down" }],
    ["\x1b[C", { type: "right" }],
    ["\x1b[D", { type: "left" }],
    ["\x1bOA", { type: "up" }],
    ["\x1bOB", { type: "down" }],
    ["\x1bOC", { type: "right" }],
    ["\x1bOD", { type: "left" }],
    ["\x1b[H", { type: "home" }],
    ["\x1b[F", { type: "end" }],
    ["\x1bOH", { type: "home" }],
    ["\x1bOF", { type: "end" }],
    ["\x1b[1~", { type: "home" }],
    ["\x1b[7~", { type: "home" }],
    ["\x1b[4~", { type: "end" }],
    ["\x1b[8~", { type: "end" }],
    ["\x1b[3~", { type: "delete" }],
    ["\x1b[1;5D", { type: "ctrl-left" }],
    ["\x1b[1;5C", { type: "ctrl-right" }],
    ["\x1b[1;3D", { type: "ctrl-left" }],
    ["\x1b[1;2C", { type: "right" }],
    ["\x1b[1;5A", { type: "up" }],
    ["\x1bOd", { type: "ctrl-left" }],
    ["\x1bOc", { type: "ctrl-right" }],
    ["\x1bb", { type: "alt-b" }],
    ["\x1bf", { type: "alt-f" }],
    ["\x1b\x7f", { type: "alt-backspace" }],
    ["\x1b\x08", { type: "alt-backspace" }],
  ];
  for (const [input, key] of sequences) {
    assert.deepEqual(decode(input), [key], JSON.stringify(input));
  }
});

test("unknown CSI and SS3 sequences are swallowed whole", () => {
  assert.deepEqual(decode("a\x1b[5~b\x1b[15;2~c\x1bOPd\x1b[<0;12;5Me\x1b[?1;2cf\x1b[Zg"), [
    { type: "text", text: "abcdefg" },
  ]);
});

test("an overlong sequence is swallowed whole, its parameters never inserted", () => {
  assert.deepEqual(decode(`a\x1b[${"1;".repeat(5000)}Ab`), [{ type: "text", text: "ab" }]);
});

test("Alt with another letter is swallowed; ESC before a control leaves the control", () => {
  assert.deepEqual(decode("a\x1bxb\x1b\r"), [{ type: "text", text: "ab" }, { type: "enter" }]);
});

test("a sequence cut short by a control byte is dropped and the byte counts", () => {
  assert.deepEqual(decode("\x1b[1\x03"), [{ type: "ctrl-c" }]);
});

test("a lone ESC waits for the next chunk: ESC then [A is still Up", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed(bytes("a\x1b")), [{ type: "text", text: "a" }]);
  assert.deepEqual(decoder.pending, true);
  assert.deepEqual(decoder.feed(bytes("[A")), [{ type: "up" }]);
  assert.deepEqual(decoder.pending, false);
});

test("flush makes a pending lone ESC the Escape key, once", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed(bytes("\x1b")), []);
  assert.deepEqual(decoder.flush(), [{ type: "escape" }]);
  assert.deepEqual(decoder.flush(), []);
  assert.deepEqual(decoder.feed(bytes("b")), [{ type: "text", text: "b" }]);
});

test("flush drops an unfinished sequence; ESC ESC is Escape and a pending ESC", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed(bytes("\x1b[1;")), []);
  assert.deepEqual(decoder.flush(), []);
  assert.deepEqual(decoder.feed(bytes("5Dx")), [{ type: "text", text: "5Dx" }]);
  assert.deepEqual(decoder.feed(bytes("\x1b\x1b")), [{ type: "escape" }]);
  assert.deepEqual(decoder.flush(), [{ type: "escape" }]);
});

test("a bracketed paste is one key, newlines kept as \\n whatever was sent", () => {
  assert.deepEqual(decode("x\x1b[200~one\rtwo\r\nthree\n\x1b[201~y"), [
    { type: "text", text: "x" },
    { type: "paste", text: "one\ntwo\nthree\n" },
    { type: "text", text: "y" },
  ]);
});

test("a paste keeps control bytes, escape sequences and a near miss of its end", () => {
  assert.deepEqual(decode("\x1b[200~a\tb\x1b[A\x1b[201\x1b[20~c\x03\x1b[201~"), [
    { type: "paste", text: "a\tb\x1b[A\x1b[201\x1b[20~c\x03" },
  ]);
});

test("a paste over the limit is cut at a character boundary and reading goes on", () => {
  const decoder = new KeyDecoder({ maxPasteBytes: 8 });
  assert.deepEqual(decoder.feed(bytes("\x1b[200~abcdefé漢xyz")), []);
  assert.deepEqual(decoder.feed(bytes("\x1b[201~ok")), [
    { type: "paste", text: "abcdefé", cut: true },
    { type: "text", text: "ok" },
  ]);
  // "abcdefg" + "漢" is 10 bytes: the limit falls inside 漢, which is left out whole.
  assert.deepEqual(
    new KeyDecoder({ maxPasteBytes: 9 }).feed(bytes("\x1b[200~abcdefg漢\x1b[201~")),
    [
      { type: "paste", text: "abcdefg", cut: true },
    ],
  );
});

test("a paste of 1 MiB and more keeps 1 MiB and the keys after it", () => {
  const decoder = new KeyDecoder();
  const big = "a".repeat(1024 * 1024 + 10);
  const keys = [
    ...decoder.feed(bytes("\x1b[200~")),
    ...decoder.feed(bytes(big)),
    ...decoder.feed(bytes("\x1b[201~\r")),
  ];
  assert.deepEqual(keys.length, 2);
  assert.deepEqual(keys[0], { type: "paste", text: "a".repeat(1024 * 1024), cut: true });
  assert.deepEqual(keys[1], { type: "enter" });
});

test("a UTF-8 character split between chunks is decoded whole", () => {
  const data = bytes("é漢👋");
  const decoder = new KeyDecoder();
  const keys = [...data].flatMap((byte) => decoder.feed(new Uint8Array([byte])));
  assert.deepEqual(joined(keys), [{ type: "text", text: "é漢👋" }]);
});

test("a control byte inside a UTF-8 character makes it U+FFFD, as TextDecoder does", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed(new Uint8Array([0x61, 0xe6, 0xbc])), [{ type: "text", text: "a" }]);
  assert.deepEqual(decoder.feed(new Uint8Array([0x0d])), [
    { type: "text", text: "\ufffd" },
    { type: "enter" },
  ]);
});

test("C1 controls typed as UTF-8 are not inserted", () => {
  assert.deepEqual(decode("a\u009bb\u0085c"), [{ type: "text", text: "abc" }]);
});

const MIXED = "hé漢\x1b[A\r\nx\x1b[1;5D\x1bb\x1b\x7f\x1bOH\x1b[3~\x1b[15~\t\x17" +
  "\x1b[200~p1\r\np2 é\x1b[201~\x1b[4~👋🏽\x7f\n\x03";
const MIXED_KEYS: Key[] = [
  { type: "text", text: "hé漢" },
  { type: "up" },
  { type: "enter" },
  { type: "text", text: "x" },
  { type: "ctrl-left" },
  { type: "alt-b" },
  { type: "alt-backspace" },
  { type: "home" },
  { type: "delete" },
  { type: "tab" },
  { type: "ctrl-w" },
  { type: "paste", text: "p1\np2 é" },
  { type: "end" },
  { type: "text", text: "👋🏽" },
  { type: "backspace" },
  { type: "enter" },
  { type: "ctrl-c" },
];

test("a mixed input decodes the same when split in two at every byte", () => {
  const data = bytes(MIXED);
  assert.deepEqual(new KeyDecoder().feed(data), MIXED_KEYS);
  for (let cut = 0; cut <= data.length; cut++) {
    const decoder = new KeyDecoder();
    const keys = [...decoder.feed(data.subarray(0, cut)), ...decoder.feed(data.subarray(cut))];
    assert.deepEqual(joined(keys), MIXED_KEYS, `cut at byte ${cut}`);
  }
});

test("a mixed input decodes the same when split in three anywhere, or byte by byte", () => {
  const data = bytes(MIXED);
  for (let first = 0; first <= data.length; first++) {
    for (let second = first; second <= data.length; second++) {
      const decoder = new KeyDecoder();
      const keys = [
        ...decoder.feed(data.subarray(0, first)),
        ...decoder.feed(data.subarray(first, second)),
        ...decoder.feed(data.subarray(second)),
      ];
      assert.deepEqual(joined(keys), MIXED_KEYS, `cut at bytes ${first} and ${second}`);
    }
  }
  const decoder = new KeyDecoder();
  const keys = [...data].flatMap((byte) => decoder.feed(new Uint8Array([byte])));
  assert.deepEqual(joined(keys), MIXED_KEYS);
});
