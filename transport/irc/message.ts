/**
 * IRC messages as RFC 1459/2812 and the IRCv3 message-tags specification
 * write them: `@tags :prefix COMMAND params :trailing`. {@linkcode parseMessage}
 * reads one line (without its CR LF), {@linkcode formatMessage} writes one.
 *
 * @module
 */

/** Bytes of a message without its tags, CR LF included (RFC 1459, 2.3). */
export const MAX_MESSAGE_BYTES = 512;
/** Bytes a server's tags may take, the `@` and the space after them included (IRCv3 message-tags). */
export const MAX_TAG_BYTES = 8191;
/** Bytes a client's tags may take, the `@` and the space after them included (IRCv3 message-tags). */
export const MAX_CLIENT_TAG_BYTES = 4096;

/** One IRC message. */
export interface IrcMessage {
  /** The IRCv3 tags, unescaped; empty when there are none. */
  tags: Map<string, string>;
  /** The source (`nick!user@host` or a server name), or null. */
  prefix: string | null;
  /** The command in upper case, or a three-digit numeric. */
  command: string;
  /** The parameters, the trailing one included. */
  params: string[];
}

const TAG_ESCAPES: Record<string, string> = { ":": ";", s: " ", r: "\r", n: "\n", "\\": "\\" };

/** A tag value with the IRCv3 escapes undone (`\:` is `;`, `\s` a space ...). */
function unescapeTag(value: string): string {
  return value.replace(/\\(.?)/g, (_, char: string) => TAG_ESCAPES[char] ?? char);
}

/**
 * Reads one line; null for a line with no command (empty, or only tags or a prefix).
 *
 * @example
 * ```ts
 * import { parseMessage } from "./message.ts";
 * import assert from "node:assert/strict";
 * const message = parseMessage("@time=1 :a!b@c PRIVMSG #dev :hello there");
 * assert.deepEqual(message?.command, "PRIVMSG");
 * assert.deepEqual(message?.params, ["#dev", "hello there"]);
 * ```
 */
export function parseMessage(line: string): IrcMessage | null {
  let rest = line.replace(/^[ ]+/, "");
  const tags = new Map<string, string>();
  if (rest.startsWith("@")) {
    const space = rest.indexOf(" ");
    if (space === -1) return null;
    for (const tag of rest.slice(1, space).split(";")) {
      if (tag === "") continue;
      const equals = tag.indexOf("=");
      if (equals === -1) tags.set(tag, "");
      else tags.set(tag.slice(0, equals), unescapeTag(tag.slice(equals + 1)));
    }
    rest = rest.slice(space + 1).replace(/^[ ]+/, "");
  }
  let prefix: string | null = null;
  if (rest.startsWith(":")) {
    const space = rest.indexOf(" ");
    if (space === -1) return null;
    prefix = rest.slice(1, space);
    rest = rest.slice(space + 1).replace(/^[ ]+/, "");
  }
  const params: string[] = [];
  let command: string | null = null;
  while (rest !== "") {
    if (command !== null && rest.startsWith(":")) {
      params.push(rest.slice(1));
      break;
    }
    const space = rest.indexOf(" ");
    const word = space === -1 ? rest : rest.slice(0, space);
    rest = space === -1 ? "" : rest.slice(space + 1).replace(/^[ ]+/, "");
    if (command === null) command = word.toUpperCase();
    else params.push(word);
  }
  if (command === null || command === "") return null;
  return { tags, prefix, command, params };
}

/** Commands whose last parameter is a word, not text: written without `:` when they can be. */
const WORD_LAST: ReadonlySet<string> = new Set([
  "JOIN",
  "NICK",
  "MODE",
  "PING",
  "CAP",
  "INVITE",
  "BATCH",
]);

/**
 * Writes one message (without CR LF). The last parameter of a numeric or of a
 * command that carries text (PRIVMSG, NOTICE, TOPIC, PART, QUIT, KICK, PONG,
 * ERROR) gets a `:` always, as servers write them; of any other command only
 * when it needs one (it is empty, holds a space or starts with `:`).
 *
 * @example
 * ```ts
 * import { formatMessage } from "./message.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(formatMessage("srv", "001", ["alice", "Welcome"]), ":srv 001 alice :Welcome");
 * assert.deepEqual(formatMessage("a!a@h", "JOIN", ["#dev"]), ":a!a@h JOIN #dev");
 * assert.deepEqual(formatMessage(null, "PONG", ["srv", "token"]), "PONG srv :token");
 * ```
 */
export function formatMessage(prefix: string | null, command: string, params: string[]): string {
  const words = prefix === null ? [command] : [`:${prefix}`, command];
  const always = !WORD_LAST.has(command) && params.length > 0;
  params.forEach((param, index) => {
    const last = index === params.length - 1;
    const colon = last &&
      (always || param === "" || param.includes(" ") || param.startsWith(":"));
    words.push(colon ? `:${param}` : param);
  });
  return words.join(" ");
}
