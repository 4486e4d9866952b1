/**
 * A line editor for a terminal in raw mode, in three parts that know nothing
 * of Deno's streams, so that tests drive them with bytes and strings:
 *
 * - {@linkcode KeyDecoder} turns the bytes a terminal sends into keys;
 * - {@linkcode LineEditor} holds the line, its history and completion, and
 *   turns each key into an action (submit, interrupt, end of input...);
 * - {@linkcode EditorView} draws the prompt and the line below the chat,
 *   wrapped to the terminal's width, and prints incoming lines above it.
 *
 * Try it (Enter prints the line above, Ctrl+D on an empty line leaves):
 *
 * ```ts ignore
 * const encoder = new TextEncoder();
 * const write = (text: string) => {
 *   const data = encoder.encode(text);
 *   for (let n = 0; n < data.length;) n += Deno.stdout.writeSync(data.subarray(n));
 * };
 * const decoder = new KeyDecoder();
 * const editor = new LineEditor();
 * const view = new EditorView(editor, { write, columns: Deno.consoleSize().columns, prompt: "> " });
 * Deno.stdin.setRaw(true);
 * write("\x1b[?2004h"); // bracketed paste on
 * view.redraw();
 * for await (const chunk of Deno.stdin.readable) {
 *   for (const key of decoder.feed(chunk)) {
 *     const action = editor.handle(key);
 *     if (action.type === "submit") view.printAbove(`you typed: ${action.line}`);
 *     else if (action.type === "eof" || action.type === "interrupt") {
 *       view.clear();
 *       write("\x1b[?2004l");
 *       Deno.stdin.setRaw(false);
 *       Deno.exit(0);
 *     } else view.redraw();
 *   }
 * }
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------------------
// Keys

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

// ---------------------------------------------------------------------------
// The line

/** Lines the history keeps by default; older ones are forgotten. */
export const HISTORY_SIZE = 500;
/**
 * Longest line the editor holds, in UTF-16 code units: far beyond the
 * server's 4096-byte line, and short enough to redraw at every key.
 */
export const MAX_EDITOR_LINE = 64 * 1024;

/** What Tab may put in place of `before.slice(replaceFrom)`. */
export interface Completion {
  /** Where the word being completed starts: a code-unit index into `before`. */
  replaceFrom: number;
  /** What may replace the word, best first. */
  candidates: string[];
}

/** Finds completions for the text before and after the cursor; `null` for none. */
export type Completer = (before: string, after: string) => Completion | null;

/** Options of a {@linkcode LineEditor}. */
export interface LineEditorOptions {
  /** What Tab completes with; without it Tab does nothing. */
  complete?: Completer;
  /** Lines the history keeps. @default {500} */
  historySize?: number;
  /** Longest line, in code units; typing and pasting beyond it is cut. @default {65536} */
  maxLength?: number;
  /** Splits text into graphemes (user-perceived characters). @default {Intl.Segmenter} */
  graphemes?: (text: string) => string[];
}

/**
 * What the caller should do after a key: `none`, only redraw; `submit`, send
 * the line (Enter); `interrupt`, Ctrl+C was typed (the line is left as it
 * was); `eof`, Ctrl+D on an empty line; `clear-screen`, Ctrl+L (see
 * {@linkcode EditorView.clearScreen}); `paste`, send these pasted lines (the
 * line being typed became part of them and is now empty).
 */
export type EditorAction =
  | { type: "none" }
  | { type: "submit"; line: string }
  | { type: "interrupt" }
  | { type: "eof" }
  | { type: "clear-screen" }
  | { type: "paste"; lines: string[] };

const NONE: EditorAction = { type: "none" };
const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Splits text into graphemes with `Intl.Segmenter`. */
export function defaultGraphemes(text: string): string[] {
  return Array.from(segmenter.segment(text), (segment) => segment.segment);
}

// deno-lint-ignore no-control-regex
const TEXT_ESCAPES = /\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?|\x1b[\x20-\x7e]?/g;
// deno-lint-ignore no-control-regex
const TEXT_CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/** What of pasted or typed text goes into the line: no escapes or controls, a tab as a space. */
function insertable(text: string): string {
  return text.replace(TEXT_ESCAPES, "").replace(TEXT_CONTROLS, "").replaceAll("\t", " ");
}

const isSpace = (grapheme: string) => /^\s/u.test(grapheme);
const isWordCharacter = (grapheme: string) => /^[\p{L}\p{N}]/u.test(grapheme);

/** The Tab completion being cycled through by repeated Tabs. */
interface Cycle {
  from: number;
  candidates: string[];
  /** The candidate shown, -1 for the common prefix the first Tab put in. */
  index: number;
}

/**
 * The line being typed, as graphemes with a cursor between them, its
 * history and its completion; {@linkcode LineEditor.handle} applies one key.
 * Keys are those of a shell (readline's defaults): Left/Right, Ctrl+B/F;
 * Home/End, Ctrl+A/E; Backspace, Delete; Ctrl+W (the whitespace-separated
 * word before the cursor); Alt+Backspace (the letters-and-digits word);
 * Ctrl+U, Ctrl+K (to the start, to the end); Ctrl+Y (puts back what these
 * last cut); Alt+B/F, Ctrl+Left/Right (by words); Up/Down, Ctrl+P/N
 * (history); Tab (completion).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const editor = new LineEditor();
 * editor.handle({ type: "text", text: "hello" });
 * editor.handle({ type: "ctrl-w" });
 * editor.handle({ type: "text", text: "bye" });
 * assert.deepEqual(editor.handle({ type: "enter" }), { type: "submit", line: "bye" });
 * ```
 */
export class LineEditor {
  readonly #complete: Completer | null;
  readonly #historySize: number;
  readonly #maxLength: number;
  readonly #segment: (text: string) => string[];
  #graphemes: string[] = [];
  #cursor = 0;
  readonly #history: string[] = [];
  /** Which entry of the history is shown; `history.length` is the line being written. */
  #walk = 0;
  /** Lines changed while walking the history, by index, kept until the walk ends. */
  #drafts = new Map<number, string>();
  #cycle: Cycle | null = null;
  #killed = "";
  #mask: string | null = null;

  /** Makes an empty editor. */
  constructor(options: LineEditorOptions = {}) {
    this.#complete = options.complete ?? null;
    this.#historySize = Math.max(0, options.historySize ?? HISTORY_SIZE);
    this.#maxLength = options.maxLength ?? MAX_EDITOR_LINE;
    this.#segment = options.graphemes ?? defaultGraphemes;
  }

  /** The line as typed. */
  get line(): string {
    return this.#graphemes.join("");
  }

  /** The line's graphemes. */
  get graphemes(): readonly string[] {
    return this.#graphemes;
  }

  /** The cursor: how many graphemes are before it. */
  get cursor(): number {
    return this.#cursor;
  }

  /** The lines submitted, oldest first. */
  get history(): readonly string[] {
    return this.#history;
  }

  /** The candidates repeated Tabs are cycling through, or none. */
  get candidates(): readonly string[] {
    return this.#cycle?.candidates ?? [];
  }

  /** Whether the line is masked (a password being typed). */
  get masked(): boolean {
    return this.#mask !== null;
  }

  /** What to show: the line and cursor, or when masked the mask (each grapheme as `shown`). */
  display(): { graphemes: readonly string[]; cursor: number } {
    if (this.#mask === null) return { graphemes: this.#graphemes, cursor: this.#cursor };
    if (this.#mask === "") return { graphemes: [], cursor: 0 };
    return { graphemes: this.#graphemes.map(() => this.#mask as string), cursor: this.#cursor };
  }

  /** Replaces the line, cursor at its end; the history walk starts again from the newest. */
  setLine(text: string): void {
    this.#set(insertable(text), "");
    this.#endWalk();
    this.#cycle = null;
  }

  /** Adds a line to the history, unless empty or the same as the newest entry. */
  addHistory(line: string): void {
    if (line.trim() === "" || this.#history.at(-1) === line || this.#historySize === 0) return;
    this.#history.push(line);
    if (this.#history.length > this.#historySize) this.#history.shift();
    this.#endWalk();
  }

  /**
   * Masks the line until it is submitted: each grapheme shows as `shown`
   * (`""`, the default, shows nothing, not even the length). A masked line
   * stays out of the history, the kill buffer and completion.
   */
  maskLine(shown = ""): void {
    this.#mask = shown;
  }

  /** Shows the line again. */
  unmask(): void {
    this.#mask = null;
  }

  /** Applies one key and says what the caller should do next. */
  handle(key: Key): EditorAction {
    const cycle = this.#cycle;
    this.#cycle = null;
    const g = this.#graphemes;
    const n = g.length;
    switch (key.type) {
      case "text":
        this.#insert(key.text);
        break;
      case "paste":
        return this.#paste(key.text);
      case "enter":
        return this.#submit();
      case "ctrl-c":
        return { type: "interrupt" };
      case "ctrl-d":
        if (n === 0) return { type: "eof" };
        this.#remove(this.#cursor, this.#cursor + 1);
        break;
      case "delete":
        this.#remove(this.#cursor, this.#cursor + 1);
        break;
      case "ctrl-l":
        return { type: "clear-screen" };
      case "tab":
        this.#tab(cycle);
        break;
      case "left":
      case "ctrl-b":
        this.#cursor = Math.max(0, this.#cursor - 1);
        break;
      case "right":
      case "ctrl-f":
        this.#cursor = Math.min(n, this.#cursor + 1);
        break;
      case "home":
      case "ctrl-a":
        this.#cursor = 0;
        break;
      case "end":
      case "ctrl-e":
        this.#cursor = n;
        break;
      case "alt-b":
      case "ctrl-left":
        this.#cursor = this.#wordStart();
        break;
      case "alt-f":
      case "ctrl-right":
        this.#cursor = this.#wordEnd();
        break;
      case "backspace":
        this.#remove(this.#cursor - 1, this.#cursor);
        break;
      case "ctrl-w": {
        let start = this.#cursor;
        while (start > 0 && isSpace(g[start - 1] as string)) start--;
        while (start > 0 && !isSpace(g[start - 1] as string)) start--;
        this.#kill(start, this.#cursor);
        break;
      }
      case "alt-backspace":
        this.#kill(this.#wordStart(), this.#cursor);
        break;
      case "ctrl-u":
        this.#kill(0, this.#cursor);
        break;
      case "ctrl-k":
        this.#kill(this.#cursor, n);
        break;
      case "ctrl-y":
        this.#insert(this.#killed);
        break;
      case "up":
      case "ctrl-p":
        this.#walkTo(this.#walk - 1);
        break;
      case "down":
      case "ctrl-n":
        this.#walkTo(this.#walk + 1);
        break;
      case "escape":
        break;
    }
    return NONE;
  }

  #before(): string {
    return this.#graphemes.slice(0, this.#cursor).join("");
  }

  #after(): string {
    return this.#graphemes.slice(this.#cursor).join("");
  }

  /**
   * Makes the line `before + after` with the cursor between them. The whole
   * line is segmented again: an edit can join graphemes (a combining mark
   * typed after a letter) or part them.
   */
  #set(before: string, after: string): void {
    const graphemes = this.#segment(before + after);
    let cursor = 0;
    for (let length = 0; cursor < graphemes.length && length < before.length; cursor++) {
      length += (graphemes[cursor] as string).length;
    }
    this.#graphemes = graphemes;
    this.#cursor = cursor;
  }

  #insert(text: string): void {
    text = insertable(text);
    const room = this.#maxLength - this.line.length;
    if (text.length > room) {
      let kept = "";
      for (const grapheme of this.#segment(text)) {
        if (kept.length + grapheme.length > room) break;
        kept += grapheme;
      }
      text = kept;
    }
    if (text !== "") this.#set(this.#before() + text, this.#after());
  }

  /** Removes graphemes `from` to `to` (clamped to the line); returns what was removed. */
  #remove(from: number, to: number): string {
    from = Math.max(0, from);
    to = Math.min(this.#graphemes.length, to);
    if (from >= to) return "";
    const g = this.#graphemes;
    const removed = g.slice(from, to).join("");
    this.#set(g.slice(0, from).join(""), g.slice(to).join(""));
    return removed;
  }

  /** Removes graphemes `from` to `to` into the kill buffer, for Ctrl+Y. */
  #kill(from: number, to: number): void {
    const removed = this.#remove(from, to);
    if (removed !== "" && this.#mask === null) this.#killed = removed;
  }

  /** Where the word (letters and digits) before the cursor starts, as readline's Alt+B. */
  #wordStart(): number {
    const g = this.#graphemes;
    let i = this.#cursor;
    while (i > 0 && !isWordCharacter(g[i - 1] as string)) i--;
    while (i > 0 && isWordCharacter(g[i - 1] as string)) i--;
    return i;
  }

  /** Where the word after the cursor ends, as readline's Alt+F. */
  #wordEnd(): number {
    const g = this.#graphemes;
    let i = this.#cursor;
    while (i < g.length && !isWordCharacter(g[i] as string)) i++;
    while (i < g.length && isWordCharacter(g[i] as string)) i++;
    return i;
  }

  #submit(): EditorAction {
    const line = this.line;
    if (this.#mask === null) this.addHistory(line);
    this.#mask = null;
    this.#graphemes = [];
    this.#cursor = 0;
    this.#endWalk();
    return { type: "submit", line };
  }

  /**
   * A paste without a newline is typed; one with newlines makes lines to
   * send, as shells do: the text before the cursor starts the first, the text
   * after it ends the last. A newline at the very end adds no empty line.
   */
  #paste(text: string): EditorAction {
    const parts = text.split(/\r\n?|\n/);
    if (parts.length === 1) {
      this.#insert(text);
      return NONE;
    }
    const lines = parts.map(insertable);
    lines[0] = this.#before() + lines[0];
    const after = this.#after();
    if (after === "" && lines.at(-1) === "") lines.pop();
    else lines[lines.length - 1] += after;
    this.#mask = null;
    this.#graphemes = [];
    this.#cursor = 0;
    this.#endWalk();
    return { type: "paste", lines };
  }

  #endWalk(): void {
    this.#walk = this.#history.length;
    this.#drafts.clear();
  }

  /**
   * Shows history entry `index`; `history.length` is the line being written.
   * What was changed in an entry is kept while walking, and dropped (the
   * history unchanged) when a line is submitted.
   */
  #walkTo(index: number): void {
    if (this.#mask !== null || index < 0 || index > this.#history.length) return;
    this.#drafts.set(this.#walk, this.line);
    this.#walk = index;
    this.#set(this.#drafts.get(index) ?? this.#history[index] ?? "", "");
  }

  /**
   * Tab: one candidate replaces the word; several put in their longest common
   * prefix (letter case aside), and each Tab after that puts in the next
   * candidate, round and round.
   */
  #tab(cycle: Cycle | null): void {
    if (this.#mask !== null || this.#complete === null) return;
    if (cycle !== null) {
      const index = (cycle.index + 1) % cycle.candidates.length;
      this.#replaceWord(cycle.from, cycle.candidates[index] as string);
      this.#cycle = { ...cycle, index };
      return;
    }
    const before = this.#before();
    const found = this.#complete(before, this.#after());
    if (found === null) return;
    const candidates = [...new Set(found.candidates)].filter((candidate) => candidate !== "");
    const from = Math.max(0, Math.min(before.length, Math.trunc(found.replaceFrom)));
    if (candidates.length === 0) return;
    if (candidates.length === 1) {
      this.#replaceWord(from, candidates[0] as string);
      return;
    }
    const prefix = commonPrefix(candidates);
    if (prefix.length > before.length - from) this.#replaceWord(from, prefix);
    this.#cycle = { from, candidates, index: -1 };
  }

  #replaceWord(from: number, text: string): void {
    this.#set(this.#before().slice(0, from) + insertable(text), this.#after());
  }
}

/** The longest prefix the words share, letter case aside, spelt as in the first. */
function commonPrefix(words: string[]): string {
  const first = words[0] ?? "";
  let end = first.length;
  for (const word of words.slice(1)) {
    let i = 0;
    while (i < end && i < word.length && sameLetter(first[i] as string, word[i] as string)) i++;
    end = i;
  }
  // Never half of a surrogate pair.
  if (end > 0 && /[\ud800-\udbff]/.test(first[end - 1] as string)) end--;
  return first.slice(0, end);
}

function sameLetter(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase();
}

// ---------------------------------------------------------------------------
// Drawing

/** Options of an {@linkcode EditorView}. */
export interface EditorViewOptions {
  /** Writes to the terminal, all of the text, in call order; each call is one whole update. */
  write: (text: string) => void;
  /** The terminal's width in columns. */
  columns: number;
  /**
   * The terminal's height: a line taller than this shows only the rows
   * around the cursor, since the cursor cannot go back up past the screen's top.
   * @default {Infinity}
   */
  rows?: number;
  /** What is shown before the line; SGR colour codes are allowed. @default {""} */
  prompt?: string;
  /** Columns a grapheme takes (0, 1 or 2). @default {defaultGraphemeWidth} */
  graphemeWidth?: (grapheme: string) => number;
  /** Splits the prompt and the status into graphemes. @default {defaultGraphemes} */
  graphemes?: (text: string) => string[];
}

/** First and last code points of ranges drawn two columns wide: CJK, Hangul, fullwidth, emoji. */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f1e6, 0x1f1ff],
  [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];

/**
 * Columns a grapheme takes, roughly, by its first code point: 0 for a
 * control character, 2 in a few obvious wide ranges (CJK, Hangul, fullwidth
 * forms, emoji), else 1. Inject a better one where there is one.
 */
export function defaultGraphemeWidth(grapheme: string): number {
  const code = grapheme.codePointAt(0) ?? 0;
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return 0;
  return WIDE.some(([first, last]) => code >= first && code <= last) ? 2 : 1;
}

/** One thing drawn: a grapheme, or a CSI sequence (colour) that takes no room. */
interface Cell {
  text: string;
  width: number;
  escape: boolean;
}

/** Where cells go on the screen, rows counted from the first row drawn. */
interface Placement {
  rows: number[];
  columns: number[];
  /** Where the terminal's cursor is once every cell is written (a column may equal the width). */
  endRow: number;
  endColumn: number;
  cursorRow: number;
  cursorColumn: number;
}

/**
 * Erases from the start of a row to the end of the screen: the row with
 * `ESC [ K`, then the rest with `ESC [ J` from its second column, then back
 * to the first. `ESC [ J` is never sent from the screen's top-left cell,
 * where tmux (scroll-on-clear, on by default) first copies the whole screen
 * into its history: an editor on the top row, after Ctrl+L, would leave a
 * copy of itself there at every key.
 */
const ERASE_BELOW = "\x1b[K\x1b[C\x1b[J\r";

// deno-lint-ignore no-control-regex
const CSI_SEQUENCE = /\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]/g;

/**
 * Places cells in rows of `width` columns as a terminal wraps them: a cell
 * that would cross the last column starts the next row (a wide character
 * is never split). The cursor, before cell `cursor`, is where the next cell
 * that takes room goes; at the end of a full row, it is at the start of the next.
 */
function place(cells: readonly Cell[], cursor: number, width: number): Placement {
  const rows: number[] = [];
  const columns: number[] = [];
  let row = 0;
  let column = 0;
  let cursorRow = -1;
  let cursorColumn = 0;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i] as Cell;
    if (cell.width > 0 && column > 0 && column + cell.width > width) {
      row++;
      column = 0;
    }
    if (cursorRow < 0 && i >= cursor && cell.width > 0) [cursorRow, cursorColumn] = [row, column];
    rows.push(row);
    columns.push(column);
    column += cell.width;
  }
  if (cursorRow < 0) [cursorRow, cursorColumn] = column >= width ? [row + 1, 0] : [row, column];
  return { rows, columns, endRow: row, endColumn: column, cursorRow, cursorColumn };
}

/**
 * Draws a {@linkcode LineEditor}'s prompt and line at the bottom of a
 * terminal, wrapped over as many rows as it takes, and keeps it there while
 * other lines are printed above it ({@linkcode EditorView.printAbove}). It
 * remembers how many rows it drew and which holds the cursor, so that each
 * redraw starts by going back up to the first (`\r`, `ESC [ n A`) and
 * erasing to the end of the screen (`ESC [ K`, `ESC [ C`, `ESC [ J`, `\r`:
 * never from the top-left cell, which tmux takes for clearing the screen).
 * Each update is one `write`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const out: string[] = [];
 * const editor = new LineEditor();
 * const view = new EditorView(editor, { write: (t) => out.push(t), columns: 80, prompt: "> " });
 * editor.handle({ type: "text", text: "hi" });
 * view.redraw();
 * view.printAbove("bob: hello");
 * const erase = "\x1b[K\x1b[C\x1b[J\r";
 * assert.deepEqual(out, [`\r${erase}> hi`, `\r${erase}bob: hello\r\n> hi`]);
 * ```
 */
export class EditorView {
  readonly #editor: LineEditor;
  readonly #write: (text: string) => void;
  readonly #width: (grapheme: string) => number;
  readonly #graphemes: (text: string) => string[];
  #columns: number;
  #screenRows: number;
  #prompt: Cell[];
  #status: Cell[] = [];
  /** Whether the editor is on the screen (drawn, and not cleared since). */
  #shown = false;
  #rowsDrawn = 0;
  #cursorRow = 0;
  #cursorColumn = 0;
  /** The cells last written and where the cursor was among them, for a resize. */
  #drawn: Cell[] = [];
  #drawnCursor = 0;
  /** Whether the last draw wrote a space to take the cursor past a full last row. */
  #drawnSpace = false;

  /** Makes a view of `editor`; nothing is drawn before {@linkcode EditorView.redraw}. */
  constructor(editor: LineEditor, options: EditorViewOptions) {
    this.#editor = editor;
    this.#write = options.write;
    this.#width = options.graphemeWidth ?? defaultGraphemeWidth;
    this.#graphemes = options.graphemes ?? defaultGraphemes;
    this.#columns = Math.max(1, Math.floor(options.columns));
    this.#screenRows = Math.max(1, options.rows ?? Infinity);
    this.#prompt = this.#cells(options.prompt ?? "");
  }

  /** How many rows the editor takes on the screen, 0 when it is not shown. */
  get rowsDrawn(): number {
    return this.#shown ? this.#rowsDrawn : 0;
  }

  /** The row of the cursor, counted from the editor's first row. */
  get cursorRow(): number {
    return this.#cursorRow;
  }

  /** The column of the cursor. */
  get cursorColumn(): number {
    return this.#cursorColumn;
  }

  /** Sets the prompt (SGR colour codes allowed), shown from the next redraw. */
  setPrompt(prompt: string): void {
    this.#prompt = this.#cells(prompt);
  }

  /** Sets what is shown after the line (such as ` [3 waiting]`), from the next redraw. */
  setStatus(status: string): void {
    this.#status = this.#cells(status);
  }

  /** Draws the editor again in place of where it was drawn last. */
  redraw(): void {
    this.#write(this.#erase() + this.#draw());
  }

  /**
   * Prints lines above the editor: the editor's rows are erased, the text
   * written (a line ending is added if it has none), and the editor drawn
   * again below it, if it was shown.
   */
  printAbove(text: string): void {
    const shown = this.#shown;
    let out = shown ? this.#erase() : "";
    // `\r\n` whether or not the terminal turns `\n` into it (OPOST).
    out += text.replace(/\r?\n/g, "\r\n");
    if (!out.endsWith("\r\n")) out += "\r\n";
    this.#shown = false;
    if (shown) out += this.#draw();
    this.#write(out);
  }

  /**
   * Takes the terminal's new size and draws again. The terminal has rewrapped
   * what was drawn (tmux, VTE, kitty, iTerm2 and Windows Terminal do), so the
   * cursor's row is found by placing the drawn cells at the new width.
   */
  resize(columns: number, rows?: number): void {
    const width = Math.max(1, Math.floor(columns));
    if (rows !== undefined) this.#screenRows = Math.max(1, rows);
    if (this.#shown) {
      const placed = place(this.#drawn, this.#drawnCursor, width);
      // A cursor after the last character of a line that now ends exactly at
      // the margin: the rewrapped line has no row after it, so the terminal
      // keeps the cursor waiting at the margin of its last row (unless the
      // draw wrote a space there to take it to the next).
      const atMargin = !this.#drawnSpace && placed.cursorRow > placed.endRow;
      const row = atMargin ? placed.endRow : placed.cursorRow;
      this.#cursorRow = Math.min(row, this.#screenRows - 1);
    }
    this.#columns = width;
    if (this.#shown) this.redraw();
  }

  /** Erases the editor's rows (before leaving, say); the next redraw draws it anew. */
  clear(): void {
    if (!this.#shown) return;
    this.#write(this.#erase());
    this.#shown = false;
    this.#rowsDrawn = 0;
  }

  /** Clears the whole screen (`ESC [ H ESC [ 2 J`) and draws the editor at its top. */
  clearScreen(): void {
    this.#shown = false;
    this.#write("\x1b[H\x1b[2J" + this.#draw());
  }

  /** Goes to the start of the editor's first row and erases to the end of the screen. */
  #erase(): string {
    const up = this.#shown && this.#cursorRow > 0 ? `\x1b[${this.#cursorRow}A` : "";
    this.#cursorRow = 0;
    this.#cursorColumn = 0;
    return `\r${up}${ERASE_BELOW}`;
  }

  #cells(text: string): Cell[] {
    const cells: Cell[] = [];
    let last = 0;
    for (const match of text.matchAll(CSI_SEQUENCE)) {
      this.#graphemeCells(text.slice(last, match.index), cells);
      cells.push({ text: match[0], width: 0, escape: true });
      last = match.index + match[0].length;
    }
    this.#graphemeCells(text.slice(last), cells);
    return cells;
  }

  #graphemeCells(text: string, cells: Cell[]): void {
    if (text === "") return;
    for (const grapheme of this.#graphemes(text)) {
      cells.push({ text: grapheme, width: this.#width(grapheme), escape: false });
    }
  }

  /**
   * What draws the editor from the start of an empty row, leaving the
   * terminal's cursor where the editor's is.
   */
  #draw(): string {
    const { graphemes, cursor } = this.#editor.display();
    const line = graphemes.map((text) => ({ text, width: this.#width(text), escape: false }));
    const cells = [...this.#prompt, ...line, ...this.#status];
    const cursorCell = this.#prompt.length + cursor;
    const placed = place(cells, cursorCell, this.#columns);
    // Taller than the screen: only the rows around the cursor.
    const total = Math.max(placed.endRow, placed.cursorRow) + 1;
    const top = Math.max(
      0,
      Math.min(placed.cursorRow - this.#screenRows + 1, total - this.#screenRows),
    );
    const bottom = top + this.#screenRows;
    let out = "";
    const drawn: Cell[] = [];
    let drawnCursor = -1;
    let endRow = top;
    let endColumn = 0;
    let space = false;
    cells.forEach((cell, i) => {
      if (i === cursorCell) drawnCursor = drawn.length;
      const row = placed.rows[i] as number;
      const visible = row >= top && row < bottom;
      // Colour codes of hidden rows still count: they colour what follows.
      if (!visible && !cell.escape) return;
      out += cell.text;
      drawn.push(cell);
      if (visible && cell.width > 0) {
        endRow = row;
        endColumn = (placed.columns[i] as number) + cell.width;
      }
    });
    if (drawnCursor < 0) drawnCursor = drawn.length;
    endRow -= top;
    const cursorRow = placed.cursorRow - top;
    const cursorColumn = placed.cursorColumn;
    if (endColumn >= this.#columns) {
      // The last row is full: the terminal's cursor waits at the margin for
      // the next character to wrap it, and where it will go is unknown
      // until then. A space wraps it to the next row if the editor's cursor
      // is there; otherwise `\r` takes it to a known place.
      if (cursorRow > endRow) {
        out += " \r";
        space = true;
        endRow++;
      } else {
        out += "\r";
      }
      endColumn = 0;
    }
    if (endRow > cursorRow) out += `\x1b[${endRow - cursorRow}A`;
    if (endColumn !== cursorColumn) {
      if (endColumn > 0) out += "\r";
      if (cursorColumn > 0) out += `\x1b[${cursorColumn}C`;
    }
    this.#shown = true;
    this.#rowsDrawn = Math.max(endRow, cursorRow) + 1;
    this.#cursorRow = cursorRow;
    this.#cursorColumn = cursorColumn;
    this.#drawn = drawn;
    this.#drawnCursor = drawnCursor;
    this.#drawnSpace = space;
    return out;
  }
}
