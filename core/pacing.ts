/**
 * Flood control: token buckets for lines and for bytes. A member out of
 * tokens is not cut off and loses nothing: the caller stops reading its
 * connection for as long as these functions say.
 *
 * @module
 */

/** A member's buckets: lines and bytes it may send now, as of `pacedAt`; bytes may go below 0. */
export interface Paced {
  lineTokens: number;
  byteTokens: number;
  pacedAt: number;
}

/**
 * Flood control's two token buckets, lines and bytes, filled at `rate` lines
 * (and `rate` longest lines of bytes) a second up to `burst` of each.
 */
export interface Pacing {
  rate: number;
  burst: number;
  lineBytes: number;
}

/** Adds the tokens that came due since the member's buckets were last counted. */
function refill(member: Paced, pacing: Pacing, now: number): void {
  const earned = (now - member.pacedAt) * pacing.rate / 1000;
  member.pacedAt = now;
  member.lineTokens = Math.min(pacing.burst, member.lineTokens + earned);
  member.byteTokens = Math.min(
    pacing.burst * pacing.lineBytes,
    member.byteTokens + earned * pacing.lineBytes,
  );
}

/**
 * Takes one line token from the member's bucket; returns 0 when it had one,
 * or the milliseconds until the next one is due.
 */
export function takeLine(member: Paced, pacing: Pacing, now: number): number {
  refill(member, pacing, now);
  if (member.lineTokens >= 1) {
    member.lineTokens -= 1;
    return 0;
  }
  return Math.ceil((1 - member.lineTokens) * 1000 / pacing.rate);
}

/**
 * Counts bytes received against the member's byte bucket; returns 0 while it
 * is not in debt, or the milliseconds until the debt is paid off.
 */
export function takeBytes(member: Paced, pacing: Pacing, bytes: number, now: number): number {
  refill(member, pacing, now);
  member.byteTokens -= bytes;
  if (member.byteTokens >= 0) return 0;
  return Math.ceil(-member.byteTokens * 1000 / (pacing.rate * pacing.lineBytes));
}
