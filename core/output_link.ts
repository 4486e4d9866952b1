/**
 * The server's console as the core sees it: a {@linkcode Link} that only
 * writes, to a function (the server's standard output), so that the
 * console's answers go through the core's delivery like anyone's. Reading
 * the console is the server's (console.ts).
 *
 * @module
 */

import { EventEmitter } from "node:events";
import type { Link } from "./link.ts";

const decoder = new TextDecoder();

/**
 * A {@linkcode Link} that only writes, to a function: the console's answers
 * go through the core's delivery like anyone's, and arrive whole lines at a time.
 */
export class OutputLink extends EventEmitter implements Link {
  readonly remoteAddress: undefined = undefined;
  readonly remotePort: undefined = undefined;
  readonly writableLength = 0;
  readonly writableEnded = false;
  readonly readableEnded = false;
  readonly destroyed = false;
  readonly #write: (text: string) => void;

  /** A link whose output is handed to `write` as text. */
  constructor(write: (text: string) => void) {
    super();
    this.#write = write;
  }

  /** Hands the bytes to the function, as text. */
  write(data: Uint8Array | string): boolean {
    this.#write(typeof data === "string" ? data : decoder.decode(data));
    return true;
  }

  /** Nothing is read from it, so there is nothing to pause. */
  pause(): this {
    return this;
  }

  /** As {@linkcode OutputLink.pause}. */
  resume(): this {
    return this;
  }

  /** Never paused. */
  isPaused(): boolean {
    return false;
  }

  /** The console never ends; `callback` runs at once. */
  end(callback?: () => void): this {
    callback?.();
    return this;
  }

  /** The console is never closed. */
  destroy(): this {
    return this;
  }
}
