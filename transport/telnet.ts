/**
 * Telnet's in-band commands (RFC 854), taken out of a byte stream before it
 * is cut into lines, so that a `telnet` user's negotiation and Ctrl+C never
 * reach the room as text.
 *
 * A command starts with IAC (byte 255), which never occurs in UTF-8, so a
 * stream from any other client passes through untouched. Ctrl+C in telnet
 * sends IAC IP and then IAC DO TIMING-MARK (RFC 860), and shows nothing more
 * until the mark is answered: the filter reports the interrupt and answers
 * the mark. Other options are refused, as a server that supports none
 * should, each at most once per connection: a peer that asks again and
 * again (and never reads) cannot make the server queue answers.
 * Subnegotiations are skipped whole, however long; the caller paces every
 * byte, commands included.
 *
 * @module
 */

/** Interpret As Command: the byte that starts every telnet command. */
export const IAC = 0xff;
const SE = 0xf0;
const IP = 0xf4;
const SB = 0xfa;
const WILL = 0xfb;
const WONT = 0xfc;
const DO = 0xfd;
const DONT = 0xfe;
const TIMING_MARK = 6;

/** Where the filter is in a command cut across chunks. */
type State = "data" | "command" | "option" | "sub" | "subCommand";

/** What one chunk held once its telnet commands are taken out. */
export interface Filtered {
  /** The chunk's data bytes, up to an interrupt if there was one. */
  data: Uint8Array;
  /** Bytes to send back: answers to the peer's negotiation. */
  reply: Uint8Array | null;
  /** The peer sent Interrupt Process (telnet's Ctrl+C); what followed it is dropped. */
  interrupted: boolean;
}

/**
 * Takes telnet commands out of one connection's byte stream, chunk by chunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const filter = new TelnetFilter();
 * const { data, interrupted } = filter.filter(new Uint8Array([104, 105, 10, 255, 244]));
 * assert.deepEqual([...data], [104, 105, 10]);
 * assert.equal(interrupted, true);
 * ```
 */
export class TelnetFilter {
  #state: State = "data";
  /** The verb (WILL, WONT, DO, DONT) whose option byte comes next. */
  #verb = 0;
  /** One bit for each option answered, per verb (DO, WILL): each is answered once at most. */
  #answered: Uint8Array | null = null;

  /** Whether a command is cut across chunks, so the next chunk must be filtered too. */
  get midCommand(): boolean {
    return this.#state !== "data";
  }

  /**
   * Whether the filter must be kept for the next chunk: a command is cut
   * across chunks, or it has answered options it must not answer again.
   */
  get needed(): boolean {
    return this.midCommand || this.#answered !== null;
  }

  /** Filters the next chunk; the data returned is a copy when anything was taken out. */
  filter(chunk: Uint8Array): Filtered {
    if (this.#state === "data" && !chunk.includes(IAC)) {
      return { data: chunk, reply: null, interrupted: false };
    }
    const data = new Uint8Array(chunk.length);
    let kept = 0;
    let interrupted = false;
    const reply: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      switch (this.#state) {
        case "data":
          if (byte === IAC) this.#state = "command";
          else if (!interrupted) data[kept++] = byte;
          break;
        case "command":
          this.#state = "data";
          if (byte === IAC) {
            if (!interrupted) data[kept++] = byte;
          } else if (byte === IP) {
            // Data after it is dropped; the negotiation that follows (DO TIMING-MARK) is answered.
            interrupted = true;
          } else if (byte === SB) {
            this.#state = "sub";
          } else if (byte >= WILL) {
            this.#verb = byte;
            this.#state = "option";
          }
          // Any other command (NOP, Data Mark, Are You There, ...) means nothing here.
          break;
        case "option":
          this.#state = "data";
          // WONT and DONT confirm what is off already: answering them would loop.
          if ((this.#verb === DO || this.#verb === WILL) && this.#firstAsk(this.#verb, byte)) {
            if (this.#verb === DO) reply.push(IAC, byte === TIMING_MARK ? WILL : WONT, byte);
            else reply.push(IAC, DONT, byte);
          }
          break;
        case "sub":
          if (byte === IAC) this.#state = "subCommand";
          break;
        case "subCommand":
          this.#state = byte === SE ? "data" : "sub";
          break;
      }
    }
    return { data: data.subarray(0, kept), reply: bytes(reply), interrupted };
  }

  /** Whether `verb` (DO or WILL) is asked of `option` for the first time; notes it. */
  #firstAsk(verb: number, option: number): boolean {
    const answered = this.#answered ??= new Uint8Array(64);
    const bit = (verb === DO ? 256 : 0) + option;
    const mask = 1 << (bit & 7);
    if (((answered[bit >> 3] as number) & mask) !== 0) return false;
    answered[bit >> 3] = (answered[bit >> 3] as number) | mask;
    return true;
  }
}

function bytes(list: number[]): Uint8Array | null {
  return list.length === 0 ? null : new Uint8Array(list);
}
