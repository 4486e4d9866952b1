/**
 * The IRC door: IRC clients (irssi, WeeChat, HexChat) as members of the
 * chat, beside line, telnet and browser members, in the same rooms and the
 * same order. Rooms are channels; see docs/irc.md for what maps to what.
 *
 * - message.ts: IRC messages with tags, read and written;
 * - core_lines.ts: the core's lines, read;
 * - session.ts: one client's registration and the translation both ways;
 * - connection.ts: its socket as the core's link (framing, the line cap, PING);
 * - listener.ts: the listener, with TLS on the same port.
 *
 * @module
 */

export { IrcListener, type IrcListenerOptions } from "./listener.ts";
export {
  IrcConnection,
  type IrcConnectionOptions,
  PING_IDLE_MS,
  PING_TIMEOUT_MS,
} from "./connection.ts";
export { IrcSession, type IrcSessionHost, type IrcSessionSink } from "./session.ts";
export { formatMessage, type IrcMessage, parseMessage } from "./message.ts";
