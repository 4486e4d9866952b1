import assert from "node:assert/strict";
import {
  cleanNickname,
  cleanText,
  isQuitWord,
  isSingleScript,
  LINE_TOO_LONG,
  LineFramer,
  MAX_COMBINING_MARKS,
  nameKeys,
  readLines,
  removeEscapes,
  sameName,
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
  assert.deepEqual(cleanText("cleared\x00\x7f\x85"), "cleared");
  assert.deepEqual(cleanText(" \t \x07 "), "");
  assert.deepEqual(cleanText("naïve ✓ 日本"), "naïve ✓ 日本");
});

Deno.test("cleanText removes whole escape sequences, not just their ESC", () => {
  assert.deepEqual(cleanText("\x1b[2Jcleared"), "cleared", "CSI");
  assert.deepEqual(cleanText("\x1b]0;title\x07after"), "after", "OSC ended by BEL");
  assert.deepEqual(
    cleanText("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"),
    "link",
    "OSC ended by ESC \\",
  );
  assert.deepEqual(cleanText("a\x1bPq#0;2;0;0;0\x1b\\b"), "ab", "DCS");
  assert.deepEqual(cleanText("\x1b[1;31mred\x1b[0m \x1b(Bplain\x1bc"), "red plain", "SGR, nF, RIS");
  assert.deepEqual(cleanText("\x9b2Jcleared \x9d0;title\x9c"), "cleared", "8-bit CSI and OSC");
  assert.deepEqual(
    cleanText("before \x1b]0;never ended"),
    "before",
    "an unended string runs to the end",
  );
  assert.deepEqual(
    cleanText("\x1b[2J\x1b]0;title\x07\x1b[H"),
    "",
    "a line of escapes only is empty",
  );
});

Deno.test("removeEscapes takes out escape sequences and leaves the rest for the caller", () => {
  assert.deepEqual(removeEscapes("\x1b[2J\x1b]0;title\x07hi\tthere\x07"), "hi\tthere\x07");
  assert.deepEqual(removeEscapes("no escapes here"), "no escapes here");
});

Deno.test("cleanText removes bidi controls and zero-width characters", () => {
  const bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c";
  assert.deepEqual(cleanText(`a${bidi}b`), "ab");
  assert.deepEqual(cleanText("\u202egnp.exe"), "gnp.exe", "no right-to-left override");
  assert.deepEqual(cleanText("z\u200bw\u2060s\ufeffp a\u2062b"), "zwsp ab");
  assert.deepEqual(cleanText("\u200b\ufeff\u200e"), "", "nothing visible is an empty line");
});

Deno.test("cleanText keeps a ZWJ or ZWNJ only where a script or an emoji needs it", () => {
  const family = "\u{1f468}\u200d\u{1f469}\u200d\u{1f467}";
  assert.deepEqual(cleanText(`${family} is one emoji`), `${family} is one emoji`);
  const rainbowFlag = "\u{1f3f3}\ufe0f\u200d\u{1f308}";
  const womanTechnologist = "\u{1f469}\u{1f3fd}\u200d\u{1f4bb}";
  assert.deepEqual(
    cleanText(`${rainbowFlag} ${womanTechnologist}`),
    `${rainbowFlag} ${womanTechnologist}`,
  );
  const persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"; // "I want"
  assert.deepEqual(cleanText(persian), persian);
  const devanagari = "\u0915\u094d\u200c\u0937"; // ka, virama, ZWNJ, ssa: no conjunct
  assert.deepEqual(cleanText(devanagari), devanagari);
  const sinhala = "\u0dc1\u0dca\u200d\u0dbb\u0dd3"; // Sri, with the ZWJ its ligature needs
  assert.deepEqual(cleanText(sinhala), sinhala);
  assert.deepEqual(cleanText("pay\u200dpal pay\u200cpal"), "paypal paypal", "Latin needs neither");
  assert.deepEqual(cleanText("\u200d\u{1f468} \u{1f468}\u200d x\u200c"), "\u{1f468} \u{1f468} x");
  assert.deepEqual(cleanText("\u0627\u200c\u0628"), "\u0627\u0628", "alef joins nothing after it");
});

Deno.test("cleanText looks at each joiner in constant time, even after a long run of marks", () => {
  // Ten times the longest line: a joiner that looked back over every earlier mark took seconds.
  for (
    const line of [
      "\u0628" + "\u064e\u200c".repeat(13_000),
      "\u{1f468}" + "\ufe0f\u200d".repeat(13_000),
    ]
  ) {
    const start = performance.now();
    cleanText(line);
    const ms = performance.now() - start;
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
  }
});

Deno.test("cleanText turns line and paragraph separators into spaces", () => {
  assert.deepEqual(cleanText("one\u2028two\u2029three"), "one two three");
  assert.deepEqual(cleanText("\u2028 end \u2029"), "end");
});

Deno.test("cleanText keeps at most a few combining marks on one character", () => {
  const acute = "\u0301";
  assert.deepEqual(
    cleanText("e" + acute.repeat(500) + "x"),
    "e" + acute.repeat(MAX_COMBINING_MARKS) + "x",
  );
  assert.deepEqual(cleanText("a\u0301\u0323\u0302 Vi\u1ec7t"), "a\u0301\u0323\u0302 Vi\u1ec7t");
  const zalgo = "h\u0336\u0337\u0338\u0339\u033a\u033bi";
  assert.deepEqual(cleanText(zalgo), "h\u0336\u0337\u0338\u0339i");
  assert.deepEqual(
    cleanText("o\u0301\u200b\u0301\u0301\u0301\u0301"),
    "o" + acute.repeat(4),
    "runs joined by removal",
  );
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
  assert.deepEqual(cleanNickname("SERVER"), "guest");
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
  const taken = ["alice", "alice2", "bob"];
  const isTaken = (candidate: string) => taken.some((name) => sameName(name, candidate));
  assert.deepEqual(uniqueName("carol", isTaken), "carol");
  assert.deepEqual(uniqueName("ALICE", isTaken), "ALICE3");
  assert.deepEqual(uniqueName("Bob", isTaken), "Bob2");
  const long = "y".repeat(24);
  assert.deepEqual(uniqueName(long, (candidate) => candidate === long), "y".repeat(23) + "2");
});

Deno.test("lookalike names count as the same name and get a number", () => {
  const isTaken = (candidate: string) => sameName("alice", candidate);
  for (const lookalike of ["al\u0131ce", "\u0251lice", "aIice", "ALICE", "Alice", "\u1d00lice"]) {
    assert.ok(sameName(lookalike, "alice"), lookalike);
    assert.deepEqual(uniqueName(lookalike, isTaken), lookalike + "2");
  }
  assert.deepEqual(uniqueName("al\u0131ce", isTaken), "al\u0131ce2", "dotless i");
  assert.ok(!sameName("alice", "bob") && !sameName("alice", "alice2"));
});

Deno.test("names are the same by skeleton as typed or by skeleton lower-cased, never across the two", () => {
  assert.ok(sameName("ALICE", "alice"), "case alone");
  assert.ok(sameName("aIice", "alice"), "capital I looks like l as typed");
  assert.ok(sameName("aIice", "aiice"), "and lower-cases to i");
  // aIice's typed skeleton is alice, ALICE's lower-cased one is alice too: not the same name.
  assert.ok(!sameName("aIice", "ALICE"));
  const [typed, lower] = nameKeys("aIice");
  assert.ok(!nameKeys("ALICE").includes(typed) && !nameKeys("ALICE").includes(lower));
  assert.deepEqual(nameKeys("\uff41lice"), nameKeys("alice"), "NFKC first: full-width a");
});

Deno.test("the server's name is reserved in every case and as small capitals", () => {
  const smallCapitals = "\ua731\u1d07\u0280\u1d20\u1d07\u0280"; // ꜱᴇʀᴠᴇʀ
  for (const name of ["server", "SERVER", "sErver", smallCapitals, "s\u1d07rv\u1d07r"]) {
    assert.deepEqual(cleanNickname(name), "guest", name);
  }
  assert.deepEqual(cleanNickname("servers"), "servers");
});

Deno.test("an all-Cyrillic lookalike of alice is not caught: its skeleton is aiice", () => {
  const cyrillic = "\u0430\u04cf\u0456\u0441\u0435"; // а ӏ і с е
  assert.deepEqual(cleanNickname(cyrillic), cyrillic, "one script, so allowed");
  assert.ok(!sameName(cyrillic, "alice"));
  assert.ok(sameName(cyrillic, "aiice"));
  assert.deepEqual(uniqueName(cyrillic, (candidate) => sameName("alice", candidate)), cyrillic);
});
