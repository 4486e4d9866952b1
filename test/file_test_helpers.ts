/**
 * What the shared-file stores' tests share: a file's description and an
 * upload's reserve-then-save, for any {@linkcode FileStore}.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { FileStore, SharedFile } from "../core/file_store.ts";

let counter = 0;

/** A file's metadata: a fresh id, shared in `room` now, for a minute, unless `fields` say otherwise. */
export function sharedFile(fields: Partial<SharedFile> = {}): SharedFile {
  const now = Date.now();
  return {
    id: (++counter).toString(16).padStart(32, "a"),
    name: "notes.txt",
    size: 0,
    picture: null,
    from: "alice",
    room: "lobby",
    to: null,
    at: now,
    expiresAt: now + 60_000,
    ...fields,
  };
}

/** Reserves and saves `bytes` as a file with `fields`, as an upload does; returns the file. */
export async function share(
  files: FileStore,
  bytes: Uint8Array,
  fields: Partial<SharedFile> = {},
): Promise<SharedFile> {
  const file = sharedFile({ ...fields, size: bytes.length });
  assert.equal(await files.reserve(bytes.length), true);
  await files.save(file, bytes);
  return file;
}
