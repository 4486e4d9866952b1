/**
 * What Tab completes in the terminal client: a command at the start of the
 * line (`/jo` → `/join `), a room after `#` (`#de` → `#dev `), and otherwise
 * the name of a member the client has seen, most recently seen first
 * (`al` → `alice: ` at the start of the line, `alice ` elsewhere).
 *
 * The client feeds a {@linkcode CompletionSource} with what it sees and hands
 * its {@linkcode CompletionSource.complete} to the line editor:
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import { CompletionSource } from "./completion.ts";
 * import { LineEditor } from "./line_editor.ts";
 *
 * const source = new CompletionSource(["/who", "/join", "/msg"]);
 * source.setNames(["alice", "bob"]);
 * const editor = new LineEditor({ complete: source.complete });
 * editor.handle({ type: "text", text: "al" });
 * editor.handle({ type: "tab" });
 * assert.equal(editor.line, "alice: ");
 * ```
 *
 * @module
 */

import type { Completion } from "./line_editor.ts";

/** Most member names remembered; the least recently seen are forgotten first. */
export const MAX_COMPLETION_NAMES = 10_000;
/** Most room names remembered; the least recently seen are forgotten first. */
export const MAX_COMPLETION_ROOMS = 1_000;

/** Options of a {@linkcode CompletionSource}. */
export interface CompletionSourceOptions {
  /** Most names remembered. @default {10000} */
  maxNames?: number;
  /** Most rooms remembered. @default {1000} */
  maxRooms?: number;
  /** Commands whose first word is a room, completed with or without `#`. @default {["/join"]} */
  roomCommands?: readonly string[];
}

/** Names compared regardless of letter case, as the server compares nicknames. */
const fold = (name: string) => name.toLowerCase();

/** Remembers `name` as the most recently seen, forgetting the oldest beyond `max`. */
function remember(known: Map<string, string>, name: string, max: number): void {
  if (name === "" || /\s/.test(name)) return;
  const key = fold(name);
  known.delete(key);
  known.set(key, name);
  for (const oldest of known.keys()) {
    if (known.size <= max) break;
    known.delete(oldest);
  }
}

/**
 * The names of `list`, known ones keeping their recency (and taking the
 * list's spelling), new ones as the least recent, in the list's order: a
 * list (a `/who` answer) says who is there, not who spoke last.
 */
function replaced(
  known: Map<string, string>,
  list: readonly string[],
  max: number,
): Map<string, string> {
  const wanted = new Map<string, string>();
  for (const name of list) {
    if (name !== "" && !/\s/.test(name)) wanted.set(fold(name), name);
  }
  const next = new Map<string, string>();
  // Least recent first, so the list's first new name ranks first among them.
  for (const [key, name] of [...wanted].reverse()) if (!known.has(key)) next.set(key, name);
  for (const key of known.keys()) {
    const name = wanted.get(key);
    if (name !== undefined) next.set(key, name);
  }
  for (const oldest of next.keys()) {
    if (next.size <= max) break;
    next.delete(oldest);
  }
  return next;
}

/** The values of `known` starting with `prefix` (letter case aside), most recent first. */
function matching(known: Map<string, string>, prefix: string): string[] {
  const folded = fold(prefix);
  const found: string[] = [];
  for (const name of known.values()) if (fold(name).startsWith(folded)) found.push(name);
  return found.reverse();
}

/**
 * What the client has seen that Tab can complete: its commands, the rooms
 * and the members' names. Bounded: at most {@linkcode MAX_COMPLETION_NAMES}
 * names and {@linkcode MAX_COMPLETION_ROOMS} rooms, the most recently seen kept.
 * Names and rooms are told apart regardless of letter case.
 */
export class CompletionSource {
  readonly #commands: readonly string[];
  readonly #roomCommands: ReadonlySet<string>;
  readonly #maxNames: number;
  readonly #maxRooms: number;
  /** By folded name, least recently seen first. */
  #names = new Map<string, string>();
  /** By folded name without `#`, least recently seen first. */
  #rooms = new Map<string, string>();

  /** Makes a source that completes these commands (`/who`, `/join`, ...; the `/` is optional). */
  constructor(commands: readonly string[], options: CompletionSourceOptions = {}) {
    this.#commands = [...new Set(commands.map((c) => c.startsWith("/") ? c : `/${c}`))];
    this.#roomCommands = new Set((options.roomCommands ?? ["/join"]).map(fold));
    this.#maxNames = options.maxNames ?? MAX_COMPLETION_NAMES;
    this.#maxRooms = options.maxRooms ?? MAX_COMPLETION_ROOMS;
  }

  /** The names known, most recently seen first. */
  get names(): string[] {
    return [...this.#names.values()].reverse();
  }

  /** The rooms known, without `#`, most recently seen first. */
  get rooms(): string[] {
    return [...this.#rooms.values()].reverse();
  }

  /** A member was seen (spoke, joined): its name becomes the most recent. */
  addName(name: string): void {
    remember(this.#names, name, this.#maxNames);
  }

  /** A member left. */
  removeName(name: string): void {
    this.#names.delete(fold(name));
  }

  /** A member changed its name; the new one is the most recent. */
  rename(from: string, to: string): void {
    this.removeName(from);
    this.addName(to);
  }

  /** The members present (a `/who` answer): others are forgotten, known ones keep their order. */
  setNames(names: readonly string[]): void {
    this.#names = replaced(this.#names, names, this.#maxNames);
  }

  /** A room was seen (`#dev` or `dev`): it becomes the most recent. */
  addRoom(room: string): void {
    remember(this.#rooms, room.replace(/^#/, ""), this.#maxRooms);
  }

  /** The rooms there are (a `/rooms` answer): others are forgotten. */
  setRooms(rooms: readonly string[]): void {
    this.#rooms = replaced(
      this.#rooms,
      rooms.map((room) => room.replace(/^#/, "")),
      this.#maxRooms,
    );
  }

  /**
   * Completes the word before the cursor, for {@linkcode LineEditor}'s
   * `complete` option (a bound function: pass it as it is). Nothing inside a
   * word (when `after` starts with a non-space) or for an empty word, except
   * a room after `/join `. A single candidate ends with a space, `: ` for a
   * name at the start of the line; with several, each does too, so that
   * cycling through them with Tab gives whole words. When `after` already
   * starts with a space, none is added.
   */
  readonly complete = (before: string, after: string): Completion | null => {
    if (/^\S/.test(after)) return null;
    const from = before.search(/\S*$/);
    const word = before.slice(from);
    const start = before.slice(0, from);
    const first = start.trim() === "";
    const space = /^\s/.test(after) ? "" : " ";
    let candidates: string[];
    if (first && word.startsWith("/")) {
      const folded = fold(word);
      candidates = this.#commands.filter((c) => fold(c).startsWith(folded)).map((c) => c + space);
    } else if (word.startsWith("#")) {
      candidates = matching(this.#rooms, word.slice(1)).map((room) => `#${room}${space}`);
    } else if (this.#roomCommands.has(fold(start.trim())) && /^\S+\s+$/.test(start)) {
      candidates = matching(this.#rooms, word).map((room) => room + space);
    } else if (word !== "") {
      const end = first ? `:${space}` : space;
      candidates = matching(this.#names, word).map((name) => name + end);
    } else {
      return null;
    }
    return candidates.length === 0 ? null : { replaceFrom: from, candidates };
  };
}
