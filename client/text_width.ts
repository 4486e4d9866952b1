/**
 * How many columns text takes in a terminal, so that a line editor can put
 * the cursor where the terminal will show it:
 *
 * ```ts
 * import { graphemes, textWidth } from "./text_width.ts";
 *
 * textWidth("漢字 ok"); // 7
 * graphemes("e\u0301👨‍👩‍👧"); // ["é", "👨‍👩‍👧"]
 * ```
 *
 * The widths are the ones xterm, VTE and tmux give (wcwidth-style), not what
 * a font happens to draw. Each code point takes one column, except:
 *
 * - 2 for East_Asian_Width W (wide) or F (fullwidth): CJK, Hangul syllables,
 *   fullwidth forms, most emoji;
 * - 0 for the C0 and C1 controls, the marks that combine with the character
 *   before them (General_Category Mn, Me), format characters (Cf: the
 *   zero-width space and joiners, the bidi controls, the word joiner, U+FEFF…)
 *   and the Hangul medial and final jamo (U+1160-U+11FF, U+D7B0-U+D7FF),
 *   which join the initial jamo before them into one syllable. The soft hyphen
 *   U+00AD and the prepended concatenation marks (U+0600 ARABIC NUMBER SIGN…)
 *   are format characters that show: one column, as glibc's `wcwidth`
 *   (which tmux and VTE use) and Markus Kuhn's have it.
 *
 * A grapheme (what a reader sees as one character) takes the columns of its
 * code points added up, so a base and its combining marks take the base's.
 * Where a grapheme holds more than one spacing code point, they still add up:
 * a Devanagari conjunct such as `क्ष` (KA, VIRAMA, SSA) and a consonant with a
 * spacing vowel sign such as `कि` take 2, and Thai `กำ` (with SARA AM) takes 2,
 * because xterm, VTE and tmux give each spacing code point a cell of its own
 * (tmux's `screen_write_combine` joins only zero-width characters, emoji
 * sequences and Hangul jamo to the cell before).
 *
 * An emoji sequence takes 2 whatever it holds, as in tmux (whose option
 * `variation-selector-always-wide` is on by default): a pair of regional
 * indicators (a flag), an emoji followed by U+FE0F (`❤️`, and the keycaps
 * such as `1️⃣`), a ZWJ sequence that starts with a pictograph (`👨‍👩‍👧`), an
 * emoji modifier sequence (`👍🏽`), and any grapheme that starts with an
 * emoji of emoji presentation. A regional indicator alone takes 1, as in tmux.
 *
 * The tables come from the Unicode Character Database by way of
 * `unicode_width_data.ts`, which `tools/gen_unicode_data.ts` writes.
 *
 * @module
 */

import { WIDE, ZERO_WIDTH } from "../generated/unicode_width_data.ts";

/** Reads a table of `unicode_width_data.ts` into `[first, last, first, last, …]`. */
function parseRanges(table: string): Uint32Array {
  const entries = table.trim().split(" ");
  const ranges = new Uint32Array(entries.length * 2);
  entries.forEach((entry, i) => {
    const [first, last] = entry.split("-") as [string, string?];
    ranges[2 * i] = parseInt(first, 16);
    ranges[2 * i + 1] = parseInt(last ?? first, 16);
  });
  return ranges;
}

const ZERO_WIDTH_RANGES = parseRanges(ZERO_WIDTH);
const WIDE_RANGES = parseRanges(WIDE);

/** Whether `cp` is in one of the sorted, disjoint `ranges`: a binary search. */
function inRanges(ranges: Uint32Array, cp: number): boolean {
  let low = 0;
  let high = ranges.length / 2 - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (cp < (ranges[2 * middle] as number)) high = middle - 1;
    else if (cp > (ranges[2 * middle + 1] as number)) low = middle + 1;
    else return true;
  }
  return false;
}

/** Columns one code point takes by the tables: 0, 1 or 2. */
function codePointWidth(cp: number): number {
  if (cp >= 0x20 && cp < 0x7f) return 1;
  if (inRanges(ZERO_WIDTH_RANGES, cp)) return 0;
  return inRanges(WIDE_RANGES, cp) ? 2 : 1;
}

const SEGMENTER = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const VARIATION_SELECTOR_16 = "\uFE0F";
const ZERO_WIDTH_JOINER = "\u200D";
/** The lowest code point of Emoji_Presentation, below which none is. */
const FIRST_EMOJI_PRESENTATION = 0x231a;
const FIRST_REGIONAL_INDICATOR = 0x1f1e6;
const LAST_REGIONAL_INDICATOR = 0x1f1ff;
const STARTS_EMOJI = /^[\p{Emoji}\p{Extended_Pictographic}]/u;
const STARTS_EMOJI_PRESENTATION = /^\p{Emoji_Presentation}/u;
const STARTS_PICTOGRAPH = /^\p{Extended_Pictographic}/u;
const STARTS_MODIFIER_SEQUENCE = /^\p{Emoji_Modifier_Base}\p{Emoji_Modifier}/u;

function isRegionalIndicator(cp: number | undefined): boolean {
  return cp !== undefined && cp >= FIRST_REGIONAL_INDICATOR && cp <= LAST_REGIONAL_INDICATOR;
}

/** Whether a grapheme of more than one code point is shown as one emoji, two columns wide. */
function isEmojiSequence(grapheme: string, first: number): boolean {
  if (isRegionalIndicator(first)) return isRegionalIndicator(grapheme.codePointAt(2));
  if (grapheme.includes(VARIATION_SELECTOR_16) && STARTS_EMOJI.test(grapheme)) return true;
  if (grapheme.includes(ZERO_WIDTH_JOINER) && STARTS_PICTOGRAPH.test(grapheme)) return true;
  if (first < FIRST_EMOJI_PRESENTATION) return false;
  return STARTS_EMOJI_PRESENTATION.test(grapheme) || STARTS_MODIFIER_SEQUENCE.test(grapheme);
}

/**
 * The user-perceived characters of `text` (Intl.Segmenter, grapheme granularity).
 *
 * @param text Any text.
 * @returns Its graphemes in order; joined, they are `text` again.
 *
 * @example A family emoji is one grapheme
 * ```ts
 * import assert from "node:assert/strict";
 * import { graphemes } from "./text_width.ts";
 *
 * assert.deepEqual(graphemes("a👨‍👩‍👧e\u0301"), ["a", "👨‍👩‍👧", "e\u0301"]);
 * ```
 */
export function graphemes(text: string): string[] {
  return Array.from(SEGMENTER.segment(text), ({ segment }) => segment);
}

/**
 * Columns one grapheme takes in a terminal: 0, 1 or 2, and more for a
 * grapheme of more than two spacing code points, such as the Devanagari
 * conjunct `स्त्र` (3), since the terminal gives each of them a cell.
 *
 * @param grapheme One grapheme, as {@linkcode graphemes} gives them.
 * @returns Its width in columns; 0 for `""`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { graphemeWidth } from "./text_width.ts";
 *
 * assert.equal(graphemeWidth("e\u0301"), 1);
 * assert.equal(graphemeWidth("漢"), 2);
 * assert.equal(graphemeWidth("❤"), 1);
 * assert.equal(graphemeWidth("❤\uFE0F"), 2);
 * assert.equal(graphemeWidth("\u200B"), 0);
 * ```
 */
export function graphemeWidth(grapheme: string): number {
  const first = grapheme.codePointAt(0);
  if (first === undefined) return 0;
  if (grapheme.length === (first > 0xffff ? 2 : 1)) {
    const width = codePointWidth(first);
    // The tables already make every emoji of emoji presentation wide; this
    // keeps the rule should the runtime know emoji newer than the tables.
    if (
      width === 1 && first >= FIRST_EMOJI_PRESENTATION && !isRegionalIndicator(first) &&
      STARTS_EMOJI_PRESENTATION.test(grapheme)
    ) {
      return 2;
    }
    return width;
  }
  if (isEmojiSequence(grapheme, first)) return 2;
  let width = 0;
  for (const character of grapheme) width += codePointWidth(character.codePointAt(0) as number);
  return width;
}

/**
 * Columns `text` takes in a terminal: the sum over its graphemes. Control
 * characters are not expected; they count 0 (a tab or a newline moves the
 * cursor in ways no width says).
 *
 * @param text One line of text.
 * @returns Its width in columns; for printable ASCII, its length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textWidth } from "./text_width.ts";
 *
 * assert.equal(textWidth("hello"), 5);
 * assert.equal(textWidth("漢字 ok"), 7);
 * assert.equal(textWidth("🇫🇷 1️⃣"), 5);
 * ```
 */
export function textWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let width = 0;
  for (const { segment } of SEGMENTER.segment(text)) width += graphemeWidth(segment);
  return width;
}
