/**
 * What the server keeps between restarts (rooms, topics, recent lines, bans,
 * mutes and the message of the day), in one SQLite file through `node:sqlite`.
 *
 * Writes never wait on the disk: each one is queued in memory and a short
 * timer writes the batch in one transaction, so the core can call them from
 * inside a broadcast. A batch that cannot be written (a full disk) is
 * dropped: the log hears of the first at once and then once a minute (see
 * write_failures.ts), and the operator when it starts and ends. The file is locked for as long as the store is open, so
 * a second server pointed at it fails at once instead of the two overwriting
 * each other.
 *
 * ```ts
 * const dir = Deno.makeTempDirSync(); // `deno test --doc` runs this; no chat.db left behind
 * const store = ChatStore.open(`${dir}/chat.db`, { historyLines: 50 });
 * store.addLine("lobby", "alice: hello");
 * store.close(); // flushes
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { ChatRecorder, Restriction, SavedRoom, SavedState } from "../core/recorder.ts";
import type { LocalAccountBook } from "../core/account_book.ts";
import { ACCOUNTS_SCHEMA, StoredAccounts } from "./accounts.ts";
import { type FailureNews, WriteFailures } from "./write_failures.ts";

// The core's types: the store implements what the core records and reads back what it saved.
export type { Restriction, SavedRoom, SavedState };

/** How {@linkcode ChatStore.open} keeps the data. */
export interface StoreOptions {
  /** Lines kept per room, in the file and in the queue; 0 keeps none. */
  historyLines: number;
  /**
   * Hears, in one line, of a batch that could not be written: the first of a
   * run at once, then at most one line a minute with how many failed since,
   * and when writes work again.
   */
  log?: (event: string) => void;
  /**
   * Hears, in one line for the operator, that writes began to fail
   * (`Cannot write the data file PATH: database or disk is full`) and that
   * they work again (`The data file PATH is written again`).
   */
  alert?: (text: string) => void;
  /**
   * The most pages the file may grow to (SQLite's `max_page_count`): a write
   * that needs more fails as on a full disk. For tests.
   * @internal
   */
  maxPages?: number;
  /**
   * How long a write waits for others to share its transaction.
   * @default {5}
   */
  flushMs?: number;
}

/** An error opening the data file: its message is one line naming the file, fit for the CLI. */
export class StoreError extends Error {
  /** Names the class in a stack trace or `String(error)`. */
  override name = "StoreError";
}

/**
 * The layout of the tables below; a file with a higher one was made by a
 * newer server. 2 added the accounts (accounts.ts) to 1.
 */
export const SCHEMA_VERSION = 2;

/** How long a write waits for others by default: short, since a batch of one is cheap too. */
export const DEFAULT_FLUSH_MS = 5;

/**
 * Queued items (lines, rooms, restrictions) past which a write flushes at
 * once: history is already trimmed per room, so this only bites when very
 * many rooms or restrictions change within one timer's wait.
 */
export const MAX_QUEUED = 10_000;

const SCHEMA = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;
  CREATE TABLE rooms (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, topic TEXT);
  CREATE TABLE lines (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (room, seq)
  ) WITHOUT ROWID;
  CREATE TABLE restrictions (
    kind TEXT NOT NULL CHECK (kind IN ('bans', 'mutes')),
    pos INTEGER NOT NULL,
    name TEXT,
    address TEXT,
    until_ms INTEGER,
    set_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (kind, pos)
  ) WITHOUT ROWID;
`;

/** The newest items pushed, at most `capacity` of them. */
class Ring<T> {
  readonly #items: T[] = [];
  #start = 0;

  constructor(readonly capacity: number) {}

  /** How many it holds. */
  get length(): number {
    return this.#items.length;
  }

  /** Adds an item, dropping the oldest when full; says whether it holds one more. */
  push(item: T): boolean {
    if (this.capacity === 0) return false;
    if (this.#items.length < this.capacity) {
      this.#items.push(item);
      return true;
    }
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.capacity;
    return false;
  }

  /** The items, oldest first. */
  toArray(): T[] {
    return [...this.#items.slice(this.#start), ...this.#items.slice(0, this.#start)];
  }
}

/** What is queued for one room, as the net effect of its writes since the last flush. */
interface PendingRoom {
  /** Its saved row, topic and lines are deleted first. */
  removed: boolean;
  /** It exists after the flush (a removal was the last word if not). */
  saved: boolean;
  /** Its new topic, or undefined to leave the saved one. */
  topic: string | null | undefined;
  /** Lines to append. */
  lines: Ring<string>;
}

/** Everything queued since the last flush. */
interface Batch {
  rooms: Map<string, PendingRoom>;
  restrictions: Map<"bans" | "mutes", Restriction[]>;
  /** The new message of the day, or undefined to leave the saved one. */
  motd: string | null | undefined;
}

function emptyBatch(): Batch {
  return { rooms: new Map(), restrictions: new Map(), motd: undefined };
}

/** The statements the store runs, prepared once. */
function prepare(db: DatabaseSync) {
  return {
    begin: db.prepare("BEGIN"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    insertRoom: db.prepare("INSERT OR IGNORE INTO rooms (name) VALUES (?)"),
    setTopic: db.prepare("UPDATE rooms SET topic = ? WHERE name = ?"),
    deleteRoom: db.prepare("DELETE FROM rooms WHERE name = ?"),
    deleteLines: db.prepare("DELETE FROM lines WHERE room = ?"),
    lastSeq: db.prepare("SELECT coalesce(max(seq), 0) AS seq FROM lines WHERE room = ?"),
    insertLine: db.prepare("INSERT INTO lines (room, seq, text) VALUES (?, ?, ?)"),
    trimLines: db.prepare("DELETE FROM lines WHERE room = ? AND seq <= ?"),
    deleteRestrictions: db.prepare("DELETE FROM restrictions WHERE kind = ?"),
    insertRestriction: db.prepare(
      "INSERT INTO restrictions (kind, pos, name, address, until_ms, set_by, reason)" +
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    setMeta: db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?)" +
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    deleteMeta: db.prepare("DELETE FROM meta WHERE key = ?"),
    getMeta: db.prepare("SELECT value FROM meta WHERE key = ?"),
    selectRooms: db.prepare("SELECT name, topic FROM rooms ORDER BY id"),
    selectLines: db.prepare("SELECT text FROM lines WHERE room = ? ORDER BY seq"),
    selectRestrictions: db.prepare(
      "SELECT name, address, until_ms, set_by, reason FROM restrictions" +
        " WHERE kind = ? ORDER BY pos",
    ),
  } satisfies Record<string, StatementSync>;
}

type Statements = ReturnType<typeof prepare>;

/** The server's saved state in one SQLite file, written in batches. */
export class ChatStore implements ChatRecorder {
  readonly #path: string;
  readonly #historyLines: number;
  readonly #flushMs: number;
  readonly #log: ((event: string) => void) | undefined;
  readonly #alert: ((text: string) => void) | undefined;
  /** The run of failed writes, if one is going on, and what to say of it. */
  readonly #failures: WriteFailures;
  #db: DatabaseSync | undefined;
  readonly #sql: Statements;
  #batch: Batch = emptyBatch();
  /** Items in the batch: lines, rooms, restrictions and the motd. */
  #queued = 0;
  /** Lines in the batch, for the test that the queue stays bounded. */
  #queuedLines = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  private constructor(db: DatabaseSync, path: string, options: StoreOptions) {
    this.#db = db;
    this.#sql = prepare(db);
    this.#path = path;
    this.#historyLines = options.historyLines;
    this.#flushMs = options.flushMs ?? DEFAULT_FLUSH_MS;
    this.#log = options.log;
    this.#alert = options.alert;
    this.#failures = new WriteFailures(path);
  }

  /**
   * Opens (creating if missing) the database at `path`, keeping at most
   * `historyLines` lines per room, and locks it until {@linkcode close}.
   *
   * @throws {StoreError} `Cannot open data file PATH: file is not a database`,
   * `...: it is in use by another server`, `...: made by a newer version (schema N)`,
   * or the system's reason: `...: read-only file system`, `...: permission denied`,
   * `...: no such file or directory` (a missing directory).
   * @throws {RangeError} for a `historyLines`, `flushMs` or `maxPages` out of range.
   */
  static open(path: string, options: StoreOptions): ChatStore {
    const { historyLines, flushMs = DEFAULT_FLUSH_MS } = options;
    if (!Number.isSafeInteger(historyLines) || historyLines < 0) {
      throw new RangeError(`historyLines must be a whole number 0 or more, not ${historyLines}`);
    }
    if (!Number.isFinite(flushMs) || flushMs < 0) {
      throw new RangeError(`flushMs must be a number of ms 0 or more, not ${flushMs}`);
    }
    const { maxPages } = options;
    if (maxPages !== undefined && (!Number.isSafeInteger(maxPages) || maxPages < 1)) {
      throw new RangeError(`maxPages must be a whole number 1 or more, not ${maxPages}`);
    }
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      openSchema(db, historyLines);
      if (options.maxPages !== undefined) db.exec(`PRAGMA max_page_count = ${options.maxPages}`);
      return new ChatStore(db, path, options);
    } catch (error) {
      // Closing also rolls back the schema's transaction and lets go of the lock.
      if (db?.isOpen) db.close();
      if (error instanceof StoreError) {
        throw new StoreError(`Cannot open data file ${path}: ${error.message}`);
      }
      throw new StoreError(`Cannot open data file ${path}: ${openFailure(error, path)}`, {
        cause: error,
      });
    }
  }

  /** The accounts in the file, written as they change; they stop with {@linkcode close}. */
  accounts(): LocalAccountBook {
    if (this.#db === undefined) {
      throw new Error(`Cannot read accounts from data file ${this.#path}: it is closed`);
    }
    return new StoredAccounts(this.#db, () => this.#db !== undefined);
  }

  /** Everything saved, as of the last flush. */
  load(): SavedState {
    if (this.#db === undefined) {
      throw new Error(`Cannot load data file ${this.#path}: it is closed`);
    }
    const sql = this.#sql;
    const rooms = sql.selectRooms.all().map((row): SavedRoom => {
      const name = String(row.name);
      const history = sql.selectLines.all(name).map((line) => String(line.text));
      return { name, topic: row.topic === null ? null : String(row.topic), history };
    });
    const restrictions = (kind: "bans" | "mutes"): Restriction[] =>
      sql.selectRestrictions.all(kind).map((row) => ({
        name: row.name === null ? null : String(row.name),
        address: row.address === null ? null : String(row.address),
        until: row.until_ms === null ? null : Number(row.until_ms),
        by: String(row.set_by),
        reason: String(row.reason),
      }));
    const motd = sql.getMeta.get("motd")?.value;
    return {
      rooms,
      bans: restrictions("bans"),
      mutes: restrictions("mutes"),
      motd: motd === undefined || motd === null ? null : String(motd),
    };
  }

  /** Queues a public line of `room` for its history (trimmed to historyLines per room); the room is saved too. */
  addLine(room: string, line: string): void {
    const pending = this.#saving(room);
    if (pending === undefined) return;
    if (pending.lines.push(line)) this.#count(1, 1);
    this.#queuedMore();
  }

  /** Queues a room's topic (null clears it); makes the room saved if it was not. */
  setTopic(room: string, topic: string | null): void {
    const pending = this.#saving(room);
    if (pending === undefined) return;
    pending.topic = topic;
    this.#queuedMore();
  }

  /** Queues that a room exists (saved with no topic and no history yet). */
  addRoom(room: string): void {
    const pending = this.#saving(room);
    if (pending === undefined) return;
    this.#queuedMore();
  }

  /** Queues the removal of a room with its topic and history. */
  removeRoom(room: string): void {
    if (this.#db === undefined) return;
    const lines = new Ring<string>(this.#historyLines);
    const pending = this.#batch.rooms.get(room);
    if (pending === undefined) {
      this.#batch.rooms.set(room, { removed: true, saved: false, topic: undefined, lines });
      this.#count(1, 0);
    } else {
      this.#count(-pending.lines.length, -pending.lines.length);
      Object.assign(pending, { removed: true, saved: false, topic: undefined, lines });
    }
    this.#queuedMore();
  }

  /** Queues the whole list of bans (or mutes): what is saved is replaced by it at the next flush. */
  setRestrictions(kind: "bans" | "mutes", list: readonly Restriction[]): void {
    if (this.#db === undefined) return;
    const old = this.#batch.restrictions.get(kind);
    this.#batch.restrictions.set(kind, list.map((restriction) => ({ ...restriction })));
    this.#count(list.length + 1 - (old === undefined ? 0 : old.length + 1), 0);
    this.#queuedMore();
  }

  /** Queues the message of the day (null clears it). */
  setMotd(text: string | null): void {
    if (this.#db === undefined) return;
    const first = this.#batch.motd === undefined;
    this.#batch.motd = text;
    this.#count(first ? 1 : 0, 0);
    this.#queuedMore();
  }

  /**
   * Writes everything queued now, in one transaction. A failure drops the
   * batch and is told through `log` and `alert` as {@linkcode StoreOptions}
   * says; it never throws.
   */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#db === undefined || this.#queued === 0) return;
    const batch = this.#batch;
    this.#batch = emptyBatch();
    this.#queued = 0;
    this.#queuedLines = 0;
    try {
      this.#sql.begin.run();
      this.#write(batch);
      this.#sql.commit.run();
    } catch (error) {
      try {
        if (this.#db.isTransaction) this.#sql.rollback.run();
      } catch {
        // The failure that matters is told below; SQLite rolls back on its own when it must.
      }
      this.#tell(this.#failures.failed(oneLine(error), performance.now()));
      return;
    }
    if (this.#failures.failing) this.#tell(this.#failures.succeeded(performance.now()));
  }

  /** Passes on what there is to say of a write. */
  #tell(news: FailureNews): void {
    if (news.log !== null) this.#log?.(news.log);
    if (news.alert !== null) this.#alert?.(news.alert);
  }

  /** Flushes and closes; safe to call twice. After it, the write methods do nothing. */
  close(): void {
    if (this.#db === undefined) return;
    this.flush();
    const unreported = this.#failures.closing(performance.now());
    if (unreported !== null) this.#log?.(unreported);
    const db = this.#db;
    this.#db = undefined;
    db.close();
  }

  /** Lines waiting in memory for the next flush. @internal */
  get queuedLines(): number {
    return this.#queuedLines;
  }

  /**
   * The room's entry in the batch, made if missing and marked to be saved;
   * undefined once closed.
   */
  #saving(room: string): PendingRoom | undefined {
    if (this.#db === undefined) return undefined;
    const rooms = this.#batch.rooms;
    let pending = rooms.get(room);
    if (pending === undefined) {
      pending = {
        removed: false,
        saved: true,
        topic: undefined,
        lines: new Ring(this.#historyLines),
      };
      rooms.set(room, pending);
      this.#count(1, 0);
    } else if (!pending.saved) {
      // Saved again after a removal: it goes after the rooms saved meanwhile.
      rooms.delete(room);
      rooms.set(room, pending);
      pending.saved = true;
    }
    return pending;
  }

  /** Counts items and lines that joined (or, negative, left) the batch. */
  #count(items: number, lines: number): void {
    this.#queued += items;
    this.#queuedLines += lines;
  }

  /**
   * Called by each write once the batch holds it: flushes at once past
   * {@linkcode MAX_QUEUED}, else makes sure the timer will.
   */
  #queuedMore(): void {
    if (this.#queued > MAX_QUEUED) return this.flush();
    if (this.#timer !== undefined) return;
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#flushMs);
    // A store with writes pending must not keep a server alive that is otherwise done.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Applies a batch inside the open transaction. */
  #write(batch: Batch): void {
    const sql = this.#sql;
    for (const [room, pending] of batch.rooms) {
      if (pending.removed) {
        sql.deleteLines.run(room);
        sql.deleteRoom.run(room);
      }
      if (!pending.saved) continue;
      sql.insertRoom.run(room);
      if (pending.topic !== undefined) sql.setTopic.run(pending.topic, room);
      if (pending.lines.length === 0) continue;
      let seq = Number(sql.lastSeq.get(room)?.seq ?? 0);
      for (const line of pending.lines.toArray()) sql.insertLine.run(room, ++seq, line);
      sql.trimLines.run(room, seq - this.#historyLines);
    }
    for (const [kind, list] of batch.restrictions) {
      sql.deleteRestrictions.run(kind);
      list.forEach((r, pos) => {
        // SQLite would store NaN as NULL, which reads back as forever.
        if (Number.isNaN(r.until)) {
          throw new RangeError(`a ${kind.slice(0, -1)} on ${r.name ?? r.address} ends at NaN`);
        }
        sql.insertRestriction.run(kind, pos, r.name, r.address, r.until, r.by, r.reason);
      });
    }
    if (batch.motd === null) sql.deleteMeta.run("motd");
    else if (batch.motd !== undefined) sql.setMeta.run("motd", batch.motd);
  }
}

/**
 * Sets the connection up and makes or checks the schema, inside a write
 * transaction so that the exclusive lock is taken here, at open.
 */
function openSchema(db: DatabaseSync, historyLines: number): void {
  // Fail at once when another server holds the lock, rather than wait for it.
  db.exec("PRAGMA busy_timeout = 0");
  // Exclusive before WAL, so that WAL needs no shared-memory file and the lock is held until close.
  db.exec("PRAGMA locking_mode = EXCLUSIVE");
  db.exec("PRAGMA journal_mode = WAL");
  // In WAL, NORMAL loses at most the last batches to a power cut, never the file.
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("BEGIN IMMEDIATE");
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all();
  if (tables.length === 0) {
    db.exec(SCHEMA + ACCOUNTS_SCHEMA);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
  } else {
    const meta = tables.some((table) => table.name === "meta")
      ? db.prepare("SELECT value FROM meta WHERE key = 'schema'").get()
      : undefined;
    const version = meta?.value;
    if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
      throw new StoreError("it holds another program's data");
    }
    if (version > SCHEMA_VERSION) {
      throw new StoreError(`made by a newer version (schema ${version})`);
    }
    if (version < 2) {
      db.exec(ACCOUNTS_SCHEMA);
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema'").run(SCHEMA_VERSION);
    }
  }
  // A server restarted with fewer lines per room keeps only the newest of them.
  db.prepare(
    "DELETE FROM lines WHERE seq <= (SELECT max(seq) FROM lines AS newest" +
      " WHERE newest.room = lines.room) - ?",
  ).run(historyLines);
  db.exec("COMMIT");
}

/** Why opening failed, in words for the CLI. */
function openFailure(error: unknown, path: string): string {
  const message = oneLine(error);
  // The first statement to touch a locked file says so; exec() errors carry no errcode.
  if (message === "database is locked") return "it is in use by another server";
  // SQLite does not say why: a missing directory, a file or directory it may not write, a
  // read-only file system (an existing file there opens, and its first write is an I/O error).
  const vague = message.startsWith("unable to open database file") ||
    message === "attempt to write a readonly database" || message === "disk I/O error";
  return (vague ? systemReason(path) : null) ?? message.replace(`: ${path}`, "");
}

/** The system's reason the file, or the WAL file beside it, cannot be written; null if none. */
function systemReason(path: string): string | null {
  const file = writeFailure(path);
  if (file !== null) return file;
  const wal = writeFailure(`${path}-wal`);
  return wal === null ? null : `cannot make ${path}-wal beside it: ${wal}`;
}

/** Why Deno cannot open `path` for writing (making it and removing it again if missing), or null. */
function writeFailure(path: string): string | null {
  try {
    Deno.openSync(path, { read: true, write: true }).close();
    return null;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) return systemCause(error);
  }
  try {
    Deno.openSync(path, { write: true, createNew: true }).close();
    Deno.removeSync(path);
    return null;
  } catch (error) {
    return systemCause(error);
  }
}

/**
 * The system's reason in an error from a Deno file call, worded as the
 * store's messages are: `Read-only file system (os error 30): open 'chat.db'`
 * is `read-only file system`, `Permission denied (os error 13): ...` is
 * `permission denied` (the caller names the file).
 *
 * @internal
 */
export function systemCause(error: unknown): string {
  const reason = oneLine(error).replace(/: \w+ '.*'$/, "").replace(/ \(os error \d+\)$/, "");
  return reason.charAt(0).toLowerCase() + reason.slice(1);
}

/** An error's message on one line. */
function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, " ");
}
