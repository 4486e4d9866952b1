/**
 * The link of one further channel of an IRC client (the core's seat: see
 * core/seats.ts). It carries no socket of its own: what the core writes to
 * it is that channel's lines, handed to the channel's translation, and the
 * lines the door has for that channel come out as its `data` events. Its
 * output counts as the client's socket's, so a slow client is slow in every
 * channel.
 *
 * @module
 */

import { EventEmitter } from "node:events";
import type { Link } from "../../core/link.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a {@linkcode SeatLink} is given by its connection. */
export interface SeatLinkOptions {
  /** One core write of this channel's lines (complete lines, LF-ended). */
  fromCore(text: string): void;
  /** Bytes the client's socket has not yet handed to the kernel. */
  writableLength(): number;
  /** The core or the door closed it: the channel is gone. */
  closed(): void;
}

/** A further channel's link over the client's connection: see the module's description. */
export class SeatLink extends EventEmitter implements Link {
  readonly #options: SeatLinkOptions;
  #paused = false;
  #ended = false;
  #destroyed = false;
  /** Lines for the core before the seat is open; null once it is. */
  #waiting: string[] | null = [];

  /** A link whose lines go to `options.fromCore`. */
  constructor(options: SeatLinkOptions) {
    super();
    this.#options = options;
    // An error with nobody listening must not throw.
    this.on("error", () => {});
  }

  get writableLength(): number {
    return this.#options.writableLength();
  }
  get writableEnded(): boolean {
    return this.#ended;
  }
  get readableEnded(): boolean {
    return this.#destroyed;
  }
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The core's lines for this channel. */
  write(data: Uint8Array | string): boolean {
    if (this.#destroyed) return false;
    this.#options.fromCore(typeof data === "string" ? data : decoder.decode(data));
    return true;
  }

  /** Hands the core lines the client sent for this channel (kept until the seat is open). */
  toCore(lines: string[]): void {
    if (this.#destroyed || lines.length === 0) return;
    if (this.#waiting !== null) {
      this.#waiting.push(...lines);
      return;
    }
    this.emit("data", encoder.encode(lines.join("\n") + "\n"));
  }

  /** The core opened the seat: `first`, then the lines kept meanwhile, go to it. */
  opened(first: string[]): void {
    const waiting = this.#waiting ?? [];
    this.#waiting = null;
    this.toCore([...first, ...waiting]);
  }

  pause(): this {
    this.#paused = true;
    return this;
  }
  resume(): this {
    this.#paused = false;
    return this;
  }
  isPaused(): boolean {
    return this.#paused;
  }

  /** Nothing waits here: it closes at once. */
  end(callback?: () => void): this {
    this.#ended = true;
    this.destroy();
    callback?.();
    return this;
  }

  destroy(): this {
    if (this.#destroyed) return this;
    this.#destroyed = true;
    this.#ended = true;
    this.#options.closed();
    this.emit("close");
    return this;
  }
}
