/**
 * What the chat server and client share: defaults and limits, the bounded
 * line framer, and the rules for message text and nicknames.
 *
 * The wire protocol is plain UTF-8 text lines ending in `\n` (a `\r` before
 * the `\n` is dropped), so `nc 127.0.0.1 2003` is a complete client.
 *
 * @example The rules a server applies to what a member sends
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   chatLine,
 *   cleanNickname,
 *   cleanText,
 *   parseCommand,
 *   sameName,
 *   uniqueName,
 * } from "jsr:@chat/room/protocol";
 *
 * assert.equal(cleanText("  hi \x1b[2Jthere  "), "hi there"); // escapes go whole
 * assert.equal(cleanNickname(" al ice! "), "alice");
 * assert.ok(sameName("alice", "ALICE") && sameName("alice", "aIice")); // case, look-alikes
 * assert.equal(uniqueName("alice", (name) => sameName(name, "alice")), "alice2");
 * assert.deepEqual(parseCommand("/ME waves"), { name: "me", rest: "waves" });
 * assert.equal(parseCommand("//not a command"), null);
 * assert.equal(chatLine("alice", "hello"), "alice: hello");
 * ```
 *
 * @module
 */

import {
  ALSO_TRANSPARENT,
  CONFUSABLE_PROTOTYPES,
  JOINS_NEXT,
  JOINS_PREVIOUS,
  NOT_TRANSPARENT,
  SMALL_CAPITAL_LETTERS,
  VIRAMA,
} from "./generated/unicode_data.ts";

/** Port the server listens on and the client connects to when none is given. */
export const DEFAULT_PORT = 2003;
/** Port the server serves the browser page on when run from the command line. */
export const DEFAULT_WEB_PORT = 8080;
/** The port IRC clients expect (RFC 7194 gives 6697 to TLS; one port serves both here). */
export const DEFAULT_IRC_PORT = 6667;
/** Address the server listens on by default: every IPv4 interface. */
export const DEFAULT_SERVER_HOST = "0.0.0.0";
/** Host the client connects to by default. */
export const DEFAULT_CLIENT_HOST = "127.0.0.1";
/** Connections the server holds at once; more would only share a slower room. */
export const MAX_CLIENTS = 1000;
/** How long a new connection may take to send its nickname before it gets the default one. */
export const NAME_TIMEOUT_MS = 60_000;
/** Longest line accepted, in bytes without the line ending: a long paragraph, far below a flood. */
export const MAX_LINE_BYTES = 4096;
/**
 * Bytes of one line, newline still not in sight, after which the sender is
 * disconnected: no chat line is a megabyte, and reading on would only spend
 * the server's time.
 */
export const MAX_UNFINISHED_LINE_BYTES = 1024 * 1024;
/** Output a member may have waiting before it counts as too slow: about a thousand lines. */
export const MAX_QUEUE_BYTES = 256 * 1024;
/** Longest nickname, in characters: fits a terminal column and a log line. */
export const MAX_NAME_LENGTH = 24;
/** Name given when the requested one is empty, reserved or mixes scripts. */
export const DEFAULT_NAME = "guest";
/** Names nobody may take, nor any {@linkcode sameName} as one, so nobody can pose as the server. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(["server"]);
/** Lines that end a session: ours, and the ones the original coursework clients send. */
export const QUIT_WORDS: ReadonlySet<string> = new Set([
  "<quit>",
  "/quit",
  "{quit}",
]);
/** The word the client sends to leave. */
export const QUIT_WORD = "<quit>";
/** Public lines a newcomer is shown: enough to pick up a conversation. */
export const HISTORY_LINES = 20;
/** Most history lines the server may be told to keep. */
export const MAX_HISTORY_LINES = 10_000;
/** Lines per second a member may send over time; faster lines wait, none are lost. */
export const RATE_LINES_PER_S = 10;
/** Lines a member may send at once, so a pasted block goes through unpaced. */
export const RATE_BURST = 50;
/**
 * Combining marks kept on one character: Vietnamese needs two, pointed Hebrew
 * and Indic syllables three or four; a hundred only pile up over other lines.
 */
export const MAX_COMBINING_MARKS = 4;
/** Connections from one address (loopback exempt): a household, not a botnet. */
export const MAX_PER_IP = 16;
/**
 * Room size up to which joins and leaves are announced: beyond it they are
 * noise (and cost every member a line per arrival); /who still lists everyone.
 */
export const ANNOUNCE_LIMIT = 100;
/** Delay before a wrong password is answered, so guessing is slow. */
export const WRONG_PASSWORD_DELAY_MS = 1000;
/** Time a TLS handshake may take before the connection is closed. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long the client connects for by default, in seconds. */
export const CONNECT_TIMEOUT_S = 5;

/** Returned by {@linkcode LineFramer.next} once for every line longer than the limit. */
export const LINE_TOO_LONG: unique symbol = Symbol("line too long");

const LF = 0x0a;
/** One empty chunk for every framer to start with: idle connections are many. */
const EMPTY = new Uint8Array(0);
const CR = 0x0d;

/**
 * Splits a byte stream into lines, holding at most `maxLineBytes + 1` bytes of
 * an unfinished line however long the line grows. Feed it one chunk, then call
 * {@linkcode LineFramer.next} until it returns `null`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineFramer } from "jsr:@chat/room/protocol";
 *
 * const framer = new LineFramer(16);
 * framer.feed(new TextEncoder().encode("hi\r\nthere\n"));
 * assert.equal(new TextDecoder().decode(framer.next() as Uint8Array), "hi");
 * assert.equal(new TextDecoder().decode(framer.next() as Uint8Array), "there");
 * assert.equal(framer.next(), null);
 * ```
 */
export class LineFramer {
  /** Longest line in bytes, line ending not counted; a longer one is {@linkcode LINE_TOO_LONG}. */
  readonly maxLineBytes: number;
  #chunk: Uint8Array = EMPTY;
  #position = 0;
  #partial: Uint8Array | null = null;
  #partialLength = 0;
  #discarding = false;
  /** Bytes of the line under way, held or discarded. */
  #lineBytes = 0;

  /** Creates a framer that rejects lines longer than `maxLineBytes` bytes. */
  constructor(maxLineBytes: number) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(
        `Cannot create line framer: maxLineBytes must be a positive integer, got ${maxLineBytes}`,
      );
    }
    this.maxLineBytes = maxLineBytes;
  }

  /** Bytes of an unfinished line held now; never more than `maxLineBytes + 1`. */
  get bufferedBytes(): number {
    return this.#partialLength;
  }

  /**
   * Bytes received of the line under way, including those discarded because
   * it is too long: how far a sender is from its next newline.
   */
  get unfinishedLineBytes(): number {
    return this.#lineBytes;
  }

  /** Hands the framer the next chunk; lines returned before may be overwritten. */
  feed(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#position = 0;
  }

  /**
   * The next complete line without its `\n` or `\r\n` (a view valid until the
   * next `feed`), {@linkcode LINE_TOO_LONG} once for each over-long line, or
   * `null` when the chunk is used up.
   */
  next(): Uint8Array | typeof LINE_TOO_LONG | null {
    const chunk = this.#chunk;
    while (this.#position < chunk.length) {
      const start = this.#position;
      const newline = chunk.indexOf(LF, start);
      if (newline === -1) {
        this.#chunk = EMPTY;
        this.#position = 0;
        this.#lineBytes += chunk.length - start;
        if (this.#discarding) return null;
        return this.#keepPartial(chunk.subarray(start));
      }
      this.#position = newline + 1;
      this.#lineBytes = 0;
      if (this.#discarding) {
        this.#discarding = false;
        continue;
      }
      let line = chunk.subarray(start, newline);
      if (this.#partialLength > 0) {
        if (this.#partialLength + line.length > this.maxLineBytes + 1) {
          this.#partialLength = 0;
          return LINE_TOO_LONG;
        }
        line = this.#joinPartial(line);
      }
      if (line.length > 0 && line[line.length - 1] === CR) {
        line = line.subarray(0, line.length - 1);
      }
      if (line.length > this.maxLineBytes) return LINE_TOO_LONG;
      return line;
    }
    // Let go of the caller's buffer: an idle connection should hold nothing.
    this.#chunk = EMPTY;
    this.#position = 0;
    return null;
  }

  #keepPartial(part: Uint8Array): typeof LINE_TOO_LONG | null {
    const length = this.#partialLength + part.length;
    // One byte of slack for the `\r` of a line of exactly maxLineBytes.
    if (length > this.maxLineBytes + 1) {
      this.#partialLength = 0;
      this.#partial = null;
      this.#discarding = true;
      return LINE_TOO_LONG;
    }
    if (this.#partial === null || this.#partial.length < length) {
      const grown = new Uint8Array(
        Math.min(this.maxLineBytes + 1, Math.max(64, length * 2)),
      );
      if (this.#partial !== null) {
        grown.set(this.#partial.subarray(0, this.#partialLength));
      }
      this.#partial = grown;
    }
    this.#partial.set(part, this.#partialLength);
    this.#partialLength = length;
    return null;
  }

  #joinPartial(tail: Uint8Array): Uint8Array {
    const partial = this.#partial as Uint8Array;
    const line = new Uint8Array(this.#partialLength + tail.length);
    line.set(partial.subarray(0, this.#partialLength));
    line.set(tail, this.#partialLength);
    this.#partialLength = 0;
    return line;
  }
}

/**
 * Reads `\n`-terminated lines from a byte stream as strings (invalid UTF-8
 * becomes U+FFFD). An over-long line yields {@linkcode LINE_TOO_LONG}; a last
 * line without a newline is still yielded.
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  maxLineBytes: number,
): AsyncGenerator<string | typeof LINE_TOO_LONG> {
  const framer = new LineFramer(maxLineBytes);
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      framer.feed(value);
      for (let line = framer.next(); line !== null; line = framer.next()) {
        yield line === LINE_TOO_LONG ? line : decoder.decode(line);
      }
    }
    framer.feed(new Uint8Array([LF]));
    if (framer.bufferedBytes > 0) {
      const last = framer.next();
      if (last !== null) yield last === LINE_TOO_LONG ? last : decoder.decode(last);
    }
  } finally {
    reader.releaseLock();
  }
}

// deno-lint-ignore no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;
/** Anything {@linkcode cleanText} changes besides trimming: checked before doing any work. */
const NEEDS_CLEANING = new RegExp(
  "[\\p{Cc}\\p{Bidi_Control}\\u200b-\\u200d\\u2028\\u2029\\u2060-\\u2064\\ufeff]" +
    `|\\p{M}{${MAX_COMBINING_MARKS + 1}}`,
  "u",
);
/**
 * Terminal escape sequences (ECMA-48), in their 7-bit (ESC) and 8-bit (C1)
 * forms: a control sequence (CSI: parameters, intermediates, final byte); a
 * control string (OSC, DCS, SOS, PM, APC) up to BEL or ST, or to the end of
 * the line, which a terminal would swallow too; any other ESC with its
 * intermediates and final byte.
 */
const ESCAPE_SEQUENCE =
  // deno-lint-ignore no-control-regex
  /(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[\x20-\x2f]*[\x30-\x7e]?/g;
// deno-lint-ignore no-control-regex
const HAS_ESCAPE = /[\x1b\x90\x98\x9b\x9d-\x9f]/;
/** Invisible, with no part in showing text: bidi controls, ZWSP, word joiner, invisible operators, BOM. */
const INVISIBLE = /[\p{Bidi_Control}\u200b\u2060-\u2064\ufeff]/gu;
const LINE_OR_PARAGRAPH_SEPARATOR = /[\u2028\u2029]/g;
const JOINER = /[\u200c\u200d]/;
const TOO_MANY_MARKS = new RegExp(`(\\p{M}{${MAX_COMBINING_MARKS}})\\p{M}+`, "gu");

/**
 * Removes terminal escape sequences whole (ECMA-48 control sequences and
 * control strings, 7-bit and 8-bit), so that `\x1b[2J` or `\x1b]0;title\x07`
 * leaves nothing behind. Other control characters are left to the caller.
 */
export function removeEscapes(text: string): string {
  return HAS_ESCAPE.test(text) ? text.replace(ESCAPE_SEQUENCE, "") : text;
}

/**
 * Makes a received line safe to show: terminal escape sequences are removed
 * whole, a tab becomes a space, other control characters (C0, DEL, C1) are
 * removed, and so are bidi controls, the zero-width space, the word joiner,
 * invisible operators and the BOM. A zero-width non-joiner or joiner stays
 * only where a script or an emoji needs it (after a virama, between letters
 * that join, between two emoji), a line or paragraph separator becomes a
 * space, a character keeps at most {@linkcode MAX_COMBINING_MARKS} combining
 * marks, and surrounding white space is trimmed. An empty result means "ignore".
 */
export function cleanText(text: string): string {
  if (NOT_PRINTABLE_ASCII.test(text) && NEEDS_CLEANING.test(text)) {
    text = removeEscapes(text).replaceAll("\t", " ").replace(CONTROL_CHARACTERS, "");
    // With the controls gone, only text beyond ASCII has more to clean.
    if (NOT_PRINTABLE_ASCII.test(text)) text = cleanBeyondAscii(text);
  }
  return text.trim();
}

function cleanBeyondAscii(text: string): string {
  text = text.replace(LINE_OR_PARAGRAPH_SEPARATOR, " ").replace(INVISIBLE, "");
  if (JOINER.test(text)) text = keepNeededJoiners(text);
  return text.replace(TOO_MANY_MARKS, "$1");
}

const ZWNJ = "\u200c";
const ZWJ = "\u200d";
const MARK_OR_FORMAT = /[\p{Mn}\p{Me}\p{Cf}]/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
/** What may sit between an emoji and the ZWJ after it: a variation selector, a skin tone. */
const EMOJI_ATTACHMENT = /[\ufe0f\p{Emoji_Modifier}]/u;
/** Attachments looked through before a ZWJ: a skin tone and a variation selector at most. */
const MAX_EMOJI_ATTACHMENTS = 2;

/** The characters kept so far, and where the last one that is not Transparent sits. */
interface Kept {
  characters: string[];
  solid: number;
}

function keepNeededJoiners(text: string): string {
  const characters = Array.from(text);
  const kept: Kept = { characters: [], solid: -1 };
  for (let at = 0; at < characters.length; at++) {
    const character = characters[at] as string;
    if ((character !== ZWNJ && character !== ZWJ) || joinerNeeded(kept, characters, at)) {
      // Tracked as it grows, so that no joiner has to look back over a long run of marks.
      if (!isTransparent(character)) kept.solid = kept.characters.length;
      kept.characters.push(character);
    }
  }
  return kept.characters.join("");
}

/**
 * Whether the zero-width non-joiner or joiner at `line[at]` changes how its
 * neighbours look, by the rules IDNA uses (RFC 5892, appendix A.1 and A.2)
 * and emoji's: right after a virama (Devanagari, Sinhala and other Brahmic
 * conjuncts); a ZWNJ between two letters that would otherwise join, marks in
 * between allowed (Persian, Arabic, Syriac, N'Ko, Mongolian); a ZWJ between
 * two pictographs (the emoji family man, woman, girl), a skin tone or
 * variation selector allowed after the first.
 */
function joinerNeeded(kept: Kept, line: string[], at: number): boolean {
  const before = kept.characters;
  const previous = before[before.length - 1];
  if (previous === undefined) return false;
  if (VIRAMA.test(previous)) return true;
  if (line[at] === ZWNJ) {
    let next = at + 1;
    while (next < line.length && isTransparent(line[next] as string)) next++;
    return kept.solid >= 0 && next < line.length &&
      JOINS_NEXT.test(before[kept.solid] as string) && JOINS_PREVIOUS.test(line[next] as string);
  }
  let emoji = before.length - 1;
  const stop = Math.max(0, emoji - MAX_EMOJI_ATTACHMENTS);
  while (emoji > stop && EMOJI_ATTACHMENT.test(before[emoji] as string)) emoji--;
  const next = line[at + 1];
  return next !== undefined && PICTOGRAPHIC.test(before[emoji] as string) &&
    PICTOGRAPHIC.test(next);
}

/** Joining_Type Transparent: marks and format characters, bar a few, that a join sees through. */
function isTransparent(character: string): boolean {
  return (MARK_OR_FORMAT.test(character) && !NOT_TRANSPARENT.test(character)) ||
    ALSO_TRANSPARENT.test(character);
}

/** The longest quit word: longer lines need no lower-casing to be ruled out. */
export const MAX_QUIT_WORD_LENGTH: number = Math.max(...[...QUIT_WORDS].map((word) => word.length));

/** Whether a cleaned line asks to end the session; case does not matter, as with commands. */
export function isQuitWord(text: string): boolean {
  return text.length <= MAX_QUIT_WORD_LENGTH && QUIT_WORDS.has(text.toLowerCase());
}

/** Prefixes that keep the two kinds of name key apart: a typed key never equals a lower-cased one. */
const TYPED_KEY = "=";
const LOWER_KEY = "~";
let prototypes: ReadonlyMap<string, string> | null = null;
let smallCapitals: ReadonlyMap<string, string> | null = null;

/** Reads a generated table: entries separated by spaces, each one character and what it maps to. */
function characterMap(table: string): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const entry of table.split(" ")) {
    if (entry === "") continue;
    const source = String.fromCodePoint(entry.codePointAt(0) as number);
    map.set(source, entry.slice(source.length));
  }
  return map;
}

/** `text` with each character the map holds replaced; `text` itself when none is. */
function mapCharacters(text: string, map: ReadonlyMap<string, string>): string {
  let parts: string[] | null = null;
  let from = 0;
  let at = 0;
  for (const character of text) {
    const replacement = map.get(character);
    if (replacement !== undefined) {
      (parts ??= []).push(text.slice(from, at), replacement);
      from = at + character.length;
    }
    at += character.length;
  }
  if (parts === null) return text;
  parts.push(text.slice(from));
  return parts.join("");
}

/**
 * The UTS #39 skeleton: NFD, each character replaced by its confusable
 * prototype, NFD again. The table holds the characters of cleaned nicknames only.
 */
function skeleton(text: string): string {
  prototypes ??= characterMap(CONFUSABLE_PROTOTYPES);
  const mapped = mapCharacters(decompose(text), prototypes);
  return decompose(mapped);
}

/**
 * NFD, which leaves ASCII as it is: skipping it there spares the common name
 * the work, and a server of ASCII names the memory of the decomposition data.
 */
function decompose(text: string): string {
  return NOT_PRINTABLE_ASCII.test(text) ? text.normalize("NFD") : text;
}

/**
 * The two keys that decide whether names are the same: the confusable
 * skeleton of the name as typed and that of its lower-cased form, each after
 * NFKC and with small capitals (`ᴇ`, `ʀ`) folded to their letters.
 * `alıce`, `ɑlice` and `aIice` share a key with `alice`, `ALICE` too (by case).
 */
export function nameKeys(name: string): readonly [string, string] {
  // A join asks about one name several times in a row (reserved? taken? then kept).
  if (name === lastKeyed) return lastKeys;
  let folded = name.normalize("NFKC");
  if (NOT_PRINTABLE_ASCII.test(folded)) {
    smallCapitals ??= characterMap(SMALL_CAPITAL_LETTERS);
    folded = mapCharacters(folded, smallCapitals);
  }
  lastKeys = [TYPED_KEY + skeleton(folded), LOWER_KEY + skeleton(folded.toLowerCase())];
  lastKeyed = name;
  return lastKeys;
}

let lastKeyed: string | null = null;
let lastKeys: readonly [string, string] = ["", ""];

/** Whether two names count as the same: either of their {@linkcode nameKeys} match. */
export function sameName(a: string, b: string): boolean {
  // The same text is the same name, without folding either (a member's room, asked per line).
  if (a === b) return true;
  const [typedA, lowerA] = nameKeys(a);
  const [typedB, lowerB] = nameKeys(b);
  return typedA === typedB || lowerA === lowerB;
}

let reservedKeys: ReadonlySet<string> | null = null;

/** Whether a name is one of the {@linkcode RESERVED_NAMES} by {@linkcode sameName}. */
function isReserved(name: string): boolean {
  reservedKeys ??= new Set([...RESERVED_NAMES].flatMap(nameKeys));
  return nameKeys(name).some((key) => (reservedKeys as ReadonlySet<string>).has(key));
}

const NOT_NAME_CHARACTER = /[^\p{L}\p{N}_.\-]/gu;

/**
 * Applies the nickname rules to a requested name: NFKC, trim, keep letters,
 * digits, `_`, `-` and `.`, cut to {@linkcode MAX_NAME_LENGTH} characters.
 * Returns {@linkcode DEFAULT_NAME} when nothing is left, the name is reserved,
 * or it mixes scripts the way impersonators do.
 */
export function cleanNickname(requested: string): string {
  const kept = requested.normalize("NFKC").trim().replace(NOT_NAME_CHARACTER, "");
  const name = cutCharacters(kept, MAX_NAME_LENGTH);
  if (name === "" || isReserved(name) || !isSingleScript(name)) {
    return DEFAULT_NAME;
  }
  return name;
}

/**
 * The first free variant of `name` under `isTaken`, which is asked about each
 * candidate (see {@linkcode sameName}): `name`, then `name2`, `name3`, … cut
 * so that the result stays within {@linkcode MAX_NAME_LENGTH}.
 */
export function uniqueName(name: string, isTaken: (candidate: string) => boolean): string {
  if (!isTaken(name)) return name;
  for (let n = 2;; n++) {
    const suffix = String(n);
    const candidate = cutCharacters(name, MAX_NAME_LENGTH - suffix.length) + suffix;
    if (!isTaken(candidate)) return candidate;
  }
}

function cutCharacters(text: string, count: number): string {
  if (text.length <= count) return text;
  return Array.from(text).slice(0, count).join("");
}

// Scripts by their Unicode names; the ones this JavaScript engine does not
// know are skipped when the table is built.
const SCRIPT_NAMES =
  "Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak " +
  "Bengali Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian " +
  "Caucasian_Albanian Chakma Cham Cherokee Chorasmian Coptic Cuneiform Cypriot Cypro_Minoan " +
  "Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan " +
  "Elymaic Ethiopic Garay Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi " +
  "Gurmukhi Gurung_Khema Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana " +
  "Imperial_Aramaic Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada " +
  "Katakana Kawi Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Kirat_Rai " +
  "Lao Latin Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam " +
  "Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui " +
  "Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean " +
  "Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki " +
  "Ol_Onal Old_Hungarian Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian " +
  "Old_South_Arabian Old_Turkic Old_Uyghur Oriya Osage Osmanya Pahawh_Hmong Palmyrene " +
  "Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra " +
  "Sharada Shavian Siddham SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese " +
  "Sunuwar Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangsa " +
  "Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta Todhri Toto Tulu_Tigalari Ugaritic " +
  "Vai Vithkuqi Wancho Warang_Citi Yezidi Yi Zanabazar_Square";

let scriptTests: [string, RegExp][] | null = null;

function scriptTable(): [string, RegExp][] {
  scriptTests ??= SCRIPT_NAMES.split(" ").flatMap((name): [string, RegExp][] => {
    try {
      return [[name, new RegExp(`^\\p{Script_Extensions=${name}}$`, "u")]];
    } catch {
      return [];
    }
  });
  return scriptTests;
}

// UTS #39 augments these scripts so that Japanese (Jpan), Korean (Kore) and
// Bopomofo-with-Han (Hanb) writing count as one script each.
const AUGMENTED: Record<string, string[]> = {
  Han: ["Jpan", "Kore", "Hanb"],
  Hiragana: ["Jpan"],
  Katakana: ["Jpan"],
  Hangul: ["Kore"],
  Bopomofo: ["Hanb"],
};
const LATIN_WITH = ["Jpan", "Kore", "Hanb"];
const ASCII_LETTER = /^[A-Za-z]$/;
const COMMON_OR_INHERITED = /^[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]$/u;
const MAX_CACHED_SCRIPT_SETS = 4096;
const scriptSetCache = new Map<string, ReadonlySet<string> | null>();

/** The scripts a character belongs to, augmented; `null` for Common and Inherited. */
function scriptsOf(character: string): ReadonlySet<string> | null {
  if (ASCII_LETTER.test(character)) return LATIN;
  if (character < "\u0080" || COMMON_OR_INHERITED.test(character)) return null;
  const cached = scriptSetCache.get(character);
  if (cached !== undefined) return cached;
  const scripts = new Set<string>();
  for (const [name, test] of scriptTable()) {
    if (test.test(character)) {
      scripts.add(name);
      for (const extra of AUGMENTED[name] ?? []) scripts.add(extra);
    }
  }
  if (scripts.size === 0) scripts.add("Unknown");
  const result = scripts.size === 1 && scripts.has("Latin") ? LATIN : scripts;
  if (scriptSetCache.size < MAX_CACHED_SCRIPT_SETS) scriptSetCache.set(character, result);
  return result;
}
const LATIN: ReadonlySet<string> = new Set(["Latin"]);

/**
 * Whether a name passes Unicode's "highly restrictive" profile (UTS #39): one
 * script, or Latin with Han and Japanese kana, with Han and Bopomofo, or with
 * Han and Hangul. Digits and punctuation shared by all scripts never count.
 */
export function isSingleScript(name: string): boolean {
  let all: Set<string> | null = null;
  let nonLatin: Set<string> | null = null;
  for (const character of name) {
    const scripts = scriptsOf(character);
    if (scripts === null) continue;
    all = intersect(all, scripts);
    if (scripts !== LATIN) nonLatin = intersect(nonLatin, scripts);
  }
  if (all === null || all.size > 0) return true;
  if (nonLatin === null) return true;
  return LATIN_WITH.some((script) => (nonLatin as Set<string>).has(script));
}

function intersect(current: Set<string> | null, next: ReadonlySet<string>): Set<string> {
  if (current === null) return new Set(next);
  for (const script of current) if (!next.has(script)) current.delete(script);
  return current;
}

/** The greeting a new connection gets; it asks for the nickname. */
export const GREETING = "Welcome to the chat! Please enter your nickname:";
/** The greeting of a locked room; it asks for the password first. */
export const PASSWORD_GREETING = "This room is locked. Please enter the password:";

/** Whether a line from the server asks for a password. */
export function asksForPassword(line: string): boolean {
  return /\bpassword\b/i.test(line) && !line.startsWith("! ");
}

/** A command line split into its lower-cased name (without `/`) and the rest. */
export interface Command {
  /** The command's name, lower-cased, without the `/`: `me` for `/ME waves`. */
  name: string;
  /** What follows the name, trimmed: `waves` for `/me waves`; `""` when nothing does. */
  rest: string;
}

/**
 * Reads a cleaned line as a command: `/name rest`. Returns `null` for a plain
 * message, including `//text`, which posts `/text`.
 */
export function parseCommand(text: string): Command | null {
  if (!text.startsWith("/") || text.startsWith("//")) return null;
  const space = text.indexOf(" ");
  const name = (space === -1 ? text.slice(1) : text.slice(1, space)).toLowerCase();
  return { name, rest: space === -1 ? "" : text.slice(space + 1).trim() };
}

/** The text a plain message line posts: `//text` posts `/text`. */
export function messageText(text: string): string {
  return text.startsWith("//") ? text.slice(1) : text;
}

/** Formats a chat message as every member receives it. */
export function chatLine(name: string, text: string): string {
  return `${name}: ${text}`;
}

/**
 * Formats an action (`/me`) as every member receives it. It begins with
 * `** `, never `* `: a line beginning `* ` or `! ` is the server's alone.
 */
export function actionLine(name: string, action: string): string {
  return `** ${name} ${action}`;
}

/** Formats a notice to a room (`/notice`, IRC's NOTICE) as every member receives it. */
export function noticeLine(name: string, text: string): string {
  return `-${name}- ${text}`;
}
