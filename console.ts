/**
 * The server's own terminal as an operator console: lines typed into its
 * standard input are operator commands, and their answers are written to its
 * standard output. The end of the input ends the console, not the server.
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

/** Longest console line kept; the rest of a longer one is dropped. */
const MAX_CONSOLE_LINE = 4096;

/**
 * Reads `input` as lines and hands each to `onLine`, until it ends or
 * `signal` aborts; a failure to read ends the console quietly, like its end.
 */
export async function readConsole(
  input: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const reader = input.pipeThrough(new TextDecoderStream()).getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  let partial = "";
  try {
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) break;
      const parts = (partial + value).split("\n");
      partial = (parts.pop() ?? "").slice(0, MAX_CONSOLE_LINE);
      for (const line of parts) onLine(line.slice(0, MAX_CONSOLE_LINE).replace(/\r$/, ""));
    }
    if (partial !== "" && !signal.aborted) onLine(partial);
  } catch {
    // A console that cannot be read is no console; the server goes on.
  } finally {
    signal.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}
