/**
 * What can go wrong talking to Redis, as the errors the client throws: an
 * error reply ({@linkcode RedisError}), a reply that breaks the protocol
 * ({@linkcode RedisProtocolError}), and a command Redis could not take
 * ({@linkcode RedisUnavailableError}: never written) or did not answer
 * ({@linkcode RedisNoReplyError}: written, so it may yet be done).
 *
 * @module
 */

/** An error reply from Redis (`-ERR ...`): a value in the reply stream, thrown by `command`. */
export class RedisError extends Error {
  /** The reply's first word: `ERR`, `WRONGPASS`, `NOAUTH`, `WRONGTYPE`... */
  readonly code: string;
  /** An error from Redis's reply line `message`; `code` is its first word unless given. */
  constructor(message: string, code?: string) {
    super(message);
    this.name = "RedisError";
    this.code = code ?? message.split(" ", 1)[0] ?? "";
  }
}

/** A reply that breaks RESP2 or a size limit; the connection that read it is closed. */
export class RedisProtocolError extends Error {
  /** Replies completed in the same chunk before the bad bytes. */
  readonly parsed: RedisBytesReply[];
  /** A protocol error saying `message`, after the replies `parsed`. */
  constructor(message: string, parsed: RedisBytesReply[] = []) {
    super(message);
    this.name = "RedisProtocolError";
    this.parsed = parsed;
  }
}

/**
 * Redis cannot take the command now: the connection is down (or being made again), closed, or
 * has too many commands waiting. The command was never written to Redis, so Redis never carries
 * it out: the caller may say it was not done, or try again. Its subclass
 * {@linkcode RedisNoReplyError} is the other case, a command written and not answered.
 */
export class RedisUnavailableError extends Error {
  /** Whether the command was written to Redis before it failed: false here, true for a {@linkcode RedisNoReplyError}. */
  readonly written: boolean = false;
  /** Why a command could not be done, with what caused it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisUnavailableError";
  }
}

/**
 * A command written to Redis got no reply: the connection timed out or was lost after the write.
 * Redis may have carried it out, or may yet (a paused Redis runs what it was sent when it
 * resumes), so it is not to be reported as not done, nor sent again unless doing it twice is
 * harmless. "Written" means handed to the socket; some of those bytes may never have left.
 */
export class RedisNoReplyError extends RedisUnavailableError {
  /** Always true: the command was written. */
  override readonly written: boolean = true;
  /** Why a command written got no reply, with what caused it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisNoReplyError";
  }
}

/**
 * One RESP2 reply: simple and bulk strings as `string`, integers as `number` (exact up to
 * 2^53), null bulk strings and null arrays as `null`, arrays nested, and error replies as a
 * {@linkcode RedisError} value so that pipelined replies keep their order.
 */
export type RedisReply = string | number | null | RedisError | RedisReply[];

/**
 * One RESP2 reply whose bulk strings are kept as the bytes Redis sent (`Uint8Array`), not
 * decoded as UTF-8: for values that are not text, such as a shared file's bytes.
 */
export type RedisBytesReply =
  | Uint8Array
  | string
  | number
  | null
  | RedisError
  | RedisBytesReply[];
