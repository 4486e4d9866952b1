/**
 * A broadcast said once per channel, not once per client. The core writes
 * a room's lines to every member as the same bytes (core/delivery.ts); the
 * door's clients in that channel who see them the same way (the same
 * channel, the same capabilities) would each turn them into the same IRC
 * messages. The first one does, and the others write those bytes:
 * {@linkcode SharedOutput} keeps what was made of the last bytes the core
 * wrote, by how they are seen. A client is not sent its own lines unless it
 * asked for `echo-message`, so each line's place is kept, and a sender's
 * client gets the bytes without its own.
 *
 * Only lines that read the same to every such client are shared: members'
 * messages, actions and notices (core_lines.ts), which change no client's
 * state.
 *
 * @module
 */

import { readCoreLine } from "./core_lines.ts";
import { formatSaid, prefixOf } from "./session_state.ts";

const encoder = new TextEncoder();

/** One core line that reads the same to every client of a channel. */
export interface SharedLine {
  /** Who said it. */
  from: string;
  /** The IRC command it is: a message (and an action) or a notice. */
  command: "PRIVMSG" | "NOTICE";
  /** What it says, as IRC carries it (an action in CTCP's quotes). */
  text: string;
}

/** What was made of one core write, for clients that see it one way. */
export interface SharedEntry {
  /** The IRC messages of every line, encoded, as one write. */
  output: Uint8Array;
  /** Where each core line's messages end in `output`. */
  ends: number[];
  /** Who said each core line. */
  senders: string[];
  /** The same, as a set. */
  saidBy: ReadonlySet<string>;
}

/** The translations of the core's last write, door-wide: see the module's description. */
export class SharedOutput {
  #data: Uint8Array | null = null;
  readonly #entries = new Map<string, SharedEntry | null>();

  /** What was made of `data` for clients that see it as `view` (null: it is not shared), if known. */
  get(data: Uint8Array, view: string): SharedEntry | null | undefined {
    return data === this.#data ? this.#entries.get(view) : undefined;
  }

  /** Keeps what was made of `data` for `view` (null: not shared), forgetting earlier writes'. */
  set(data: Uint8Array, view: string, entry: SharedEntry | null): void {
    if (data !== this.#data) {
      this.#data = data;
      this.#entries.clear();
    }
    this.#entries.set(view, entry);
  }
}

/** `text`'s lines when every one reads the same to every client of a channel, else null. */
export function sharedLines(text: string): SharedLine[] | null {
  const lines: SharedLine[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    if (end > start) {
      const read = readCoreLine(text.slice(start, end));
      if (read.type === "message") {
        lines.push({ from: read.from, command: "PRIVMSG", text: read.text });
      } else if (read.type === "action") {
        lines.push({ from: read.from, command: "PRIVMSG", text: `\x01ACTION ${read.text}\x01` });
      } else if (read.type === "roomNotice") {
        lines.push({ from: read.from, command: "NOTICE", text: read.text });
      } else {
        return null;
      }
    }
    start = end + 1;
  }
  return lines;
}

/** The IRC messages of `lines` in `channel`, each after `stamp` (a server-time tag, or ""). */
export function translateShared(lines: SharedLine[], channel: string, stamp: string): SharedEntry {
  const chunks: Uint8Array[] = [];
  const ends: number[] = [];
  let size = 0;
  for (const line of lines) {
    const said = formatSaid(prefixOf(line.from), line.command, [channel, line.text]);
    const chunk = encoder.encode(said.map((message) => `${stamp}${message}\r\n`).join(""));
    chunks.push(chunk);
    ends.push(size += chunk.length);
  }
  const output = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    output.set(chunk, offset);
    offset += chunk.length;
  }
  const senders = lines.map((line) => line.from);
  return { output, ends, senders, saidBy: new Set(senders) };
}

/** What the client of `name` is sent of `entry`: all of it, or without its own lines. */
export function outputFor(entry: SharedEntry, name: string, echo: boolean): Uint8Array {
  if (echo || !entry.saidBy.has(name)) return entry.output;
  const parts: Uint8Array[] = [];
  let size = 0;
  let start = 0;
  for (let i = 0; i < entry.ends.length; i++) {
    const end = entry.ends[i] as number;
    if (entry.senders[i] !== name && end > start) {
      parts.push(entry.output.subarray(start, end));
      size += end - start;
    }
    start = end;
  }
  if (parts.length === 1) return parts[0] as Uint8Array;
  const output = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    output.set(part, offset);
    offset += part.length;
  }
  return output;
}
