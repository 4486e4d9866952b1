import assert from "node:assert/strict";
import {
  cleanNickname,
  cleanText,
  isQuitWord,
  isSingleScript,
  LINE_TOO_LONG,
  LineFramer,
  readLines,
  uniqueName,
} from "./protocol.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Feeds the chunks one by one and returns every line (or "TOO LONG") in order. */
function frame(chunks: (string | Uint8Array)[], max = 64): string[] {
  const framer = new LineFramer(max);
  const out: string[] = [];
  for (const chunk of chunks) {
    framer.feed(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
    for (let line = framer.next(); line !== null; line = framer.next()) {
      out.push(line === LINE_TOO_LONG ? "TOO LONG" : decoder.decode(line));
    }
  }
  return out;
}

Deno.test("framer splits many lines in one chunk and joins a line split across chunks", () => {
  assert.deepEqual(frame(["one\ntwo\nthr", "ee\n", "\n", "fo", "u", "r\n"]), [
    "one",
    "two",
    "three",
    "",
    "four",
  ]);
});

Deno.test("framer drops the \\r of \\r\\n, also when the pair is split across chunks", () => {
  assert.deepEqual(frame(["a\r\nb\r", "\nc\rd\n"]), ["a", "b", "c\rd"]);
});

Deno.test("framer keeps a multi-byte character split across chunks intact", () => {
  const bytes = encoder.encode("héllo ✓\n");
  assert.deepEqual(frame([bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)]), [
    "héllo ✓",
  ]);
});

Deno.test("framer accepts a line of exactly the limit, with or without \\r", () => {
  const line = "x".repeat(64);
  assert.deepEqual(frame([line + "\n", line + "\r\n", line + "x\n"]), [line, line, "TOO LONG"]);
  assert.deepEqual(frame([line.slice(0, 30), line.slice(30) + "\r", "\n"]), [line]);
});

Deno.test("framer reports an over-long line once and goes on with the next line", () => {
  assert.deepEqual(frame(["x".repeat(40), "y".repeat(40), "z".repeat(40), "\nnext\n"]), [
    "TOO LONG",
    "next",
  ]);
  assert.deepEqual(frame(["x".repeat(100) + "\nok\n"]), ["TOO LONG", "ok"]);
  assert.deepEqual(frame(["x".repeat(50), "y".repeat(50) + "\nok\n"]), ["TOO LONG", "ok"]);
});

Deno.test("framer never holds more than the limit, even for a gigabyte line with no newline", () => {
  const framer = new LineFramer(4096);
  const chunk = new Uint8Array(64 * 1024).fill(0x41);
  let reports = 0;
  for (let fed = 0; fed < 1024 ** 3; fed += chunk.length) {
    framer.feed(chunk);
    for (let line = framer.next(); line !== null; line = framer.next()) {
      assert.ok(line === LINE_TOO_LONG);
      reports++;
    }
    assert.ok(framer.bufferedBytes <= 4097, `held ${framer.bufferedBytes} bytes`);
  }
  framer.feed(encoder.encode("\nafter\n"));
  const after = framer.next();
  assert.ok(after instanceof Uint8Array);
  assert.deepEqual(decoder.decode(after), "after");
  assert.deepEqual(reports, 1);
});

Deno.test("framer passes NUL bytes and empty lines through for the text rules to handle", () => {
  assert.deepEqual(frame(["a\0b\n\n\r\n"]), ["a\0b", "", ""]);
});

Deno.test("framer rejects a limit that is not a positive whole number", () => {
  let message = "";
  try {
    new LineFramer(0);
  } catch (error) {
    message = (error as Error).message;
  }
  assert.ok(message.includes("maxLineBytes"), message);
});

Deno.test("readLines decodes invalid UTF-8 with replacement characters and yields a last unterminated line", async () => {
  const stream = ReadableStream.from([
    new Uint8Array([0x68, 0x69, 0xff, 0x0a]),
    encoder.encode("ab"),
    encoder.encode("c"),
  ]);
  const lines = [];
  for await (const line of readLines(stream, 16)) lines.push(line);
  assert.deepEqual(lines, ["hi\uFFFD", "abc"]);
});

Deno.test("readLines reports an over-long line and goes on", async () => {
  const stream = ReadableStream.from([encoder.encode("0123456789abcdef!\nok\n")]);
  const lines = [];
  for await (const line of readLines(stream, 16)) lines.push(line);
  assert.deepEqual(lines, [LINE_TOO_LONG, "ok"]);
});

Deno.test("cleanText turns tabs into spaces, removes control characters and trims", () => {
  assert.deepEqual(cleanText("  hello\tworld \r"), "hello world");
  assert.deepEqual(cleanText("\x1b[2Jcleared\x00\x7f\x85\x9b"), "[2Jcleared");
  assert.deepEqual(cleanText(" \t \x07 "), "");
  assert.deepEqual(cleanText("naïve ✓ 日本"), "naïve ✓ 日本");
});

Deno.test("the three quit words end a session and nothing else does", () => {
  for (const word of ["<quit>", "/quit", "{quit}"]) assert.ok(isQuitWord(word));
  for (const word of ["quit", "<quit> now", "<QUIT>x", ""]) assert.ok(!isQuitWord(word));
});

Deno.test("cleanNickname keeps letters, digits, _ - . and cuts to 24 characters", () => {
  assert.deepEqual(cleanNickname("  alice  "), "alice");
  assert.deepEqual(cleanNickname("alice: fake"), "alicefake");
  assert.deepEqual(cleanNickname("bob_the-3rd.jr"), "bob_the-3rd.jr");
  assert.deepEqual(cleanNickname("\x1b[31mred"), "31mred");
  assert.deepEqual(cleanNickname("x".repeat(30)), "x".repeat(24));
  assert.deepEqual(cleanNickname("ö".repeat(30)), "ö".repeat(24));
  assert.deepEqual(cleanNickname("𝒜𝒷𝒸"), "Abc", "NFKC folds styled letters");
  assert.deepEqual(cleanNickname("Ｊｏｈｎ"), "John", "NFKC folds full-width letters");
});

Deno.test("cleanNickname gives guest for empty, reserved and script-mixing names", () => {
  assert.deepEqual(cleanNickname(""), "guest");
  assert.deepEqual(cleanNickname(" :: "), "guest");
  assert.deepEqual(cleanNickname("server"), "guest");
  assert.deepEqual(cleanNickname("SeRvEr"), "guest");
  assert.deepEqual(cleanNickname("\u0430lice"), "guest", "Cyrillic а inside a Latin name");
  assert.deepEqual(cleanNickname("pαypal"), "guest", "Greek α inside a Latin name");
});

Deno.test("cleanNickname keeps single-script names and the mixes languages really use", () => {
  assert.deepEqual(cleanNickname("Алиса"), "Алиса");
  assert.deepEqual(cleanNickname("Αλίκη"), "Αλίκη");
  assert.deepEqual(cleanNickname("山田たろう"), "山田たろう", "Han with Hiragana");
  assert.deepEqual(cleanNickname("カタカナ漢字"), "カタカナ漢字", "Katakana with Han");
  assert.deepEqual(cleanNickname("김철수金"), "김철수金", "Hangul with Han");
  assert.deepEqual(cleanNickname("tokyo東京"), "tokyo東京", "Latin with Han");
  assert.deepEqual(cleanNickname("Алиса2000"), "Алиса2000", "digits are common to all scripts");
  assert.ok(!isSingleScript("한국ひらがな"), "Hangul with Hiragana is not one language's mix");
});

Deno.test("uniqueName appends the smallest free number, ignoring case, within 24 characters", () => {
  const taken = new Set(["alice", "alice2", "bob"]);
  const isTaken = (key: string) => taken.has(key);
  assert.deepEqual(uniqueName("carol", isTaken), "carol");
  assert.deepEqual(uniqueName("ALICE", isTaken), "ALICE3");
  assert.deepEqual(uniqueName("Bob", isTaken), "Bob2");
  const long = "y".repeat(24);
  assert.deepEqual(uniqueName(long, (key) => key === long), "y".repeat(23) + "2");
});
