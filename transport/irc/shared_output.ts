/**
 * A broadcast said once per channel, not once per client. The core writes
 * a room's lines to every member as the same bytes (core/delivery.ts); the
 * door's clients in that channel who see them the same way (the same
 * channel, the same capabilities, none of them the sender) would each turn
 * them into the same IRC messages. The first one does, and the others
 * write its bytes: {@linkcode SharedOutput} keeps what was made of the last
 * bytes the core wrote, by how they were seen.
 *
 * Only lines that read the same to every such client are kept: members'
 * messages, actions and notices (core_lines.ts), which do not change a
 * client's state, and whose sender is told apart by name.
 *
 * @module
 */

import { type CoreLine, readCoreLine } from "./core_lines.ts";

/** What was made of one core write, for clients that see it one way. */
export interface SharedEntry {
  /** The IRC messages, encoded, as one write. */
  output: Uint8Array;
  /** Who said the lines: their own client sees them otherwise. */
  senders: ReadonlySet<string>;
}

/** The translations of the core's last write, door-wide: see the module's description. */
export class SharedOutput {
  #data: Uint8Array | null = null;
  readonly #entries = new Map<string, SharedEntry>();

  /** What was made of `data` for clients that see it as `view`, if it was. */
  get(data: Uint8Array, view: string): SharedEntry | undefined {
    return data === this.#data ? this.#entries.get(view) : undefined;
  }

  /** Keeps what was made of `data` for `view`, forgetting any earlier write's. */
  set(data: Uint8Array, view: string, entry: SharedEntry): void {
    if (data !== this.#data) {
      this.#data = data;
      this.#entries.clear();
    }
    this.#entries.set(view, entry);
  }
}

/**
 * The senders of `text`'s lines when every line is one that reads the same
 * to every client of a channel (see the module's description), else null.
 */
export function sharedSenders(text: string): Set<string> | null {
  const senders = new Set<string>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    if (end > start) {
      const read: CoreLine = readCoreLine(text.slice(start, end));
      if (read.type !== "message" && read.type !== "action" && read.type !== "roomNotice") {
        return null;
      }
      senders.add(read.from);
    }
    start = end + 1;
  }
  return senders;
}
