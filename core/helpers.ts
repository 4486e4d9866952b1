/**
 * Small helpers that every layer may use, the core included: what an error
 * means and how it reads in the log, how a peer is named there, and how a
 * whole-number setting is checked. Nothing here touches a socket.
 *
 * @module
 */

/** An error as one line of the log: its kind and message. */
export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** An error listener for links whose errors do not matter: without one, an error would be thrown. */
export function ignore(): void {}

/** Error codes that mean a peer went away, not that anything is wrong here. */
const CONNECTION_ERRORS = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTCONN",
  "EPIPE",
  "ETIMEDOUT",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
]);

/** Whether an error only says that one peer went away. */
export function isConnectionError(error: unknown): boolean {
  return CONNECTION_ERRORS.has((error as { code?: unknown } | null)?.code as string);
}

/** The peer's address as logs show it, with brackets around an IPv6 one. */
export function peerLabel(ip: string | undefined, port: number | undefined): string {
  if (ip === undefined) return "unknown peer";
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Throws a `RangeError` naming `name` unless `value` is a whole number from
 * `min` to `max`; returns it.
 */
export function checkInteger(
  name: string,
  value: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Invalid ${name}: expected a whole number from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}
