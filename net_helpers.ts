/**
 * Small helpers that the transports and the core share about sockets: what
 * an error means, how a peer is named in the log, a connection's first
 * bytes, and listening.
 *
 * @module
 */

import type net from "node:net";

/** An error as one line of the log: its kind and message. */
export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** An error listener for sockets whose errors do not matter: without one, an error would be thrown. */
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

/** Whether a connection's first bytes are a TLS handshake record (content type 22, version 3.x). */
export function isTlsHello(chunk: Uint8Array): boolean {
  return chunk[0] === 0x16 && (chunk.length < 2 || chunk[1] === 0x03);
}

/** Starts `listener` on `host` and `port`; rejects with the reason it could not. */
export function listenOn(
  listener: net.Server,
  host: string,
  port: number,
  reusePort = false,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen({ host, port, reusePort }, () => {
      listener.off("error", reject);
      resolve();
    });
  });
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

/**
 * Stops `listener` accepting; resolves once it is closed, which is when its
 * last connection is.
 */
export function closeListener(listener: net.Server | null): Promise<void> {
  return new Promise<void>((resolve) => {
    if (listener === null || !listener.listening) resolve();
    else listener.close(() => resolve());
  });
}

/** The address `listener` is bound to; throws, naming `what`, before it listens. */
export function addressOf(listener: net.Server | null, what: string): Deno.NetAddr {
  const address = listener?.address();
  if (address === null || address === undefined || typeof address === "string") {
    throw new Deno.errors.BadResource(`${what} is not started`);
  }
  return { transport: "tcp", hostname: address.address, port: address.port };
}
