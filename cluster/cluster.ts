/**
 * One server process's part in a cluster on Redis: the room lines and
 * private messages every process delivers (through {@linkcode ClusterBus}, in
 * one order), each room's recent history kept in Redis in that same order,
 * the names that are unique across processes ({@linkcode ClusterNames}), and
 * the accounts with the messages kept for them.
 * It knows nothing of members or links: the core turns its events into lines.
 *
 * @module
 */

import type { Account, KeptMessage } from "../core/account_book.ts";
import { ClusterBus, DEFAULT_MAX_LEN } from "./cluster_bus.ts";
import type {
  ChatCluster,
  ClusterAction,
  ClusterEvent,
  ClusterPeer,
  ClusterPresence,
  MailboxLimits,
  SeatPresence,
} from "../core/cluster_port.ts";
import { ClusterNames } from "./cluster_names.ts";
import { MAX_SEATS } from "../core/seats.ts";
import { connectRedis, type RedisClient } from "./redis.ts";
import { nameKeys, sameName } from "../protocol.ts";

// The core's words for what a cluster tells it and is asked (cluster_port.ts), which this implements.
export type {
  ChatCluster,
  ClusterAction,
  ClusterEvent,
  ClusterPeer,
  ClusterPresence,
  MailboxLimits,
  SeatPresence,
};

const ACTIONS: readonly string[] = [
  "op",
  "deop",
  "voice",
  "devoice",
  "kick",
  "disconnect",
  "elsewhere",
  "invite",
] satisfies ClusterAction[];

/**
 * A presence as the one string the names' lease keeps: `room`, flags
 * (`o` room operator, `s` server operator, `a` logged in, `v` a voice of
 * the room), address and seats, a line each (none of them can hold a line
 * break). The seats' line is `room/flags` for each seat, space-separated
 * (a room's name holds neither), with flags `o` and `v` as above.
 */
export function encodePresence(presence: ClusterPresence): string {
  const flags = (presence.roomOperator ? "o" : "") + (presence.serverOperator ? "s" : "") +
    (presence.loggedIn ? "a" : "") + (presence.voiced ? "v" : "");
  const seats = (presence.seats ?? []).map((seat) =>
    `${seat.room}/${seat.roomOperator ? "o" : ""}${seat.voiced ? "v" : ""}`
  );
  const head = `${presence.room}\n${flags}\n${presence.address}`;
  return seats.length === 0 ? head : `${head}\n${seats.join(" ")}`;
}

/**
 * The presence {@linkcode encodePresence} made; a bare room name (an older
 * process's) is one too. Seats past {@linkcode MAX_SEATS}, and any not of
 * the shape, are left out.
 */
export function decodePresence(value: string): ClusterPresence {
  const [room = "", flags = "", address = "", seatsLine = ""] = value.split("\n", 4);
  const seats = decodeSeats(seatsLine);
  return {
    room,
    roomOperator: flags.includes("o"),
    serverOperator: flags.includes("s"),
    address,
    loggedIn: flags.includes("a"),
    ...(flags.includes("v") ? { voiced: true } : {}),
    ...(seats.length > 0 ? { seats } : {}),
  };
}

/** The seats of a presence's fourth line (see {@linkcode encodePresence}), at most {@linkcode MAX_SEATS}. */
function decodeSeats(line: string): SeatPresence[] {
  const seats: SeatPresence[] = [];
  for (const entry of line.split(" ")) {
    if (seats.length >= MAX_SEATS) break;
    const slash = entry.lastIndexOf("/");
    if (slash <= 0) continue;
    const flags = entry.slice(slash + 1);
    seats.push({
      room: entry.slice(0, slash),
      roomOperator: flags.includes("o"),
      ...(flags.includes("v") ? { voiced: true } : {}),
    });
  }
  return seats;
}

/** Settings of a {@linkcode Cluster}. */
export interface ClusterOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://`. */
  url: string;
  /** Prefix of every key, so that one Redis can hold several clusters. @default {"chat"} */
  cluster?: string;
  /** Public lines kept per room in Redis. */
  historyLines: number;
  /** Lease of a name; a dead process's names are free after it. @default {10000} */
  leaseMs?: number;
  /** Time between lease renewals. @default {3000} */
  heartbeatMs?: number;
  /** Each event, once, in the cluster's order. */
  onEvent: (event: ClusterEvent) => void;
  /** Redis became unreachable: posting fails until {@linkcode ClusterOptions.onUp}. */
  onDown?: () => void;
  /** Redis is back, and delivery resumed where it stopped. */
  onUp?: () => void;
  /** A name of this process that another process now holds. */
  onLost?: (name: string) => void;
  /** One line per event worth logging. */
  log?: (event: string) => void;
}

// KEYS: the event stream, the room's history list.
// ARGV: stream length, history length (0: not kept), room, text, public, except.
// One script, so that the history's order is the stream's.
const PUBLISH_LINE = `
local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "*",
  "t", "line", "room", ARGV[3], "text", ARGV[4], "public", ARGV[5], "except", ARGV[6])
if ARGV[5] == "1" and tonumber(ARGV[2]) > 0 then
  redis.call("RPUSH", KEYS[2], id .. " " .. ARGV[4])
  redis.call("LTRIM", KEYS[2], -tonumber(ARGV[2]), -1)
end
return id
`;

// KEYS: the event stream, the state hash. ARGV: stream length, kind, value.
const PUBLISH_STATE = `
redis.call("HSET", KEYS[2], ARGV[2], ARGV[3])
return redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "*", "t", "state", "kind", ARGV[2],
  "value", ARGV[3])
`;

// KEYS: the event stream, the accounts hash, the account's kept messages.
// ARGV: stream length, name, the account as JSON ("": deleted, with its kept messages).
const SAVE_ACCOUNT = `
if ARGV[3] == "" then
  redis.call("HDEL", KEYS[2], ARGV[2])
  redis.call("DEL", KEYS[3])
else
  redis.call("HSET", KEYS[2], ARGV[2], ARGV[3])
end
return redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "*", "t", "account", "name", ARGV[2],
  "value", ARGV[3])
`;

// KEYS: the account's kept messages, a JSON object each. ARGV: most in all, most from one sender,
// since when (older ones are dropped), the sender's two name keys, the message as JSON, its life.
// One script, so that two processes keeping at once cannot pass the limits together.
const KEEP = `
local since = tonumber(ARGV[3])
local items = redis.call("LRANGE", KEYS[1], 0, -1)
local fresh, fromSender = {}, 0
for _, item in ipairs(items) do
  local ok, message = pcall(cjson.decode, item)
  if ok and type(message) == "table" and tonumber(message.at) and tonumber(message.at) >= since then
    fresh[#fresh + 1] = item
    if message.k1 == ARGV[4] or message.k2 == ARGV[5] then fromSender = fromSender + 1 end
  end
end
if #fresh ~= #items then
  redis.call("DEL", KEYS[1])
  if #fresh > 0 then redis.call("RPUSH", KEYS[1], unpack(fresh)) end
end
if #fresh >= tonumber(ARGV[1]) or fromSender >= tonumber(ARGV[2]) then return 0 end
redis.call("RPUSH", KEYS[1], ARGV[6])
redis.call("PEXPIRE", KEYS[1], ARGV[7])
return 1
`;

// KEYS: the account's kept messages. Takes them all at once, so that two logins get them once.
const TAKE_KEPT = `
local items = redis.call("LRANGE", KEYS[1], 0, -1)
redis.call("DEL", KEYS[1])
return items
`;

/** Entries the event stream is trimmed to, about. */
const STREAM_LENGTH = DEFAULT_MAX_LEN;

/** One process's link to the cluster: see the module's description. */
export class Cluster implements ChatCluster {
  /** This process's id in the cluster. */
  readonly processId: string = crypto.randomUUID();
  readonly #client: RedisClient;
  readonly #bus: ClusterBus;
  readonly #names: ClusterNames;
  readonly #prefix: string;
  readonly #historyLines: number;

  private constructor(client: RedisClient, options: ClusterOptions) {
    this.#client = client;
    this.#prefix = options.cluster ?? "chat";
    this.#historyLines = options.historyLines;
    this.#bus = new ClusterBus(client, {
      cluster: this.#prefix,
      maxLen: STREAM_LENGTH,
      onEntry: (id, fields) => {
        const event = decode(id, fields);
        if (event !== null) options.onEvent(event);
        else options.log?.(`cluster: an event of an unknown kind was skipped (${id})`);
      },
      onDown: options.onDown,
      onUp: options.onUp,
      log: options.log,
    });
    this.#names = new ClusterNames(client, {
      cluster: this.#prefix,
      processId: this.processId,
      leaseMs: options.leaseMs,
      heartbeatMs: options.heartbeatMs,
      eventsKey: this.#bus.key,
      eventsMaxLen: STREAM_LENGTH,
      onLost: options.onLost,
      log: options.log,
    });
  }

  /** The Redis this process's cluster talks through, for what else is kept there (shared files). */
  get redis(): RedisClient {
    return this.#client;
  }

  /** Connects to Redis (the error names the address) and starts delivering and renewing. */
  static async connect(options: ClusterOptions): Promise<Cluster> {
    const client = await connectRedis(options.url);
    const cluster = new Cluster(client, options);
    cluster.#bus.start();
    cluster.#names.start();
    await cluster.#bus.started;
    return cluster;
  }

  /**
   * Publishes a room line for every process. Rejects with a
   * `RedisUnavailableError` while Redis is unreachable (the line was not
   * sent), or a `RedisNoReplyError` when Redis was sent it and did not answer
   * in time (it may yet arrive, once); nothing is queued or sent again.
   */
  async publishLine(
    room: string,
    text: string,
    options: { public?: boolean; except?: string | null } = {},
  ): Promise<string> {
    const reply = await this.#bus.publishWith(() =>
      this.#client.eval(
        PUBLISH_LINE,
        [this.#bus.key, this.#historyKey(room)],
        [
          STREAM_LENGTH,
          this.#historyLines,
          room,
          text,
          options.public ? "1" : "0",
          options.except ?? "",
        ],
      )
    );
    return String(reply);
  }

  /**
   * Sets shared state (the bans, the mutes, the message of the day, a
   * room's topic) for every process, now and for processes that start later;
   * rejects as {@linkcode Cluster.publishLine} does.
   */
  async publishState(kind: string, value: string): Promise<void> {
    await this.#bus.publishWith(() =>
      this.#client.eval(
        PUBLISH_STATE,
        [this.#bus.key, `${this.#prefix}:state`],
        [STREAM_LENGTH, kind, value],
      )
    );
  }

  /** The shared state as it is now, by kind. */
  loadState(): Promise<Record<string, string>> {
    return this.#client.hgetall(`${this.#prefix}:state`);
  }

  /** Publishes a private message to the member called `to`, wherever it is; rejects as {@linkcode Cluster.publishLine} does. */
  publishPrivate(from: string, to: string, text: string): Promise<string> {
    return this.#bus.publish({ t: "private", from, to, text });
  }

  /** The room's recent public lines, oldest first, with their ids in the cluster's order. */
  async history(room: string): Promise<{ id: string; text: string }[]> {
    const reply = await this.#client.command(["LRANGE", this.#historyKey(room), 0, -1]);
    if (!Array.isArray(reply)) return [];
    return reply.flatMap((item) => {
      if (typeof item !== "string") return [];
      const space = item.indexOf(" ");
      return space === -1 ? [] : [{ id: item.slice(0, space), text: item.slice(space + 1) }];
    });
  }

  /**
   * Publishes what an operator did to the member called `name` in `room` on
   * the process `process` (`by`: who did it, when the member is told so):
   * that process carries it out, if it is still there.
   */
  publishAct(
    action: ClusterAction,
    name: string,
    room: string,
    process: string,
    by?: string,
  ): Promise<string> {
    return this.#bus.publish({ t: "act", action, name, room, process, ...(by ? { by } : {}) });
  }

  /**
   * The name given for `requested` by the nickname rules, unique across the
   * cluster, now held; a candidate `skip` refuses counts as taken.
   */
  claimName(
    requested: string,
    presence: ClusterPresence,
    skip?: (name: string) => boolean,
  ): Promise<string> {
    return this.#names.uniqueClaim(requested, encodePresence(presence), skip);
  }

  /** Moves this process's claim from `from` to `to`, whoever held `to`. */
  takeName(from: string, to: string): Promise<void> {
    return this.#names.take(from, to);
  }

  /** Frees a name this process holds. */
  releaseName(name: string): Promise<void> {
    return this.#names.release(name);
  }

  /** Moves this process's claim from `from` to `to`; false when `to` is taken. */
  renameName(from: string, to: string): Promise<boolean> {
    return this.#names.rename(from, to);
  }

  /** Says where a member of this process is and what it may do, for `/who` and operators elsewhere. */
  setPresence(name: string, presence: ClusterPresence): Promise<void> {
    return this.#names.setRoom(name, encodePresence(presence));
  }

  /**
   * Saves the account called exactly `name` for every process, or deletes
   * it and its kept messages (`account` null); rejects as
   * {@linkcode Cluster.publishLine} does.
   */
  async saveAccount(name: string, account: Account | null): Promise<void> {
    const value = account === null
      ? ""
      : JSON.stringify({ hash: account.hash, registeredAt: account.registeredAt });
    await this.#bus.publishWith(() =>
      this.#client.eval(
        SAVE_ACCOUNT,
        [this.#bus.key, this.#accountsKey, this.#keptKey(name)],
        [STREAM_LENGTH, name, value],
      )
    );
  }

  /** Every account, for a process that joins; an unreadable one is left out. */
  async loadAccounts(): Promise<Account[]> {
    const hash = await this.#client.hgetall(this.#accountsKey);
    return Object.entries(hash).flatMap(([name, value]) => {
      const account = decodeAccount(name, value);
      return account === null ? [] : [account];
    });
  }

  /** Keeps `message` for the account `to` within `limits`; resolves with whether it was kept. */
  async keepMessage(to: string, message: KeptMessage, limits: MailboxLimits): Promise<boolean> {
    const [k1, k2] = nameKeys(message.from);
    const entry = JSON.stringify({
      from: message.from,
      text: message.text,
      at: message.at,
      k1,
      k2,
    });
    const reply = await this.#client.eval(
      KEEP,
      [this.#keptKey(to)],
      [limits.max, limits.perSender, limits.since, k1, k2, entry, Math.max(1, limits.lifeMs)],
    );
    return reply === 1;
  }

  /** The messages kept for `to` since `since`, oldest first; they are no longer kept. */
  async takeKept(to: string, since: number): Promise<KeptMessage[]> {
    const reply = await this.#client.eval(TAKE_KEPT, [this.#keptKey(to)], []);
    if (!Array.isArray(reply)) return [];
    return reply.flatMap((item) => {
      const message = typeof item === "string" ? decodeKept(item) : null;
      return message !== null && message.at >= since ? [message] : [];
    });
  }

  /** Everyone in the cluster, with their rooms. */
  async members(): Promise<ClusterPeer[]> {
    const members = await this.#names.members();
    return members.map(({ name, processId, room }) => ({
      name,
      processId,
      ...decodePresence(room),
    }));
  }

  /** Stops delivering, frees this process's names and closes Redis. */
  async close(): Promise<void> {
    await this.#bus.stop();
    await this.#names.stop();
    await this.#names.releaseAll().catch(() => {});
    await this.#client.close();
  }

  get #accountsKey(): string {
    return `${this.#prefix}:accounts`;
  }

  #keptKey(account: string): string {
    return `${this.#prefix}:kept:${account}`;
  }

  #historyKey(room: string): string {
    return `${this.#prefix}:history:${room}`;
  }
}

/** An entry of the stream as an event, or null when it is of a kind this version does not know. */
function decode(id: string, fields: Record<string, string>): ClusterEvent | null {
  if (fields.t === "line" && fields.room !== undefined && fields.text !== undefined) {
    return {
      type: "line",
      id,
      room: fields.room,
      text: fields.text,
      public: fields.public === "1",
      except: fields.except ? fields.except : null,
    };
  }
  if (
    fields.t === "private" && fields.from !== undefined && fields.to !== undefined &&
    fields.text !== undefined
  ) {
    return { type: "private", id, from: fields.from, to: fields.to, text: fields.text };
  }
  if (
    fields.t === "act" && ACTIONS.includes(fields.action as string) &&
    fields.name !== undefined && fields.room !== undefined && fields.process !== undefined
  ) {
    const action = fields.action as ClusterAction;
    const { name, room, process, by } = fields;
    return { type: "act", id, action, name, room, process, ...(by ? { by } : {}) };
  }
  if (fields.t === "state" && fields.kind !== undefined && fields.value !== undefined) {
    return { type: "state", id, kind: fields.kind, value: fields.value };
  }
  if (fields.t === "account" && fields.name !== undefined && fields.value !== undefined) {
    const account = fields.value === "" ? null : decodeAccount(fields.name, fields.value);
    if (fields.value !== "" && account === null) return null;
    return { type: "account", id, name: fields.name, account };
  }
  if (fields.t === "gone" && fields.members !== undefined) {
    const members = goneMembers(fields.members);
    return members === null ? null : { type: "gone", id, members };
  }
  return null;
}

/**
 * The `[[name, presence], ...]` of a `gone` entry, each member once for each
 * room it was in (its own, then its seats'), or null unless it is that shape.
 */
function goneMembers(json: string): { name: string; room: string }[] | null {
  let pairs: unknown;
  try {
    pairs = JSON.parse(json);
  } catch {
    return null;
  }
  if (!Array.isArray(pairs)) return null;
  const members: { name: string; room: string }[] = [];
  for (const pair of pairs) {
    if (!Array.isArray(pair) || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      return null;
    }
    const name = pair[0];
    const presence = decodePresence(pair[1]);
    const rooms = [presence.room, ...(presence.seats ?? []).map((seat) => seat.room)];
    for (const [i, room] of rooms.entries()) {
      // A room named twice is left once.
      if (rooms.findIndex((other) => sameName(other, room)) === i) members.push({ name, room });
    }
  }
  return members;
}

/** The account `name` saved as `value` (its hash and when registered), or null unless it is that shape. */
function decodeAccount(name: string, value: string): Account | null {
  const parsed = parseJson(value) as { hash?: unknown; registeredAt?: unknown } | null;
  if (typeof parsed?.hash !== "string" || typeof parsed.registeredAt !== "number") return null;
  return { name, hash: parsed.hash, registeredAt: parsed.registeredAt };
}

/** A kept message as {@linkcode Cluster.keepMessage} saved it, or null unless it is that shape. */
function decodeKept(value: string): KeptMessage | null {
  const parsed = parseJson(value) as { from?: unknown; text?: unknown; at?: unknown } | null;
  if (
    typeof parsed?.from !== "string" || typeof parsed.text !== "string" ||
    typeof parsed.at !== "number"
  ) {
    return null;
  }
  return { from: parsed.from, text: parsed.text, at: parsed.at };
}

/** `text` parsed as JSON, or null when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
