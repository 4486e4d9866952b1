/**
 * The core's lines (docs/protocol.md, docs/commands.md) read as events the
 * IRC door can say in IRC's words: `alice: hi` is a message, `* alice joined
 * #dev` a join, `! No such user: bob` an error. Names hold no space or colon,
 * rooms no space, colon or parenthesis; members cannot start a line with `* `
 * or `! `, so such lines are the server's.
 *
 * @module
 */

/** One line from the core, read. */
export type CoreLine =
  | { type: "greeting"; password: boolean }
  | { type: "welcome"; name: string }
  | { type: "message"; from: string; text: string }
  | { type: "action"; from: string; text: string }
  | { type: "roomNotice"; from: string; text: string }
  | { type: "privateIn"; from: string; text: string }
  | { type: "privateOut"; to: string; from: string; text: string }
  | { type: "joined"; name: string; room: string | null }
  | { type: "left"; name: string; room: string | null; reason: string | null }
  | { type: "parted"; name: string; room: string; reason: string }
  | { type: "renamed"; from: string; to: string }
  | { type: "topicSet"; name: string; text: string }
  | { type: "topic"; text: string | null; room: string | null }
  | { type: "moved"; room: string; here: number }
  | { type: "who"; room: string | null; names: string[] }
  | { type: "rooms"; rooms: { name: string; count: number }[] }
  | { type: "kicked"; name: string; by: string; reason: string }
  | { type: "opChange"; name: string; room: string; by: string; op: boolean }
  | { type: "modeSet"; name: string; modes: string; args: string[]; room: string }
  | { type: "modes"; room: string; modes: string; args: string[]; made: string }
  | { type: "bans"; room: string; bans: { mask: string; by: string }[] }
  | { type: "invited"; by: string; room: string }
  | { type: "inviteSent"; name: string; room: string }
  | { type: "whois"; name: string; about: string }
  | { type: "motd"; text: string | null }
  | { type: "oper" }
  | { type: "goodbye" }
  | { type: "historyMark" }
  | { type: "error"; text: string }
  | { type: "notice"; text: string }
  | { type: "server"; text: string };

const NAME = String.raw`[^\s:]+`;
const ROOM = String.raw`[^\s:()]+`;

/** Patterns of the server's notices, tried in order on a line starting with `* `. */
const NOTICES: [RegExp, (m: RegExpExecArray) => CoreLine][] = [
  [
    new RegExp(`^\\* (${NAME}) joined (?:the chat|#(${ROOM}))$`),
    (m) => ({ type: "joined", name: m[1]!, room: m[2] ?? null }),
  ],
  [
    new RegExp(`^\\* (${NAME}) left the chat(?: \\((.*)\\))?$`),
    (m) => ({ type: "left", name: m[1]!, room: null, reason: m[2] ?? null }),
  ],
  [
    new RegExp(`^\\* (${NAME}) left #(${ROOM})(?: \\((.*)\\))?$`),
    (m) => ({ type: "parted", name: m[1]!, room: m[2]!, reason: m[3] ?? "" }),
  ],
  [
    new RegExp(`^\\* (${NAME}) left for #(${ROOM})$`),
    (m) => ({ type: "left", name: m[1]!, room: m[2]!, reason: null }),
  ],
  [
    new RegExp(`^\\* (${NAME}) is now known as (${NAME})$`),
    (m) => ({ type: "renamed", from: m[1]!, to: m[2]! }),
  ],
  [
    new RegExp(`^\\* (${NAME}) set the topic: (.*)$`),
    (m) => ({ type: "topicSet", name: m[1]!, text: m[2]! }),
  ],
  [
    new RegExp(`^\\* (${NAME}) cleared the topic$`),
    (m) => ({ type: "topicSet", name: m[1]!, text: "" }),
  ],
  [/^\* Topic: (.*)$/, (m) => ({ type: "topic", text: m[1]!, room: null })],
  [
    new RegExp(`^\\* No topic in #(${ROOM})$`),
    (m) => ({ type: "topic", text: null, room: m[1]! }),
  ],
  [
    new RegExp(`^\\* You are now in #(${ROOM}) \\((\\d+) here\\)$`),
    (m) => ({ type: "moved", room: m[1]!, here: Number(m[2]) }),
  ],
  [
    new RegExp(`^\\* \\d+ (?:online|in #(${ROOM})): (.*)$`),
    (m) => ({ type: "who", room: m[1] ?? null, names: m[2]!.split(", ").filter((n) => n !== "") }),
  ],
  [
    new RegExp(`^\\* (${NAME}) was kicked by (${NAME})(?: \\((.*)\\))?$`),
    (m) => ({ type: "kicked", name: m[1]!, by: m[2]!, reason: m[3] ?? "" }),
  ],
  [
    new RegExp(`^\\* (${NAME}) was (made|removed as) an operator of #(${ROOM}) by (${NAME})$`),
    (m) => ({ type: "opChange", name: m[1]!, room: m[3]!, by: m[4]!, op: m[2] === "made" }),
  ],
  [
    new RegExp(`^\\* (${NAME}) set mode (\\S+)((?: \\S+)*) on #(${ROOM})$`),
    (m) => ({
      type: "modeSet",
      name: m[1]!,
      modes: m[2]!,
      args: m[3]!.split(" ").filter((arg) => arg !== ""),
      room: m[4]!,
    }),
  ],
  [
    new RegExp(`^\\* Modes of #(${ROOM}): (\\S+)((?: \\S+)*) \\(made (\\S+)\\)$`),
    (m) => ({
      type: "modes",
      room: m[1]!,
      modes: m[2]!,
      args: m[3]!.split(" ").filter((arg) => arg !== ""),
      made: m[4]!,
    }),
  ],
  [
    new RegExp(`^\\* Bans of #(${ROOM}): (.*)$`),
    (m) => ({
      type: "bans",
      room: m[1]!,
      bans: m[2]!.split(", ").map((entry) => /^(\S+) \(set by (\S+)\)$/.exec(entry))
        .filter((ban) => ban !== null).map((ban) => ({ mask: ban[1]!, by: ban[2]! })),
    }),
  ],
  [new RegExp(`^\\* No bans in #(${ROOM})$`), (m) => ({ type: "bans", room: m[1]!, bans: [] })],
  [
    new RegExp(`^\\* (${NAME}) invited you to #(${ROOM})$`),
    (m) => ({ type: "invited", by: m[1]!, room: m[2]! }),
  ],
  [
    new RegExp(`^\\* You invited (${NAME}) to #(${ROOM})$`),
    (m) => ({ type: "inviteSent", name: m[1]!, room: m[2]! }),
  ],
  [/^\* Message of the day: (.*)$/, (m) => ({ type: "motd", text: m[1]! })],
  [/^\* No message of the day$/, () => ({ type: "motd", text: null })],
  [/^\* You are now a server operator$/, () => ({ type: "oper" })],
  [/^\* Goodbye(?:, .*)?!$/, () => ({ type: "goodbye" })],
  [/^\* (?:Recent messages:|End of recent messages)$/, () => ({ type: "historyMark" })],
  [
    /^\* (\d+) rooms?: (.+)$/,
    (m) => {
      // `#dev (3, +ik)`: a room's modes beyond +nt after its count; names hold no `#`.
      const rooms = m[2]!.split(/, (?=#)/)
        .map((entry) => /^#([^\s,()]+) \((\d+)(?:, \+[a-z]+)?\)$/.exec(entry))
        .filter((room) => room !== null)
        .map((room) => ({ name: room[1]!, count: Number(room[2]) }));
      return { type: "rooms", rooms };
    },
  ],
  [
    new RegExp(`^\\* (${NAME}): ((?:not registered|logged in|not logged in)(?:, .*)?)$`),
    (m) => ({ type: "whois", name: m[1]!, about: m[2]! }),
  ],
];

const ACTION = new RegExp(`^\\*\\* (${NAME}) ?(.*)$`);
const ROOM_NOTICE = new RegExp(`^-(${NAME})- (.*)$`);
const PRIVATE_IN = new RegExp(`^\\(private\\) (${NAME}): (.*)$`);
const PRIVATE_OUT = new RegExp(`^\\(private to (${NAME})\\) (${NAME}): (.*)$`);
const WELCOME = new RegExp(`^Welcome, (${NAME})! Type `);
const MESSAGE = new RegExp(`^(${NAME}): (.*)$`);

/** Reads one line of the core's (without its newline). */
export function readCoreLine(line: string): CoreLine {
  const first = line.charCodeAt(0);
  // The most common line by far, a member's message, starts with neither `*`, `!` nor `(`.
  if (first !== 0x2a && first !== 0x21 && first !== 0x28 && !line.startsWith("Welcome")) {
    const match = MESSAGE.exec(line);
    if (match) return { type: "message", from: match[1]!, text: match[2]! };
  }
  if (first === 0x2d) {
    const match = ROOM_NOTICE.exec(line);
    if (match) return { type: "roomNotice", from: match[1]!, text: match[2]! };
  }
  if (line.startsWith("** ")) {
    const match = ACTION.exec(line);
    if (match) return { type: "action", from: match[1]!, text: match[2]! };
  }
  if (line.startsWith("* ")) {
    for (const [pattern, make] of NOTICES) {
      const match = pattern.exec(line);
      if (match) return make(match);
    }
    return { type: "notice", text: line.slice(2) };
  }
  if (line.startsWith("! ")) return { type: "error", text: line.slice(2) };
  let match = PRIVATE_IN.exec(line);
  if (match) return { type: "privateIn", from: match[1]!, text: match[2]! };
  match = PRIVATE_OUT.exec(line);
  if (match) return { type: "privateOut", to: match[1]!, from: match[2]!, text: match[3]! };
  match = WELCOME.exec(line);
  if (match) return { type: "welcome", name: match[1]! };
  if (/\bnickname\b/i.test(line) && line.startsWith("Welcome to the chat")) {
    return { type: "greeting", password: false };
  }
  if (/\bpassword\b/i.test(line) && /locked/.test(line)) {
    return { type: "greeting", password: true };
  }
  match = MESSAGE.exec(line);
  if (match) return { type: "message", from: match[1]!, text: match[2]! };
  return { type: "server", text: line };
}
