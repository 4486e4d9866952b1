/**
 * Small helpers of the transports about sockets: a connection's first bytes,
 * listening, and a listener's address. The helpers that are no socket's
 * (errors, a peer's label, checking a setting) are in helpers.ts, which the
 * core may use; they are re-exported here for the transports.
 *
 * @module
 */

import type net from "node:net";

export { checkInteger, describe, ignore, isConnectionError, peerLabel } from "../core/helpers.ts";

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
