/**
 * The process's link to the cluster's one stream of events, `${cluster}:events` in Redis.
 * {@linkcode ClusterBus.publish} appends an entry (XADD, trimmed to about `maxLen`); the loop
 * that {@linkcode ClusterBus.start} runs reads the stream with XREAD BLOCK from the last entry
 * it delivered, so every process sees every entry once and in the stream's one order, its own
 * entries included: a sender's echo comes back through Redis.
 *
 * Outages are the bus's own business: it learns Redis is away from a read or a publish that
 * fails ({@linkcode ClusterBusOptions.onDown}), and that it is back from the read loop resuming
 * ({@linkcode ClusterBusOptions.onUp}), which needs Redis to answer; nothing needs wiring into
 * the {@linkcode RedisClient}. A publish Redis was given and did not answer in time (a paused
 * Redis) fails with a `RedisNoReplyError`: its entry may still be added, and is then delivered
 * like any other, once; nothing is published twice. A Redis that comes back without the last entry delivered (restarted without persistence) is
 * said in the log, and the bus carries on from the new stream's start.
 *
 * ```ts ignore
 * const client = await connectRedis("redis://127.0.0.1:6379/0");
 * const bus = new ClusterBus(client, {
 *   cluster: "chat",
 *   onEntry: (id, fields) => console.log(id, fields),
 * });
 * bus.start();
 * await bus.started;
 * await bus.publish({ room: "lobby", line: "hello" }); // comes back through onEntry
 * await bus.stop();
 * await client.close();
 * ```
 *
 * @module
 */

import { type RedisClient, RedisUnavailableError, type StreamEntry } from "./redis.ts";

/** Entries the stream keeps, about (`MAXLEN ~`): a bound on Redis's memory, hours of chat. */
export const DEFAULT_MAX_LEN = 100_000;
/** How long one XREAD waits in Redis for an entry before it is asked again. */
export const DEFAULT_BLOCK_MS = 5000;
/** Most entries one XREAD returns, so one read's work (and reply) stays bounded. */
export const DEFAULT_READ_COUNT = 1000;
/** Pause before the read loop tries again after a failure; the client reconnects meanwhile. */
export const RETRY_MS = 50;

/** How a {@linkcode ClusterBus} is named, bounded and heard from. */
export interface ClusterBusOptions {
  /** The cluster's key prefix; the stream is `${cluster}:events`. */
  cluster: string;
  /** Entries the stream is trimmed to, about. @default {100000} */
  maxLen?: number;
  /** How long one XREAD blocks in Redis. @default {5000} */
  blockMs?: number;
  /** Most entries one XREAD returns. @default {1000} */
  count?: number;
  /** Each entry, once, in the stream's order; synchronous (a throw is logged and skipped). */
  onEntry?: (id: string, fields: Record<string, string>) => void;
  /** Once when Redis is found unreachable (by the read loop or a publish). */
  onDown?: () => void;
  /** Once when the read loop has resumed after `onDown`. */
  onUp?: () => void;
  /** One line per event worth a log: Redis came back empty, a read failed for another reason. */
  log?: (event: string) => void;
}

/**
 * The cluster's one stream of events, for one process: publish to it, and receive every entry
 * in order from the moment {@linkcode ClusterBus.start} is called.
 */
export class ClusterBus {
  /** The stream's key, `${cluster}:events`. */
  readonly key: string;
  readonly #client: RedisClient;
  readonly #maxLen: number;
  readonly #blockMs: number;
  readonly #count: number;
  readonly #options: ClusterBusOptions;
  /** The last id delivered, or where delivery begins; null until the start point is fixed. */
  #last: string | null = null;
  #down = false;
  #abort: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #resolveStarted: () => void = () => {};
  /** Resolves once {@linkcode ClusterBus.start} has fixed where delivery begins (or on stop). */
  readonly started: Promise<void>;

  /** A bus over `client` (which the caller connects and closes); nothing runs before `start()`. */
  constructor(client: RedisClient, options: ClusterBusOptions) {
    this.#client = client;
    this.#options = options;
    this.key = `${options.cluster}:events`;
    this.#maxLen = options.maxLen ?? DEFAULT_MAX_LEN;
    this.#blockMs = options.blockMs ?? DEFAULT_BLOCK_MS;
    this.#count = options.count ?? DEFAULT_READ_COUNT;
    this.started = new Promise((resolve) => this.#resolveStarted = resolve);
  }

  /** The last entry id delivered (or the start point before any), null before it is fixed. */
  get lastId(): string | null {
    return this.#last;
  }

  /** Whether the bus last found Redis unreachable and has not resumed since. */
  get down(): boolean {
    return this.#down;
  }

  /**
   * Appends `fields` to the stream; resolves with the entry's id. Rejects with a
   * {@linkcode RedisUnavailableError} at once while Redis is unreachable (the entry was not
   * sent), or with a `RedisNoReplyError` when Redis was sent it and did not answer in
   * time (it may still be added, and delivered then). Nothing is queued or sent again.
   */
  publish(fields: Record<string, string>): Promise<string> {
    return this.publishWith(() =>
      this.#client.xadd(this.key, fields, { maxlenApprox: this.#maxLen })
    );
  }

  /**
   * Runs `write`, a command on the bus's client that adds to the stream some other way (a Lua
   * script that keeps a room's history too), so that Redis failing it marks the bus down as a
   * failed {@linkcode ClusterBus.publish} does; resolves or rejects as `write` does. While the
   * bus is down it rejects at once, with a `RedisUnavailableError`, and writes nothing.
   */
  async publishWith<T>(write: () => Promise<T>): Promise<T> {
    // Down (members were told the chat lost Redis): nothing is written until the bus is back,
    // so a line is never half-sent to a connection that is closing, and then maybe kept.
    if (this.#down) throw new RedisUnavailableError(`${this.key}: Redis is unreachable`);
    try {
      return await write();
    } catch (error) {
      if (error instanceof RedisUnavailableError) this.#markDown();
      throw error;
    }
  }

  /**
   * Starts the read loop from the stream's current end (its last id, or `0-0` for no stream),
   * so that every entry added after that point is delivered; see {@linkcode ClusterBus.started}.
   * Throws if already started.
   */
  start(): void {
    if (this.#abort !== null) throw new Error(`ClusterBus ${this.key}: start() was already called`);
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  /**
   * Ends the read loop; resolves once it has stopped. A read still blocked in Redis is left to
   * end by itself (within `blockMs`) or when the client closes; its entries are not delivered.
   */
  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#resolveStarted();
    await this.#loop;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const aborted = new Promise<null>((resolve) => {
      signal.addEventListener("abort", () => resolve(null), { once: true });
    });
    while (!signal.aborted) {
      // Both of the client's connections, or a resumed read would fail again on the other one.
      if (this.#down && !this.#client.ready) {
        await sleep(RETRY_MS, signal);
        continue;
      }
      try {
        if (this.#last === null) {
          const [newest] = await this.#client.xrevrange(this.key, "+", "-", 1);
          this.#last = newest?.[0] ?? "0-0";
          this.#resolveStarted();
        } else if (this.#down) {
          await this.#resume();
        }
        if (this.#down) {
          this.#down = false;
          this.#options.onUp?.();
        }
        const read = this.#client.xread({ [this.key]: this.#last }, {
          blockMs: this.#blockMs,
          count: this.#count,
        });
        // Once stopped, nobody waits for this read: its failure (the client closing) is expected.
        read.catch(() => {});
        const reply = await Promise.race([read, aborted]);
        if (signal.aborted) break;
        this.#deliver(reply?.[this.key] ?? []);
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof RedisUnavailableError) this.#markDown();
        else this.#options.log?.(`cluster bus ${this.key}: read failed: ${describe(error)}`);
        await sleep(RETRY_MS, signal);
      }
    }
  }

  /**
   * After an outage: if the stream no longer holds the last entry delivered, Redis lost it
   * (restarted empty, or trimmed past us), so what it holds now is all new: read from `0-0`.
   */
  async #resume(): Promise<void> {
    const last = this.#last as string;
    if (last === "0-0") return;
    const [first] = await this.#client.xrange(this.key, last, "+", 1);
    if (first?.[0] === last) return;
    this.#options.log?.(
      `redis came back empty: ${this.key} no longer holds entry ${last}; ` +
        "resuming from the start of the stream",
    );
    this.#last = "0-0";
  }

  #deliver(entries: StreamEntry[]): void {
    for (const [id, fields] of entries) {
      this.#last = id;
      try {
        this.#options.onEntry?.(id, fields);
      } catch (error) {
        this.#options.log?.(`cluster bus ${this.key}: onEntry failed on ${id}: ${describe(error)}`);
      }
    }
  }

  #markDown(): void {
    if (this.#down) return;
    this.#down = true;
    this.#options.onDown?.();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Waits `ms`, or less if `signal` aborts; leaves no timer behind either way. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
