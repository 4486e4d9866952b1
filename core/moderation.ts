/**
 * Bans and mutes: what an operator puts on a name and an address, for how
 * long, and the words that say it (`30m`, `2h`, `7d`, `forever`; `until 14:30`).
 * It knows nothing of members: the core asks it about a name and an address.
 *
 * @module
 */

import { ipVersion, isLoopback } from "./addresses.ts";
import { nameKeys } from "../protocol.ts";

/** A ban or a mute: who it is on, until when, by whom and why. */
export interface Restriction {
  /** The name it is on (as shown), or null for an address alone. */
  name: string | null;
  /** The address it is on, or null for a name alone. */
  address: string | null;
  /** When it ends, in ms since the epoch; null for forever. */
  until: number | null;
  /** Who set it (a member's name, or "server" for the console). */
  by: string;
  /** Why, or "" */
  reason: string;
}

/** Bans (or mutes) at once: each is a line in `/bans` and a row on disk. */
export const MAX_RESTRICTIONS = 1000;

/** The longest duration that is not `forever`. */
export const MAX_DURATION_MS = 365 * 24 * 3_600_000;

/** How long a `/ban` lasts when no duration is given. */
export const DEFAULT_BAN_MS = 3_600_000;

/** How long a `/mute` lasts when no duration is given. */
export const DEFAULT_MUTE_MS = 10 * 60_000;

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 24 * 3_600_000,
  w: 7 * 24 * 3_600_000,
};

/**
 * A word that is meant as a duration, valid or not: `30m`, `2h`, `forever`,
 * and `90x`, `1h30m`, `1.5h`, `-1h` too (any that starts with a digit, or a
 * sign and a digit), so that a mistyped one is refused rather than taken for
 * the start of a reason, with the default duration.
 */
export function looksLikeDuration(word: string): boolean {
  return /^[+-]?\d/.test(word) || word.toLowerCase() === "forever";
}

/**
 * The length of a duration typed as `30m`, `2h`, `7d` (also `s` and `w`) in
 * milliseconds, null for `forever`, or undefined when it is not one or is
 * outside 1 s to {@linkcode MAX_DURATION_MS}.
 */
export function parseDuration(word: string): number | null | undefined {
  if (word.toLowerCase() === "forever") return null;
  const match = /^(\d{1,9})([smhdw])$/i.exec(word);
  if (match === null) return undefined;
  const ms = Number(match[1]) * (UNIT_MS[(match[2] as string).toLowerCase()] as number);
  return ms >= 1000 && ms <= MAX_DURATION_MS ? ms : undefined;
}

/** A duration the way notices say it: `for 1h`, `for 90m`, `for 7d` (days, not weeks), `forever`. */
export function durationWords(ms: number | null): string {
  if (ms === null) return "forever";
  for (const unit of ["d", "h", "m"]) {
    const size = UNIT_MS[unit] as number;
    if (ms % size === 0) return `for ${ms / size}${unit}`;
  }
  return `for ${Math.ceil(ms / 1000)}s`;
}

/**
 * When something ends, as a person reads it on the server's clock: `14:30`
 * (within 20 hours, so perhaps tomorrow), `2026-12-09 14:30` further off, `forever`.
 */
export function untilWords(until: number | null, now: number = Date.now()): string {
  if (until === null) return "forever";
  const at = new Date(until);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  if (until - now < 20 * 3_600_000) return time;
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}`;
}

/** `(until 14:30)` or `(forever)`, for the line a banned or muted member gets. */
export function untilNote(until: number | null, now: number = Date.now()): string {
  return until === null ? "(forever)" : `(until ${untilWords(until, now)})`;
}

/**
 * An address as bans compare it, one way however it was written: an IPv4
 * address mapped into IPv6 (`::ffff:1.2.3.4`, `::FFFF:102:304`) is the IPv4
 * one, and other IPv6 addresses take their shortest lower-case form
 * (`2001:DB8:0::1` is `2001:db8::1`), the form connections come from.
 */
export function plainAddress(ip: string): string {
  const lower = ip.toLowerCase();
  // How a dual-stack listener reports an IPv4 peer: the common case, kept quick.
  if (lower.startsWith("::ffff:") && ipVersion(lower.slice(7)) === 4) return lower.slice(7);
  if (ipVersion(lower) !== 6) return lower;
  let shortest: string;
  try {
    // The URL standard writes IPv6 hosts in their canonical form (RFC 5952), mapped ones in hex.
    shortest = new URL(`http://[${lower}]/`).hostname.slice(1, -1);
  } catch {
    // One with a zone (`fe80::1%eth0`) is no URL host: it is compared as typed.
    return lower;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(shortest);
  if (mapped === null) return shortest;
  const high = parseInt(mapped[1] as string, 16);
  const low = parseInt(mapped[2] as string, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** Whether `word` is an address (IPv4 or IPv6) rather than a name. */
export function isAddress(word: string): boolean {
  return ipVersion(word) !== 0;
}

/**
 * Whether `word` is written as an address is, valid or not: only digits and
 * at least three dots (`999.999.999.999`, `10.0.0.1.2`), or any colon, which
 * no name has (`2001:db8::zz`, `1.2.3.4:80`). Such a word that is no
 * address ({@linkcode isAddress}) is a mistyped one, not a name.
 */
export function looksLikeAddress(word: string): boolean {
  return word.includes(":") || (/^[\d.]+$/.test(word) && word.split(".").length > 3);
}

/**
 * Bans or mutes, found by name (names that count as the same, by
 * {@linkcode nameKeys}) or by address; loopback addresses are never kept.
 * One on a name is replaced by a new one on that name; names from one
 * address (a house, an office behind one router) each keep their own.
 * Ones that have ended are dropped as they are found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Restrictions } from "./moderation.ts";
 *
 * const bans = new Restrictions();
 * bans.add({ name: "bob", address: "203.0.113.5", until: null, by: "alice", reason: "spam" });
 * assert.equal(bans.find("BOB", null, 0)?.by, "alice");
 * assert.equal(bans.find("carol", "203.0.113.5", 0)?.name, "bob");
 * ```
 */
export class Restrictions {
  /**
   * Each one under both keys of its name, and under its address. A name key
   * holds one at most; an address key, one for each name banned from it.
   */
  readonly #byKey = new Map<string, Restriction[]>();
  readonly #all = new Set<Restriction>();

  /** Called with the whole list after every change, for the data file. */
  onChange: ((list: readonly Restriction[]) => void) | null = null;

  /** How many there are, ended ones included until they are next looked at. */
  get size(): number {
    return this.#all.size;
  }

  /**
   * Adds one, replacing any on the same name (or, for an address alone, any
   * on that address alone); false when there are
   * {@linkcode MAX_RESTRICTIONS} in force at `now` already. A loopback
   * address is dropped.
   */
  add(restriction: Restriction, now: number = Date.now()): boolean {
    const kept = { ...restriction };
    if (kept.address !== null) {
      const address = plainAddress(kept.address);
      kept.address = isLoopback(address) ? null : address;
    }
    for (const old of this.#replaced(kept)) this.#delete(old);
    if (kept.name === null && kept.address === null) return true;
    // Ended ones are only dropped when looked at: they must not fill the list.
    if (this.#all.size >= MAX_RESTRICTIONS) this.list(now);
    if (this.#all.size >= MAX_RESTRICTIONS) return false;
    this.#all.add(kept);
    for (const key of this.#keys(kept)) {
      const under = this.#byKey.get(key);
      if (under === undefined) this.#byKey.set(key, [kept]);
      else under.push(kept);
    }
    this.#changed();
    return true;
  }

  /** The one on `name` or `address`, if any is still in force at `now`. */
  find(name: string | null, address: string | null, now: number): Restriction | undefined {
    if (this.#all.size === 0) return undefined;
    const keys = name === null ? [] : [...nameKeys(name)];
    const plain = address === null ? null : plainAddress(address);
    if (plain !== null && !isLoopback(plain)) keys.push(addressKey(plain));
    for (const key of keys) {
      // A copy: ended ones leave the list as it is walked.
      for (const found of [...(this.#byKey.get(key) ?? [])]) {
        if (found.until === null || found.until > now) return found;
        this.#delete(found);
        this.#changed();
      }
    }
    return undefined;
  }

  /**
   * Removes the one on the name or address `nameOrAddress` (one of those on
   * an address, when there are several; then one on a name written like
   * that address, as a nickname may be); returns it, if there was one.
   */
  remove(nameOrAddress: string, now: number): Restriction | undefined {
    const onAddress = isAddress(nameOrAddress) ? this.find(null, nameOrAddress, now) : undefined;
    const found = onAddress ?? this.find(nameOrAddress, null, now);
    if (found === undefined) return undefined;
    this.#delete(found);
    this.#changed();
    return found;
  }

  /** Replaces them all with `list` (what another process of the cluster has), without `onChange`. */
  replace(list: readonly Restriction[]): void {
    for (const restriction of [...this.#all]) this.#delete(restriction);
    const onChange = this.onChange;
    this.onChange = null;
    try {
      for (const restriction of list) this.add(restriction);
    } finally {
      this.onChange = onChange;
    }
  }

  /** Those in force at `now`, soonest to end first (forever last). */
  list(now: number): Restriction[] {
    let ended = false;
    for (const restriction of this.#all) {
      if (restriction.until !== null && restriction.until <= now) {
        this.#delete(restriction);
        ended = true;
      }
    }
    if (ended) this.#changed();
    return [...this.#all].sort((a, b) => (a.until ?? Infinity) - (b.until ?? Infinity));
  }

  /**
   * Those a new one takes the place of: ones on its name (or a name that
   * counts as the same), or, for an address alone, the one on that address alone.
   */
  #replaced(kept: Restriction): Restriction[] {
    if (kept.name !== null) {
      return [...new Set(nameKeys(kept.name).flatMap((key) => this.#byKey.get(key) ?? []))];
    }
    if (kept.address === null) return [];
    return (this.#byKey.get(addressKey(kept.address)) ?? []).filter((old) => old.name === null);
  }

  #keys(restriction: Restriction): string[] {
    const keys = restriction.name === null ? [] : [...nameKeys(restriction.name)];
    if (restriction.address !== null) keys.push(addressKey(restriction.address));
    return keys;
  }

  #delete(restriction: Restriction): void {
    this.#all.delete(restriction);
    for (const key of this.#keys(restriction)) {
      const under = this.#byKey.get(key);
      if (under === undefined) continue;
      const at = under.indexOf(restriction);
      if (at !== -1) under.splice(at, 1);
      if (under.length === 0) this.#byKey.delete(key);
    }
  }

  #changed(): void {
    this.onChange?.([...this.#all]);
  }
}

/** Addresses and name keys share one map; name keys start with a letter of their own. */
function addressKey(address: string): string {
  return "@" + address;
}
