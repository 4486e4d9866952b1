/**
 * A line editor for a terminal in raw mode, in three parts that know nothing
 * of Deno's streams, so that tests drive them with bytes and strings:
 *
 * - `KeyDecoder` (`key_decoder.ts`) turns the bytes a terminal sends into keys;
 * - {@linkcode LineEditor}, here, holds the line, its history and completion,
 *   and turns each key into an action (submit, interrupt, end of input...);
 * - `EditorView` (`editor_view.ts`) draws the prompt and the line below the
 *   chat, wrapped to the terminal's width, and prints incoming lines above it.
 *
 * Try it (Enter prints the line above, Ctrl+D on an empty line leaves):
 *
 * ```ts ignore
 * import { EditorView } from "./editor_view.ts";
 * import { KeyDecoder } from "./key_decoder.ts";
 * import { LineEditor } from "./line_editor.ts";
 *
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

import type { Key } from "./key_decoder.ts";

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
  /**
   * Where a line's secret part starts (a code-unit index), or `null` for a
   * line with none: from there each grapheme but a space shows as `*`, and
   * the line stays out of the history and the kill buffer, and Tab does not
   * complete in it. The terminal client passes `secretStart` (`/login NAME PASSWORD`).
   */
  secret?: (line: string) => number | null;
}

/**
 * What the caller should do after a key: `none`, only redraw; `submit`, send
 * the line (Enter); `interrupt`, Ctrl+C was typed (the line is left as it
 * was); `eof`, Ctrl+D on an empty line; `clear-screen`, Ctrl+L (see
 * `EditorView.clearScreen`); `paste`, send these pasted lines (the
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
  readonly #secret: (line: string) => number | null;
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
    this.#secret = options.secret ?? (() => null);
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

  /** Whether the line has a secret part (see {@linkcode LineEditorOptions.secret}). */
  get secret(): boolean {
    return this.#secret(this.line) !== null;
  }

  /**
   * What to show: the line and cursor, its secret part (if any) as `*`, or
   * when masked the mask (each grapheme as `shown`).
   */
  display(): { graphemes: readonly string[]; cursor: number } {
    if (this.#mask === null) {
      const from = this.#secret(this.line);
      if (from === null) return { graphemes: this.#graphemes, cursor: this.#cursor };
      let at = 0;
      const graphemes = this.#graphemes.map((grapheme) => {
        const hidden = at >= from && !isSpace(grapheme);
        at += grapheme.length;
        return hidden ? "*" : grapheme;
      });
      return { graphemes, cursor: this.#cursor };
    }
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
    const secret = this.#mask !== null || this.secret;
    const removed = this.#remove(from, to);
    if (removed !== "" && !secret) this.#killed = removed;
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
    if (this.#mask === null && this.#secret(line) === null) this.addHistory(line);
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
    // In a password, a name or a command would only give the password away.
    const secretFrom = this.#secret(this.line);
    if (secretFrom !== null && this.#before().length >= secretFrom) return;
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
