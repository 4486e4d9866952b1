/**
 * How the chat reads a connection: the handlers every link shares, which
 * cut its bytes into lines, and the drain that handles those lines in order
 * at the pace flood control allows. Reading pauses while a line waits (for
 * tokens, for the next turn, for a password check), so TCP pushes back on
 * that sender alone and nothing is dropped. A line is a password, a name, a
 * command or a message to the member's room.
 *
 * @module
 */

import { type CommandHost, runCommand } from "./commands.ts";
import type { Connections } from "./connections.ts";
import { describe, isConnectionError } from "./helpers.ts";
import type { Hub } from "./hub.ts";
import type { Link } from "./link.ts";
import type { Naming } from "./naming.ts";
import { type Pacing, takeBytes, takeLine } from "./pacing.ts";
import {
  chatLine,
  cleanText,
  isQuitWord,
  LINE_TOO_LONG,
  MAX_UNFINISHED_LINE_BYTES,
  messageText,
  parseCommand,
  QUIT_WORD,
} from "../protocol.ts";
import type { Reading } from "./reading.ts";
import type { Room } from "./room.ts";
import { speechRefusal } from "./room_modes.ts";
import {
  closeConnection,
  type LinkEvents,
  MEMBER,
  type Member,
  type MemberLink,
  memberOf,
  pauseReading,
} from "./session.ts";

const decoder = new TextDecoder();

/** What {@linkcode Reader} is given. */
export interface ReaderOptions {
  /** Longest line; a longer one is dropped with a notice. */
  maxLineBytes: number;
  /** Lines a second; 0 turns flood control off. */
  rate: number;
  /** Lines (and longest lines of bytes) that may come at once. */
  burst: number;
  /** Where a connection that ends or fails is seen out. */
  connections: Connections;
  /** What takes a password or a name. */
  naming: Naming;
  /** What runs commands. */
  commands: CommandHost<Member>;
}

/** Reads every connection's lines and hands each where it goes: see the module's description. */
export class Reader {
  readonly #hub: Hub;
  readonly #maxLineBytes: number;
  /** A line this long with no newline yet closes the connection. */
  readonly #maxUnfinishedLineBytes: number;
  /** Lines (and longest lines of bytes) a connection may send at once. */
  readonly #burst: number;
  /** Flood control; null when it is off. */
  readonly #pacing: Pacing | null;
  readonly #connections: Connections;
  readonly #naming: Naming;
  readonly #commands: CommandHost<Member>;

  /** A reader for the connections of `hub`. */
  constructor(hub: Hub, options: ReaderOptions) {
    this.#hub = hub;
    this.#maxLineBytes = options.maxLineBytes;
    this.#maxUnfinishedLineBytes = Math.max(MAX_UNFINISHED_LINE_BYTES, 4 * this.#maxLineBytes);
    this.#burst = options.burst;
    this.#pacing = options.rate > 0
      ? { rate: options.rate, burst: options.burst, lineBytes: this.#maxLineBytes }
      : null;
    this.#connections = options.connections;
    this.#naming = options.naming;
    this.#commands = options.commands;
  }

  /**
   * Handlers that every member's link shares, finding the member through
   * the link: idle connections are many, and closures for each add up.
   */
  readonly events: LinkEvents = (() => {
    const drain = (member: Member) => void this.#drain(member);
    const received = (reading: Reading, bytes: number) => {
      if (this.#pacing !== null) takeBytes(reading, this.#pacing, bytes, performance.now());
    };
    const leave = (member: Member) => void this.#connections.leave(member);
    const failed = (member: Member, error: Error) => {
      if (!isConnectionError(error)) this.#hub.log?.(`${member.label} failed: ${describe(error)}`);
    };
    return {
      data(chunk, sent, interrupted) {
        const member = memberOf(this);
        const reading = member.reading;
        if (interrupted) {
          // It leaves once the lines before are handled; nothing after is read.
          reading.interrupted = true;
          this.pause();
        }
        // Every byte the peer sent is paced, whatever it carried: telnet's
        // commands and a WebSocket's framing too, so no flood goes around it.
        const bytes = sent ?? chunk.length;
        if (bytes > chunk.length) {
          reading.receivedWithoutText(bytes - chunk.length, performance.now());
        }
        reading.feed(chunk);
        received(reading, bytes);
        drain(member);
      },
      end() {
        // While lines wait, the drain notices the end itself once they are handled.
        const member = memberOf(this);
        if (!member.reading.draining) leave(member);
      },
      close() {
        leave(memberOf(this));
      },
      error(error) {
        failed(memberOf(this), error);
      },
    };
  })();

  /**
   * Makes the member's events come from `link`, to `events` (normally
   * {@linkcode Reader.events}); the first time, its buckets start full.
   */
  listen(link: Link, member: Member, events: LinkEvents): void {
    const reading = member.reading;
    if (reading.pacedAt === 0) {
      reading.lineTokens = this.#burst;
      reading.byteTokens = this.#burst * this.#maxLineBytes;
      reading.pacedAt = performance.now();
    }
    (link as MemberLink)[MEMBER] = member;
    link.on("error", events.error);
    link.on("data", events.data);
    link.on("end", events.end);
    link.on("close", events.close);
  }

  /**
   * Handles the lines received so far, in order. Reading pauses while a line
   * waits (flood control, a full turn, a password check), so TCP pushes back
   * on this sender alone and nothing is dropped.
   */
  async #drain(member: Member): Promise<void> {
    const reading = member.reading;
    if (reading.draining) return;
    reading.draining = true;
    const hub = this.#hub;
    const link = member.link;
    const pacing = this.#pacing;
    try {
      for (let line = reading.next(); line !== null; line = reading.next()) {
        reading.bytesWithoutText = 0;
        // Set before any line of its own (a seat entering a room on a cluster): lines wait too.
        if (member.busy !== null) await finishCommand(member, link);
        if (member.leaving !== null || member.closed) break;
        for (let room = member.room ?? hub.lobby; room.turnFull && !member.closed;) {
          // This turn carries all it may: the line goes out in a later one.
          link.pause();
          await room.nextTurn();
          room = member.room ?? hub.lobby;
        }
        if (member.closed) break;
        if (pacing !== null) {
          // Out of tokens: read nothing more until one is due.
          const wait = takeLine(reading, pacing, performance.now());
          if (wait > 0) {
            link.pause();
            await pauseReading(member, wait);
            if (member.closed) break;
            takeLine(reading, pacing, performance.now());
          }
        }
        if (member.leaving !== null) break;
        if (line === LINE_TOO_LONG) {
          hub.tell(
            member,
            `! Line too long (max ${this.#maxLineBytes} bytes); message dropped.`,
          );
        } else if (member.stage === "password") {
          link.pause();
          await this.#naming.checkPassword(member, decoder.decode(line));
        } else if (member.stage !== "handshake") {
          this.#receive(member, decoder.decode(line));
          // A command at work (a password check): the next line waits for it.
          if (member.busy !== null) await finishCommand(member, link);
        }
      }
      // An interrupt (telnet's Ctrl+C), after the lines before it: as if it had typed the quit word.
      if (reading.interrupted && member.leaving === null) this.#receive(member, QUIT_WORD);
      // Bytes that carried no text (telnet commands, WebSocket control frames) count as the line's.
      const unfinished = reading.unfinishedLineBytes + reading.bytesWithoutText;
      if (unfinished > this.#maxUnfinishedLineBytes && member.leaving === null) {
        hub.log?.(
          `${member.label} sent over ${this.#maxUnfinishedLineBytes} bytes without a newline`,
        );
        hub.tell(
          member,
          `! Line far too long (over ${this.#maxUnfinishedLineBytes} bytes); closing the connection.`,
        );
        member.leaving = "flood";
      }
      // More bytes came than the byte bucket allows: read nothing until they are paid for.
      const owed = pacing === null ? 0 : takeBytes(reading, pacing, 0, performance.now());
      if (owed > 0 && member.leaving === null && !member.closed) {
        link.pause();
        await pauseReading(member, owed);
      }
    } catch (error) {
      hub.log?.(`${member.label} failed: ${describe(error)}`);
      closeConnection(member);
    } finally {
      reading.draining = false;
    }
    if (member.leaving !== null || member.closed || link.readableEnded) {
      void this.#connections.leave(member);
    } else if (link.isPaused()) link.resume();
  }

  /** Handles one line: the name, the quit word, a command, or a message to the member's room. */
  #receive(member: Member, line: string): void {
    const text = cleanText(line);
    if (member.stage === "name") {
      if (isQuitWord(text)) member.leaving = "quit";
      else this.#naming.join(member, text);
      return;
    }
    if (text === "") return;
    if (isQuitWord(text)) {
      member.leaving = "quit";
      return;
    }
    const command = parseCommand(text);
    if (command?.name === "quit") {
      // Its last words are words the room hears: not from the muted.
      const muted = this.#hub.operators.mutedLine(member) !== null;
      member.quitMessage = command.rest === "" || muted ? null : command.rest;
      member.leaving = "quit";
      return;
    }
    if (command === null) {
      const muted = this.#hub.operators.mutedLine(member);
      if (muted !== null) {
        this.#hub.tell(member, muted);
        return;
      }
      const room = member.room as Room<Member>;
      const refusal = speechRefusal(room, member);
      if (refusal !== null) {
        this.#hub.tell(member, refusal);
        return;
      }
      room.broadcast(chatLine(member.name as string, messageText(text)), {
        public: true,
        from: member,
      });
    } else {
      runCommand(this.#commands, member, command.name, command.rest);
    }
  }
}

/** Waits, reading nothing meanwhile, for the command `member` has at work (its `busy`). */
async function finishCommand(member: Member, link: Link): Promise<void> {
  link.pause();
  await member.busy;
  member.busy = null;
}
