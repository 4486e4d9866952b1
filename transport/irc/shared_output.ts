/**
 * A broadcast said once per channel, not once per client. The core writes
 * a room's lines to every member as the same bytes (core/delivery.ts); the
 * door's clients in that channel who see them the same way (the same
 * channel, the same capabilities) would each turn them into the same IRC
 * messages. The first one does, and the others write those bytes:
 * {@linkcode SharedOutput} keeps what was made of the last bytes the core
 * wrote, by how they are seen. A client is not sent its own lines unless it
 * asked for `echo-message`, so each line's place is kept, and a sender's
 * client gets the runs of bytes around its own, as views, in one write.
 *
 * Only lines that read the same to every such client are shared: members'
 * messages, actions and notices (core_lines.ts), which change no client's
 * state. A write of members' messages only, the busy room's, is made from
 * its bytes with each sender's head kept from write to write
 * ({@linkcode translateMessages}); others from their text.
 *
 * @module
 */

import { Buffer } from "node:buffer";
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

/**
 * A message's tags with their `@` and the space after them, or "" for none:
 * `time` (server-time's `time=...`, or "") and the sender's `account` (or null).
 */
export function tagsOf(time: string, account: string | null): string {
  if (account === null) return time === "" ? "" : `@${time} `;
  return time === "" ? `@account=${account} ` : `@${time};account=${account} `;
}

/** The translations of the core's last write, door-wide: see the module's description. */
export class SharedOutput {
  #data: Uint8Array | null = null;
  readonly #entries = new Map<string, SharedEntry | null>();
  readonly #heads = new Map<string, MessageHeads>();

  /** The senders' heads of messages to `channel`, kept from one write to the next. */
  headsFor(channel: string): MessageHeads {
    let heads = this.#heads.get(channel);
    if (heads === undefined) {
      // Channels come and go: past as many as a server has, the heads are made again.
      if (this.#heads.size >= MAX_HEADS) this.#heads.clear();
      heads = new MessageHeads(channel);
      this.#heads.set(channel, heads);
    }
    return heads;
  }

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
      made = { tags: tagsOf(time, account), head, size: bytes(head) };
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

/** Senders' heads kept for one channel at most: past it they are made again. */
const MAX_HEADS = 4096;

/** One sender's IRC head in a channel, as {@linkcode MessageHeads} keeps it. */
interface Head {
  /** The sender's name. */
  name: string;
  /** Its name's bytes, to tell it from another with the same hash. */
  nameBytes: Uint8Array;
  /** `:alice!alice@chat PRIVMSG #dev :`, encoded. */
  bytes: Uint8Array;
}

/**
 * Senders' heads in one channel (`:alice!alice@chat PRIVMSG #dev :`), found
 * by their names' bytes: made once, not for every line.
 */
export class MessageHeads {
  readonly #byHash = new Map<number, Head[]>();
  #count = 0;

  /** Heads of messages to `channel`. */
  constructor(readonly channel: string) {}

  /** The head of the sender whose name is `data` from `start` to `end`, hashed to `hash`. */
  find(data: Uint8Array, start: number, end: number, hash: number): Head {
    const length = end - start;
    const bucket = this.#byHash.get(hash);
    if (bucket !== undefined) {
      for (const head of bucket) {
        const name = head.nameBytes;
        if (name.length !== length) continue;
        let i = 0;
        while (i < length && name[i] === data[start + i]) i++;
        if (i === length) return head;
      }
    }
    if (this.#count >= MAX_HEADS) {
      this.#byHash.clear();
      this.#count = 0;
    }
    const nameBytes = data.slice(start, end);
    const name = String.fromCharCode(...nameBytes);
    const head = {
      name,
      nameBytes,
      bytes: encoder.encode(`:${prefixOf(name)} PRIVMSG ${this.channel} :`),
    };
    const again = this.#byHash.get(hash);
    if (again === undefined) this.#byHash.set(hash, [head]);
    else again.push(head);
    this.#count++;
    return head;
  }
}

/**
 * {@linkcode translateShared} of a write whose every line is a member's
 * message (`alice: hi`), made from its bytes without decoding them: each
 * line is its sender's head (from `heads`) and its text, copied, each
 * tagged with `time` and, when `accountOf` is given, its sender's account.
 * Undefined when some line is anything else, or a sender's name is not
 * printable ASCII, or a line would need cutting: {@linkcode sharedLines}
 * and {@linkcode translateShared} say those, and this gives what they would.
 */
export function translateMessages(
  data: Uint8Array,
  heads: MessageHeads,
  time: string,
  accountOf: ((name: string) => string | null) | null = null,
): SharedEntry | undefined {
  const tagged = time !== "" || accountOf !== null ? new Map<Head, Uint8Array>() : null;
  const lineHeads: Uint8Array[] = [];
  const texts: number[] = [];
  const linesOf = new Map<string, number[]>();
  const length = data.length;
  const most = MAX_MESSAGE_BYTES - 2;
  let total = 0;
  let start = 0;
  while (start < length) {
    let byte = data[start] as number;
    if (byte === 0x0a) {
      start++;
      continue;
    }
    // readCoreLine reads lines that begin so (`* `, `! `, `(private)`, `Welcome`) another way.
    if (byte === 0x2a || byte === 0x21 || byte === 0x28 || byte === 0x57) return undefined;
    // The name: printable ASCII up to `: `, no space or colon in it, hashed as it is read.
    let colon = start;
    let hash = 0;
    while (byte !== 0x3a && byte > 0x20 && byte < 0x7f) {
      hash = (hash * 31 + byte) | 0;
      byte = data[++colon] ?? 0;
    }
    if (colon === start || byte !== 0x3a || data[colon + 1] !== 0x20) return undefined;
    // The text, to its line feed: a CR, U+2028 or U+2029 ends what core_lines.ts reads as one.
    const from = colon + 2;
    let end = from;
    for (; end < length; end++) {
      byte = data[end] as number;
      if (byte === 0x0a) break;
      if (byte === 0x0d) return undefined;
      if (byte === 0xe2 && data[end + 1] === 0x80 && ((data[end + 2] as number) & 0xfe) === 0xa8) {
        return undefined;
      }
    }
    const head = heads.find(data, start, colon, hash);
    // One that must be cut to fit IRC's 512 bytes is formatSaid's.
    if (head.bytes.length + end - from > most) return undefined;
    let out = head.bytes;
    if (tagged !== null) {
      let made = tagged.get(head);
      if (made === undefined) {
        const account = accountOf?.(head.name) ?? null;
        const tags = tagsOf(time, account);
        made = tags === "" ? head.bytes : concatBytes(encoder.encode(tags), head.bytes);
        tagged.set(head, made);
      }
      out = made;
    }
    const own = linesOf.get(head.name);
    if (own === undefined) linesOf.set(head.name, [lineHeads.length]);
    else own.push(lineHeads.length);
    lineHeads.push(out);
    texts.push(from, end);
    total += out.length + end - from + 2;
    start = end + 1;
  }
  // A Buffer, as sockets write them: neither it nor its views are wrapped again for each client.
  const output = Buffer.allocUnsafeSlow(total);
  const ends: number[] = [];
  let size = 0;
  for (let i = 0; i < lineHeads.length; i++) {
    const head = lineHeads[i] as Uint8Array;
    output.set(head, size);
    size += head.length;
    const from = texts[2 * i] as number;
    const to = texts[2 * i + 1] as number;
    output.set(data.subarray(from, to), size);
    size += to - from;
    output[size++] = 0x0d;
    output[size++] = 0x0a;
    ends.push(size);
  }
  return { output, ends, linesOf };
}

/** `a` then `b`, in one new array. */
function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  return both;
}

/**
 * What the client of `name` is sent of `entry`, as views into its output:
 * all of it, or the runs of others' lines around its own.
 */
export function partsFor(entry: SharedEntry, name: string, echo: boolean): Uint8Array[] {
  const own = echo ? undefined : entry.linesOf.get(name);
  if (own === undefined) return [entry.output];
  const { output: all, ends } = entry;
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const i of own) {
    const start = ends[i - 1] ?? 0;
    if (start > from) parts.push(all.subarray(from, start));
    from = ends[i] as number;
  }
  if (all.length > from) parts.push(all.subarray(from));
  return parts;
}
