/**
 * The terminal client's console when its input or output is not a terminal
 * (piped, or redirected): {@linkcode PlainConsole} reads standard input as
 * lines and writes the server's lines to standard output as they come, with
 * no escape codes; it reads a password without echo when input is a terminal.
 *
 * @module
 */

import { CLIENT_MAX_LINE_BYTES } from "./chat_client.ts";
import { LINE_TOO_LONG, LineFramer } from "../protocol.ts";
import type { ChatConsole } from "./terminal_console.ts";

const encoder = new TextEncoder();

async function writeOut(text: string): Promise<void> {
  const data = encoder.encode(text);
  for (let offset = 0; offset < data.length;) {
    offset += await Deno.stdout.write(data.subarray(offset));
  }
}

/**
 * Standard input as lines, with one twist: on a terminal, a line can be read
 * without echo (for a password) by switching to raw mode for that line only.
 */
export class PlainConsole implements ChatConsole {
  readonly #reader = Deno.stdin.readable.getReader();
  readonly #framer = new LineFramer(CLIENT_MAX_LINE_BYTES);
  readonly #decoder = new TextDecoder();
  readonly #lines: (string | typeof LINE_TOO_LONG)[] = [];
  readonly isTerminal = Deno.stdin.isTerminal();
  #secret: number[] | null = null;
  #done = false;
  /** Called when Ctrl+C is typed while the terminal is in raw mode. */
  onInterrupt: () => void = () => {};

  /** The next line typed, `null` at end of input. */
  async next(): Promise<string | typeof LINE_TOO_LONG | null> {
    while (this.#lines.length === 0) {
      if (this.#done) return null;
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#done = true;
        this.#framer.feed(new Uint8Array([0x0a]));
        if (this.#framer.bufferedBytes > 0) this.#take();
        continue;
      }
      this.#take(this.#secret === null ? value : this.#readSecret(value));
    }
    return this.#lines.shift() as string | typeof LINE_TOO_LONG;
  }

  /** Plain input needs no setting up. */
  start(): void {}

  /**
   * Asks for a password: `prompt` on standard error, then a line read
   * without echo (input is a terminal: the caller makes sure).
   */
  async askSecret(prompt: string): Promise<string | null> {
    const data = encoder.encode(prompt);
    for (let offset = 0; offset < data.length;) {
      offset += await Deno.stderr.write(data.subarray(offset));
    }
    this.startSecretLine();
    const interrupted = Promise.withResolvers<null>();
    const onInterrupt = this.onInterrupt;
    this.onInterrupt = () => interrupted.resolve(null);
    try {
      const line = await Promise.race([this.next(), interrupted.promise]);
      return typeof line === "string" ? line : null;
    } finally {
      this.onInterrupt = onInterrupt;
    }
  }

  /** Reads the next line without echo; a no-op when input is not a terminal. */
  startSecretLine(): void {
    if (!this.isTerminal || this.#secret !== null) return;
    Deno.stdin.setRaw(true);
    this.#secret = [];
  }

  #take(chunk?: Uint8Array): void {
    if (chunk !== undefined) this.#framer.feed(chunk);
    for (let line = this.#framer.next(); line !== null; line = this.#framer.next()) {
      this.#lines.push(line === LINE_TOO_LONG ? line : this.#decoder.decode(line));
    }
  }

  /** Collects secret bytes; returns what follows the secret line in the chunk. */
  #readSecret(chunk: Uint8Array): Uint8Array {
    const secret = this.#secret as number[];
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (byte === 0x0d || byte === 0x0a) {
        this.#endSecret();
        this.#lines.push(this.#decoder.decode(new Uint8Array(secret)));
        return chunk.subarray(i + 1);
      }
      if (byte === 0x03) {
        this.#endSecret();
        this.onInterrupt();
        return new Uint8Array(0);
      }
      if (byte === 0x7f || byte === 0x08) {
        // Backspace: drop the last character, all of its UTF-8 bytes.
        while (secret.length > 0 && ((secret.pop() as number) & 0xc0) === 0x80);
      } else if (secret.length < 1024) {
        secret.push(byte);
      }
    }
    return new Uint8Array(0);
  }

  #endSecret(): void {
    this.#secret = null;
    Deno.stdin.setRaw(false);
    void writeOut("\n");
  }

  /** Leaves raw mode if a secret line was being read. */
  restore(): void {
    if (this.#secret !== null) {
      this.#secret = null;
      Deno.stdin.setRaw(false);
    }
  }

  /** Writes the line to standard output. */
  show(text: string): Promise<void> {
    return writeOut(text + "\n");
  }

  /** Writes the note to standard error. */
  note(text: string): void {
    console.error(text);
  }

  /** Plain output has no prompt. */
  where(): void {}

  /** Plain output has no status line: a file's progress is not shown. */
  progress(): void {}

  /**
   * Deno's permission prompt is not lent the terminal here: without one it
   * cannot ask, and with one, it would wait behind this console's read.
   */
  lendTerminal<T>(): Promise<T | null> {
    return Promise.resolve(null);
  }
}
