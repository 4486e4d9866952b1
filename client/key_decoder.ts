/**
 * The key decoder of the terminal client's line editor: {@linkcode KeyDecoder}
 * turns the bytes a terminal in raw mode sends (typed text, control keys,
 * CSI and SS3 escape sequences, bracketed pastes) into {@linkcode Key}s for
 * the `LineEditor` of `line_editor.ts`. It knows nothing of Deno's
 * streams, so tests feed it bytes.
 *
 * @module
 */

/** Most bytes of one bracketed paste kept; the rest is dropped and the paste marked `cut`. */
export const MAX_PASTE_BYTES = 1024 * 1024;
/**
 * Longest parameter part of an escape sequence that is read; a longer one is
 * still swallowed whole, unread. The keys we know need at most 6 (`1;5`, `200`).
 */
const MAX_SEQUENCE_PARAMS = 32;

/** The keys {@linkcode KeyDecoder} tells apart, besides typed text and pastes. */
export type KeyName =
  | "enter"
  | "backspace"
  | "delete"
  | "tab"
  | "escape"
  | "up"
  | "down"
  | "left"
  | "right"
  | "home"
  | "end"
  | "ctrl-left"
  | "ctrl-right"
  | "ctrl-a"
  | "ctrl-b"
  | "ctrl-c"
  | "ctrl-d"
  | "ctrl-e"
  | "ctrl-f"
  | "ctrl-k"
  | "ctrl-l"
  | "ctrl-n"
  | "ctrl-p"
  | "ctrl-u"
  | "ctrl-w"
  | "ctrl-y"
  | "alt-b"
  | "alt-f"
  | "alt-backspace";

/**
 * One key: a run of typed characters, a bracketed paste (newlines as `\n`;
 * `cut` when it was longer than {@linkcode MAX_PASTE_BYTES}), or a named key.
 */
export type Key =
  | { type: "text"; text: string }
  | { type: "paste"; text: string; cut?: true }
  | { type: KeyName };

/** Options of a {@linkcode KeyDecoder}. */
export interface KeyDecoderOptions {
  /** Most bytes of a paste kept. @default {1048576} */
  maxPasteBytes?: number;
}

const ESC = 0x1b;
/** `ESC [ 2 0 1 ~`, the end of a bracketed paste. */
const PASTE_END = [0x1b, 0x5b, 0x32, 0x30, 0x31, 0x7e];
const EMPTY = new Uint8Array(0);
const C1_CONTROLS = /[\u0080-\u009f]/g;
const utf8 = new TextDecoder();

/** The control bytes that are keys; the other control bytes are ignored. */
const CONTROL_KEYS: ReadonlyMap<number, KeyName> = new Map([
  [0x01, "ctrl-a"],
  [0x02, "ctrl-b"],
  [0x03, "ctrl-c"],
  [0x04, "ctrl-d"],
  [0x05, "ctrl-e"],
  [0x06, "ctrl-f"],
  [0x08, "backspace"],
  [0x09, "tab"],
  [0x0b, "ctrl-k"],
  [0x0c, "ctrl-l"],
  [0x0e, "ctrl-n"],
  [0x10, "ctrl-p"],
  [0x15, "ctrl-u"],
  [0x17, "ctrl-w"],
  [0x19, "ctrl-y"],
  [0x7f, "backspace"],
]);

type DecoderState = "ground" | "escape" | "csi" | "ss3" | "paste";

/**
 * Turns what a terminal in raw mode sends into {@linkcode Key}s. Input may be
 * split anywhere, inside a UTF-8 character or an escape sequence: what is
 * unfinished waits for the next {@linkcode KeyDecoder.feed}. A lone ESC waits
 * too, since it may begin a sequence; {@linkcode KeyDecoder.flush}, called
 * after a short silence (some 50 ms), makes it the Escape key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const decoder = new KeyDecoder();
 * assert.deepEqual(decoder.feed(new TextEncoder().encode("hi\x1b[D\r")), [
 *   { type: "text", text: "hi" },
 *   { type: "left" },
 *   { type: "enter" },
 * ]);
 * ```
 */
export class KeyDecoder {
  readonly #maxPasteBytes: number;
  #state: DecoderState = "ground";
  /** Parameter and intermediate bytes of the CSI or SS3 sequence being read. */
  #params = "";
  /** The last byte was CR, so that a LF right after it is the same Enter. */
  #afterCR = false;
  /** Decodes typed text, keeping a character split across chunks. */
  readonly #text = new TextDecoder();
  #chunk: Uint8Array = EMPTY;
  /** Where the run of text bytes being collected starts in `#chunk`, or -1. */
  #runStart = -1;
  #paste: Uint8Array = EMPTY;
  #pasteLength = 0;
  #pasteCut = false;
  /** How many bytes of {@linkcode PASTE_END} were just seen inside a paste. */
  #pasteMatched = 0;

  /** Makes a decoder; `maxPasteBytes` bounds what one paste may hold. */
  constructor(options: KeyDecoderOptions = {}) {
    this.#maxPasteBytes = options.maxPasteBytes ?? MAX_PASTE_BYTES;
  }

  /** The keys these bytes complete, in order. */
  feed(bytes: Uint8Array): Key[] {
    const keys: Key[] = [];
    this.#chunk = bytes;
    for (let i = 0; i < bytes.length; i++) this.#byte(bytes[i] as number, i, keys);
    this.#endText(bytes.length, keys, false);
    this.#chunk = EMPTY;
    return keys;
  }

  /**
   * Ends what only more input could finish, after a silence: a lone ESC
   * becomes `escape`, an unfinished CSI or SS3 sequence is dropped. A paste
   * and a split UTF-8 character go on waiting.
   */
  flush(): Key[] {
    const keys: Key[] = [];
    if (this.#state === "escape") keys.push({ type: "escape" });
    if (this.#state === "escape" || this.#state === "csi" || this.#state === "ss3") {
      this.#state = "ground";
    }
    return keys;
  }

  /** Whether something is waiting for more input (a lone ESC, a sequence, a paste). */
  get pending(): boolean {
    return this.#state !== "ground";
  }

  #byte(byte: number, i: number, keys: Key[]): void {
    const afterCR = this.#afterCR;
    this.#afterCR = false;
    switch (this.#state) {
      case "ground":
        return this.#ground(byte, i, keys, afterCR);
      case "escape":
        return this.#escape(byte, i, keys);
      case "csi":
        return this.#sequence(byte, i, keys, csiKey);
      case "ss3":
        return this.#sequence(byte, i, keys, ss3Key);
      case "paste":
        return this.#pasted(byte, keys);
    }
  }

  #ground(byte: number, i: number, keys: Key[], afterCR: boolean): void {
    if (byte >= 0x20 && byte !== 0x7f) {
      if (this.#runStart < 0) this.#runStart = i;
      return;
    }
    this.#endText(i, keys, true);
    if (byte === ESC) {
      this.#state = "escape";
    } else if (byte === 0x0d) {
      keys.push({ type: "enter" });
      this.#afterCR = true;
    } else if (byte === 0x0a) {
      if (!afterCR) keys.push({ type: "enter" });
    } else {
      const name = CONTROL_KEYS.get(byte);
      if (name !== undefined) keys.push({ type: name });
    }
  }

  /** Ends the run of text bytes at `end`; `final` when a control byte ends it. */
  #endText(end: number, keys: Key[], final: boolean): void {
    let text = "";
    if (this.#runStart >= 0) {
      text = this.#text.decode(this.#chunk.subarray(this.#runStart, end), { stream: true });
      this.#runStart = -1;
    }
    // A control byte inside a UTF-8 character makes the character invalid (U+FFFD).
    if (final) text += this.#text.decode();
    text = text.replace(C1_CONTROLS, "");
    if (text === "") return;
    const last = keys.at(-1);
    if (last?.type === "text") last.text += text;
    else keys.push({ type: "text", text });
  }

  #escape(byte: number, i: number, keys: Key[]): void {
    this.#state = "ground";
    if (byte === 0x5b) {
      this.#state = "csi";
      this.#params = "";
    } else if (byte === 0x4f) {
      this.#state = "ss3";
      this.#params = "";
    } else if (byte === 0x62) {
      keys.push({ type: "alt-b" });
    } else if (byte === 0x66) {
      keys.push({ type: "alt-f" });
    } else if (byte === 0x7f || byte === 0x08) {
      keys.push({ type: "alt-backspace" });
    } else if (byte === ESC) {
      keys.push({ type: "escape" });
      this.#state = "escape";
    } else if (byte < 0x20 || byte >= 0x80) {
      // ESC before a control or a non-ASCII character: the ESC is dropped,
      // the rest counts as typed (Alt+Enter is Enter, Alt+é is é).
      this.#ground(byte, i, keys, false);
    }
    // Alt with any other ASCII character is swallowed.
  }

  /**
   * A byte of a CSI (`ESC [`) or SS3 (`ESC O`) sequence: parameters are
   * collected until the final byte, which `decode` turns into a key.
   */
  #sequence(
    byte: number,
    i: number,
    keys: Key[],
    decode: (params: string, final: string) => KeyName | "paste" | null,
  ): void {
    if (byte >= 0x20 && byte <= 0x3f) {
      if (this.#params.length <= MAX_SEQUENCE_PARAMS) this.#params += String.fromCharCode(byte);
      return;
    }
    this.#state = "ground";
    if (byte >= 0x40 && byte <= 0x7e) {
      if (this.#params.length > MAX_SEQUENCE_PARAMS) return;
      const key = decode(this.#params, String.fromCharCode(byte));
      if (key === "paste") this.#startPaste();
      else if (key !== null) keys.push({ type: key });
      return;
    }
    // Not a byte a sequence can hold: the sequence is dropped, the byte is read anew.
    this.#ground(byte, i, keys, false);
  }

  #startPaste(): void {
    this.#state = "paste";
    this.#paste = new Uint8Array(Math.min(4096, this.#maxPasteBytes));
    this.#pasteLength = 0;
    this.#pasteCut = false;
    this.#pasteMatched = 0;
  }

  #pasted(byte: number, keys: Key[]): void {
    if (byte === PASTE_END[this.#pasteMatched]) {
      if (++this.#pasteMatched === PASTE_END.length) this.#endPaste(keys);
      return;
    }
    // What looked like the end marker was pasted text; ESC occurs only first in it.
    for (let k = 0; k < this.#pasteMatched; k++) this.#keep(PASTE_END[k] as number);
    this.#pasteMatched = 0;
    if (byte === ESC) this.#pasteMatched = 1;
    else this.#keep(byte);
  }

  #keep(byte: number): void {
    if (this.#pasteLength >= this.#maxPasteBytes) {
      this.#pasteCut = true;
      return;
    }
    if (this.#pasteLength === this.#paste.length) {
      const bigger = new Uint8Array(Math.min(this.#paste.length * 2, this.#maxPasteBytes));
      bigger.set(this.#paste);
      this.#paste = bigger;
    }
    this.#paste[this.#pasteLength++] = byte;
  }

  #endPaste(keys: Key[]): void {
    let end = this.#pasteLength;
    if (this.#pasteCut) end = characterBoundary(this.#paste, end);
    // Terminals send a pasted newline as CR; the key says `\n` whatever was sent.
    const text = utf8.decode(this.#paste.subarray(0, end)).replace(/\r\n?/g, "\n");
    keys.push(this.#pasteCut ? { type: "paste", text, cut: true } : { type: "paste", text });
    this.#state = "ground";
    this.#paste = EMPTY;
    this.#pasteLength = 0;
    this.#pasteCut = false;
    this.#pasteMatched = 0;
  }
}

/** The key a CSI sequence (`ESC [ params final`) stands for, `"paste"` for a paste's start. */
function csiKey(params: string, final: string): KeyName | "paste" | null {
  const plain = /^(?:1?|1;(\d+))$/.exec(params);
  if (plain !== null && "ABCDHF".includes(final)) {
    return cursorKey(final, Number(plain[1] ?? 1));
  }
  const tilde = /^(\d+)(?:;\d+)?$/.exec(params);
  if (tilde !== null && final === "~") {
    switch (tilde[1]) {
      case "1":
      case "7":
        return "home";
      case "4":
      case "8":
        return "end";
      case "3":
        return "delete";
      case "200":
        return "paste";
    }
  }
  return null;
}

/** The key an SS3 sequence (`ESC O final`) stands for; rxvt sends Ctrl+arrows as `ESC O c`/`d`. */
function ss3Key(params: string, final: string): KeyName | null {
  if (final === "c" && params === "") return "ctrl-right";
  if (final === "d" && params === "") return "ctrl-left";
  const modifier = /^\d?$/.test(params) ? Number(params || 1) : NaN;
  if (Number.isNaN(modifier) || !"ABCDHF".includes(final)) return null;
  return cursorKey(final, modifier);
}

/**
 * An arrow, Home or End; `modifier` is xterm's (1 + shift 1 + alt 2 + ctrl 4):
 * Left and Right with Ctrl or Alt move by words.
 */
function cursorKey(final: string, modifier: number): KeyName | null {
  const word = ((modifier - 1) & 6) !== 0;
  switch (final) {
    case "A":
      return "up";
    case "B":
      return "down";
    case "C":
      return word ? "ctrl-right" : "right";
    case "D":
      return word ? "ctrl-left" : "left";
    case "H":
      return "home";
    case "F":
      return "end";
  }
  return null;
}

/** Where to cut `bytes` at or before `end` so that no UTF-8 character is split. */
function characterBoundary(bytes: Uint8Array, end: number): number {
  let start = end - 1;
  while (start > 0 && end - start < 4 && ((bytes[start] as number) & 0xc0) === 0x80) start--;
  if (start < 0) return end;
  const lead = bytes[start] as number;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return start + length > end ? start : end;
}
