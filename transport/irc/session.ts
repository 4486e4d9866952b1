/**
 * One IRC client's conversation with the chat, without sockets: the
 * registration (CAP, PASS, NICK, USER), the client's commands turned into the
 * core's lines (`PRIVMSG #dev :hi` is `hi`, `JOIN #dev` is `/join #dev`), and
 * the core's lines turned into IRC messages (`alice: hi` is
 * `:alice!alice@chat PRIVMSG #dev :hi`). {@linkcode IrcConnection} carries it
 * over a socket; a test drives it through an {@linkcode IrcSessionSink}.
 *
 * The core keeps a member in one room, and gives it a seat in each further
 * one (channel_router.ts): the first JOIN moves the member (PART and KICK
 * take it back to `#lobby`, which the client then does not see until it
 * joins `#lobby` again), and each further channel is a seat of its own.
 *
 * Where the door asks the core something itself (`/who` for NAMES, `/whois`
 * for WHOIS), it expects the answer in the core's order, turns it into the
 * numerics and shows nothing else of it; its own replies (PONG, ISON) wait
 * behind such answers, so the client reads everything in the order it asked.
 *
 * @module
 */

import { formatMessage, type IrcMessage, MAX_MESSAGE_BYTES } from "./message.ts";
import { ChannelCommands } from "./channel_commands.ts";
import { ChannelRouter } from "./channel_router.ts";
import { ClientCommands } from "./client_commands.ts";
import { CoreReplies } from "./core_replies.ts";
import { type IrcSessionHost, type IrcSessionSink, SessionState } from "./session_state.ts";

export type { IrcSessionHost, IrcSessionSink };
export { MEMBER_HOST, splitText } from "./session_state.ts";

/** A room name the door compares byte for byte with a client's line. */
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** One IRC client's side of the chat: see the module's description. */
export class IrcSession {
  readonly #state: SessionState;
  readonly #commands: ClientCommands;
  readonly #replies: CoreReplies;

  /** A session that speaks through `sink`. */
  constructor(sink: IrcSessionSink, host: IrcSessionHost) {
    this.#state = new SessionState(sink, host);
    const channels = new ChannelRouter(
      this.#state,
      new ChannelCommands(this.#state),
      () => sink.writableLength?.() ?? 0,
    );
    this.#commands = new ClientCommands(this.#state, channels);
    this.#replies = new CoreReplies(this.#state);
  }

  /**
   * How this client sees a room's broadcast, when every client that sees it
   * the same way gets the same bytes (shared_output.ts): its channel shown
   * and its capabilities; null while its own state matters (no name yet, no
   * channel shown, answers awaited).
   */
  get sharedView(): string | null {
    const s = this.#state;
    if (s.me === null || !s.visible || s.pending.length > 0) return null;
    // A message reads alike but for its tags (echo-message is the sender's alone).
    const time = s.caps.has("server-time");
    const account = s.caps.has("account-tag");
    return time || account ? `${s.room}\n${time ? "t" : ""}${account ? "a" : ""}` : s.room;
  }

  /** The channel the client sees its room's broadcasts in. */
  get channel(): string {
    return `#${this.#state.room}`;
  }

  /** Whether the client asked to be sent its own lines back. */
  get echo(): boolean {
    return this.#state.caps.has("echo-message");
  }

  /** The member's name once the core welcomed it. */
  get name(): string | null {
    return this.#state.me;
  }

  /** Whether the client asked for server-time: each message it gets carries `@time=`. */
  get serverTime(): boolean {
    return this.#state.caps.has("server-time");
  }

  /** Whether the client asked for account-tag: a logged-in member's messages carry `@account=`. */
  get accountTag(): boolean {
    return this.#state.caps.has("account-tag");
  }

  /** The account the member called `name` is logged in to, or null (account-tag). */
  accountOf(name: string): string | null {
    return this.#state.host.accountOf?.(name) ?? null;
  }

  /**
   * When a client's line `PRIVMSG #room :text` would only hand the core its
   * text: the room its channel shows (printable ASCII), and the longest
   * such line, without CR LF, that IRC's cap lets through; null while
   * anything else matters (no name yet, no channel shown, a JOIN under way).
   */
  get quickMessages(): { room: string; longest: number } | null {
    const s = this.#state;
    const me = s.me;
    if (me === null || !s.visible || s.joining.length > 0 || !PRINTABLE_ASCII.test(s.room)) {
      return null;
    }
    // As #privmsg measures: `:me!me@chat ` before the line, and CR LF after it.
    return { room: s.room, longest: MAX_MESSAGE_BYTES - 2 - (2 * me.length + 8) };
  }

  /** Handles one message from the client. */
  handle(message: IrcMessage): void {
    this.#commands.handle(message);
  }

  /** Handles one line of the core's (without its newline). */
  fromCore(line: string): void {
    this.#replies.fromCore(line);
  }

  /** The connection closed: the door's other sessions no longer see this one. */
  dispose(): void {
    this.#state.dispose();
  }

  /** A line that was not UTF-8 was dropped: `FAIL command INVALID_UTF8` (UTF8ONLY). */
  invalidUtf8(command: string): void {
    const text = "Message rejected, it was not valid UTF-8";
    this.#state.reply(
      formatMessage(this.#state.host.serverName, "FAIL", [command, "INVALID_UTF8", text]),
    );
  }

  /** A line over IRC's cap was dropped: 417, in order with the other replies. */
  inputTooLong(): void {
    this.#state.numeric("417", "Input line was too long");
  }
}
