/**
 * What the core needs of a cluster, and what a cluster tells the core, in
 * the core's own words: a process that is one of several sharing rooms,
 * names and state hands the core a {@linkcode ChatCluster} and delivers it
 * {@linkcode ClusterEvent}s. The Redis cluster (cluster.ts) implements it; the
 * core knows neither Redis nor its errors.
 *
 * @module
 */

import type { Account, KeptMessage } from "./account_book.ts";

/** Something that happened in the cluster, for every process to deliver to its members. */
export type ClusterEvent =
  | {
    type: "line";
    /** The stream entry's id: one order for the whole cluster. */
    id: string;
    room: string;
    text: string;
    /** Kept in the room's history. */
    public: boolean;
    /** A member (by name) who does not get it, or null. */
    except: string | null;
  }
  | { type: "private"; id: string; from: string; to: string; text: string }
  | {
    type: "act";
    id: string;
    /** What an operator did to the member called `name`, in `room`, on process `process`. */
    action: ClusterAction;
    name: string;
    room: string;
    process: string;
    /** Who did it, when the member is told by name (`invite`: `* alice invited you to #dev`). */
    by?: string;
  }
  | {
    type: "state";
    id: string;
    /** What changed: `bans`, `mutes`, `motd`, or `topic:` and a room's key. */
    kind: string;
    /** Its new value ("" for none). */
    value: string;
  }
  | {
    type: "account";
    id: string;
    /** The account's exact name. */
    name: string;
    /** It as it is now: registered, or with a new hash; null when it was deleted. */
    account: Account | null;
  }
  | {
    type: "gone";
    id: string;
    /**
     * The members of a process that died without a word, once for each room
     * it was in (its own, and its seats').
     */
    members: { name: string; room: string }[];
  };

/**
 * What an operator of one process may do to a member of another (`voice`
 * and `devoice`: `+v` and `-v`; `invite`, which any member of a room may
 * give: let it in past `+i` and `+l` once): see
 * {@linkcode ChatCluster.publishAct}.
 */
export type ClusterAction =
  | "op"
  | "deop"
  | "voice"
  | "devoice"
  | "kick"
  | "disconnect"
  | "elsewhere"
  | "invite";

/** What a mailbox holds at most: see {@linkcode ChatCluster.keepMessage}. */
export interface MailboxLimits {
  /** Messages in one mailbox. */
  max: number;
  /** Messages from one sender (by either of its name's keys) in one mailbox. */
  perSender: number;
  /** Messages sent before this (milliseconds since the epoch) are forgotten. */
  since: number;
  /** How long a mailbox is kept after its latest message, in milliseconds. */
  lifeMs: number;
}

/** What the cluster knows of a member, on whichever process it is: for `/who` and operators. */
export interface ClusterPresence {
  /** The member's room ("" before it has one). */
  room: string;
  /** An operator of that room. */
  roomOperator: boolean;
  /** A server operator (`/oper`). */
  serverOperator: boolean;
  /** The address it is connected from, for address bans ("" when unknown). */
  address: string;
  /** Logged in to its account (`/who` shows `alice+`). */
  loggedIn: boolean;
  /** A voice (`+v`) of its room (`/who` shows `+alice`); absent: not. */
  voiced?: boolean;
  /** Its seats (core/seats.ts): the further rooms it is in, with its rights there; absent: none. */
  seats?: SeatPresence[];
}

/** One more room a member is in through a seat (core/seats.ts), and its rights there. */
export interface SeatPresence {
  /** The seat's room. */
  room: string;
  /** An operator of that room. */
  roomOperator: boolean;
  /** A voice (`+v`) of that room; absent: not. */
  voiced?: boolean;
}

/** A member somewhere in the cluster. */
export interface ClusterPeer extends ClusterPresence {
  /** Its name. */
  name: string;
  /** The process it is connected to. */
  processId: string;
}

/**
 * What the core needs of the cluster, when it is part of one. Whatever
 * publishes rejects when it could not be done; the error's `written` says
 * which way (see {@linkcode mayArriveLate}).
 */
export interface ChatCluster {
  /** This process's id in the cluster. */
  readonly processId: string;
  /** Publishes a room line for every process; resolves with its id in the cluster's order. */
  publishLine(
    room: string,
    text: string,
    options?: { public?: boolean; except?: string | null },
  ): Promise<string>;
  /** Publishes a private message to the member called `to`, wherever it is. */
  publishPrivate(from: string, to: string, text: string): Promise<string>;
  /** The room's recent public lines, oldest first, with their ids in the cluster's order. */
  history(room: string): Promise<{ id: string; text: string }[]>;
  /**
   * Publishes what an operator did to the member called `name` in `room` on
   * process `process`; `by` names who did it, when the member is told so.
   */
  publishAct(
    action: ClusterAction,
    name: string,
    room: string,
    process: string,
    by?: string,
  ): Promise<string>;
  /**
   * The name given for `requested` by the nickname rules, unique across the
   * cluster, now held; a candidate `skip` returns true for (banned, or
   * registered) counts as taken.
   */
  claimName(
    requested: string,
    presence: ClusterPresence,
    skip?: (name: string) => boolean,
  ): Promise<string>;
  /** Frees a name this process holds. */
  releaseName(name: string): Promise<void>;
  /** Moves this process's claim from `from` to `to`; false when `to` is taken. */
  renameName(from: string, to: string): Promise<boolean>;
  /**
   * Moves this process's claim from `from` to `to` even when another
   * process holds `to`: a login takes its account's name back (that process
   * is told with an `elsewhere` act).
   */
  takeName(from: string, to: string): Promise<void>;
  /** Says where a member of this process is and what it may do. */
  setPresence(name: string, presence: ClusterPresence): Promise<void>;
  /** Everyone in the cluster, with their rooms. */
  members(): Promise<ClusterPeer[]>;
  /** Sets shared state (bans, mutes, the motd, a room's topic) for every process. */
  publishState(kind: string, value: string): Promise<void>;
  /** The shared state as it is now, by kind. */
  loadState(): Promise<Record<string, string>>;
  /**
   * Saves the account called exactly `name` for every process (an `account`
   * event), or deletes it and its kept messages when `account` is null.
   */
  saveAccount(name: string, account: Account | null): Promise<void>;
  /** Every account, for a process that joins. */
  loadAccounts(): Promise<Account[]>;
  /**
   * Keeps `message` for the account `to` unless its mailbox is full within
   * `limits` (in all, or for that sender); resolves with whether it was kept.
   */
  keepMessage(to: string, message: KeptMessage, limits: MailboxLimits): Promise<boolean>;
  /** The messages kept for `to` since `since`, oldest first; they are no longer kept. */
  takeKept(to: string, since: number): Promise<KeptMessage[]>;
}

/**
 * Whether a failure to publish says the line was handed over and not
 * answered, so that it may still arrive, once (the error's `written` is
 * true), rather than that it was never sent (anything else).
 */
export function mayArriveLate(error: unknown): boolean {
  return (error as { written?: unknown } | null)?.written === true;
}
