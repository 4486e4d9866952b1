/**
 * What the chat core needs of one connection, whatever carries it: bytes in
 * as events, bytes out, flow control and closing. The TCP transport makes
 * one of a socket (taking telnet's commands out of its bytes), the WebSocket
 * transport one of an upgraded socket (taking the frames off), so that a
 * telnet user and a browser member are ordinary members.
 *
 * @module
 */

/** A connection's byte stream, as the core reads and writes it. */
export interface Link {
  /** The peer's address; undefined once it is gone. */
  readonly remoteAddress?: string | undefined;
  /** The peer's port. */
  readonly remotePort?: number | undefined;
  /** Bytes written that the transport has not yet handed to the kernel (or confirmed). */
  readonly writableLength: number;
  /** Whether `end()` has been called. */
  readonly writableEnded: boolean;
  /** Whether the peer's end of the stream has been read. */
  readonly readableEnded: boolean;
  /** Whether the link is closed. */
  readonly destroyed: boolean;

  /** Queues bytes for the peer, complete lines only; never waits. */
  write(data: Uint8Array | string): boolean;
  /** Stops the `data` events until {@linkcode Link.resume}: the peer is read no faster. */
  pause(): this;
  /** Restarts the `data` events. */
  resume(): this;
  /** Whether the `data` events are stopped. */
  isPaused(): boolean;
  /** Sends what is queued, then ends; `callback` runs once it is all sent. */
  end(callback?: () => void): this;
  /** Closes at once; queued output is lost. */
  destroy(): this;
  /**
   * Why the core is about to close it (`too slow`): a transport whose
   * protocol says so in words of its own (IRC's `ERROR`) may, behind what
   * is queued, before the link closes.
   */
  closingBecause?(reason: string): void;

  /**
   * Received bytes; a line may be cut anywhere between two events. A link
   * whose peer sends more than the chunk carries (telnet's commands, a
   * WebSocket's frame headers and control frames) passes how many bytes
   * this event stands for as `received`, so that every byte the peer sends
   * is paced; a chunk may then be empty. `interrupted` says that the peer
   * asked to stop after these bytes (telnet's Interrupt Process, its Ctrl+C):
   * the session ends as if it had typed the quit word once the lines before
   * are handled, and nothing after is read. (A flag here rather than an
   * event of its own: a listener more on every link costs idle connections
   * memory.)
   */
  on(
    event: "data",
    listener: (chunk: Uint8Array, received?: number, interrupted?: boolean) => void,
  ): this;
  /** The peer will send nothing more; `close` follows. */
  on(event: "end" | "close", listener: () => void): this;
  /** Something went wrong; `close` follows. */
  on(event: "error", listener: (error: Error) => void): this;
  /** As {@linkcode Link.on}, for one event. */
  once(event: "close", listener: () => void): this;
  /** Removes a listener added with {@linkcode Link.on}. */
  // deno-lint-ignore no-explicit-any
  off(event: "data" | "end" | "close" | "error", listener: (...args: any[]) => void): this;
}
