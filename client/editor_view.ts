/**
 * The view of the terminal client's line editor: {@linkcode EditorView}
 * draws a {@linkcode LineEditor}'s prompt and line at the bottom of a
 * terminal, wrapped to its width, and prints incoming lines above it. It
 * writes through a function it is given, so tests read what it draws.
 *
 * @module
 */

import { defaultGraphemes, type LineEditor } from "./line_editor.ts";

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
 * import { LineEditor } from "./line_editor.ts";
 *
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
