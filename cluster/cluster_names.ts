/**
 * Names unique across a cluster of chat servers sharing one Redis, and who is on which process
 * for `/who`.
 *
 * Each name is held as its two {@linkcode nameKeys} (`${cluster}:name:<key>`), both set at once
 * by a Lua script to `processId + "\n" + name` with a lease of `leaseMs` (10 s): two names are the
 * same when either key matches, so `ALICE` and a lookalike `аlice` are refused while `alice` is
 * held anywhere. A heartbeat every `heartbeatMs` (3 s) renews all of this process's names in one
 * Lua call; a process that dies without a word stops renewing, and its names and its members'
 * `/who` entries expire within `leaseMs`, inside the 15 s the cluster promises.
 *
 * Presence is a hash per process, `${cluster}:members:<processId>` (name → an opaque value, the
 * member's presence), with the same lease, and a set `${cluster}:processes` of ids;
 * {@linkcode ClusterNames.members} reads them. Each process also keeps a roster,
 * `${cluster}:roster:<processId>`, written with the presence hash at every step but kept
 * `rosterMs` (an hour), so that it outlives the lease: the heartbeat (and `members()`) reaps a
 * process whose presence hash has expired, in one Lua script that deletes its roster, drops its
 * id, and adds one `t=gone` entry to the event stream listing its members (`members`: JSON
 * `[[name, value], ...]`, names another process holds now left out). The script is atomic, so one
 * process reaps each dead one, and the cluster hears of it once. All keys of one cluster are on
 * one Redis (no Redis Cluster hash slots): the script finds the other processes' keys itself.
 *
 * ```ts ignore
 * await using redis = await connectRedis("redis://127.0.0.1:6379/0");
 * const names = new ClusterNames(redis, { cluster: "chat", processId: crypto.randomUUID() });
 * names.start();
 * const name = await names.uniqueClaim("alice"); // "alice", or "alice2" if taken anywhere
 * await names.setRoom(name, "lobby");
 * ```
 *
 * @module
 */

import { DEFAULT_MAX_LEN } from "./cluster_bus.ts";
import { MAX_NAME_LENGTH, nameKeys } from "../protocol.ts";
import type { RedisClient, RedisReply } from "./redis.ts";

/** How long a claimed name lives without a heartbeat: a dead process's names are free after it. */
export const DEFAULT_LEASE_MS = 10_000;
/** How often the leases are renewed: three tries inside one lease, so one slow round loses nothing. */
export const DEFAULT_HEARTBEAT_MS = 3_000;
/**
 * How long a process's roster outlives its last write: far past the lease, so that a live process
 * reaps it, and yet bounded when the whole cluster died and nobody is left to.
 */
export const DEFAULT_ROSTER_MS = 3_600_000;
/** Candidates {@linkcode ClusterNames.uniqueClaim} tries (`name`, `name2`, …) before giving up. */
export const MAX_NAME_CANDIDATES = 1000;

/** Options of {@linkcode ClusterNames}. */
export interface ClusterNamesOptions {
  /** Prefix of every key, so that several clusters may share one Redis. */
  cluster: string;
  /** This process's id, unique in the cluster, e.g. `crypto.randomUUID()`. */
  processId: string;
  /** Lease of each name and of this process's presence. @default {10000} */
  leaseMs?: number;
  /** Time between renewals; well under `leaseMs`. @default {3000} */
  heartbeatMs?: number;
  /** Life of this process's roster after its last write. @default {3600000} */
  rosterMs?: number;
  /** The event stream a dead process's `t=gone` entry goes to. @default {`${cluster}:events`} */
  eventsKey?: string;
  /** Entries that stream is trimmed to, about (`MAXLEN ~`). @default {100000} */
  eventsMaxLen?: number;
  /** A name of ours another process now holds (our lease ran out meanwhile): rename or drop its member. */
  onLost?: (name: string) => void;
  /** Where heartbeat failures are told. @default {console.error} */
  log?: (message: string) => void;
}

/** One member somewhere in the cluster, for `/who`. */
export interface ClusterMember {
  /** The member's name. */
  name: string;
  /** The process the member is connected to. */
  processId: string;
  /** The member's room, as last given to {@linkcode ClusterNames.setRoom} ("" before). */
  room: string;
}

// KEYS: the name's two keys, this process's hash, the process set, this process's roster.
// ARGV: value, lease, name, room, process id, roster's life, "1" to take the name even when held.
const CLAIM = `
if ARGV[7] ~= "1" and redis.call("EXISTS", KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
redis.call("SET", KEYS[2], ARGV[1], "PX", ARGV[2])
redis.call("HSET", KEYS[3], ARGV[3], ARGV[4])
redis.call("PEXPIRE", KEYS[3], ARGV[2])
redis.call("SADD", KEYS[4], ARGV[5])
redis.call("PEXPIRE", KEYS[4], ARGV[2])
redis.call("HSET", KEYS[5], ARGV[3], ARGV[4])
redis.call("PEXPIRE", KEYS[5], ARGV[6])
return 1
`;

// KEYS: the name's two keys, this process's hash, this process's roster. ARGV: value, name.
const RELEASE = `
local deleted = 0
for i = 1, 2 do
  if redis.call("GET", KEYS[i]) == ARGV[1] then deleted = deleted + redis.call("DEL", KEYS[i]) end
end
redis.call("HDEL", KEYS[3], ARGV[2])
redis.call("HDEL", KEYS[4], ARGV[2])
return deleted
`;

// KEYS: this process's hash, this process's roster. ARGV: name, room, lease, roster's life.
const SET_ROOM = `
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
redis.call("PEXPIRE", KEYS[1], ARGV[3])
redis.call("HSET", KEYS[2], ARGV[1], ARGV[2])
redis.call("PEXPIRE", KEYS[2], ARGV[4])
return 1
`;

// KEYS: this process's hash, the process set, this process's roster, then two keys per held
// name, then two per name whose release failed. ARGV: lease, process id, roster's life, count of
// held names, then name and room of each held name, then each name to forget. A held name's keys
// are renewed when each is ours or free (free: it expired during an outage and nobody took it);
// when either is someone else's, the name is lost, and the list of lost names is the reply.
const RENEW = `
local px, pid, rosterPx, held = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local lost = {}
local k, a = 4, 5
for i = 1, held do
  local name, room = ARGV[a], ARGV[a + 1]
  local value = pid .. "\\n" .. name
  local v1, v2 = redis.call("GET", KEYS[k]), redis.call("GET", KEYS[k + 1])
  if (v1 == value or v1 == false) and (v2 == value or v2 == false) then
    redis.call("SET", KEYS[k], value, "PX", px)
    redis.call("SET", KEYS[k + 1], value, "PX", px)
    redis.call("HSET", KEYS[1], name, room)
    redis.call("HSET", KEYS[3], name, room)
  else
    if v1 == value then redis.call("DEL", KEYS[k]) end
    if v2 == value then redis.call("DEL", KEYS[k + 1]) end
    redis.call("HDEL", KEYS[1], name)
    redis.call("HDEL", KEYS[3], name)
    lost[#lost + 1] = name
  end
  k, a = k + 2, a + 2
end
while k <= #KEYS do
  local name = ARGV[a]
  local value = pid .. "\\n" .. name
  for j = 0, 1 do
    if redis.call("GET", KEYS[k + j]) == value then redis.call("DEL", KEYS[k + j]) end
  end
  redis.call("HDEL", KEYS[1], name)
  redis.call("HDEL", KEYS[3], name)
  k, a = k + 2, a + 1
end
redis.call("SADD", KEYS[2], pid)
redis.call("PEXPIRE", KEYS[1], px)
redis.call("PEXPIRE", KEYS[2], px)
redis.call("PEXPIRE", KEYS[3], rosterPx)
return lost
`;

// KEYS: the process set, the event stream. ARGV: the cluster's key prefix (`${cluster}:`), the
// stream's length, "1" when rosters may be reaped. Every id in the set whose presence hash is gone
// is dead: one with no roster left (it released everything) is dropped from the set; one with a
// roster, when reaping is allowed, is dropped with its roster, and one `gone` entry lists its
// members but those whose name is in a live process's hash now (they came back). The other
// processes' keys are found here, not passed in, so that a process claiming meanwhile is seen.
// Returns the number of entries added.
const REAP = `
local prefix, maxLen, reap = ARGV[1], ARGV[2], ARGV[3] == "1"
local live, dead = {}, {}
for _, id in ipairs(redis.call("SMEMBERS", KEYS[1])) do
  local hash = prefix .. "members:" .. id
  if redis.call("EXISTS", hash) == 1 then live[#live + 1] = hash else dead[#dead + 1] = id end
end
local added = 0
for _, id in ipairs(dead) do
  local roster = prefix .. "roster:" .. id
  local flat = redis.call("HGETALL", roster)
  if #flat == 0 then
    redis.call("SREM", KEYS[1], id)
  elseif reap then
    redis.call("DEL", roster)
    redis.call("SREM", KEYS[1], id)
    local names = {}
    for i = 1, #flat, 2 do names[#names + 1] = flat[i] end
    local back = {}
    for _, hash in ipairs(live) do
      -- A slice at a time: unpack() has a bound on how many values it returns.
      for from = 1, #names, 1000 do
        local to = math.min(from + 999, #names)
        local found = redis.call("HMGET", hash, unpack(names, from, to))
        for j = 1, #found do
          if found[j] then back[names[from + j - 1]] = true end
        end
      end
    end
    local members = {}
    for i = 1, #flat, 2 do
      if not back[flat[i]] then members[#members + 1] = { flat[i], flat[i + 1] } end
    end
    if #members > 0 then
      redis.call("XADD", KEYS[2], "MAXLEN", "~", maxLen, "*", "t", "gone", "members",
        cjson.encode(members))
      added = added + 1
    end
  end
end
return added
`;

/**
 * This process's share of the cluster's names: claims them all-or-nothing, renews them on a
 * heartbeat, and lists everyone's members; see the module's description.
 */
export class ClusterNames {
  readonly #client: RedisClient;
  readonly #cluster: string;
  readonly #processId: string;
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #rosterMs: number;
  readonly #eventsKey: string;
  readonly #eventsMaxLen: number;
  readonly #onLost: (name: string) => void;
  readonly #log: (message: string) => void;
  /** Names this process holds, each with its member's room. */
  readonly #held = new Map<string, string>();
  /** Names whose release failed (Redis away): the heartbeat deletes them when it can. */
  readonly #forgotten = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #renewing: Promise<void> | null = null;
  /**
   * Since when the heartbeat has not failed (from `start()`), or null since it last did. Rosters
   * are reaped only once it is a lease old: after an outage, a live process that has not renewed
   * yet (its client still reconnecting) looks dead, and must not be announced gone.
   */
  #upSince: number | null = null;

  /** Names of process `options.processId` in `options.cluster`, through `client`. */
  constructor(client: RedisClient, options: ClusterNamesOptions) {
    this.#client = client;
    this.#cluster = options.cluster;
    this.#processId = options.processId;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#rosterMs = options.rosterMs ?? DEFAULT_ROSTER_MS;
    this.#eventsKey = options.eventsKey ?? `${this.#cluster}:events`;
    this.#eventsMaxLen = options.eventsMaxLen ?? DEFAULT_MAX_LEN;
    if (!(this.#heartbeatMs > 0 && this.#heartbeatMs < this.#leaseMs)) {
      throw new RangeError(
        `Invalid heartbeat: ${this.#heartbeatMs} ms is not between 0 and the lease of ${this.#leaseMs} ms`,
      );
    }
    this.#onLost = options.onLost ?? (() => {});
    this.#log = options.log ?? console.error;
  }

  /** The names this process holds now. */
  get names(): string[] {
    return [...this.#held.keys()];
  }

  /**
   * Claims `name` for this process unless it (or a name the same by {@linkcode nameKeys}) is
   * held anywhere in the cluster, this process included; both keys or neither. With `force`
   * it is claimed whoever held it: the process that did loses it at its next renewal
   * (`onLost`). Rejects with `RedisUnavailableError` while Redis is away.
   */
  async claim(name: string, room: string = "", force: boolean = false): Promise<boolean> {
    // Ordered before any heartbeat sent after this, on the same connection.
    this.#forgotten.delete(name);
    let reply: RedisReply;
    try {
      reply = await this.#client.eval(
        CLAIM,
        [
          ...this.#nameKeys(name),
          this.#membersKey(this.#processId),
          this.#processesKey,
          this.#rosterKey(this.#processId),
        ],
        [
          this.#value(name),
          this.#leaseMs,
          name,
          room,
          this.#processId,
          this.#rosterMs,
          force ? "1" : "0",
        ],
      );
    } catch (error) {
      // It may have been done before the connection failed: the heartbeat undoes it if so.
      if (!this.#held.has(name)) this.#forgotten.add(name);
      throw error;
    }
    if (reply !== 1) return false;
    this.#held.set(name, room);
    return true;
  }

  /**
   * Claims the first free of `requested`, `requested2`, `requested3`, … (cut to
   * {@linkcode MAX_NAME_LENGTH}, as `uniqueName` does) that `skip` does not refuse (a
   * banned or registered name) and returns it. Throws when
   * {@linkcode MAX_NAME_CANDIDATES} are all taken, or Redis is away.
   */
  async uniqueClaim(
    requested: string,
    room: string = "",
    skip: (name: string) => boolean = () => false,
  ): Promise<string> {
    for (let n = 1; n <= MAX_NAME_CANDIDATES; n++) {
      const candidate = n === 1 ? requested : withSuffix(requested, String(n));
      if (skip(candidate)) continue;
      if (await this.claim(candidate, room)) return candidate;
    }
    throw new Error(
      `No free name for "${requested}": its first ${MAX_NAME_CANDIDATES} variants are taken`,
    );
  }

  /**
   * Frees `name` if this process holds it (another's keys are never touched). When Redis is
   * away it rejects, and the heartbeat frees the name once Redis is back (or the lease ends).
   */
  async release(name: string): Promise<void> {
    this.#held.delete(name);
    try {
      await this.#client.eval(
        RELEASE,
        [
          ...this.#nameKeys(name),
          this.#membersKey(this.#processId),
          this.#rosterKey(this.#processId),
        ],
        [this.#value(name), name],
      );
    } catch (error) {
      this.#forgotten.add(name);
      throw error;
    }
  }

  /**
   * Claims `newName`, keeping the room, then frees `oldName`; false (keeping `oldName`) if taken.
   * Once `newName` is claimed it resolves true: an `oldName` Redis could not free meanwhile is
   * left to the heartbeat.
   */
  async rename(oldName: string, newName: string): Promise<boolean> {
    if (!(await this.claim(newName, this.#held.get(oldName) ?? ""))) return false;
    await this.release(oldName).catch(() => {});
    return true;
  }

  /**
   * Claims `newName` even when another process holds it (a login takes its account's name
   * back), keeping the room, then frees `oldName`.
   */
  async take(oldName: string, newName: string): Promise<void> {
    await this.claim(newName, this.#held.get(oldName) ?? "", true);
    await this.release(oldName).catch(() => {});
  }

  /** Records that `name`'s member is now in `room`, for {@linkcode ClusterNames.members}; a name not held is ignored. */
  async setRoom(name: string, room: string): Promise<void> {
    if (!this.#held.has(name)) return;
    // Kept here too, so that the heartbeat puts it back if this write is lost.
    this.#held.set(name, room);
    await this.#client.eval(
      SET_ROOM,
      [this.#membersKey(this.#processId), this.#rosterKey(this.#processId)],
      [name, room, this.#leaseMs, this.#rosterMs],
    );
  }

  /**
   * Everyone's members across the cluster, by process; a process whose lease has run out is
   * left out, and reaped as the heartbeat does (see {@linkcode ClusterNames.reap}).
   */
  async members(): Promise<ClusterMember[]> {
    const ids = await this.#client.smembers(this.#processesKey);
    const hashes = await Promise.all(ids.map((id) => this.#client.hgetall(this.#membersKey(id))));
    const members: ClusterMember[] = [];
    const dead: string[] = [];
    ids.forEach((processId, i) => {
      const hash = hashes[i] ?? {};
      const names = Object.keys(hash);
      if (names.length === 0) dead.push(processId);
      for (const name of names) members.push({ name, processId, room: hash[name] ?? "" });
    });
    if (dead.length > 0) await this.reap();
    return members;
  }

  /**
   * Reaps the processes whose lease has run out: drops them from the set of processes and, once
   * this process's heartbeat has gone a lease without failing, deletes each one's roster and adds
   * one `t=gone` entry for its members to the event stream (see the module's description).
   * Resolves with the number of entries added; the heartbeat calls it after each renewal.
   */
  async reap(): Promise<number> {
    const settled = this.#upSince !== null && performance.now() - this.#upSince >= this.#leaseMs;
    const reply = await this.#client.eval(
      REAP,
      [this.#processesKey, this.#eventsKey],
      [`${this.#cluster}:`, this.#eventsMaxLen, settled ? "1" : "0"],
    );
    return typeof reply === "number" ? reply : 0;
  }

  /**
   * Renews every held name's lease and this process's presence in one Lua call, frees names
   * whose release failed, and reports each lost name to `onLost`; resolves with the lost names.
   * Rejects (`RedisUnavailableError`) while Redis is away; the heartbeat calls it.
   */
  async renew(): Promise<string[]> {
    const held = [...this.#held];
    const forgotten = [...this.#forgotten];
    const keys = [
      this.#membersKey(this.#processId),
      this.#processesKey,
      this.#rosterKey(this.#processId),
    ];
    const args: (string | number)[] = [
      this.#leaseMs,
      this.#processId,
      this.#rosterMs,
      held.length,
    ];
    for (const [name, room] of held) {
      keys.push(...this.#nameKeys(name));
      args.push(name, room);
    }
    for (const name of forgotten) {
      keys.push(...this.#nameKeys(name));
      args.push(name);
    }
    const reply = await this.#client.eval(RENEW, keys, args);
    for (const name of forgotten) this.#forgotten.delete(name);
    const lost = strings(reply);
    for (const name of lost) {
      // Released or renamed meanwhile: nobody left to tell.
      if (!this.#held.delete(name)) continue;
      this.#onLost(name);
    }
    return lost;
  }

  /**
   * Starts the heartbeat: a renewal every `heartbeatMs`, never two at once, each followed by a
   * {@linkcode ClusterNames.reap}; safe to call twice.
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    // Redis answered just now (the caller connected): a lease from here, dead processes are dead.
    this.#upSince = performance.now();
    this.#schedule(this.#heartbeatMs);
  }

  /**
   * Stops the heartbeat and waits for a renewal under way. The names stay held until their
   * leases end unless {@linkcode ClusterNames.releaseAll} frees them.
   */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
  }

  /** Frees every name this process holds and its presence. */
  async releaseAll(): Promise<void> {
    await Promise.all(this.names.map((name) => this.release(name)));
  }

  /** Stops the heartbeat, for `await using`; the names are left to their leases. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const started = performance.now();
      this.#renewing = this.renew().then(
        () => {
          this.#upSince ??= performance.now();
          return this.reap().then(
            () => {},
            (error) => this.#log(`Reaping the cluster's dead processes failed: ${describe(error)}`),
          );
        },
        (error) => {
          this.#upSince = null;
          this.#log(`Renewing the cluster's names failed: ${error.message ?? error}`);
        },
      ).finally(() => {
        this.#renewing = null;
        // The next beat counts from this one's start, but never overlaps it.
        const elapsed = performance.now() - started;
        if (this.#running) this.#schedule(Math.max(0, this.#heartbeatMs - elapsed));
      });
    }, ms);
  }

  get #processesKey(): string {
    return `${this.#cluster}:processes`;
  }

  #membersKey(processId: string): string {
    return `${this.#cluster}:members:${processId}`;
  }

  #rosterKey(processId: string): string {
    return `${this.#cluster}:roster:${processId}`;
  }

  #nameKeys(name: string): [string, string] {
    const [typed, lower] = nameKeys(name);
    return [`${this.#cluster}:name:${typed}`, `${this.#cluster}:name:${lower}`];
  }

  #value(name: string): string {
    return `${this.#processId}\n${name}`;
  }
}

/** `name` cut so that `name + suffix` stays within {@linkcode MAX_NAME_LENGTH} characters. */
function withSuffix(name: string, suffix: string): string {
  const room = MAX_NAME_LENGTH - suffix.length;
  const cut = name.length <= room ? name : Array.from(name).slice(0, room).join("");
  return cut + suffix;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function strings(reply: RedisReply): string[] {
  if (!Array.isArray(reply) || !reply.every((item) => typeof item === "string")) {
    throw new TypeError(`Redis answered the renewal with ${JSON.stringify(reply)}`.slice(0, 200));
  }
  return reply as string[];
}
