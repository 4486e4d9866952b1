/**
 * Delivery: how lines reach the members of a room, whatever carries them.
 *
 * Broadcasts of one turn of the event loop are collected in a batch and
 * encoded into one buffer; each member gets that buffer (or views into it,
 * around the member's own lines) in one write, so many lines go in one write.
 * A turn holds a bounded amount: past it, senders wait for the next turn. A
 * member whose output keeps piling up beyond the limit is cut off as too
 * slow; nobody ever waits for it.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { Link } from "./link.ts";

/**
 * How much of `maxQueueBytes` one turn of the event loop may queue for each
 * member: once a turn holds this much, senders wait for the next turn, so no
 * single turn can fill a member's allowance and a member is dropped only
 * when its output keeps piling up over several turns.
 */
export const TURN_SHARE = 1 / 4;

/** A line for one connection only, and where it falls among this turn's broadcasts. */
interface PrivateLine {
  /** Index in the turn's batch before which it goes. */
  at: number;
  line: Uint8Array;
}

/** One connection as delivery sees it: its link, and its place in this turn's output. */
export class Recipient {
  /** Set once its output passed the limit: it gets nothing more. */
  overflowed = false;
  /** Set once its link is closed: it gets nothing more. */
  closed = false;
  /** This turn's lines for this connection alone, if any. */
  privateLines: PrivateLine[] | null = null;
  /** This turn's broadcasts this member does not get (its own join notice). */
  skipped: number[] | null = null;
  /** The first of this turn's broadcasts this member gets: those before it joined are not its. */
  batchStart = 0;
  /** Where its part of this turn's broadcasts ends, once it left the room (-1: it has not). */
  batchEnd = -1;
  /** The delivery whose turn holds lines for it alone (it moves between rooms). */
  queuedIn: object | null = null;
  /**
   * Output that may wait for it before it is cut off as too slow, when less
   * than the delivery's `maxQueueBytes` (a connection that has not joined
   * yet); 0 means the delivery's.
   */
  outputLimit = 0;

  /** Delivers to `link`, which the transport may replace (TLS over TCP, say). */
  constructor(public link: Link) {}
}

/**
 * Writes one turn's lines to every recipient in one write each. Broadcasts
 * go to `members`, the room's set, which the delivery only reads.
 */
export class Delivery<R extends Recipient> {
  /** This turn's broadcast lines, in the one order every member gets them. */
  #batch: Uint8Array[] = [];
  /** Connections with a line of their own this turn. */
  #withPrivate: R[] = [];
  #flushQueued = false;
  /** Bytes queued since the turn began, and the most a turn may hold before senders wait. */
  #turnBytes = 0;
  readonly #turnLimit: number;
  #turnEnding = false;
  /** Senders waiting for the next turn. */
  #nextTurn: PromiseWithResolvers<void> | null = null;

  /** Delivers to `members`; `onTooSlow` hears of each recipient cut off as too slow. */
  constructor(
    readonly members: ReadonlySet<R>,
    readonly maxQueueBytes: number,
    readonly onTooSlow: (recipient: R) => void,
  ) {
    this.#turnLimit = Math.max(1, Math.floor(maxQueueBytes * TURN_SHARE));
  }

  /** Whether this turn holds all it may: a sender should wait for {@linkcode Delivery.nextTurn}. */
  get turnFull(): boolean {
    return this.#turnBytes >= this.#turnLimit;
  }

  /**
   * Resolves in the next turn of the event loop, after the links have
   * reported what they took of this one's output.
   */
  nextTurn(): Promise<void> {
    this.#nextTurn ??= Promise.withResolvers();
    this.#endTurnSoon();
    return this.#nextTurn.promise;
  }

  /** A recipient joins `members`: it gets the broadcasts queued from now on. */
  joined(recipient: R): void {
    recipient.batchStart = this.#batch.length;
  }

  /** A recipient left `members`: it still gets what was broadcast this turn before it left. */
  left(recipient: R): void {
    recipient.batchEnd = this.#batch.length;
    if (recipient.batchEnd > recipient.batchStart && recipient.privateLines === null) {
      recipient.privateLines = [];
      recipient.queuedIn = this;
      this.#withPrivate.push(recipient);
    }
  }

  /**
   * Writes a recipient that left `members` its part of this turn now, so that
   * what another delivery sends it later this turn comes after.
   */
  settle(recipient: R): void {
    if (recipient.queuedIn !== this || recipient.privateLines === null) {
      recipient.skipped = null;
      recipient.batchStart = 0;
      recipient.batchEnd = -1;
      return;
    }
    const tooSlow: R[] = [];
    const shared = this.#batch.length > 0 ? concatenate(this.#batch) : null;
    const end = Math.max(recipient.batchEnd, 0);
    this.#writeMixed(recipient, shared, lineEnds(this.#batch), end, tooSlow);
    // Told once this move is over, as a flush would tell it.
    for (const slow of tooSlow) queueMicrotask(() => this.onTooSlow(slow));
  }

  /** Queues one encoded line for every member but `except`; never waits for a link. */
  broadcast(line: Uint8Array, except?: R): void {
    if (except !== undefined && this.members.has(except)) {
      (except.skipped ??= []).push(this.#batch.length);
    }
    this.#batch.push(line);
    this.#count(line.length);
    this.#scheduleFlush();
  }

  /** Queues encoded lines for one recipient, member or not. */
  send(recipient: R, line: Uint8Array): void {
    if (recipient.closed) return;
    if (recipient.privateLines === null) {
      recipient.privateLines = [];
      recipient.queuedIn = this;
      this.#withPrivate.push(recipient);
    }
    recipient.privateLines.push({ at: this.#batch.length, line });
    this.#count(line.length);
    this.#scheduleFlush();
  }

  /** Counts bytes queued this turn; the turn ends once the event loop has polled the links. */
  #count(bytes: number): void {
    this.#turnBytes += bytes;
    this.#endTurnSoon();
  }

  #endTurnSoon(): void {
    if (this.#turnEnding) return;
    this.#turnEnding = true;
    // An immediate runs after the event loop's poll, which reports the writes' completion.
    setImmediate(this.#endTurn);
  }

  #endTurn = (): void => {
    this.#turnEnding = false;
    this.#turnBytes = 0;
    const waiting = this.#nextTurn;
    this.#nextTurn = null;
    waiting?.resolve();
  };

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // Whatever else this turn sends joins the same batch.
    queueMicrotask(this.#flush);
  }

  #flush = (): void => {
    this.#flushQueued = false;
    const batch = this.#batch;
    const withPrivate = this.#withPrivate;
    this.#batch = [];
    this.#withPrivate = [];
    const tooSlow: R[] = [];
    const shared = batch.length > 0 ? concatenate(batch) : null;
    const ends = lineEnds(batch);
    if (shared !== null) {
      for (const member of this.members) {
        if (member.privateLines === null && member.skipped === null && member.batchStart === 0) {
          // The common case: the whole batch and nothing else, written as it is.
          if (this.#fits(member, tooSlow)) this.#write(member, shared);
        } else {
          this.#writeMixed(member, shared, ends, ends.length, tooSlow);
        }
      }
    }
    // Connections that are not members now: ones not named yet get their own
    // lines only, ones that left this turn also the broadcasts before they left.
    for (const recipient of withPrivate) {
      if (recipient.privateLines === null || recipient.queuedIn !== this) continue;
      this.#writeMixed(recipient, shared, ends, Math.max(recipient.batchEnd, 0), tooSlow);
    }
    for (const recipient of tooSlow) this.onTooSlow(recipient);
  };

  /**
   * Writes the recipient's part of the batch, lines `batchStart` to `end`,
   * with its own lines in their places and its skipped lines left out, in
   * one write.
   */
  #writeMixed(
    recipient: R,
    shared: Uint8Array | null,
    ends: number[],
    end: number,
    tooSlow: R[],
  ): void {
    const own = recipient.privateLines ?? [];
    const skipped = recipient.skipped ?? [];
    let from = Math.min(recipient.batchStart, end);
    recipient.privateLines = null;
    recipient.skipped = null;
    recipient.batchStart = 0;
    recipient.batchEnd = -1;
    recipient.queuedIn = null;
    let ownIndex = 0;
    let skipIndex = 0;
    const parts: Uint8Array[] = [];
    let bytes = 0;
    const ownUpTo = (position: number) => {
      while (ownIndex < own.length && (own[ownIndex] as PrivateLine).at <= position) {
        const line = (own[ownIndex++] as PrivateLine).line;
        parts.push(line);
        bytes += line.length;
      }
    };
    const segment = (first: number, last: number) => {
      const start = first === 0 ? 0 : ends[first - 1] as number;
      parts.push((shared as Uint8Array).subarray(start, ends[last - 1]));
      bytes += (ends[last - 1] as number) - start;
    };
    // Its own lines from before it joined come first.
    ownUpTo(from);
    while (skipIndex < skipped.length && (skipped[skipIndex] as number) < from) skipIndex++;
    // Walk the batch, cutting where its own lines go and where it skips a line.
    for (let i = from; i < end; i++) {
      const ownHere = ownIndex < own.length && (own[ownIndex] as PrivateLine).at === i;
      const skipHere = skipIndex < skipped.length && skipped[skipIndex] === i;
      if (!ownHere && !skipHere) continue;
      if (i > from) segment(from, i);
      ownUpTo(i);
      if (skipHere) skipIndex++;
      from = skipHere ? i + 1 : i;
    }
    if (end > from) segment(from, end);
    // And what was sent after its part of the batch: a goodbye, say.
    ownUpTo(Infinity);
    if (bytes > 0 && this.#fits(recipient, tooSlow)) this.#write(recipient, concatenate(parts));
  }

  /**
   * Whether more output may go to a recipient; if not, it is marked too slow.
   * Too slow: more than `maxQueueBytes` (or its own `outputLimit`) is waiting that the kernel has not
   * taken. A turn adds at most a share of that, so what waits beyond it has
   * piled up over turns.
   */
  #fits(recipient: R, tooSlow: R[]): boolean {
    if (recipient.closed || recipient.overflowed) return false;
    // A link counts a write until the event loop reports it done, even one
    // the kernel took at once: this turn's own output is in here too.
    if (recipient.link.writableLength <= (recipient.outputLimit || this.maxQueueBytes)) return true;
    recipient.overflowed = true;
    tooSlow.push(recipient);
    return false;
  }

  /** Writes to a recipient's link, which keeps what the kernel does not take yet. */
  #write(recipient: R, data: Uint8Array): void {
    if (!recipient.link.writableEnded) recipient.link.write(data);
  }
}

/** Where each line of a batch ends in the batch's concatenation. */
function lineEnds(lines: Uint8Array[]): number[] {
  const ends = new Array<number>(lines.length);
  let end = 0;
  for (let i = 0; i < lines.length; i++) ends[i] = end += (lines[i] as Uint8Array).length;
  return ends;
}

function concatenate(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const data = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return data;
}
