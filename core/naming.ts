/**
 * How a connection becomes a member: the greeting, the password when the
 * server has one, the name (asked for, given in time or made up, claimed in
 * the cluster when there is one), and the welcome. Wrong passwords are slow
 * by address, however many connections guess.
 *
 * @module
 */

import { Accounts } from "./accounts.ts";
import { describe } from "./helpers.ts";
import { Deadlines } from "./deadlines.ts";
import { GuessLimiter } from "./guesses.ts";
import { type Hub, UNAVAILABLE_TRY } from "./hub.ts";
import { presenceOf } from "./operators.ts";
import {
  cleanNickname,
  GREETING,
  PASSWORD_GREETING,
  QUIT_WORD,
  uniqueName,
  WRONG_PASSWORD_DELAY_MS,
} from "../protocol.ts";
import { closeConnection, type Member, pauseReading, secretsMatch } from "./session.ts";

const encoder = new TextEncoder();
/** The greetings, encoded once: every connection gets one. */
const GREETING_LINE = encoder.encode(GREETING + "\n");
const PASSWORD_GREETING_LINE = encoder.encode(PASSWORD_GREETING + "\n");

/** How a member came by its name, for the log. */
function howNamed(requested: string, name: string): string {
  if (requested === "") return " (no name given in time)";
  return requested === name ? "" : ` (asked for ${JSON.stringify(requested)})`;
}

/** What {@linkcode Naming} is given. */
export interface NamingOptions {
  /** What a connection must give first; null when the server has no password. */
  password: string | null;
  /** Time a connection has to give its password and name. */
  nameTimeoutMs: number;
  /** Ends a connection refused on the way (its `leaving` is set already). */
  leave: (member: Member) => void;
  /** The registered names, which are taken while their owners are away. */
  accounts: Accounts;
}

/** Greets connections and makes members of them: see the module's description. */
export class Naming {
  readonly #hub: Hub;
  readonly #password: string | null;
  readonly #leave: (member: Member) => void;
  readonly #accounts: Accounts;
  /** Wrong passwords by address, so that guessing is slow however many connections guess. */
  readonly #guesses = new GuessLimiter();
  /** Connections that have yet to give their password and name. */
  readonly #waiting: Deadlines<Member>;

  /** Naming for the connections of `hub`. */
  constructor(hub: Hub, options: NamingOptions) {
    this.#hub = hub;
    this.#password = options.password;
    this.#leave = options.leave;
    this.#accounts = options.accounts;
    this.#waiting = new Deadlines(
      options.nameTimeoutMs,
      (member) => this.#guard(member, () => this.#timedOut(member)),
    );
  }

  /** Starts the naming clock and asks for the password or the nickname. */
  greet(member: Member): void {
    this.#waiting.add(member);
    member.stage = this.#password === null ? "name" : "password";
    this.#hub.lobby.sendBytes(
      member,
      this.#password === null ? GREETING_LINE : PASSWORD_GREETING_LINE,
    );
  }

  /** Stops the naming clock of a connection that is leaving. */
  forget(member: Member): void {
    this.#waiting.delete(member);
  }

  /** Checks the line a connection gave as the password; a wrong one is answered slowly. */
  async checkPassword(member: Member, line: string): Promise<void> {
    const hub = this.#hub;
    const wait = this.#guesses.take(member.ip, performance.now());
    if (wait > 0) {
      hub.log?.(`${member.peer} refused: too many wrong passwords from ${member.ip}`);
      hub.tell(
        member,
        `! Too many wrong passwords from your address; try again in ${Math.ceil(wait / 1000)} s`,
      );
      member.leaving = "refused";
      return;
    }
    if (await secretsMatch(line, this.#password as string)) {
      this.#guesses.right(member.ip);
      member.stage = "name";
      hub.tell(member, GREETING);
      return;
    }
    hub.log?.(`${member.peer} gave a wrong password`);
    await pauseReading(member, WRONG_PASSWORD_DELAY_MS);
    hub.tell(member, "! Wrong password");
    member.leaving = "refused";
  }

  /** Names the connection after what it `requested` ("": it gave no name in time). */
  join(member: Member, requested: string): void {
    if (member.stage !== "name" || member.leaving !== null || member.closed) return;
    this.#waiting.delete(member);
    const hub = this.#hub;
    // A connection that logged in before it had a name (IRC's SASL) is its account's name.
    const wanted = member.account ?? cleanNickname(requested);
    const operators = hub.operators;
    const ban = operators.banOn(wanted, member.ip);
    if (ban !== undefined) {
      hub.log?.(`${member.peer} refused: ${wanted} is banned`);
      hub.tell(member, operators.bannedLine(ban));
      member.leaving = "refused";
      this.#leave(member);
      return;
    }
    const cluster = hub.cluster;
    if (cluster !== null) {
      // Names are the cluster's: the claim is Redis's to grant.
      member.stage = "joining";
      const skip = (n: string) =>
        operators.banOn(n, null) !== undefined || this.#accounts.reservedFor(n, member) !== null;
      member.busy = cluster.claimName(wanted, presenceOf(member, hub.lobby), skip).then(
        (name) => {
          if (member.closed || member.leaving !== null) {
            void cluster.releaseName(name).catch(() => {});
          } else {
            this.#welcome(member, name, requested);
            this.#tellIfReserved(member, wanted);
          }
        },
        (error) => {
          hub.log?.(`${member.peer} refused: cannot claim a name: ${describe(error)}`);
          hub.tell(member, UNAVAILABLE_TRY);
          member.leaving = "refused";
          this.#leave(member);
        },
      );
      return;
    }
    // A banned or registered name is as good as taken: asking for `bob` never gives a banned `bob2`.
    const accounts = this.#accounts;
    const name = uniqueName(
      wanted,
      (n) =>
        hub.rooms.isTaken(n) || operators.banOn(n, null) !== undefined ||
        accounts.reservedFor(n, member) !== null,
    );
    this.#welcome(member, name, requested);
    this.#tellIfReserved(member, wanted);
  }

  /** Tells a member that asked for a registered name how to log in to it. */
  #tellIfReserved(member: Member, wanted: string): void {
    const registered = this.#accounts.reservedFor(wanted, member);
    if (registered !== null) this.#hub.tell(member, Accounts.reservedNotice(registered));
  }

  /** Makes a connection the member called `name`, in `#lobby`, and tells it and the lobby. */
  #welcome(member: Member, name: string, requested: string): void {
    const hub = this.#hub;
    const lobby = hub.lobby;
    const motd = hub.operators.motd;
    member.stage = "member";
    // A member may have a room's worth of output waiting, history included.
    member.outputLimit = 0;
    hub.rooms.admit(member, name);
    hub.tell(member, `Welcome, ${name}! Type ${QUIT_WORD} to leave.`);
    if (motd !== null) hub.tell(member, `* Message of the day: ${motd}`);
    lobby.sendHistory(member);
    if (lobby.members.size <= hub.announceLimit) {
      lobby.broadcast(`* ${name} joined the chat`, { except: member });
    }
    hub.log?.(`${member.peer} is ${name}${howNamed(requested, name)}`);
    if (member.account !== null) void this.#accounts.welcomed(member);
  }

  /** The time to give a password or a name is up. */
  #timedOut(member: Member): void {
    if (member.stage === "password") {
      this.#hub.tell(member, "! Timed out waiting for the password");
      member.leaving = "refused";
      this.#leave(member);
    } else {
      this.join(member, "");
    }
  }

  /** Runs `action` for one member; a failure ends that connection only. */
  #guard(member: Member, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#hub.log?.(`${member.label} failed: ${describe(error)}`);
      closeConnection(member);
    }
  }
}
