/** Tests of {@linkcode EditorView}: what it writes, checked on a small model of a terminal. */

import assert from "node:assert/strict";
import { defaultGraphemeWidth, EditorView, type EditorViewOptions } from "./editor_view.ts";
import { defaultGraphemes, type LineEditorOptions } from "./line_editor.ts";
import { editing, press } from "./line_editor_test_helpers.ts";

const test = (name: string, fn: () => void) =>
  Deno.test({ name, fn, sanitizeOps: true, sanitizeResources: true });

/** Says 2 for 漢 and 1 for anything else, as the tests' terminal does. */
const testWidth = (grapheme: string) => grapheme === "漢" ? 2 : 1;

/**
 * Just enough of a terminal to check what the view writes: autowrap with
 * the pending-wrap state at the margin, a wide character that would cross the
 * margin wraps whole, `\r`, `\n`, CUU, CUF, EL, ED, CUP home, SGR ignored,
 * and scrolling at the bottom. ED from the top-left cell throws, as tmux
 * would copy the screen into its history.
 */
class Terminal {
  grid: (string | null)[][];
  row = 0;
  /** `columns` when a wrap is pending. */
  column = 0;
  constructor(public columns: number, public height = 24) {
    this.grid = Array.from({ length: height }, () => this.#blank());
  }
  #blank(): (string | null)[] {
    return Array<string | null>(this.columns).fill(null);
  }
  #down(): void {
    if (++this.row < this.height) return;
    this.grid.shift();
    this.grid.push(this.#blank());
    this.row = this.height - 1;
  }
  write(text: string): void {
    // deno-lint-ignore no-control-regex
    for (const [token] of text.matchAll(/\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+/g)) {
      if (token === "\r") this.column = 0;
      else if (token === "\n") {
        this.column = Math.min(this.column, this.columns - 1);
        this.#down();
      } else if (token.startsWith("\x1b[")) this.#sequence(token);
      else for (const grapheme of defaultGraphemes(token)) this.#put(grapheme);
    }
  }
  #sequence(token: string): void {
    const n = Number(token.slice(2, -1) || 1);
    const column = Math.min(this.column, this.columns - 1);
    switch (token.at(-1)) {
      case "A":
        this.row = Math.max(0, this.row - n);
        this.column = column;
        break;
      case "C":
        this.column = Math.min(this.columns - 1, column + n);
        break;
      case "H":
        this.row = this.column = 0;
        break;
      case "K":
        this.grid[this.row]!.fill(null, column);
        break;
      case "J":
        if (token === "\x1b[J" && this.row === 0 && column === 0) {
          // tmux would first copy the whole screen into its history.
          throw new Error("ESC [ J from the top-left cell");
        }
        if (token === "\x1b[2J") {
          this.grid = this.grid.map(() => this.#blank());
        } else {
          this.grid[this.row]!.fill(null, column);
          for (let r = this.row + 1; r < this.height; r++) this.grid[r] = this.#blank();
        }
        break;
      case "m":
        break;
      default:
        throw new Error(`unexpected sequence ${JSON.stringify(token)}`);
    }
  }
  #put(grapheme: string): void {
    const width = testWidth(grapheme);
    if (this.column + width > this.columns) {
      this.#down();
      this.column = 0;
    }
    this.grid[this.row]![this.column] = grapheme;
    if (width === 2) this.grid[this.row]![this.column + 1] = "";
    this.column += width;
  }
  /** The screen's rows as text, trailing blank rows left out. */
  get screen(): string[] {
    const rows = this.grid.map((cells) =>
      cells.map((cell) => cell === null ? " " : cell).join("").trimEnd()
    );
    while (rows.length > 0 && rows.at(-1) === "") rows.pop();
    return rows;
  }
  /** Where the cursor is, as [row, column]. */
  get cursor(): [number, number] {
    return [this.row, this.column];
  }
}

/** A view writing to a list and to a {@linkcode Terminal}. */
function viewOf(
  text: string,
  options: Partial<EditorViewOptions> & { columns: number; height?: number },
  editorOptions: LineEditorOptions = {},
) {
  const editor = editing(text, editorOptions);
  const writes: string[] = [];
  const terminal = new Terminal(options.columns, options.height);
  const view = new EditorView(editor, {
    prompt: "> ",
    graphemeWidth: testWidth,
    ...options,
    write: (text) => {
      writes.push(text);
      terminal.write(text);
    },
  });
  /** What was written since the last call. */
  const written = () => writes.splice(0).join("");
  return { editor, view, terminal, written };
}

test("a short line is drawn as the prompt and the line, the cursor left at its end", () => {
  const { view, terminal, written } = viewOf("hi|", { columns: 40, prompt: "alice #dev> " });
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\ralice #dev> hi");
  assert.deepEqual(terminal.screen, ["alice #dev> hi"]);
  assert.deepEqual(terminal.cursor, [0, 14]);
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [1, 0, 14]);
});

test("with the cursor inside the line, the view moves it back with CR and CUF", () => {
  const { editor, view, terminal, written } = viewOf("hi|", {
    columns: 40,
    prompt: "alice #dev> ",
  });
  view.redraw();
  written();
  press(editor, "left", "left");
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\ralice #dev> hi\r\x1b[12C");
  assert.deepEqual(terminal.cursor, [0, 12]);
  press(editor, "right");
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\ralice #dev> hi\r\x1b[13C");
});

test("an empty line with no prompt draws nothing but the erase", () => {
  const { view, written } = viewOf("|", { columns: 10, prompt: "" });
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r");
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [1, 0, 0]);
});

test("a long ASCII line wraps, and a redraw goes back up to its first row", () => {
  const { editor, view, terminal, written } = viewOf("abcdefghijklmno|", { columns: 10 });
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> abcdefghijklmno");
  assert.deepEqual(terminal.screen, ["> abcdefgh", "ijklmno"]);
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [2, 1, 7]);
  press(editor, "home");
  view.redraw();
  assert.equal(written(), "\r\x1b[1A\x1b[K\x1b[C\x1b[J\r> abcdefghijklmno\x1b[1A\r\x1b[2C");
  assert.deepEqual(terminal.cursor, [0, 2]);
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [2, 0, 2]);
  press(editor, "end", "left", "left", "left", "left", "left", "left", "left");
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> abcdefghijklmno\r");
  assert.deepEqual(terminal.cursor, [1, 0]);
  assert.deepEqual(terminal.screen, ["> abcdefgh", "ijklmno"]);
});

test("a wide character that would straddle the last column wraps whole, and the cursor with it", () => {
  const { editor, view, terminal, written } = viewOf("a漢漢漢|", { columns: 6 });
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> a漢漢漢");
  assert.deepEqual(terminal.screen, ["> a漢", "漢漢"]);
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [2, 1, 4]);
  press(editor, "left", "left");
  view.redraw();
  // Before the second 漢, which went to the next row: not at column 5.
  assert.equal(written(), "\r\x1b[1A\x1b[K\x1b[C\x1b[J\r> a漢漢漢\r");
  assert.deepEqual([view.cursorRow, view.cursorColumn], [1, 0]);
  assert.deepEqual(terminal.cursor, [1, 0]);
  press(editor, "left");
  view.redraw();
  assert.equal(written(), "\r\x1b[1A\x1b[K\x1b[C\x1b[J\r> a漢漢漢\x1b[1A\r\x1b[3C");
  assert.deepEqual(terminal.cursor, [0, 3]);
});

test("a line exactly as wide as the terminal puts the cursor on the next row, not at the margin", () => {
  const { editor, view, terminal, written } = viewOf("abcdefgh|", { columns: 10 });
  view.redraw();
  // The space wraps the pending cursor to the next row; CR brings it to column 0.
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> abcdefgh \r");
  assert.deepEqual(terminal.cursor, [1, 0]);
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [2, 1, 0]);
  press(editor, "i");
  view.redraw();
  assert.equal(written(), "\r\x1b[1A\x1b[K\x1b[C\x1b[J\r> abcdefghi");
  assert.deepEqual(terminal.screen, ["> abcdefgh", "i"]);
  assert.deepEqual(terminal.cursor, [1, 1]);
  press(editor, "backspace", "home");
  view.redraw();
  // The cursor is on the full row: CR ends the pending wrap, CUF goes to it.
  assert.equal(written(), "\r\x1b[1A\x1b[K\x1b[C\x1b[J\r> abcdefgh\r\x1b[2C");
  assert.deepEqual(terminal.screen, ["> abcdefgh"]);
  assert.deepEqual(terminal.cursor, [0, 2]);
  assert.deepEqual([view.rowsDrawn, view.cursorRow], [1, 0]);
});

test("a line of wide characters ending exactly at the margin is handled the same way", () => {
  const { view, terminal, written } = viewOf("漢漢漢漢|", { columns: 10 });
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> 漢漢漢漢 \r");
  assert.deepEqual(terminal.cursor, [1, 0]);
});

test("colour codes in the prompt take no room", () => {
  const { view, terminal, written } = viewOf("abc|", {
    columns: 10,
    prompt: "\x1b[1malice\x1b[0m> ",
  });
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r\x1b[1malice\x1b[0m> abc \r");
  assert.deepEqual(terminal.screen, ["alice> abc"]);
  assert.deepEqual(terminal.cursor, [1, 0]);
});

test("printAbove erases the editor, prints the line, and draws the editor below it", () => {
  const { editor, view, terminal, written } = viewOf("abcdefghijklmno|", { columns: 10 });
  view.redraw();
  press(editor, "home");
  view.redraw();
  written();
  view.printAbove("\x1b[31mbob: hello there\x1b[0m");
  assert.equal(
    written(),
    "\r\x1b[K\x1b[C\x1b[J\r\x1b[31mbob: hello there\x1b[0m\r\n> abcdefghijklmno\x1b[1A\r\x1b[2C",
  );
  assert.deepEqual(terminal.screen, ["bob: hello", " there", "> abcdefgh", "ijklmno"]);
  assert.deepEqual(terminal.cursor, [2, 2]);
  press(editor, "end");
  view.redraw();
  written();
  view.printAbove("one\ntwo\n");
  assert.equal(written(), "\r\x1b[1A\x1b[K\x1b[C\x1b[J\rone\r\ntwo\r\n> abcdefghijklmno");
  assert.deepEqual(terminal.screen, [
    "bob: hello",
    " there",
    "one",
    "two",
    "> abcdefgh",
    "ijklmno",
  ]);
  assert.deepEqual(terminal.cursor, [5, 7]);
});

test("printAbove before the editor is drawn, or after clear, only prints", () => {
  const { view, terminal, written } = viewOf("hi|", { columns: 10 });
  view.printAbove("first");
  assert.equal(written(), "first\r\n");
  view.redraw();
  view.clear();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> hi\r\x1b[K\x1b[C\x1b[J\r");
  view.printAbove("last");
  assert.equal(written(), "last\r\n");
  assert.deepEqual(terminal.screen, ["first", "last"]);
});

test("the status follows the line and the cursor stays in the line", () => {
  const { view, terminal, written } = viewOf("hi|", { columns: 40 });
  view.setStatus(" [3 waiting]");
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> hi [3 waiting]\r\x1b[4C");
  assert.deepEqual(terminal.cursor, [0, 4]);
  view.setStatus("");
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> hi");
});

test("a status wrapping past the line's full row keeps the cursor at the start of its row", () => {
  const { view, terminal, written } = viewOf("abcdefgh|", { columns: 10 });
  view.setStatus("\x1b[2m [1 waiting]\x1b[0m");
  view.redraw();
  // " [1 waiting]" starts the next row and wraps again: the cursor goes up one from its end.
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> abcdefgh\x1b[2m [1 waiting]\x1b[0m\x1b[1A\r");
  assert.deepEqual(terminal.screen, ["> abcdefgh", " [1 waitin", "g]"]);
  assert.deepEqual(terminal.cursor, [1, 0]);
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [3, 1, 0]);
});

test("clear erases the editor's rows; the next redraw starts afresh", () => {
  const { view, terminal, written } = viewOf("abcdefghijklmno|", { columns: 10 });
  view.redraw();
  written();
  view.clear();
  assert.equal(written(), "\r\x1b[1A\x1b[K\x1b[C\x1b[J\r");
  assert.deepEqual(terminal.screen, []);
  assert.deepEqual(terminal.cursor, [0, 0]);
  assert.equal(view.rowsDrawn, 0);
  view.clear();
  assert.equal(written(), "");
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> abcdefghijklmno");
});

test("clearScreen clears the whole screen and draws the editor at its top", () => {
  const { view, terminal, written } = viewOf("hi|", { columns: 10 });
  view.printAbove("old");
  view.redraw();
  written();
  view.clearScreen();
  assert.equal(written(), "\x1b[H\x1b[2J> hi");
  assert.deepEqual(terminal.screen, ["> hi"]);
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> hi");
});

test("a masked line shows nothing, or its mask character", () => {
  const { editor, view, written } = viewOf("|", { columns: 20, prompt: "Password: " });
  editor.maskLine();
  press(editor, "secret");
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\rPassword: ");
  editor.maskLine("*");
  press(editor, "left");
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\rPassword: ******\r\x1b[15C");
});

test("resize to wider: the terminal has rewrapped the rows, so the redraw goes up fewer", () => {
  const { view, terminal, written } = viewOf("abcdefghijklmno|", { columns: 10 });
  view.redraw();
  written();
  view.resize(20);
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> abcdefghijklmno");
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [1, 0, 17]);
  view.resize(5);
  // Rewrapped at 5 columns, the 17 cells take 4 rows and the cursor is on the last.
  assert.equal(written(), "\r\x1b[3A\x1b[K\x1b[C\x1b[J\r> abcdefghijklmno");
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [4, 3, 2]);
  terminal.columns = 5;
});

test("resize to a width the line fills exactly: the cursor waits at the margin of the last row", () => {
  // tmux rewraps "> abcdefgh" to one full row of 10 and leaves the cursor at
  // its margin: going up a row there erased the chat line above the editor.
  const { view, written } = viewOf("abcdefgh|", { columns: 20 });
  view.redraw();
  written();
  view.resize(10);
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> abcdefgh \r");
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [2, 1, 0]);
  // Now a space holds the cursor's row: rewrapped at 5, "> abcdefgh " takes 3 rows.
  view.resize(5);
  assert.equal(written(), "\r\x1b[2A\x1b[K\x1b[C\x1b[J\r> abcdefgh \r");
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [3, 2, 0]);
});

test("resize of a view not shown only takes the width", () => {
  const { view, written } = viewOf("abcdefghijklmno|", { columns: 10 });
  view.resize(20);
  assert.equal(written(), "");
  view.redraw();
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r> abcdefghijklmno");
});

test("a line taller than the screen shows only the rows around the cursor", () => {
  const { editor, view, terminal, written } = viewOf("abcdefghijklmnopqrstuvwxyz|", {
    columns: 5,
    rows: 2,
    prompt: "\x1b[1m>\x1b[0m ",
  });
  view.redraw();
  // Rows: "> abc" "defgh" "ijklm" "nopqr" "stuvw" "xyz"; the last two are shown,
  // the prompt's colour codes still written.
  assert.equal(written(), "\r\x1b[K\x1b[C\x1b[J\r\x1b[1m\x1b[0mstuvwxyz");
  assert.deepEqual(terminal.screen, ["stuvw", "xyz"]);
  assert.deepEqual([view.rowsDrawn, view.cursorRow, view.cursorColumn], [2, 1, 3]);
  press(editor, "home");
  view.redraw();
  // The last row shown is full: CR first, then up.
  assert.equal(written(), "\r\x1b[1A\x1b[K\x1b[C\x1b[J\r\x1b[1m>\x1b[0m abcdefgh\r\x1b[1A\x1b[2C");
  assert.deepEqual(terminal.screen, ["> abc", "defgh"]);
  assert.deepEqual(terminal.cursor, [0, 2]);
});

test("at every cursor position, over wide and narrow characters and full rows, the terminal's cursor is on the cursor's character", () => {
  for (const columns of [4, 5, 6, 7, 10]) {
    for (const text of ["a漢b漢漢cd漢e", "漢漢漢漢漢漢", "abcdefghijkl"]) {
      const { editor, view, terminal } = viewOf(`${text}|`, { columns });
      for (let cursor = editor.graphemes.length; cursor >= 0; cursor--) {
        view.redraw();
        const cells = terminal.grid.flatMap((cells, row) =>
          cells.flatMap((cell, column) => cell ? [[row, column] as [number, number]] : [])
        );
        // Cell 0 and 1 are the prompt; the line's grapheme k is cell k + 2.
        const label = `${text} at ${cursor} in ${columns} columns`;
        assert.deepEqual(terminal.cursor, cells[cursor + 2] ?? terminal.cursor, label);
        if (cursor === editor.graphemes.length) {
          const [row, column] = cells[cursor + 1] as [number, number];
          const width = testWidth(editor.graphemes.at(-1) as string);
          const expected = column + width >= columns ? [row + 1, 0] : [row, column + width];
          assert.deepEqual(terminal.cursor, expected, label);
        }
        assert.deepEqual(terminal.cursor, [view.cursorRow, view.cursorColumn], label);
        press(editor, "left");
      }
    }
  }
});

test("redrawn again and again, the editor stays on its rows and leaves nothing behind", () => {
  const { editor, view, terminal } = viewOf("|", { columns: 6, height: 8 });
  view.printAbove("top");
  view.redraw();
  for (const key of ["abcd", "漢", "e", "left", "left", "漢漢", "home", "x", "end", "fgh"]) {
    press(editor, key);
    view.redraw();
  }
  assert.equal(editor.line, "xabcd漢漢漢efgh");
  assert.deepEqual(terminal.screen, ["top", "> xabc", "d漢漢", "漢efgh"]);
  for (let i = 0; i < 11; i++) press(editor, "backspace");
  view.redraw();
  assert.deepEqual(terminal.screen, ["top", "> x"]);
});

test("the default width is 2 for CJK and emoji, 0 for controls, 1 otherwise", () => {
  assert.deepEqual(
    ["a", "é", "漢", "한", "👋🏽", "🚀", "🇫🇷", "ｱ", "Ａ", "\x07"].map(defaultGraphemeWidth),
    [1, 1, 2, 2, 2, 2, 2, 1, 2, 0],
  );
});
