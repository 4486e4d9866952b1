/** Tests of {@linkcode LineEditor}: editing keys, history, completion, pastes and masking. */

import assert from "node:assert/strict";
import { type Completer, LineEditor } from "./line_editor.ts";
import { editing, press, shown } from "./line_editor_test_helpers.ts";
import { secretStart } from "../web/lines.js";

const test = (name: string, fn: () => void) =>
  Deno.test({ name, fn, sanitizeOps: true, sanitizeResources: true });

/** The editor after these keys, as {@linkcode press} takes them. */
function after(editor: LineEditor, ...keys: string[]): LineEditor {
  press(editor, ...keys);
  return editor;
}

test("typed text goes in at the cursor, which moves past it", () => {
  const editor = editing("held|");
  press(editor, "left", "left", "l");
  assert.equal(shown(editor), "hel|ld");
  press(editor, "ctrl-e", "o");
  assert.equal(shown(editor), "helldo|");
});

test("the cursor moves by graphemes: a flag, an emoji with a skin tone, e and a combining accent", () => {
  const editor = editing("a🇫🇷👋🏽e\u0301|");
  assert.equal(editor.graphemes.length, 4);
  press(editor, "left");
  assert.equal(shown(editor), "a🇫🇷👋🏽|e\u0301");
  press(editor, "left", "backspace");
  assert.equal(shown(editor), "a|👋🏽e\u0301");
});

test("a combining mark typed after a letter joins it into one grapheme", () => {
  const editor = editing("e|");
  press(editor, "\u0301");
  assert.deepEqual(editor.graphemes, ["e\u0301"]);
  assert.equal(editor.cursor, 1);
});

test("Left, Right, Ctrl+B and Ctrl+F move one grapheme and stop at the ends", () => {
  const editor = editing("ab|");
  press(editor, "left", "ctrl-b", "left");
  assert.equal(shown(editor), "|ab");
  press(editor, "right", "ctrl-f", "right");
  assert.equal(shown(editor), "ab|");
});

test("Home, End, Ctrl+A and Ctrl+E go to the ends", () => {
  const editor = editing("ab|cd");
  press(editor, "home");
  assert.equal(shown(editor), "|abcd");
  press(editor, "end");
  assert.equal(shown(editor), "abcd|");
  press(editor, "ctrl-a");
  assert.equal(shown(editor), "|abcd");
  press(editor, "ctrl-e");
  assert.equal(shown(editor), "abcd|");
});

test("Backspace removes before the cursor, Delete and Ctrl+D after it; nothing at the ends", () => {
  const editor = editing("ab|cd");
  press(editor, "backspace");
  assert.equal(shown(editor), "a|cd");
  press(editor, "delete");
  assert.equal(shown(editor), "a|d");
  assert.deepEqual(press(editor, "ctrl-d"), [{ type: "none" }]);
  assert.equal(shown(editor), "a|");
  press(editor, "delete", "ctrl-d", "home", "backspace");
  assert.equal(shown(editor), "|a");
});

test("Ctrl+D on an empty line is end of input", () => {
  assert.deepEqual(press(new LineEditor(), "ctrl-d"), [{ type: "eof" }]);
});

test("Ctrl+W removes the whitespace-separated word before the cursor, spaces after it too", () => {
  const editor = editing("say foo-bar.baz  |qux");
  press(editor, "ctrl-w");
  assert.equal(shown(editor), "say |qux");
  press(editor, "ctrl-w");
  assert.equal(shown(editor), "|qux");
  press(editor, "ctrl-w");
  assert.equal(shown(editor), "|qux");
});

test("Alt+Backspace removes the letters-and-digits word before the cursor", () => {
  const editor = editing("say foo-bar.baz  |qux");
  press(editor, "alt-backspace");
  assert.equal(shown(editor), "say foo-bar.|qux");
  press(editor, "alt-backspace", "alt-backspace");
  assert.equal(shown(editor), "say |qux");
});

test("Ctrl+U removes to the start, Ctrl+K to the end, Ctrl+Y puts back the last cut", () => {
  const editor = editing("hello |world");
  press(editor, "ctrl-k");
  assert.equal(shown(editor), "hello |");
  press(editor, "ctrl-a", "ctrl-y");
  assert.equal(shown(editor), "world|hello ");
  press(editor, "ctrl-u");
  assert.equal(shown(editor), "|hello ");
  press(editor, "ctrl-e", "ctrl-y");
  assert.equal(shown(editor), "hello world|");
});

test("Alt+B, Alt+F, Ctrl+Left and Ctrl+Right move by letters-and-digits words", () => {
  const editor = editing("|one, two.three  four");
  press(editor, "alt-f");
  assert.equal(shown(editor), "one|, two.three  four");
  press(editor, "ctrl-right");
  assert.equal(shown(editor), "one, two|.three  four");
  press(editor, "alt-f", "alt-f", "alt-f");
  assert.equal(shown(editor), "one, two.three  four|");
  press(editor, "alt-b");
  assert.equal(shown(editor), "one, two.three  |four");
  press(editor, "ctrl-left", "ctrl-left");
  assert.equal(shown(editor), "one, |two.three  four");
  press(editor, "alt-b", "alt-b");
  assert.equal(shown(editor), "|one, two.three  four");
});

test("Enter submits the line and empties it; Ctrl+C interrupts and leaves the line", () => {
  const editor = editing("hi |there");
  assert.deepEqual(press(editor, "ctrl-c"), [{ type: "interrupt" }]);
  assert.equal(shown(editor), "hi |there");
  assert.deepEqual(press(editor, "enter"), [{ type: "submit", line: "hi there" }]);
  assert.equal(shown(editor), "|");
  assert.deepEqual(press(editor, "enter"), [{ type: "submit", line: "" }]);
});

test("Ctrl+L asks for a cleared screen and leaves the line", () => {
  const editor = editing("a|b");
  assert.deepEqual(press(editor, "ctrl-l"), [{ type: "clear-screen" }]);
  assert.equal(shown(editor), "a|b");
});

test("keys with no meaning here change nothing", () => {
  const editor = editing("a|b");
  assert.deepEqual(press(editor, "escape"), [{ type: "none" }]);
  assert.equal(shown(editor), "a|b");
});

test("typed text loses control characters and escapes; a tab becomes a space", () => {
  const editor = new LineEditor();
  press(editor, "a\tb\x1b[31mc\x07d\u009be");
  assert.equal(shown(editor), "a bcde|");
});

test("the line is cut at maxLength, at a grapheme boundary", () => {
  const editor = new LineEditor({ maxLength: 5 });
  press(editor, "abc", "de👋f");
  assert.equal(shown(editor), "abcde|");
  press(editor, "backspace", "backspace", "👋👋");
  assert.equal(shown(editor), "abc👋|");
});

test("a paste with no newline is typed at the cursor", () => {
  const editor = editing("ab|cd");
  assert.deepEqual(press(editor, { type: "paste", text: "XY\tZ" }), [{ type: "none" }]);
  assert.equal(shown(editor), "abXY Z|cd");
});

test("a paste with newlines is lines to send: before the cursor starts them, after ends them", () => {
  const editor = editing("ab|cd");
  assert.deepEqual(press(editor, { type: "paste", text: "one\ntwo\n\nthree" }), [
    { type: "paste", lines: ["abone", "two", "", "threecd"] },
  ]);
  assert.equal(shown(editor), "|");
});

test("a paste ending in a newline adds no empty line, unless text followed the cursor", () => {
  const editor = editing("go |");
  assert.deepEqual(press(editor, { type: "paste", text: "one\r\ntwo\n" }), [
    { type: "paste", lines: ["go one", "two"] },
  ]);
  const other = editing("go |on");
  assert.deepEqual(press(other, { type: "paste", text: "one\n" }), [
    { type: "paste", lines: ["go one", "on"] },
  ]);
});

test("pasted lines lose control characters; pasting stays out of the history", () => {
  const editor = new LineEditor();
  assert.deepEqual(press(editor, { type: "paste", text: "a\x1b[1mb\x00\nc\td" }), [
    { type: "paste", lines: ["ab", "c d"] },
  ]);
  assert.deepEqual(editor.history, []);
});

test("submitted lines go into the history, but not empty ones or the same line twice", () => {
  const editor = new LineEditor();
  press(editor, "one", "enter", "", "enter", "  ", "enter", "two", "enter", "two", "enter");
  press(editor, "one", "enter");
  assert.deepEqual(editor.history, ["one", "two", "one"]);
});

test("the history keeps the newest historySize lines", () => {
  const editor = new LineEditor({ historySize: 3 });
  for (const line of ["a", "b", "c", "d"]) press(editor, line, "enter");
  assert.deepEqual(editor.history, ["b", "c", "d"]);
  assert.equal(new LineEditor().history.length, 0);
  const big = new LineEditor();
  for (let i = 0; i < 600; i++) press(big, `line ${i}`, "enter");
  assert.equal(big.history.length, 500);
  assert.equal(big.history[0], "line 100");
});

test("Up and Down walk the history, and the line being written comes back at the end", () => {
  const editor = new LineEditor();
  press(editor, "first", "enter", "second", "enter", "draft");
  press(editor, "left", "up");
  assert.equal(shown(editor), "second|");
  press(editor, "ctrl-p");
  assert.equal(shown(editor), "first|");
  press(editor, "up");
  assert.equal(shown(editor), "first|");
  press(editor, "down");
  assert.equal(shown(editor), "second|");
  press(editor, "ctrl-n");
  assert.equal(shown(editor), "draft|");
  press(editor, "down");
  assert.equal(shown(editor), "draft|");
});

test("an entry changed while walking stays changed until Enter, and the history does not change", () => {
  const editor = new LineEditor();
  press(editor, "first", "enter", "second", "enter");
  press(editor, "up", "!", "up", "?", "down");
  assert.equal(shown(editor), "second!|");
  press(editor, "up");
  assert.equal(shown(editor), "first?|");
  assert.deepEqual(press(editor, "enter"), [{ type: "submit", line: "first?" }]);
  assert.deepEqual(editor.history, ["first", "second", "first?"]);
  press(editor, "up", "up");
  assert.equal(shown(editor), "second|");
  press(editor, "down", "down");
  assert.equal(shown(editor), "|");
});

test("with no history Up and Down do nothing", () => {
  const editor = editing("a|b");
  press(editor, "up", "down", "ctrl-p", "ctrl-n");
  assert.equal(shown(editor), "a|b");
});

test("a masked line shows nothing or its mask, stays out of the history, and unmasks on Enter", () => {
  const editor = new LineEditor();
  press(editor, "chat", "enter");
  editor.maskLine();
  assert.equal(editor.masked, true);
  press(editor, "sécret", "left");
  assert.deepEqual(editor.display(), { graphemes: [], cursor: 0 });
  editor.maskLine("*");
  assert.deepEqual(editor.display(), { graphemes: ["*", "*", "*", "*", "*", "*"], cursor: 5 });
  press(editor, "up");
  assert.equal(shown(editor), "sécre|t");
  assert.deepEqual(press(editor, "enter"), [{ type: "submit", line: "sécret" }]);
  assert.equal(editor.masked, false);
  assert.deepEqual(editor.history, ["chat"]);
  press(editor, "up");
  assert.equal(shown(editor), "chat|");
});

test("what is cut from a masked line cannot be put back with Ctrl+Y", () => {
  const editor = new LineEditor();
  press(editor, "hello", "ctrl-u");
  editor.maskLine();
  press(editor, "secret", "ctrl-u", "enter", "ctrl-y");
  assert.equal(shown(editor), "hello|");
});

test("setLine replaces the line, cursor at the end", () => {
  const editor = editing("a|b");
  editor.setLine("x\ny");
  assert.equal(shown(editor), "xy|");
});

/** A completer over a fixed list, case-insensitive, for the word before the cursor. */
function words(...list: string[]): Completer {
  return (before) => {
    const from = before.search(/\S*$/);
    const word = before.slice(from).toLowerCase();
    return { replaceFrom: from, candidates: list.filter((w) => w.toLowerCase().startsWith(word)) };
  };
}

test("Tab with one candidate replaces the word before the cursor", () => {
  const editor = editing("hi al| there", { complete: words("alice ", "bob ") });
  press(editor, "tab");
  assert.equal(shown(editor), "hi alice | there");
});

test("Tab gives the completer the text before and after the cursor", () => {
  const seen: [string, string][] = [];
  const editor = editing("ab|cd", {
    complete: (before, after) => (seen.push([before, after]), null),
  });
  press(editor, "tab");
  assert.deepEqual(seen, [["ab", "cd"]]);
  assert.equal(shown(editor), "ab|cd");
});

test("Tab with several candidates puts in their common prefix, then cycles through them", () => {
  const editor = editing("al|", { complete: words("alice", "Alina", "bob", "alistair") });
  press(editor, "tab");
  assert.equal(shown(editor), "ali|");
  assert.deepEqual(editor.candidates, ["alice", "Alina", "alistair"]);
  press(editor, "tab");
  assert.equal(shown(editor), "alice|");
  press(editor, "tab");
  assert.equal(shown(editor), "Alina|");
  press(editor, "tab");
  assert.equal(shown(editor), "alistair|");
  press(editor, "tab");
  assert.equal(shown(editor), "alice|");
});

test("Tab keeps the word when the candidates share no more than it, and a key ends the cycle", () => {
  const editor = editing("a|", { complete: words("Ab", "ac") });
  press(editor, "tab");
  assert.equal(shown(editor), "a|");
  press(editor, "tab");
  assert.equal(shown(editor), "Ab|");
  press(editor, "!", "tab");
  assert.equal(shown(editor), "Ab!|");
  assert.deepEqual(editor.candidates, []);
});

test("the common prefix ignores letter case and is spelt as the first candidate", () => {
  const editor = editing("AL|", { complete: words("Alice", "alina") });
  press(editor, "tab");
  assert.equal(shown(editor), "Ali|");
});

test("Tab does nothing with no completer, no candidates, or a masked line", () => {
  assert.equal(shown(after(editing("a|"), "tab")), "a|");
  assert.equal(shown(after(editing("zz|", { complete: words("alice") }), "tab")), "zz|");
  const masked = editing("al|", { complete: words("alice") });
  masked.maskLine();
  assert.equal(shown(after(masked, "tab")), "al|");
});

test("Tab replaces from replaceFrom and keeps what follows the cursor", () => {
  const editor = editing("/join #d|ev", {
    complete: () => ({ replaceFrom: 6, candidates: ["#dev", "#design"] }),
  });
  press(editor, "tab");
  assert.equal(shown(editor), "/join #de|ev");
  press(editor, "tab");
  assert.equal(shown(editor), "/join #dev|ev");
});

test("the passwords of /login, /register, /password and /unregister show as * and stay out of the history", () => {
  const editor = new LineEditor({ secret: secretStart });
  press(editor, "hello", "enter", "/login alice secret123");
  assert.equal(editor.display().graphemes.join(""), "/login alice *********");
  assert.equal(editor.secret, true);
  assert.deepEqual(press(editor, "enter"), [{ type: "submit", line: "/login alice secret123" }]);
  press(editor, "/password old-one new-one");
  assert.equal(editor.display().graphemes.join(""), "/password ******* *******");
  press(editor, "enter", "/REGISTER pw", "enter", "/unregister pw", "enter");
  assert.deepEqual(editor.history, ["hello"]);
  press(editor, "up");
  assert.equal(shown(editor), "hello|");
  press(editor, "up");
  assert.equal(shown(editor), "hello|");
});

test("a /login line shows in clear until the name is typed, and a name can still be completed", () => {
  const editor = new LineEditor({ secret: secretStart, complete: words("alice ") });
  press(editor, "/login al");
  assert.equal(editor.display().graphemes.join(""), "/login al");
  press(editor, "tab");
  assert.equal(editor.line, "/login alice ");
  press(editor, "sec", "tab");
  assert.equal(editor.display().graphemes.join(""), "/login alice ***");
});

test("what is cut from a password line cannot be put back with Ctrl+Y", () => {
  const editor = new LineEditor({ secret: secretStart });
  press(editor, "hello", "ctrl-u", "/register secret99", "ctrl-w", "ctrl-u", "ctrl-y");
  assert.equal(shown(editor), "hello|");
});
