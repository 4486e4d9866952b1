import assert from "node:assert/strict";
import {
  type Completer,
  defaultGraphemes,
  defaultGraphemeWidth,
  type EditorAction,
  EditorView,
  type EditorViewOptions,
  type Key,
  KeyDecoder,
  type KeyName,
  LineEditor,
  type LineEditorOptions,
} from "./line_editor.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

/** Runs of text joined, since where text is cut into keys depends on the chunks. */
function joined(keys: Key[]): Key[] {
  const out: Key[] = [];
  for (const key of keys) {
    const last = out.at(-1);
    if (key.type === "text" && last?.type === "text") last.text += key.text;
    else out.push(key.type === "text" ? { ...key } : key);
  }
  return out;
}

function decode(...chunks: string[]): Key[] {
  const decoder = new KeyDecoder();
  return chunks.flatMap((chunk) => decoder.feed(bytes(chunk)));
}

const test = (name: string, fn: () => void) =>
  Deno.test({ name, fn, sanitizeOps: true, sanitizeResources: true });

// ---------------------------------------------------------------------------
// KeyDecoder

test("consecutive printable characters are one text key, UTF-8 included", () => {
  assert.deepEqual(decode("héllo 漢字 👋🏽"), [{ type: "text", text: "héllo 漢字 👋🏽" }]);
});

test("CR, LF and CRLF are each one Enter; CR CR and LF LF are two", () => {
  assert.deepEqual(decode("a\rb\nc\r\nd"), [
    { type: "text", text: "a" },
    { type: "enter" },
    { type: "text", text: "b" },
    { type: "enter" },
    { type: "text", text: "c" },
    { type: "enter" },
    { type: "text", text: "d" },
  ]);
  assert.deepEqual(decode("\r\r\n\n"), [{ type: "enter" }, { type: "enter" }, { type: "enter" }]);
});

test("a CRLF split between chunks is still one Enter", () => {
  assert.deepEqual(decode("a\r", "\nb"), [
    { type: "text", text: "a" },
    { type: "enter" },
    { type: "text", text: "b" },
  ]);
});

test("control bytes are keys: Backspace, Tab and the Ctrl letters", () => {
  const controls: [string, Key][] = [
    ["\x7f", { type: "backspace" }],
    ["\x08", { type: "backspace" }],
    ["\t", { type: "tab" }],
    ["\x01", { type: "ctrl-a" }],
    ["\x02", { type: "ctrl-b" }],
    ["\x03", { type: "ctrl-c" }],
    ["\x04", { type: "ctrl-d" }],
    ["\x05", { type: "ctrl-e" }],
    ["\x06", { type: "ctrl-f" }],
    ["\x0b", { type: "ctrl-k" }],
    ["\x0c", { type: "ctrl-l" }],
    ["\x0e", { type: "ctrl-n" }],
    ["\x10", { type: "ctrl-p" }],
    ["\x15", { type: "ctrl-u" }],
    ["\x17", { type: "ctrl-w" }],
    ["\x19", { type: "ctrl-y" }],
  ];
  for (const [input, key] of controls) {
    assert.deepEqual(decode(input), [key], JSON.stringify(input));
  }
});

test("other control bytes are ignored, never inserted", () => {
  assert.deepEqual(decode("a\x00\x07\x0f\x1a\x1cb"), [{ type: "text", text: "ab" }]);
});

test("escape sequences are keys: arrows, Home, End, Delete, word moves, Alt keys", () => {
  const sequences: [string, Key][] = [
    ["\x1b[A", { type: "up" }],
    ["\x1b[B", { type: "down" }],
    ["\x1b[C", { type: "right" }],
    ["\x1b[D", { type: "left" }],
    ["\x1bOA", { type: "up" }],
    ["\x1bOB", { type: "down" }],
    ["\x1bOC", { type: "right" }],
    ["\x1bOD", { type: "left" }],
    ["\x1b[H", { type: "home" }],
    ["\x1b[F", { type: "end" }],
    ["\x1bOH", { type: "home" }],
    ["\x1bOF", { type: "end" }],
    ["\x1b[1~", { type: "home" }],
    ["\x1b[7~", { type: "home" }],
    ["\x1b[4~", { type: "end" }],
    ["\x1b[8~", { type: "end" }],
    ["\x1b[3~", { type: "delete" }],
    ["\x1b[1;5D", { type: "ctrl-left" }],
    ["\x1b[1;5C", { type: "ctrl-right" }],
    ["\x1b[1;3D", { type: "ctrl-left" }],
    ["\x1b[1;2C", { type: "right" }],
    ["\x1b[1;5A", { type: "up" }],
    ["\x1bOd", { type: "ctrl-left" }],
    ["\x1bOc", { type: "ctrl-right" }],
    ["\x1bb", { type: "alt-b" }],
    ["\x1bf", { type: "alt-f" }],
    ["\x1b\x7f", { type: "alt-backspace" }],
    ["\x1b\x08", { type: "alt-backspace" }],
  ];
  for (const [input, key] of sequences) {
    assert.deepEqual(decode(input), [key], JSON.stringify(input));
  }
});

test("unknown CSI and SS3 sequences are swallowed whole", () => {
  assert.deepEqual(decode("a\x1b[5~b\x1b[15;2~c\x1bOPd\x1b[<0;12;5Me\x1b[?1;2cf\x1b[Zg"), [
    { type: "text", text: "abcdefg" },
  ]);
});

test("an overlong sequence is swallowed whole, its parameters never inserted", () => {
  assert.deepEqual(decode(`a\x1b[${"1;".repeat(5000)}Ab`), [{ type: "text", text: "ab" }]);
});

test("Alt with another letter is swallowed; ESC before a control leaves the control", () => {
  assert.deepEqual(decode("a\x1bxb\x1b\r"), [{ type: "text", text: "ab" }, { type: "enter" }]);
});

test("a sequence cut short by a control byte is dropped and the byte counts", () => {
  assert.deepEqual(decode("\x1b[1\x03"), [{ type: "ctrl-c" }]);
});

test("a lone ESC waits for the next chunk: ESC then [A is still Up", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed(bytes("a\x1b")), [{ type: "text", text: "a" }]);
  assert.deepEqual(decoder.pending, true);
  assert.deepEqual(decoder.feed(bytes("[A")), [{ type: "up" }]);
  assert.deepEqual(decoder.pending, false);
});

test("flush makes a pending lone ESC the Escape key, once", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed(bytes("\x1b")), []);
  assert.deepEqual(decoder.flush(), [{ type: "escape" }]);
  assert.deepEqual(decoder.flush(), []);
  assert.deepEqual(decoder.feed(bytes("b")), [{ type: "text", text: "b" }]);
});

test("flush drops an unfinished sequence; ESC ESC is Escape and a pending ESC", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed(bytes("\x1b[1;")), []);
  assert.deepEqual(decoder.flush(), []);
  assert.deepEqual(decoder.feed(bytes("5Dx")), [{ type: "text", text: "5Dx" }]);
  assert.deepEqual(decoder.feed(bytes("\x1b\x1b")), [{ type: "escape" }]);
  assert.deepEqual(decoder.flush(), [{ type: "escape" }]);
});

test("a bracketed paste is one key, newlines kept as \\n whatever was sent", () => {
  assert.deepEqual(decode("x\x1b[200~one\rtwo\r\nthree\n\x1b[201~y"), [
    { type: "text", text: "x" },
    { type: "paste", text: "one\ntwo\nthree\n" },
    { type: "text", text: "y" },
  ]);
});

test("a paste keeps control bytes, escape sequences and a near miss of its end", () => {
  assert.deepEqual(decode("\x1b[200~a\tb\x1b[A\x1b[201\x1b[20~c\x03\x1b[201~"), [
    { type: "paste", text: "a\tb\x1b[A\x1b[201\x1b[20~c\x03" },
  ]);
});

test("a paste over the limit is cut at a character boundary and reading goes on", () => {
  const decoder = new KeyDecoder({ maxPasteBytes: 8 });
  assert.deepEqual(decoder.feed(bytes("\x1b[200~abcdefé漢xyz")), []);
  assert.deepEqual(decoder.feed(bytes("\x1b[201~ok")), [
    { type: "paste", text: "abcdefé", cut: true },
    { type: "text", text: "ok" },
  ]);
  // "abcdefg" + "漢" is 10 bytes: the limit falls inside 漢, which is left out whole.
  assert.deepEqual(
    new KeyDecoder({ maxPasteBytes: 9 }).feed(bytes("\x1b[200~abcdefg漢\x1b[201~")),
    [
      { type: "paste", text: "abcdefg", cut: true },
    ],
  );
});

test("a paste of 1 MiB and more keeps 1 MiB and the keys after it", () => {
  const decoder = new KeyDecoder();
  const big = "a".repeat(1024 * 1024 + 10);
  const keys = [
    ...decoder.feed(bytes("\x1b[200~")),
    ...decoder.feed(bytes(big)),
    ...decoder.feed(bytes("\x1b[201~\r")),
  ];
  assert.deepEqual(keys.length, 2);
  assert.deepEqual(keys[0], { type: "paste", text: "a".repeat(1024 * 1024), cut: true });
  assert.deepEqual(keys[1], { type: "enter" });
});

test("a UTF-8 character split between chunks is decoded whole", () => {
  const data = bytes("é漢👋");
  const decoder = new KeyDecoder();
  const keys = [...data].flatMap((byte) => decoder.feed(new Uint8Array([byte])));
  assert.deepEqual(joined(keys), [{ type: "text", text: "é漢👋" }]);
});

test("a control byte inside a UTF-8 character makes it U+FFFD, as TextDecoder does", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed(new Uint8Array([0x61, 0xe6, 0xbc])), [{ type: "text", text: "a" }]);
  assert.deepEqual(decoder.feed(new Uint8Array([0x0d])), [
    { type: "text", text: "\ufffd" },
    { type: "enter" },
  ]);
});

test("C1 controls typed as UTF-8 are not inserted", () => {
  assert.deepEqual(decode("a\u009bb\u0085c"), [{ type: "text", text: "abc" }]);
});

const MIXED = "hé漢\x1b[A\r\nx\x1b[1;5D\x1bb\x1b\x7f\x1bOH\x1b[3~\x1b[15~\t\x17" +
  "\x1b[200~p1\r\np2 é\x1b[201~\x1b[4~👋🏽\x7f\n\x03";
const MIXED_KEYS: Key[] = [
  { type: "text", text: "hé漢" },
  { type: "up" },
  { type: "enter" },
  { type: "text", text: "x" },
  { type: "ctrl-left" },
  { type: "alt-b" },
  { type: "alt-backspace" },
  { type: "home" },
  { type: "delete" },
  { type: "tab" },
  { type: "ctrl-w" },
  { type: "paste", text: "p1\np2 é" },
  { type: "end" },
  { type: "text", text: "👋🏽" },
  { type: "backspace" },
  { type: "enter" },
  { type: "ctrl-c" },
];

test("a mixed input decodes the same when split in two at every byte", () => {
  const data = bytes(MIXED);
  assert.deepEqual(new KeyDecoder().feed(data), MIXED_KEYS);
  for (let cut = 0; cut <= data.length; cut++) {
    const decoder = new KeyDecoder();
    const keys = [...decoder.feed(data.subarray(0, cut)), ...decoder.feed(data.subarray(cut))];
    assert.deepEqual(joined(keys), MIXED_KEYS, `cut at byte ${cut}`);
  }
});

test("a mixed input decodes the same when split in three anywhere, or byte by byte", () => {
  const data = bytes(MIXED);
  for (let first = 0; first <= data.length; first++) {
    for (let second = first; second <= data.length; second++) {
      const decoder = new KeyDecoder();
      const keys = [
        ...decoder.feed(data.subarray(0, first)),
        ...decoder.feed(data.subarray(first, second)),
        ...decoder.feed(data.subarray(second)),
      ];
      assert.deepEqual(joined(keys), MIXED_KEYS, `cut at bytes ${first} and ${second}`);
    }
  }
  const decoder = new KeyDecoder();
  const keys = [...data].flatMap((byte) => decoder.feed(new Uint8Array([byte])));
  assert.deepEqual(joined(keys), MIXED_KEYS);
});

// ---------------------------------------------------------------------------
// LineEditor

/** Applies keys: a string of one of the names is that key, any other string is typed text. */
function press(editor: LineEditor, ...keys: (KeyName | string | Key)[]): EditorAction[] {
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

/** The editor after these keys, as {@linkcode press} takes them. */
function after(editor: LineEditor, ...keys: string[]): LineEditor {
  press(editor, ...keys);
  return editor;
}

/** The line with `|` at the cursor. */
function shown(editor: LineEditor): string {
  const g = editor.graphemes;
  return g.slice(0, editor.cursor).join("") + "|" + g.slice(editor.cursor).join("");
}

/** An editor holding `text` with the cursor where `|` is. */
function editing(text: string, options: LineEditorOptions = {}): LineEditor {
  const editor = new LineEditor(options);
  const [before, after = ""] = text.split("|") as [string, string?];
  press(editor, before + after, "home");
  for (let i = 0; i < editor.graphemes.length && shown(editor) !== text; i++) {
    press(editor, "right");
  }
  assert.equal(shown(editor), text);
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

// ---------------------------------------------------------------------------
// EditorView

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
