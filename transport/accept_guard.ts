/**
 * Keeps a `node:net` listener accepting through a shortage of file
 * descriptors.
 *
 * Under Deno 2.9 a listener whose accept fails (EMFILE: the process may open
 * no more descriptors) stops polling for connections for good and reports
 * nothing: its accept loop ends on the error, and the readiness that would
 * wake it again is never re-armed. Node recovers by itself; Deno's listener
 * needs to be told to poll again. So a guard looks every
 * {@linkcode GUARD_INTERVAL_MS}: it tries to open one descriptor to learn
 * whether they have run out (logged once when they do and once when they are
 * back), and asks the listener to poll again.
 *
 * While descriptors are short it gives back one descriptor it keeps in
 * reserve, so that a waiting connection can still be accepted and told that
 * the server is busy instead of hanging in the kernel's backlog.
 *
 * @module
 */

import type net from "node:net";

/** How often the guard looks: the longest a freed descriptor waits to be used. */
export const GUARD_INTERVAL_MS = 250;

/** What the listener's native handle offers: `listen` again makes it poll again. */
interface ListenHandle {
  listen?(backlog: number): number;
}

/** Descriptors run out: the error codes that say so. */
const OUT_OF_DESCRIPTORS = new Set(["EMFILE", "ENFILE"]);

/**
 * Watches one listener for a shortage of descriptors and keeps it accepting.
 * {@linkcode AcceptGuard.short} tells the server to turn new connections
 * away meanwhile.
 */
export class AcceptGuard {
  /** The listeners it keeps accepting: the line port's, and others that share the process. */
  readonly #listeners: net.Server[];
  readonly #log: ((event: string) => void) | undefined;
  /** One descriptor held back so that a refusal can be accepted while they are short. */
  #reserve: Deno.Listener | null;
  #short = false;
  readonly #timer: ReturnType<typeof setInterval>;

  /** Starts watching `listener`; {@linkcode AcceptGuard.close} stops. */
  constructor(listener: net.Server, log?: (event: string) => void) {
    this.#listeners = [listener];
    this.#log = log;
    this.#reserve = openDescriptor();
    this.#timer = setInterval(() => {
      try {
        this.#look();
      } catch (error) {
        this.#log?.(`watching file descriptors failed: ${(error as Error).message}`);
      }
    }, GUARD_INTERVAL_MS);
    // The listener keeps the process alive; the guard alone should not.
    Deno.unrefTimer(Number(this.#timer));
  }

  /** Whether descriptors have run out: new connections should be refused. */
  get short(): boolean {
    return this.#short;
  }

  /** Keeps `listener` accepting too (the IRC port's), under the same watch. */
  watch(listener: net.Server): void {
    this.#listeners.push(listener);
  }

  /** Asks the listeners to poll for connections again, as after a descriptor was freed. */
  rearm(): void {
    // Private to the runtime's node:net: a second listen() on a listening
    // handle only makes it poll again. Without it nothing breaks but recovery.
    for (const listener of this.#listeners) {
      (listener as unknown as { _handle?: ListenHandle | null })._handle?.listen?.(511);
    }
  }

  /** Stops watching and lets the reserved descriptor go. */
  close(): void {
    clearInterval(this.#timer);
    this.#reserve?.close();
    this.#reserve = null;
  }

  #look(): void {
    if (!this.#short) {
      const probe = openDescriptor();
      if (probe === null) {
        this.#short = true;
        this.#log?.("out of file descriptors: refusing new connections until some are free");
        // Gives one back, so that the next waiting connection can be told.
        this.#reserve?.close();
        this.#reserve = null;
      } else {
        probe.close();
      }
    } else {
      // Back to normal once the reserve can be taken again, and one more.
      const reserve = openDescriptor();
      const probe = reserve === null ? null : openDescriptor();
      if (probe !== null) {
        probe.close();
        this.#reserve = reserve;
        this.#short = false;
        this.#log?.("file descriptors are available again: accepting connections");
      } else {
        reserve?.close();
      }
    }
    this.rearm();
  }
}

/**
 * Whether a guard can work here: it opens its descriptors as loopback
 * listeners, which needs network permission for 127.0.0.1 (asking would
 * prompt).
 */
export function canGuard(): boolean {
  return Deno.permissions.querySync({ name: "net", host: "127.0.0.1:0" }).state === "granted";
}

/** Opens one descriptor (a listener on a free loopback port), or null when none is left. */
function openDescriptor(): Deno.Listener | null {
  try {
    return Deno.listen({ hostname: "127.0.0.1", port: 0 });
  } catch (error) {
    if (OUT_OF_DESCRIPTORS.has((error as { code?: string }).code ?? "")) return null;
    throw error;
  }
}
