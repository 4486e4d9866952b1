/**
 * One connection's life as the core keeps it: where it is (greeting,
 * password, name, chat), its reading (reading.ts, the reader's alone), and
 * why it leaves; and the small helpers that end a connection in one place.
 *
 * @module
 */

import { isLoopback } from "./addresses.ts";
import { Recipient } from "./delivery.ts";
import { peerLabel } from "./helpers.ts";
import type { Link } from "./link.ts";
import { Reading, WITHOUT_TEXT_QUIET_MS } from "./reading.ts";
import type { Room } from "./room.ts";

export { isLoopback, WITHOUT_TEXT_QUIET_MS };

const encoder = new TextEncoder();

/**
 * Output that may wait for a connection before it has joined: the greeting
 * and a few errors take far less, so a peer that provokes answers and never
 * reads is cut off here, long before it costs memory.
 */
export const UNJOINED_OUTPUT_BYTES = 4096;

/** Why a member leaves; it decides what the others are told. */
export type LeaveReason =
  | "quit"
  | "lost"
  | "slow"
  | "flood"
  | "shutdown"
  | "refused"
  | "kicked"
  | "banned"
  | "elsewhere";

/**
 * Where a connection is in its life: it finishes the TLS handshake, proves the
 * password, then names itself, then chats.
 */
export type Stage = "handshake" | "password" | "name" | "joining" | "member";

/** One connection: its link, its name once chosen, and where it is in its life. */
export class Member extends Recipient {
  stage: Stage = "name";
  /**
   * The member whose seat this is (an IRC client in several rooms: see
   * seats.ts), or null: a seat's name, operator rights and account are its
   * owner's.
   */
  seatOf: Member | null = null;
  /** Its seats in rooms other than `room`, when it has any. */
  seats: Set<Member> | null = null;
  #name: string | null = null;
  #serverOperator = false;
  #account: string | null = null;
  /** The room it is in once it has a name; its lines before that go through `#lobby`. */
  room: Room<Member> | null = null;
  /** Lines received and not yet handled, and where the reader is with them: the reader's alone. */
  readonly reading: Reading;
  leaving: LeaveReason | null = null;
  /** What it said as it quit (`/quit MESSAGE`), for its room; null when nothing. */
  quitMessage: string | null = null;
  /** Set once it has been taken out of the server's books. */
  left = false;
  /** The TLS handshake's time limit. */
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Ends a pause of the reader early, when the connection closes. */
  wake: (() => void) | null = null;
  /**
   * Whether its transport has looked at its first bytes: the TCP one does
   * (a TLS client at a plain port, say); the WebSocket one has nothing to
   * look for.
   */
  heard = false;
  /** Its nickname while it is a member (a seat's is its owner's). */
  get name(): string | null {
    return this.seatOf === null ? this.#name : this.seatOf.name;
  }
  set name(name: string | null) {
    this.#name = name;
  }

  /** It proved the operator password (or it is the console): an operator of every room. */
  get serverOperator(): boolean {
    return this.seatOf === null ? this.#serverOperator : this.seatOf.serverOperator;
  }
  set serverOperator(operator: boolean) {
    this.#serverOperator = operator;
  }

  /** The account it logged in to (its name, as registered), or null. */
  get account(): string | null {
    return this.seatOf === null ? this.#account : this.seatOf.account;
  }
  set account(account: string | null) {
    this.#account = account;
  }
  /** A command still at work (`/oper` checking a password): its next line waits for it. */
  busy: Promise<void> | null = null;

  /** A connection over `link` (a TCP one is replaced by TLS over it once TLS begins). */
  constructor(
    link: Link,
    readonly ip: string,
    readonly port: number,
    maxLineBytes: number,
  ) {
    super(link);
    this.reading = new Reading(maxLineBytes);
    this.outputLimit = UNJOINED_OUTPUT_BYTES;
  }

  /** The peer's address and port, for logs. */
  get peer(): string {
    return peerLabel(this.ip, this.port);
  }

  /** The member's name for logs: its nickname, or its address before it has one. */
  get label(): string {
    return this.name ?? this.peer;
  }
}

/**
 * Ends a link once what it holds (and `last`) is written, or destroys it
 * after `ms` at the latest; resolves when it is closed.
 */
export function endWithin(link: Link, ms: number, last?: string): Promise<void> {
  if (link.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => link.destroy(), ms);
    link.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    // Half-open: the peer may never end its side, so this side closes itself.
    const close = () => link.destroy();
    if (last !== undefined) link.write(last);
    link.end(close);
  });
}

/** Closes a member's link once; safe to call again. */
export function closeConnection(member: Member): void {
  if (member.closed) return;
  member.closed = true;
  stopTimer(member);
  member.link.destroy();
  member.wake?.();
}

/** Cancels the member's timer and lets it go: idle connections are many. */
export function stopTimer(member: Member): void {
  clearTimeout(member.timer);
  member.timer = undefined;
}

/** Waits `ms`, or less if the member's connection closes meanwhile. */
export function pauseReading(member: Member, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      member.wake = null;
      resolve();
    }
    member.wake = done;
  });
}

/** Compares two secrets in time that depends on neither (both are hashed first). */
export async function secretsMatch(given: string, expected: string): Promise<boolean> {
  const digest = async (text: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

/** Where a link keeps its member, for the handlers that all links share. */
export const MEMBER = Symbol("member");

/** A link that belongs to a member. */
export type MemberLink = Link & { [MEMBER]: Member };

/** What the core does when one of its members' links reports something. */
export interface LinkEvents {
  data(this: Link, chunk: Uint8Array, received?: number, interrupted?: boolean): void;
  end(this: Link): void;
  close(this: Link): void;
  error(this: Link, error: Error): void;
}

/** The member a link belongs to. */
export function memberOf(link: Link): Member {
  return (link as MemberLink)[MEMBER];
}
