/**
 * Helpers for the tests of the line editor and its view: keys given by name,
 * an editor made from a line with `|` where the cursor is, and the line read
 * back the same way.
 */

import assert from "node:assert/strict";
import type { Key, KeyName } from "./key_decoder.ts";
import { type EditorAction, LineEditor, type LineEditorOptions } from "./line_editor.ts";

/** Applies keys: a string of one of the names is that key, any other string is typed text. */
export function press(editor: LineEditor, ...keys: (KeyName | string | Key)[]): EditorAction[] {
  return keys.map((key) =>
    editor.handle(
      typeof key !== "string" ? key : NAMES.has(key) ? { type: key as KeyName } : {
        type: "text",
        text: key,
      },
    )
  );
}
const NAMES = new Set<string>([
  "enter",
  "backspace",
  "delete",
  "tab",
  "escape",
  "up",
  "down",
  "left",
  "right",
  "home",
  "end",
  "ctrl-left",
  "ctrl-right",
  "ctrl-a",
  "ctrl-b",
  "ctrl-c",
  "ctrl-d",
  "ctrl-e",
  "ctrl-f",
  "ctrl-k",
  "ctrl-l",
  "ctrl-n",
  "ctrl-p",
  "ctrl-u",
  "ctrl-w",
  "ctrl-y",
  "alt-b",
  "alt-f",
  "alt-backspace",
]);

/** The line with `|` at the cursor. */
export function shown(editor: LineEditor): string {
  const g = editor.graphemes;
  return g.slice(0, editor.cursor).join("") + "|" + g.slice(editor.cursor).join("");
}

/** An editor holding `text` with the cursor where `|` is. */
export function editing(text: string, options: LineEditorOptions = {}): LineEditor {
  const editor = new LineEditor(options);
  const [before, after = ""] = text.split("|") as [string, string?];
  press(editor, before + after, "home");
  for (let i = 0; i < editor.graphemes.length && shown(editor) !== text; i++) {
    press(editor, "right");
  }
  assert.equal(shown(editor), text);
  return editor;
}
