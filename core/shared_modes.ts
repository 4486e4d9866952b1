/**
 * A room's modes as a cluster shares them: the flags, the key, the member
 * cap and the ban list (with who set each), written as JSON by the process
 * where an operator changed them and read back by every process, so that a
 * room's modes are the same on all of them. Voices (`+v`) and invitations
 * stay with the process of the member they are about. What comes back from
 * the cluster is checked as typed input is: within {@linkcode MAX_ROOM_BANS},
 * {@linkcode MAX_KEY_LENGTH}, {@linkcode MAX_MASK_LENGTH} and
 * {@linkcode MAX_LIMIT}; anything else is refused whole.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RoomModes } from "./room_modes.ts";
 * import { applySharedModes, parseSharedModes, sharedModes } from "./shared_modes.ts";
 *
 * const here = new RoomModes<object>();
 * here.key = "sesame";
 * here.bans.push({ mask: "bob!*@*", by: "alice" });
 * const there = new RoomModes<object>();
 * applySharedModes(there, parseSharedModes(sharedModes(here)));
 * assert.equal(there.describe(true), "+knt sesame");
 * assert.equal(there.bans[0]?.by, "alice");
 * ```
 *
 * @module
 */

import {
  banMask,
  MAX_KEY_LENGTH,
  MAX_LIMIT,
  MAX_MASK_LENGTH,
  MAX_ROOM_BANS,
  parseLimit,
  type RoomBan,
  type RoomModes,
  validKey,
} from "./room_modes.ts";

/** Longest shared value read, in characters: every ban at its longest, with room to spare. */
export const MAX_SHARED_MODES_LENGTH = 4 * MAX_ROOM_BANS * MAX_MASK_LENGTH;

/** A room's modes as the cluster holds them, by their letters. */
export interface SharedModes {
  /** `+i`. */
  i: boolean;
  /** `+k`: the key, or null. */
  k: string | null;
  /** `+l`: the member cap, or null. */
  l: number | null;
  /** `+m`. */
  m: boolean;
  /** `+n`. */
  n: boolean;
  /** `+s`. */
  s: boolean;
  /** `+t`. */
  t: boolean;
  /** `+b`: the ban list, in the order it was set. */
  b: RoomBan[];
}

/** The modes of a new room: `+nt`, no key, no cap, no bans. */
export function defaultModes(): SharedModes {
  return { i: false, k: null, l: null, m: false, n: true, s: false, t: true, b: [] };
}

/** `modes` as the cluster holds them (voices and invitations left out). */
export function toShared<M extends object>(modes: RoomModes<M>): SharedModes {
  return {
    i: modes.inviteOnly,
    k: modes.key,
    l: modes.limit,
    m: modes.moderated,
    n: modes.noOutside,
    s: modes.secret,
    t: modes.topicLocked,
    b: modes.bans.map((ban) => ({ mask: ban.mask, by: ban.by })),
  };
}

/** `modes` as the JSON the cluster keeps (voices and invitations left out). */
export function sharedModes<M extends object>(modes: RoomModes<M>): string {
  return JSON.stringify(toShared(modes));
}

/** `value[name]` when it is a boolean; a TypeError naming it otherwise. */
function flag(value: Record<string, unknown>, name: string): boolean {
  const found = value[name];
  if (typeof found !== "boolean") throw new TypeError(`mode ${name} is not true or false`);
  return found;
}

/** One ban as the cluster gave it, checked as `/mode +b` checks a typed mask. */
function ban(entry: unknown): RoomBan {
  const { mask, by } = (entry ?? {}) as Record<string, unknown>;
  if (typeof mask !== "string" || banMask(mask) !== mask) {
    throw new TypeError(`ban mask ${JSON.stringify(mask)?.slice(0, 40)} is invalid`);
  }
  if (typeof by !== "string" || by === "" || [...by].length > MAX_MASK_LENGTH) {
    throw new TypeError(`the setter of ban ${mask} is invalid`);
  }
  return { mask, by };
}

/**
 * The modes a shared value holds ("" is a new room's, as after
 * {@linkcode defaultModes}); throws a SyntaxError for JSON that is not,
 * a TypeError for a field of the wrong kind and a RangeError for one past
 * its limit, each naming the field.
 */
export function parseSharedModes(value: string): SharedModes {
  if (value === "") return defaultModes();
  if (value.length > MAX_SHARED_MODES_LENGTH) {
    throw new RangeError(`modes of ${value.length} characters, over ${MAX_SHARED_MODES_LENGTH}`);
  }
  const parsed: unknown = JSON.parse(value);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new TypeError("modes are not an object");
  }
  const fields = parsed as Record<string, unknown>;
  const { k, l, b } = fields;
  if (k !== null && (typeof k !== "string" || !validKey(k))) {
    throw new TypeError(`key is not 1 to ${MAX_KEY_LENGTH} characters without spaces or commas`);
  }
  if (l !== null && (typeof l !== "number" || parseLimit(String(l)) !== l)) {
    throw new RangeError(`limit is not a whole number from 1 to ${MAX_LIMIT}`);
  }
  if (!Array.isArray(b)) throw new TypeError("bans are not a list");
  if (b.length > MAX_ROOM_BANS) throw new RangeError(`${b.length} bans, over ${MAX_ROOM_BANS}`);
  return {
    i: flag(fields, "i"),
    k: k as string | null,
    l: l as number | null,
    m: flag(fields, "m"),
    n: flag(fields, "n"),
    s: flag(fields, "s"),
    t: flag(fields, "t"),
    b: b.map(ban),
  };
}

/** Makes `modes` what `shared` says; its voices and invitations stay as they are. */
export function applySharedModes<M extends object>(modes: RoomModes<M>, shared: SharedModes): void {
  modes.inviteOnly = shared.i;
  modes.key = shared.k;
  modes.limit = shared.l;
  modes.moderated = shared.m;
  modes.noOutside = shared.n;
  modes.secret = shared.s;
  modes.topicLocked = shared.t;
  modes.bans.splice(0, Infinity, ...shared.b.map((ban) => ({ ...ban })));
}

/** Whether `modes` are a new room's (`+nt`, no bans): nothing to keep for it. */
export function isDefault<M extends object>(modes: RoomModes<M>): boolean {
  return modes.flags === "+nt" && modes.bans.length === 0;
}
