/**
 * Shared files on disk, for `--data FILE`: {@linkcode DiskFiles} keeps each
 * file in a folder beside the data file (`FILE.files/`, made 0700), its
 * bytes as `ID` and what is known of it as `ID.json`, so that files outlive
 * a restart until they expire.
 *
 * A file is written whole before it counts: its bytes go to a temporary
 * name, are synced and renamed, then its metadata the same way, then the
 * folder is synced; only then does {@linkcode DiskFiles.save} resolve and
 * the link get posted. Opening the folder deletes what a crash left behind
 * (temporary files, bytes without metadata) and the files that expired
 * meanwhile, and counts the rest against the quota. Ids are checked to be 32
 * hex digits before any path is made of them.
 *
 * Reads are not cached beyond use: while one download holds a file's bytes,
 * every other download of it gets the same copy (a `WeakRef`), and once none
 * does they are read from disk again (the system's page cache is the cache).
 *
 * ```ts
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const files = DiskFiles.open(`${dir}/chat.db.files`, { quota: 1024 * 1024 });
 * assert.equal(await files.reserve(5), true);
 * const now = Date.now();
 * const file = {
 *   id: "0123456789abcdef0123456789abcdef", name: "hi.txt", size: 5, picture: null,
 *   from: "alice", room: "lobby", to: null, at: now, expiresAt: now + 60_000,
 * };
 * await files.save(file, new TextEncoder().encode("hello"));
 * const again = DiskFiles.open(`${dir}/chat.db.files`, { quota: 1024 * 1024 });
 * assert.equal(new TextDecoder().decode((await again.read(file.id))!), "hello");
 * Deno.removeSync(dir, { recursive: true });
 * ```
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
import { StoreError, systemCause } from "./store.ts";

/**
 * What keeping one file costs beside its bytes, counted in the quota: its
 * metadata file, and at least a block each on most file systems. So empty
 * files too are bounded: the quota holds at most this many bytes' worth.
 */
export const FILE_OVERHEAD_BYTES = 4096;

/** Names that are written and then renamed: any left when the folder is opened are a crash's. */
const TEMP_PREFIX = ".tmp-";

const encoder = new TextEncoder();

/** How {@linkcode DiskFiles.open} keeps files. */
export interface DiskFilesOptions {
  /** Bytes of files kept and being received at once (each file counts {@linkcode FILE_OVERHEAD_BYTES} more). */
  quota: number;
  /** One line on opening (what was kept and deleted), and for each file that cannot be deleted. */
  log?: (event: string) => void;
}

/** The folder {@linkcode DiskFiles} keeps the files of data file `dataFile` in: `FILE.files`. */
export function filesFolder(dataFile: string): string {
  return `${dataFile}.files`;
}

/** Shared files in a folder: see the module's description. */
export class DiskFiles implements FileStore {
  readonly lasting = true;
  /** The folder the files are in. */
  readonly folder: string;
  readonly #quota: number;
  readonly #log: ((event: string) => void) | undefined;
  /** The files kept, by id, each whole on disk. */
  readonly #files = new Map<string, SharedFile>();
  /** Bytes kept (with each file's overhead) and reserved. */
  #used = 0;
  /** Bytes some download still holds, shared with the next one. */
  readonly #held = new Map<string, WeakRef<Uint8Array>>();
  /** Forgets a file's entry in {@linkcode #held} once its bytes are collected. */
  readonly #collected = new FinalizationRegistry<string>((id) => {
    if (this.#held.get(id)?.deref() === undefined) this.#held.delete(id);
  });
  /** Reads under way, shared by downloads that start meanwhile. */
  readonly #reading = new Map<string, Promise<Uint8Array | null>>();

  private constructor(folder: string, options: DiskFilesOptions) {
    this.folder = folder;
    this.#quota = options.quota;
    this.#log = options.log;
  }

  /**
   * Opens `folder` (made, 0700, when missing): deletes what a crash left and
   * the files that expired, and counts the rest. Throws a
   * {@linkcode StoreError} naming the folder when it cannot be used.
   */
  static open(folder: string, options: DiskFilesOptions): DiskFiles {
    if (!Number.isSafeInteger(options.quota) || options.quota < 0) {
      throw new RangeError(`quota must be a whole number of bytes 0 or more, not ${options.quota}`);
    }
    const files = new DiskFiles(folder, options);
    try {
      Deno.mkdirSync(folder, { recursive: true, mode: 0o700 });
      files.#load(Date.now());
    } catch (error) {
      throw new StoreError(`Cannot use the files folder ${folder}: ${systemCause(error)}`, {
        cause: error,
      });
    }
    return files;
  }

  /** Bytes kept (each file with its overhead) and reserved now. */
  get used(): number {
    return this.#used;
  }

  /** How many files are kept. */
  get count(): number {
    return this.#files.size;
  }

  reserve(bytes: number): Promise<boolean> {
    if (this.#used + bytes > this.#quota) return Promise.resolve(false);
    this.#used += bytes;
    return Promise.resolve(true);
  }

  release(bytes: number): Promise<void> {
    this.#used = Math.max(0, this.#used - bytes);
    return Promise.resolve();
  }

  /**
   * Writes the file whole (bytes, then metadata, each synced and renamed into
   * place) and counts its overhead; rejects, leaving nothing of it, when that
   * passes the quota or the disk fails.
   */
  async save(file: SharedFile, bytes: Uint8Array): Promise<void> {
    const id = checkFileId(file.id);
    if (bytes.length !== file.size) {
      throw new RangeError(`File ${id} is ${bytes.length} bytes, not the ${file.size} it says`);
    }
    if (this.#used + FILE_OVERHEAD_BYTES > this.#quota) {
      throw new RangeError(`No room for file ${id}: the files' quota of ${this.#quota} is full`);
    }
    // Counted before the first await, so that saves at once cannot pass the quota together.
    this.#used += FILE_OVERHEAD_BYTES;
    try {
      await this.#writeWhole(id, bytes);
      await this.#writeWhole(`${id}.json`, encoder.encode(JSON.stringify(file)));
      await this.#syncFolder();
    } catch (error) {
      this.#used = Math.max(0, this.#used - FILE_OVERHEAD_BYTES);
      await this.#delete(id, "after a failed save");
      throw new StoreError(
        `Cannot keep file ${id} in ${this.folder}: ${systemCause(error)}`,
        { cause: error },
      );
    }
    this.#files.set(id, { ...file });
  }

  find(id: string): Promise<SharedFile | null> {
    const file = this.#live(id);
    return Promise.resolve(file === null ? null : { ...file });
  }

  read(id: string): Promise<Uint8Array | null> {
    const file = this.#live(id);
    if (file === null) return Promise.resolve(null);
    const held = this.#held.get(file.id)?.deref();
    if (held !== undefined) return Promise.resolve(held);
    let reading = this.#reading.get(file.id);
    if (reading === undefined) {
      reading = this.#readDisk(file).finally(() => this.#reading.delete(file.id));
      this.#reading.set(file.id, reading);
    }
    return reading;
  }

  list(room: string): Promise<SharedFile[]> {
    const now = Date.now();
    const files = [...this.#files.values()]
      .filter((file) => file.room === room && file.expiresAt > now)
      .sort((a, b) => a.at - b.at)
      .map((file) => ({ ...file }));
    return Promise.resolve(files);
  }

  async remove(id: string): Promise<SharedFile | null> {
    if (!FILE_ID.test(id)) return null;
    const file = this.#files.get(id);
    if (file === undefined) return null;
    this.#files.delete(id);
    this.#held.delete(id);
    this.#used = Math.max(0, this.#used - file.size - FILE_OVERHEAD_BYTES);
    await this.#delete(id, "when removed");
    return { ...file };
  }

  async sweep(now: number): Promise<number> {
    let swept = 0;
    for (const [id, file] of this.#files) {
      if (file.expiresAt > now) continue;
      if (await this.remove(id) !== null) swept++;
    }
    return swept;
  }

  /** The file with this id unless it expired; null for anything that is not an id. */
  #live(id: string): SharedFile | null {
    if (!FILE_ID.test(id)) return null;
    const file = this.#files.get(id);
    return file !== undefined && file.expiresAt > Date.now() ? file : null;
  }

  /** The file's bytes from disk, held for the next download; null if they are gone or cut short. */
  async #readDisk(file: SharedFile): Promise<Uint8Array | null> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.#path(file.id));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    if (bytes.length !== file.size) {
      this.#log?.(`file ${file.id} in ${this.folder} is ${bytes.length} bytes, not ${file.size}`);
      return null;
    }
    // A file removed while it was being read is not held for later.
    if (this.#files.has(file.id)) {
      this.#held.set(file.id, new WeakRef(bytes));
      this.#collected.register(bytes, file.id);
    }
    return bytes;
  }

  /** Writes `bytes` to a temporary name, syncs them, and renames them to `name`. */
  async #writeWhole(name: string, bytes: Uint8Array): Promise<void> {
    const temp = this.#path(TEMP_PREFIX + name);
    try {
      const out = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
      try {
        for (let at = 0; at < bytes.length;) at += await out.write(bytes.subarray(at));
        await out.syncData();
      } finally {
        out.close();
      }
      await Deno.rename(temp, this.#path(name));
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw error;
    }
  }

  /** Makes the renames last: the folder's entries are synced too. */
  async #syncFolder(): Promise<void> {
    let dir: Deno.FsFile;
    try {
      dir = await Deno.open(this.folder);
    } catch {
      // Some systems cannot open a folder to sync it (Windows); the renames are done anyway.
      return;
    }
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  }

  /** Deletes the file's metadata, then its bytes (bytes alone are deleted at the next open). */
  async #delete(id: string, when: string): Promise<void> {
    for (const name of [`${id}.json`, id]) {
      await Deno.remove(this.#path(name)).catch((error) => {
        if (error instanceof Deno.errors.NotFound) return;
        this.#log?.(`Cannot delete ${this.#path(name)} ${when}: ${systemCause(error)}`);
      });
    }
  }

  #path(name: string): string {
    return `${this.folder}/${name}`;
  }

  /** Reads the folder: keeps the whole files that have not expired, deletes the rest. */
  #load(now: number): void {
    const names = new Set<string>();
    for (const entry of Deno.readDirSync(this.folder)) {
      if (entry.isFile) names.add(entry.name);
    }
    let deleted = 0;
    const deleteFile = (name: string) => {
      try {
        Deno.removeSync(this.#path(name));
        deleted++;
      } catch (error) {
        this.#log?.(`Cannot delete ${this.#path(name)}: ${systemCause(error)}`);
      }
    };
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) deleteFile(name);
    }
    for (const name of names) {
      const id = /^([0-9a-f]{32})\.json$/.exec(name)?.[1];
      if (id === undefined) continue;
      const file = this.#loadOne(id, names);
      if (file !== null && file.expiresAt > now) {
        this.#files.set(id, file);
        this.#used += file.size + FILE_OVERHEAD_BYTES;
      } else deleteFile(name);
    }
    // Bytes whose metadata is missing, unreadable or expired: a save cut short, or deleted above.
    for (const name of names) {
      if (FILE_ID.test(name) && !this.#files.has(name)) deleteFile(name);
    }
    this.#log?.(
      `files in ${this.folder}: ${this.#files.size} kept (${this.#used} bytes), ` +
        `${deleted} deleted (expired or unfinished)`,
    );
  }

  /** The file whose metadata is `ID.json`, if that is readable and its bytes are whole. */
  #loadOne(id: string, names: Set<string>): SharedFile | null {
    if (!names.has(id)) return null;
    let file: SharedFile | null;
    try {
      file = parseSharedFile(Deno.readTextFileSync(this.#path(`${id}.json`)));
    } catch {
      return null;
    }
    if (file === null || file.id !== id) return null;
    try {
      return Deno.statSync(this.#path(id)).size === file.size ? file : null;
    } catch {
      return null;
    }
  }
}
