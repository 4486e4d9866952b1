/**
 * Password hashes for accounts: scrypt from `node:crypto`, run on the
 * thread pool (never the synchronous call, which would stall every room for
 * the tens of milliseconds a hash takes), a random salt per hash, and the
 * parameters written beside the hash so that they can be raised later
 * without making old hashes unreadable. Hashes are compared in constant
 * time.
 *
 * A stored hash reads `scrypt$N$r$p$SALT$HASH`, salt and hash in base64.
 *
 * ```ts
 * import assert from "node:assert/strict";
 * const stored = await hashPassword("correct horse", { cost: 1024 });
 * assert.ok(stored.startsWith("scrypt$1024$8$1$"));
 * assert.equal(await verifyPassword("correct horse", stored), true);
 * assert.equal(await verifyPassword("wrong horse", stored), false);
 * ```
 *
 * @module
 */

import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from "node:crypto";

/** Fewest characters in a password. */
export const MIN_PASSWORD_LENGTH = 8;
/** Most characters in a password: enough for a passphrase, not enough to make hashing costly. */
export const MAX_PASSWORD_LENGTH = 256;
/** scrypt's cost (N): 2^15, OWASP's minimum with r = 8, p = 1 (about 32 MiB a hash). */
export const SCRYPT_COST = 2 ** 15;
/** scrypt's block size (r). */
export const SCRYPT_BLOCK_SIZE = 8;
/** scrypt's parallelism (p). */
export const SCRYPT_PARALLELISM = 1;
/** Random bytes of salt per hash. */
export const SALT_BYTES = 16;
/** Bytes of derived key kept. */
export const HASH_BYTES = 32;
/** Costs above this in a stored hash are refused: a corrupt file must not take all memory. */
const MAX_COST = 2 ** 20;

/** What {@linkcode hashPassword} may be told; tests lower the cost. */
export interface HashOptions {
  /** scrypt's N, a power of two. @default {SCRYPT_COST} */
  cost?: number;
}

/**
 * Hashes worked on at once, at most: each takes 32 MiB and a core for a
 * while, so a crowd of logins from many addresses waits here instead of
 * taking the machine's memory. Each connection waits for its own command,
 * so at most one hash per connection waits.
 */
export const HASHES_AT_ONCE = 2;
let hashing = 0;
const waitingForHash: (() => void)[] = [];

/** How many hashes wait for one of the {@linkcode HASHES_AT_ONCE} places. */
export function hashesWaiting(): number {
  return waitingForHash.length;
}

/** Runs `work` in one of the places for hashing, waiting for one if all are taken. */
async function inHashingPlace<T>(work: () => Promise<T>): Promise<T> {
  if (hashing < HASHES_AT_ONCE) hashing++;
  else await new Promise<void>((resolve) => waitingForHash.push(resolve));
  try {
    return await work();
  } finally {
    // The place goes straight to the next in line, or is given back.
    const next = waitingForHash.shift();
    if (next !== undefined) next();
    else hashing--;
  }
}

/** scrypt on the thread pool: the hash of `password` with `salt` and these parameters. */
function derive(
  password: string,
  salt: Uint8Array,
  n: number,
  r: number,
  p: number,
  length: number,
) {
  // Node's default maxmem (32 MiB) is exactly what N = 2^15, r = 8 needs; leave room above.
  const options: ScryptOptions = { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 };
  return inHashingPlace(() =>
    new Promise<Uint8Array>((resolve, reject) => {
      scrypt(password, salt, length, options, (error, key) => {
        if (error) reject(error);
        else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
      });
    })
  );
}

/** A new hash of `password`, with a new salt and the parameters beside it. */
export async function hashPassword(password: string, options: HashOptions = {}): Promise<string> {
  const n = options.cost ?? SCRYPT_COST;
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  const key = await derive(password, salt, n, SCRYPT_BLOCK_SIZE, SCRYPT_PARALLELISM, HASH_BYTES);
  return ["scrypt", n, SCRYPT_BLOCK_SIZE, SCRYPT_PARALLELISM, toBase64(salt), toBase64(key)]
    .join("$");
}

/**
 * Whether `password` is the one `stored` was made from, by the parameters
 * stored with it; compared in constant time. A stored hash that cannot be
 * read matches nothing.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (
    ![n, r, p].every(Number.isSafeInteger) || n < 2 || n > MAX_COST || (n & (n - 1)) !== 0 ||
    r < 1 || r > 32 || p < 1 || p > 16
  ) {
    return false;
  }
  const salt = fromBase64(parts[4] as string);
  const expected = fromBase64(parts[5] as string);
  if (salt.length === 0 || expected.length === 0) return false;
  const key = await derive(password, salt, n, r, p, expected.length);
  return timingSafeEqual(key, expected);
}

/** Whether a stored hash was made with weaker parameters than `cost`, so it should be made again. */
export function needsRehash(stored: string, cost: number = SCRYPT_COST): boolean {
  const [kind, n] = stored.split("$");
  return kind !== "scrypt" || Number(n) < cost;
}

/** How long `password` is in characters (code points), as the limits count. */
export function passwordLength(password: string): number {
  let length = 0;
  for (const _ of password) length++;
  return length;
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return new Uint8Array();
  }
}
