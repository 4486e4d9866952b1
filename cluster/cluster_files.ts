/**
 * Shared files in Redis, for a cluster: {@linkcode RedisFiles} keeps each
 * file where every process finds it, so that a link works whichever process
 * answers it, and counts them all against one quota.
 *
 * Keys, under the cluster's prefix `P`:
 *
 * - `P:file:ID`, the bytes, and `P:filemeta:ID`, what is known of the file
 *   as JSON, both expiring with the file (`PX`);
 * - `P:files`, a sorted set of the ids by when they expire, and
 *   `P:fileinfo`, a hash of each id's size and room: what the quota and
 *   the sweep need once the two keys above have expired;
 * - `P:filesin:ROOM`, a sorted set of a room's files by when they were shared;
 * - `P:filequota`, a hash: `used` (the bytes kept, each file with
 *   {@linkcode REDIS_FILE_OVERHEAD_BYTES} more) and, for each process with
 *   uploads under way, the bytes it has reserved and until when;
 * - `P:fileupload:ID`, a file's bytes while they are written.
 *
 * A file's bytes are written a slice at a time to `P:fileupload:ID` (which
 * expires on its own if the process dies meanwhile), and one script then
 * checks their length, renames them to `P:file:ID` and writes the rest: the
 * file exists whole or not at all before its link is posted. Reserving,
 * saving and removing are each one script, so processes reserving at once
 * cannot pass the quota together; each first deletes the files that expired
 * and the reservations of processes that stopped renewing theirs, so the
 * quota frees itself. Reads come a slice at a time too, so a file never
 * holds the chat's other commands behind it for long and no reply passes
 * the client's limit, and downloads at once share one copy of the bytes.
 *
 * A process's chat takes it once it has joined the cluster
 * (`FileSharing.useStore`); the page's listener starts after that.
 *
 * @module
 */

import {
  checkFileId,
  FILE_ID,
  type FileStore,
  parseSharedFile,
  type SharedFile,
} from "../core/file_store.ts";
import type { RedisClient, RedisReply } from "./redis.ts";
import { concat } from "./redis_resp.ts";

/** What a file costs in Redis beside its bytes (its metadata, keys and index entries), counted in the quota. */
export const REDIS_FILE_OVERHEAD_BYTES = 1024;
/**
 * How long a process's reservation lasts after its last `reserve`: longer than an upload may
 * take (10 minutes, `UPLOAD_MS` in transport/web_files.ts) and its save, so only the
 * reservations of a process that died are ever dropped; also the life of half-written bytes.
 */
export const RESERVATION_MS = 15 * 60_000;
/** The slice of a file written or read in one command. */
export const SLICE_BYTES = 1024 * 1024;
/** Expired files one script deletes at most, so that no sweep holds Redis for long. */
const SWEEP_BATCH = 1000;
/** Ids whose metadata one command reads at most. */
const LIST_BATCH = 1000;

// Shared by the scripts below. KEYS: the files by expiry, each file's size and room, the quota
// hash. ARGV[1]: the prefix (`P:`), ARGV[2]: now. The other files' keys are made here from the
// prefix, as their ids are found.
const COMMON = `
local prefix, now = ARGV[1], tonumber(ARGV[2])
local OVERHEAD = ${REDIS_FILE_OVERHEAD_BYTES}
local function used() return tonumber(redis.call("HGET", KEYS[3], "used") or "0") end
local function reservation(process)
  local value = redis.call("HGET", KEYS[3], process)
  if not value then return 0, 0 end
  local bytes, deadline = string.match(value, "^(%d+) (%d+)$")
  return tonumber(bytes or "0"), tonumber(deadline or "0")
end
local function setReservation(process, bytes, deadline)
  if bytes <= 0 then redis.call("HDEL", KEYS[3], process)
  else redis.call("HSET", KEYS[3], process, string.format("%d %d", bytes, deadline)) end
end
local function forget(id)
  local info = redis.call("HGET", KEYS[2], id)
  redis.call("ZREM", KEYS[1], id)
  redis.call("DEL", prefix .. "file:" .. id, prefix .. "filemeta:" .. id)
  if not info then return 0 end
  redis.call("HDEL", KEYS[2], id)
  local size, room = string.match(info, "^(%d+) (.*)$")
  if room ~= "" then redis.call("ZREM", prefix .. "filesin:" .. room, id) end
  local left = math.max(0, used() - tonumber(size) - OVERHEAD)
  redis.call("HSET", KEYS[3], "used", string.format("%d", left))
  return 1
end
local function sweep()
  local expired = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, ${SWEEP_BATCH})
  for _, id in ipairs(expired) do forget(id) end
  local held = used()
  local flat = redis.call("HGETALL", KEYS[3])
  for i = 1, #flat, 2 do
    if flat[i] ~= "used" then
      local bytes, deadline = reservation(flat[i])
      if deadline <= now then redis.call("HDEL", KEYS[3], flat[i]) else held = held + bytes end
    end
  end
  return #expired, held
end
`;

// ARGV: prefix, now, quota, bytes, process, until when. 1 when reserved, 0 when past the quota.
const RESERVE = COMMON + `
local _, held = sweep()
local bytes = tonumber(ARGV[4])
if held + bytes > tonumber(ARGV[3]) then return 0 end
local mine = reservation(ARGV[5])
setReservation(ARGV[5], mine + bytes, tonumber(ARGV[6]))
return 1
`;

// ARGV: prefix, now, process, bytes.
const RELEASE = COMMON + `
local mine, deadline = reservation(ARGV[3])
setReservation(ARGV[3], mine - tonumber(ARGV[4]), deadline)
return 1
`;

// KEYS[4]: the bytes written, KEYS[5]: the file's bytes, KEYS[6]: its metadata, KEYS[7]: its
// room's files. ARGV: prefix, now, quota, process, id, size, room ("" when private), shared at,
// expires at, life in ms, metadata. The bytes move from the process's reservation to what is
// kept, with the overhead. 1 when kept; 0 past the quota; -1 when the bytes are not all there.
const SAVE = COMMON + `
local id, size, room = ARGV[5], tonumber(ARGV[6]), ARGV[7]
if redis.call("EXISTS", KEYS[4]) == 0 or redis.call("STRLEN", KEYS[4]) ~= size then return -1 end
local mine, deadline = reservation(ARGV[4])
local _, held = sweep()
if held - math.min(mine, size) + size + OVERHEAD > tonumber(ARGV[3]) then return 0 end
setReservation(ARGV[4], mine - size, deadline)
redis.call("HSET", KEYS[3], "used", string.format("%d", used() + size + OVERHEAD))
redis.call("RENAME", KEYS[4], KEYS[5])
redis.call("PEXPIRE", KEYS[5], ARGV[10])
redis.call("SET", KEYS[6], ARGV[11], "PX", ARGV[10])
redis.call("ZADD", KEYS[1], ARGV[9], id)
redis.call("HSET", KEYS[2], id, size .. " " .. room)
if room ~= "" then redis.call("ZADD", KEYS[7], ARGV[8], id) end
return 1
`;

// ARGV: prefix, now, id. The file's metadata, or nil when it was not kept or had expired.
const REMOVE = COMMON + `
local meta = redis.call("GET", prefix .. "filemeta:" .. ARGV[3])
if forget(ARGV[3]) == 0 then return false end
return meta
`;

// ARGV: prefix, now. How many expired files were deleted (at most the batch).
const SWEEP = COMMON + `
local swept = sweep()
return swept
`;

/** How {@linkcode RedisFiles} keeps files. */
export interface RedisFilesOptions {
  /** Prefix of every key, the cluster's. @default {"chat"} */
  cluster?: string;
  /** Bytes of files kept and being received at once, across the cluster. */
  quota: number;
  /** This process's name for its reservations. @default {crypto.randomUUID()} */
  processId?: string;
}

/** Shared files in Redis: see the module's description. */
export class RedisFiles implements FileStore {
  readonly lasting = true;
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #quota: number;
  readonly #processId: string;
  /** Bytes some download still holds, shared with the next one. */
  readonly #held = new Map<string, WeakRef<Uint8Array>>();
  /** Forgets a file's entry in {@linkcode #held} once its bytes are collected. */
  readonly #collected = new FinalizationRegistry<string>((id) => {
    if (this.#held.get(id)?.deref() === undefined) this.#held.delete(id);
  });
  /** Reads under way, shared by downloads that start meanwhile. */
  readonly #reading = new Map<string, Promise<Uint8Array | null>>();

  /** Files in the Redis of `client` (connected, or connecting: it is used only when called). */
  constructor(client: RedisClient, options: RedisFilesOptions) {
    if (!Number.isSafeInteger(options.quota) || options.quota < 0) {
      throw new RangeError(`quota must be a whole number of bytes 0 or more, not ${options.quota}`);
    }
    this.#client = client;
    this.#prefix = `${options.cluster ?? "chat"}:`;
    this.#quota = options.quota;
    this.#processId = options.processId ?? crypto.randomUUID();
  }

  async reserve(bytes: number): Promise<boolean> {
    const until = Date.now() + RESERVATION_MS;
    const reply = await this.#run(RESERVE, [this.#quota, bytes, this.#processId, until]);
    return reply === 1;
  }

  async release(bytes: number): Promise<void> {
    await this.#run(RELEASE, [this.#processId, bytes]);
  }

  /**
   * Writes the bytes a slice at a time, then keeps the file in one script; rejects, keeping
   * nothing, when that passes the quota or Redis fails.
   */
  async save(file: SharedFile, bytes: Uint8Array): Promise<void> {
    const id = checkFileId(file.id);
    if (bytes.length !== file.size) {
      throw new RangeError(`File ${id} is ${bytes.length} bytes, not the ${file.size} it says`);
    }
    const upload = `${this.#prefix}fileupload:${id}`;
    try {
      await this.#client.command([
        "SET",
        upload,
        bytes.subarray(0, SLICE_BYTES),
        "PX",
        RESERVATION_MS,
      ]);
      for (let at = SLICE_BYTES; at < bytes.length; at += SLICE_BYTES) {
        await this.#client.command(["APPEND", upload, bytes.subarray(at, at + SLICE_BYTES)]);
      }
      const life = Math.max(1, file.expiresAt - Date.now());
      const reply = await this.#run(SAVE, [
        this.#quota,
        this.#processId,
        id,
        file.size,
        file.room ?? "",
        file.at,
        file.expiresAt,
        life,
        JSON.stringify(file),
      ], [
        upload,
        `${this.#prefix}file:${id}`,
        `${this.#prefix}filemeta:${id}`,
        this.#roomKey(file.room ?? ""),
      ]);
      if (reply === 0) {
        throw new RangeError(`No room for file ${id}: the files' quota of ${this.#quota} is full`);
      }
      if (reply !== 1) throw new Error(`The bytes of file ${id} were not all written to Redis`);
    } catch (error) {
      await this.#client.del(upload).catch(() => {});
      throw error;
    }
  }

  async find(id: string): Promise<SharedFile | null> {
    if (!FILE_ID.test(id)) return null;
    const file = parseSharedFile(await this.#client.get(`${this.#prefix}filemeta:${id}`));
    return file !== null && file.id === id && file.expiresAt > Date.now() ? file : null;
  }

  async read(id: string): Promise<Uint8Array | null> {
    const file = await this.find(id);
    if (file === null) {
      this.#held.delete(id);
      return null;
    }
    const held = this.#held.get(id)?.deref();
    if (held !== undefined) return held;
    let reading = this.#reading.get(id);
    if (reading === undefined) {
      reading = this.#readSlices(file).finally(() => this.#reading.delete(id));
      this.#reading.set(id, reading);
    }
    return await reading;
  }

  async list(room: string): Promise<SharedFile[]> {
    const ids = strings(await this.#client.command(["ZRANGE", this.#roomKey(room), 0, -1]));
    const now = Date.now();
    const files: SharedFile[] = [];
    for (let from = 0; from < ids.length; from += LIST_BATCH) {
      const keys = ids.slice(from, from + LIST_BATCH).map((id) => `${this.#prefix}filemeta:${id}`);
      const metas = await this.#client.command(["MGET", ...keys]);
      for (const meta of Array.isArray(metas) ? metas : []) {
        const file = parseSharedFile(typeof meta === "string" ? meta : null);
        if (file !== null && file.room === room && file.expiresAt > now) files.push(file);
      }
    }
    return files.sort((a, b) => a.at - b.at);
  }

  async remove(id: string): Promise<SharedFile | null> {
    if (!FILE_ID.test(id)) return null;
    this.#held.delete(id);
    const reply = await this.#run(REMOVE, [id]);
    return parseSharedFile(typeof reply === "string" ? reply : null);
  }

  async sweep(now: number): Promise<number> {
    let swept = 0;
    while (true) {
      const batch = Number(await this.#run(SWEEP, [], [], now));
      swept += batch;
      if (batch < SWEEP_BATCH) return swept;
    }
  }

  /** Runs one of the scripts with the prefix, now, then `args`; `extraKeys` after the three. */
  #run(
    script: string,
    args: (string | number)[],
    extraKeys: string[] = [],
    now: number = Date.now(),
  ): Promise<RedisReply> {
    const keys = [
      `${this.#prefix}files`,
      `${this.#prefix}fileinfo`,
      `${this.#prefix}filequota`,
      ...extraKeys,
    ];
    return this.#client.eval(script, keys, [this.#prefix, now, ...args]);
  }

  #roomKey(room: string): string {
    return `${this.#prefix}filesin:${room}`;
  }

  /** The file's bytes a slice at a time, held for the next download; null if they went meanwhile. */
  async #readSlices(file: SharedFile): Promise<Uint8Array | null> {
    const key = `${this.#prefix}file:${file.id}`;
    const slices: Uint8Array[] = [];
    let at = 0;
    do {
      const end = Math.min(at + SLICE_BYTES, file.size) - 1;
      const slice = file.size === 0
        ? await this.#client.commandBytes(["GET", key])
        : await this.#client.commandBytes(["GETRANGE", key, at, end]);
      // Gone or cut short: removed or expired since its metadata was read.
      if (!(slice instanceof Uint8Array) || slice.length !== end + 1 - at) return null;
      slices.push(slice);
      at = end + 1;
    } while (at < file.size);
    const bytes = slices.length === 1 ? slices[0] as Uint8Array : concat(slices, file.size);
    this.#held.set(file.id, new WeakRef(bytes));
    this.#collected.register(bytes, file.id);
    return bytes;
  }
}

/** A reply's strings, or none. */
function strings(reply: RedisReply): string[] {
  return Array.isArray(reply) ? reply.filter((item) => typeof item === "string") : [];
}
