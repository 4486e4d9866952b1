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
import { MAX_MESSAGE_BYTES } from "./message.ts";
import { bytes, formatSaid, prefixOf } from "./session_state.ts";

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
  /** The lines each sender said, by index, in order. */
  linesOf: ReadonlyMap<string, readonly number[]>;
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

/**
 * The IRC messages of `lines` in `channel`, each tagged with `time` (a
 * server-time tag's value, or "") and, when `accountOf` is given
 * (account-tag), its sender's account.
 */
export function translateShared(
  lines: SharedLine[],
  channel: string,
  time: string,
  accountOf: ((name: string) => string | null) | null = null,
): SharedEntry {
  // Each line's messages as text, then all of them encoded into one buffer: this runs once a
  // channel for every line anyone says, so the common line (one message that fits) is made
  // with one template and no measuring.
  const heads = new Map<string, { tags: string; head: string; size: number }>();
  const chunks: string[] = [];
  let most = 0;
  for (const line of lines) {
    const key = `${line.command} ${line.from}`;
    let made = heads.get(key);
    if (made === undefined) {
      const head = `:${prefixOf(line.from)} ${line.command} ${channel} :`;
      const account = accountOf?.(line.from) ?? null;
      const tag = account === null ? time : `${time}${time === "" ? "" : ";"}account=${account}`;
      made = { tags: tag === "" ? "" : `@${tag} `, head, size: bytes(head) };
      heads.set(key, made);
    }
    const tags = made.tags;
    // At most 3 bytes a UTF-16 unit: a line this short fits IRC's 512 bytes with its CR LF.
    const chunk = made.size + line.text.length * 3 <= MAX_MESSAGE_BYTES - 2
      ? `${tags}${made.head}${line.text}\r\n`
      : formatSaid(prefixOf(line.from), line.command, [channel, line.text])
        .map((message) => `${tags}${message}\r\n`).join("");
    chunks.push(chunk);
    most += chunk.length * 3;
  }
  const buffer = new Uint8Array(most);
  const ends: number[] = [];
  let size = 0;
  for (const chunk of chunks) {
    size += encoder.encodeInto(chunk, buffer.subarray(size)).written;
    ends.push(size);
  }
  const linesOf = new Map<string, number[]>();
  lines.forEach((line, i) => {
    const own = linesOf.get(line.from);
    if (own === undefined) linesOf.set(line.from, [i]);
    else own.push(i);
  });
  // A view, not a copy: the entry lives until the core writes its next batch.
  return { output: buffer.subarray(0, size), ends, linesOf };
}

/** What the client of `name` is sent of `entry`: all of it, or without its own lines. */
export function outputFor(entry: SharedEntry, name: string, echo: boolean): Uint8Array {
  const own = echo ? undefined : entry.linesOf.get(name);
  if (own === undefined) return entry.output;
  // The runs of others' lines between the sender's own, copied once.
  const { output: all, ends } = entry;
  const cut = own.reduce((bytes, i) => bytes + (ends[i] as number) - (ends[i - 1] ?? 0), 0);
  const output = new Uint8Array(all.length - cut);
  let offset = 0;
  let from = 0;
  for (const i of own) {
    const start = ends[i - 1] ?? 0;
    output.set(all.subarray(from, start), offset);
    offset += start - from;
    from = ends[i] as number;
  }
  output.set(all.subarray(from), offset);
  return output;
}
