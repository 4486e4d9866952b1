/**
 * Where shared files live, as the core sees them: {@linkcode FileStore}
 * keeps each file's bytes with what is known of it ({@linkcode SharedFile})
 * and counts them against one quota. An upload reserves its length first,
 * so that what is being received counts too: a crowd of uploads can never
 * hold more than the quota. {@linkcode MemoryFiles} keeps them in memory;
 * the store (store/files.ts) in a folder beside the data file; a cluster
 * in Redis.
 *
 * @module
 */

/** What is known of a shared file. */
export interface SharedFile {
  /** Its id in links: 128 random bits, in hex. */
  id: string;
  /** Its name, cleaned (see file_kinds.ts). */
  name: string;
  /** Its length in bytes. */
  size: number;
  /** The picture type its first bytes show (`image/png`, …), or null for any other file. */
  picture: string | null;
  /** Who shared it, by the name it had then. */
  from: string;
  /** The room it was shared in, or null when shared privately. */
  room: string | null;
  /** Whom it was shared with privately, or null when shared in a room. */
  to: string | null;
  /** When it was shared, in milliseconds since the epoch. */
  at: number;
  /** When it is deleted, in milliseconds since the epoch. */
  expiresAt: number;
}

/** A shared file's id: 128 bits in hex, as {@linkcode SharedFile.id} is. */
export const FILE_ID: RegExp = /^[0-9a-f]{32}$/;

/** `id` if it is a file's id; a `TypeError` otherwise, before it can become a path or a key. */
export function checkFileId(id: string): string {
  if (!FILE_ID.test(id)) {
    throw new TypeError(`Invalid file id ${JSON.stringify(id)}: not 32 hex digits`);
  }
  return id;
}

/** The {@linkcode SharedFile} in `json` (as a store saved it), or null unless it is one. */
export function parseSharedFile(json: string | null): SharedFile | null {
  if (json === null) return null;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { id, name, size, picture, from, room, to, at, expiresAt } = value;
  const textOrNull = (x: unknown) => x === null || typeof x === "string";
  if (
    typeof id !== "string" || typeof name !== "string" || !Number.isSafeInteger(size) ||
    (size as number) < 0 || !textOrNull(picture) || typeof from !== "string" ||
    !textOrNull(room) || !textOrNull(to) || typeof at !== "number" ||
    typeof expiresAt !== "number"
  ) {
    return null;
  }
  return {
    id,
    name,
    size: size as number,
    picture: picture as string | null,
    from,
    room: room as string | null,
    to: to as string | null,
    at,
    expiresAt,
  };
}

/** Where shared files live: see the module's description. */
export interface FileStore {
  /** Whether files outlive the server (a folder or Redis) or are gone when it stops. */
  readonly lasting: boolean;
  /** Reserves `bytes` of the quota for an upload; false when that would pass it. */
  reserve(bytes: number): Promise<boolean>;
  /** Gives back a reservation an upload did not use (it failed, or was shorter). */
  release(bytes: number): Promise<void>;
  /** Keeps a whole file, whose length was reserved; resolves once it is kept. */
  save(file: SharedFile, bytes: Uint8Array): Promise<void>;
  /** The file with this id, unless it expired or was removed. */
  find(id: string): Promise<SharedFile | null>;
  /** The bytes of the file with this id, unless it expired or was removed. */
  read(id: string): Promise<Uint8Array | null>;
  /** The files shared in `room` (by its exact name) that have not expired, oldest first. */
  list(room: string): Promise<SharedFile[]>;
  /** Deletes the file with this id, giving back its quota; resolves with it, or null. */
  remove(id: string): Promise<SharedFile | null>;
  /** Deletes the files that expired by `now`; resolves with how many. */
  sweep(now: number): Promise<number>;
}

/**
 * Shared files in memory, within a quota, gone when the server stops.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const files = new MemoryFiles(10);
 * assert.equal(await files.reserve(8), true);
 * assert.equal(await files.reserve(8), false);
 * ```
 */
export class MemoryFiles implements FileStore {
  readonly lasting = false;
  readonly #quota: number;
  readonly #files = new Map<string, { file: SharedFile; bytes: Uint8Array }>();
  /** Bytes kept and reserved. */
  #used = 0;

  /** Files of at most `quota` bytes in all. */
  constructor(quota: number) {
    this.#quota = quota;
  }

  /** Bytes kept and reserved now. */
  get used(): number {
    return this.#used;
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

  save(file: SharedFile, bytes: Uint8Array): Promise<void> {
    this.#files.set(file.id, { file: { ...file }, bytes });
    return Promise.resolve();
  }

  find(id: string): Promise<SharedFile | null> {
    const kept = this.#live(id);
    return Promise.resolve(kept === undefined ? null : { ...kept.file });
  }

  read(id: string): Promise<Uint8Array | null> {
    return Promise.resolve(this.#live(id)?.bytes ?? null);
  }

  list(room: string): Promise<SharedFile[]> {
    const now = Date.now();
    const files = [...this.#files.values()]
      .filter(({ file }) => file.room === room && file.expiresAt > now)
      .map(({ file }) => ({ ...file }));
    return Promise.resolve(files);
  }

  remove(id: string): Promise<SharedFile | null> {
    const kept = this.#files.get(id);
    if (kept === undefined) return Promise.resolve(null);
    this.#files.delete(id);
    this.#used = Math.max(0, this.#used - kept.file.size);
    return Promise.resolve({ ...kept.file });
  }

  async sweep(now: number): Promise<number> {
    let swept = 0;
    for (const [id, { file }] of this.#files) {
      if (file.expiresAt > now) continue;
      await this.remove(id);
      swept++;
    }
    return swept;
  }

  /** The file with this id unless it expired. */
  #live(id: string): { file: SharedFile; bytes: Uint8Array } | undefined {
    const kept = this.#files.get(id);
    return kept !== undefined && kept.file.expiresAt > Date.now() ? kept : undefined;
  }
}
