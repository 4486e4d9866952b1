/**
 * The terminal client's console when its input and output are a terminal: a
 * line editor of its own ({@linkcode LineEditor}) at the bottom of the
 * screen, with the server's lines printed above it, a prompt that says where
 * you are (`alice #dev> `), Tab completion from what the client has seen, a
 * bell for lines that name you, and pasted lines sent one at a time as the
 * server answers them.
 *
 * @module
 */

import { BOLD, DIM, RESET } from "./ansi.ts";
import { COMMANDS } from "../core/commands.ts";
import { CompletionSource } from "./completion.ts";
import { EditorView } from "./editor_view.ts";
import { type Key, KeyDecoder } from "./key_decoder.ts";
import { LineEditor } from "./line_editor.ts";
import type { LINE_TOO_LONG } from "../protocol.ts";
import { graphemes, graphemeWidth } from "./text_width.ts";
import { classify, listedRooms, roomChange, secretStart } from "../web/lines.js";

/**
 * Where a session reads what is typed and shows what the server says: plain
 * standard input and output (`PlainConsole`), or the line editor on a terminal.
 */
export interface ChatConsole {
  /** The next line typed, `null` at end of input. */
  next(): Promise<string | typeof LINE_TOO_LONG | null>;
  /** Starts reading what is typed (the line editor takes over the terminal); safe to call again. */
  start(): void;
  /** Reads the next line without echo (a password). */
  startSecretLine(): void;
  /**
   * Asks for a password before the session starts: `prompt`, then a line
   * read without echo and kept out of the history; `null` when the person
   * leaves instead (Ctrl+C, end of input).
   */
  askSecret(prompt: string): Promise<string | null>;
  /** Shows one line from the server: `text` as formatted, `line` as received, `me` your name. */
  show(text: string, line: string, me: string | null): Promise<void>;
  /** Shows a note of the client's own (a lost connection, a line not sent). */
  note(text: string): void;
  /** Says where you are now, for a prompt: your name, and your room (null: as it was). */
  where(name: string | null, room: string | null): void;
  /** Shows how far the files being sent are (`Sending cat.png: 45% (...)`); "" for none. */
  progress(text: string): void;
  /**
   * Gives the terminal to Deno while `ask` shows one of its permission
   * prompts, and takes it back; null, without calling `ask`, where Deno
   * cannot ask (input or output is not a terminal).
   */
  lendTerminal<T>(ask: () => Promise<T>): Promise<T | null>;
  /** Called when Ctrl+C is typed while the terminal is in raw mode. */
  onInterrupt: () => void;
  /** Leaves the terminal as it was found. */
  restore(): void;
}

/** How long a lone ESC waits for the rest of a sequence before it is the Escape key. */
const ESCAPE_WAIT_MS = 50;
/** The longest a pasted line waits for the server to answer the one before it. */
const PASTE_ANSWER_MS = 2000;
/** Most pasted lines waiting to be sent; more are dropped, and the count says so. */
const MAX_WAITING_LINES = 10_000;

const BRACKETED_PASTE_ON = "\x1b[?2004h";
const BRACKETED_PASTE_OFF = "\x1b[?2004l";
/** Device status report: the terminal answers with the cursor's place, `ESC [ row ; col R`. */
const CURSOR_REPORT = "\x1b[6n";
/** How long the terminal has to answer {@linkcode CURSOR_REPORT}. */
const REPORT_WAIT_MS = 1000;
const BELL = "\x07";

/** The commands Tab completes at the start of a line: the server's, and the client's own. */
const COMMAND_WORDS: readonly string[] = [
  ...COMMANDS.flatMap((command) => command.names.map((name) => `/${name}`)),
  "/send",
  "/quit",
];

const encoder = new TextEncoder();

/** The terminal's size; one that says 0 (a pseudo-terminal nobody sized) counts as 80 by 24. */
function terminalSize(): { columns: number; rows: number } {
  const { columns, rows } = Deno.consoleSize();
  return { columns: columns > 0 ? columns : 80, rows: rows > 0 ? rows : 24 };
}

/** Writes all of `text` to standard output before returning, so updates never interleave. */
function writeStdout(text: string): void {
  const data = encoder.encode(text);
  for (let offset = 0; offset < data.length;) {
    offset += Deno.stdout.writeSync(data.subarray(offset));
  }
}

/** A typed or pasted line waiting to be sent. */
interface Waiting {
  line: string;
  pasted: boolean;
}

/** Settings of a {@linkcode TerminalConsole}. */
export interface TerminalConsoleOptions {
  /** Ring the bell for a line that names you or a private message to you. */
  bell: boolean;
  /** Colour the prompt and the client's own notes. */
  color: boolean;
}

/** The client's console on a terminal: see the module's description. */
export class TerminalConsole implements ChatConsole {
  readonly #bell: boolean;
  readonly #color: boolean;
  readonly #source = new CompletionSource(COMMAND_WORDS);
  readonly #editor = new LineEditor({
    complete: this.#source.complete,
    graphemes,
    secret: secretStart,
  });
  readonly #view: EditorView;
  readonly #keys = new KeyDecoder();
  readonly #waiting: Waiting[] = [];
  #wake: (() => void) | null = null;
  /** Whether the server answered since the last pasted line went (or it waited long enough). */
  #answered = true;
  #answerTimer: ReturnType<typeof setTimeout> | undefined;
  #escapeTimer: ReturnType<typeof setTimeout> | undefined;
  #ended = false;
  #started = false;
  #secret = false;
  #dropped = 0;
  #name: string | null = null;
  #room: string | null = null;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  /** What the files being sent say, after the waiting lines' count. */
  #progress = "";
  /** Set while Deno's prompt has the terminal: reading waits for `released`. */
  #hold: { held: () => void; released: Promise<void> } | null = null;
  readonly #resized = () => this.#resize();
  /** Called when Ctrl+C is typed. */
  onInterrupt: () => void = () => {};

  /** A console on the process's terminal; nothing changes on it before {@linkcode start}. */
  constructor(options: TerminalConsoleOptions) {
    this.#bell = options.bell;
    this.#color = options.color;
    const { columns, rows } = terminalSize();
    this.#view = new EditorView(this.#editor, {
      write: writeStdout,
      columns,
      rows,
      prompt: "> ",
      graphemeWidth,
      graphemes,
    });
  }

  /** Puts the terminal in raw mode with bracketed paste, and starts reading keys. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    Deno.stdin.setRaw(true);
    writeStdout(BRACKETED_PASTE_ON);
    if (Deno.build.os !== "windows") Deno.addSignalListener("SIGWINCH", this.#resized);
    this.#view.redraw();
    void this.#read();
  }

  /** The next line to send: typed ones at once, pasted ones as the server answers; null at the end. */
  async next(): Promise<string | null> {
    while (true) {
      const first = this.#waiting[0];
      if (first !== undefined && (!first.pasted || this.#answered)) {
        this.#waiting.shift();
        if (first.pasted) this.#awaitAnswer();
        this.#showWaiting();
        if (this.#started) this.#view.redraw();
        return first.line;
      }
      if (first === undefined && this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  /** The next line typed is a password: shown as nothing, kept out of the history. */
  startSecretLine(): void {
    this.#secret = true;
    this.#editor.maskLine("");
    if (this.#started) this.#view.redraw();
  }

  /** Asks for a password on the editor's row, the prompt in place of the usual one. */
  async askSecret(prompt: string): Promise<string | null> {
    this.#view.setPrompt(prompt);
    this.startSecretLine();
    const interrupted = Promise.withResolvers<null>();
    const onInterrupt = this.onInterrupt;
    this.onInterrupt = () => interrupted.resolve(null);
    try {
      const line = await Promise.race([this.next(), interrupted.promise]);
      return typeof line === "string" ? line : null;
    } finally {
      this.onInterrupt = onInterrupt;
      this.where(this.#name, null);
    }
  }

  /** Prints a server line above the editor; learns names and rooms from it; rings for a mention. */
  show(text: string, line: string, me: string | null): Promise<void> {
    if (!this.#started) {
      // The last lines after the editor is gone (the goodbye): printed as they are.
      writeStdout(text + "\n");
      return Promise.resolve();
    }
    this.#learn(line);
    const info = classify(line, me);
    const ring = this.#bell && (info.mention || info.direct);
    this.#view.printAbove(text);
    if (ring) writeStdout(BELL);
    this.#answered = true;
    clearTimeout(this.#answerTimer);
    this.#wakeUp();
    return Promise.resolve();
  }

  /** Prints a note of the client's own above the editor. */
  note(text: string): void {
    if (!this.#started) {
      console.error(text);
      return;
    }
    this.#view.printAbove(this.#color ? DIM + text + RESET : text);
  }

  /** Keeps the prompt saying your name and room. */
  where(name: string | null, room: string | null): void {
    this.#name = name;
    if (name !== null) this.#source.removeName(name);
    if (room !== null) {
      this.#room = room;
      this.#source.addRoom(room);
    }
    const place = this.#room === null ? "" : ` #${this.#room}`;
    const who = name === null ? "" : this.#color ? BOLD + name + RESET : name;
    this.#view.setPrompt(name === null ? "> " : `${who}${place}> `);
    if (this.#started) this.#view.redraw();
  }

  /** Shows the files' progress on the status line, after the typed text. */
  progress(text: string): void {
    this.#progress = text;
    this.#showWaiting();
    if (this.#started) this.#view.redraw();
  }

  /**
   * Lends the terminal to Deno's permission prompt. Deno's prompt reads
   * standard input itself, and would wait behind the read this console
   * always has pending: so the terminal is asked where its cursor is, the
   * answer ends that read, and no other starts until the prompt is done. The
   * editor is erased meanwhile and the terminal is out of raw mode, since
   * the prompt reads a line. Null when the terminal does not answer.
   */
  async lendTerminal<T>(ask: () => Promise<T>): Promise<T | null> {
    if (!this.#started) return await ask();
    const held = Promise.withResolvers<boolean>();
    const released = Promise.withResolvers<void>();
    this.#hold = { held: () => held.resolve(true), released: released.promise };
    const timer = setTimeout(() => held.resolve(false), REPORT_WAIT_MS);
    writeStdout(CURSOR_REPORT);
    const free = await held.promise;
    clearTimeout(timer);
    if (!free) {
      this.#hold = null;
      released.resolve();
      return null;
    }
    this.#view.clear();
    Deno.stdin.setRaw(false);
    try {
      return await ask();
    } finally {
      Deno.stdin.setRaw(true);
      this.#hold = null;
      released.resolve();
      this.#view.redraw();
    }
  }

  /** Erases the editor and gives the terminal back as it was. */
  restore(): void {
    if (!this.#started) return;
    this.#started = false;
    clearTimeout(this.#escapeTimer);
    clearTimeout(this.#answerTimer);
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGWINCH", this.#resized);
    writeStdout(BRACKETED_PASTE_OFF);
    this.#view.clear();
    Deno.stdin.setRaw(false);
    void this.#reader?.cancel().catch(() => {});
  }

  async #read(): Promise<void> {
    this.#reader = Deno.stdin.readable.getReader();
    try {
      while (this.#started) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.#handleKeys(this.#keys.feed(value));
        clearTimeout(this.#escapeTimer);
        this.#escapeTimer = setTimeout(() => this.#handleKeys(this.#keys.flush()), ESCAPE_WAIT_MS);
        const hold = this.#hold;
        if (hold !== null) {
          // No read is pending now, so Deno's prompt can read the terminal.
          hold.held();
          await hold.released;
        }
      }
    } catch {
      // The terminal went away: as the end of input.
    } finally {
      this.#reader.releaseLock();
    }
    this.#end();
  }

  #handleKeys(keys: Key[]): void {
    if (keys.length === 0) return;
    for (const key of keys) {
      const action = this.#editor.handle(key);
      switch (action.type) {
        case "submit":
          if (this.#secret) {
            this.#secret = false;
            this.#editor.unmask();
          }
          this.#queue(action.line, false);
          break;
        case "paste":
          for (const line of action.lines) if (line.trim() !== "") this.#queue(line, true);
          break;
        case "interrupt":
          this.onInterrupt();
          break;
        case "eof":
          this.#end();
          break;
        case "clear-screen":
          this.#view.clearScreen();
          break;
      }
    }
    this.#showWaiting();
    this.#view.redraw();
  }

  #queue(line: string, pasted: boolean): void {
    if (this.#waiting.length >= MAX_WAITING_LINES) {
      this.#dropped++;
      return;
    }
    this.#waiting.push({ line, pasted });
    this.#wakeUp();
  }

  /** After a pasted line goes, the next waits for the server's answer, or a while. */
  #awaitAnswer(): void {
    this.#answered = false;
    clearTimeout(this.#answerTimer);
    this.#answerTimer = setTimeout(() => {
      this.#answered = true;
      this.#wakeUp();
    }, PASTE_ANSWER_MS);
  }

  #showWaiting(): void {
    const waiting = this.#waiting.length;
    const dropped = this.#dropped > 0 ? `, ${this.#dropped} dropped` : "";
    const parts = waiting > 0 || dropped ? [`[${waiting} waiting${dropped}]`] : [];
    if (this.#progress !== "") parts.push(`[${this.#progress}]`);
    const status = parts.join(" ");
    // After the typed text, a space apart; on an empty line, right after the prompt.
    this.#view.setStatus(status === "" || this.#editor.line === "" ? status : ` ${status}`);
    if (waiting === 0) this.#dropped = 0;
  }

  /** The end of input (Ctrl+D): what waits is still sent, then the client leaves. */
  #end(): void {
    this.#ended = true;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #resize(): void {
    const { columns, rows } = terminalSize();
    this.#view.resize(columns, rows);
  }

  /** What Tab completes: the names and rooms a line tells of. */
  #learn(line: string): void {
    const rooms = listedRooms(line);
    if (rooms !== null) {
      this.#source.setRooms(rooms.map((room) => room.name));
      return;
    }
    const change = roomChange(line);
    if (change === null) {
      const sender = classify(line, this.#name).sender;
      if (sender !== null && sender !== this.#name) this.#source.addName(sender);
      return;
    }
    switch (change.type) {
      case "joined":
        if (change.name !== this.#name) this.#source.addName(change.name);
        if (change.room !== null) this.#source.addRoom(change.room);
        break;
      case "left":
        // One who left for another room is still here: names are server-wide.
        if (change.room === null) this.#source.removeName(change.name);
        else this.#source.addRoom(change.room);
        break;
      case "renamed":
        this.#source.rename(change.from, change.to);
        break;
      case "who":
        // A room's list adds its names: those in other rooms are still here.
        for (const name of change.names) if (name !== this.#name) this.#source.addName(name);
        if (change.room !== null) this.#source.addRoom(change.room);
        break;
      case "moved":
        this.#source.addRoom(change.room);
        break;
    }
  }
}
