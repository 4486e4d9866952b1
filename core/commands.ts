/**
 * The chat's commands as a table: each entry says how it is typed, what it
 * does, and runs it. `/help` is made from the same table, so the help and
 * what the commands do cannot drift apart.
 *
 * @module
 */

import type { AccountCommand } from "./accounts.ts";

/** The file commands, which {@linkcode CommandHost.files} runs. */
export type FileCommand = "upload" | "files" | "unshare";
import { actionLine, noticeLine } from "../protocol.ts";
import { LOBBY } from "./rooms.ts";

/** What a command may do in the room, for the member who typed it. */
export interface CommandHost<M> {
  /** Sends lines to one member only. */
  tell(member: M, ...lines: string[]): void;
  /** Tells the member who is in its room, or in the room `room` names (when not ""). */
  who(member: M, room: string): void;
  /** Sends a private message from `from` to the member called `to`, if there is one. */
  whisper(from: M, to: string, text: string): void;
  /** The name of whoever last sent `member` a private message, if anyone did. */
  replyTo(member: M): string | null;
  /** Sends a private message to that member, if still here (not a newcomer with the name). */
  reply(from: M, text: string): void;
  /** Renames a member by the nickname rules. */
  rename(member: M, requested: string): void;
  /** Shows a member's action to everyone in its room, kept in history. */
  act(member: M, action: string): void;
  /** Moves the member to the room `room` names (the `#` optional), made if new; `key` for a `+k` room. */
  join(member: M, room: string, key?: string): void;
  /** Shows a member's notice to everyone in its room (IRC's NOTICE), kept in history. */
  notice(member: M, text: string): void;
  /** Takes the member back to `#lobby`; its room hears `reason` when one is given. */
  part(member: M, reason: string): void;
  /** Tells the member the rooms, busiest first. */
  rooms(member: M): void;
  /** Shows the topic of the member's room, or sets it to `text` (operators only). */
  topic(member: M, text: string): void;
  /** Shows or changes a room's modes: `/mode [#room] [CHANGES [ARGS...]]`. */
  mode(member: M, rest: string): void;
  /** Invites a member into a room: `/invite NAME [#room]`. */
  invite(member: M, rest: string): void;
  /** Whether it is the server's console rather than a member. */
  isConsole(member: M): boolean;
  /** Whether the member may post now; a muted one is told why not. */
  mayPost(member: M): boolean;
  /** Runs one of the operators' commands with what followed it. */
  moderate(member: M, command: ModerationCommand, rest: string): void;
  /** Runs one of the account commands with what followed it. */
  accounts(member: M, command: AccountCommand, rest: string): void;
  /** Runs one of the file commands with what followed it. */
  files(member: M, command: FileCommand, rest: string): void;
}

/** The operators' commands, which {@linkcode CommandHost.moderate} runs. */
export type ModerationCommand =
  | "oper"
  | "op"
  | "deop"
  | "kick"
  | "ban"
  | "unban"
  | "bans"
  | "mute"
  | "unmute"
  | "mutes"
  | "motd";

/** One command: how it is typed and shown in `/help`, and what it does. */
export interface Command<M> {
  /** Its name and the other names it answers to, without the `/`. */
  names: readonly string[];
  /** How `/help` shows it being typed. */
  usage: string;
  /** What it does, in a few words. */
  help: string;
  /** Runs it: `rest` is what follows the command, `typed` the name it was typed as. */
  run?(host: CommandHost<M>, member: M, rest: string, typed: string): void;
  /** It posts something: a muted member may not run it. */
  speaks?: boolean;
  /** The server's console may run it too. */
  console?: boolean;
  /** Listed under the operators' commands in `/help`. */
  operators?: boolean;
}

/** An operators' command: it runs through {@linkcode CommandHost.moderate}. */
function moderation(
  name: ModerationCommand,
  usage: string,
  help: string,
  console = true,
): Command<object> {
  return {
    names: [name],
    usage,
    help,
    console,
    operators: true,
    run(host, member, rest) {
      host.moderate(member, name, rest);
    },
  };
}

/** An account command: it runs through {@linkcode CommandHost.accounts}. */
function account(
  name: AccountCommand,
  usage: string,
  help: string,
  where: { console?: boolean; operators?: boolean } = {},
): Command<object> {
  return {
    names: [name],
    usage,
    help,
    ...where,
    run(host, member, rest) {
      host.accounts(member, name, rest);
    },
  };
}

/** Splits `NAME text` into the name and the text. */
function nameAndText(rest: string): [string, string] {
  const space = rest.indexOf(" ");
  if (space === -1) return [rest, ""];
  return [rest.slice(0, space), rest.slice(space + 1).trim()];
}

/**
 * Every command, in the order `/help` lists them. Entries with no `run` are
 * typed forms that are not commands (`//text`, the quit words) but belong in
 * the help.
 */
export const COMMANDS: readonly Command<object>[] = [
  {
    names: ["who", "names"],
    usage: "/who [#room] (or /names)",
    help: "who is in your room (or #room), in the order they joined; @ marks operators, + logins",
    console: true,
    run(host, member, rest) {
      host.who(member, rest);
    },
  },
  {
    names: ["join"],
    usage: "/join #room [KEY]",
    help: "go to #room, making it if it is new (KEY: its key, if it has one)",
    run(host, member, rest, typed) {
      const [room, key] = nameAndText(rest);
      if (room === "") host.tell(member, `! Usage: /${typed} #room`);
      else host.join(member, room, key === "" ? undefined : key);
    },
  },
  {
    names: ["part"],
    usage: "/part [reason]",
    help: `go back to #${LOBBY} (your room hears the reason)`,
    run(host, member, rest) {
      // A reason is words the room hears: not from the muted.
      if (rest !== "" && !host.mayPost(member)) return;
      host.part(member, rest);
    },
  },
  {
    names: ["rooms", "list"],
    usage: "/rooms (or /list)",
    help: "the rooms and how many are in each, busiest first",
    console: true,
    run(host, member) {
      host.rooms(member);
    },
  },
  {
    names: ["topic"],
    usage: "/topic [text]",
    help: "show your room's topic, or set it (its operators only; - clears it)",
    run(host, member, rest) {
      host.topic(member, rest);
    },
  },
  {
    names: ["msg", "w"],
    usage: "/msg NAME text (or /w)",
    help: "a private message to NAME",
    speaks: true,
    run(host, member, rest, typed) {
      const [to, text] = nameAndText(rest);
      if (to === "" || text === "") host.tell(member, `! Usage: /${typed} NAME text`);
      else host.whisper(member, to, text);
    },
  },
  {
    names: ["reply", "r"],
    usage: "/reply text (or /r)",
    help: "a private message to whoever last sent you one",
    speaks: true,
    run(host, member, rest, typed) {
      if (host.replyTo(member) === null) host.tell(member, "! Nobody to reply to");
      else if (rest === "") host.tell(member, `! Usage: /${typed} text`);
      else host.reply(member, rest);
    },
  },
  {
    names: ["nick"],
    usage: "/nick NEW",
    help: "change your name",
    speaks: true,
    run(host, member, rest) {
      host.rename(member, rest);
    },
  },
  {
    names: ["me"],
    usage: "/me action",
    help: `show an action: ${actionLine("alice", "waves")}`,
    speaks: true,
    run(host, member, rest) {
      if (rest === "") host.tell(member, "! Usage: /me action");
      else host.act(member, rest);
    },
  },
  {
    names: ["notice"],
    usage: "/notice text",
    help: `a notice to your room, which nobody answers: ${noticeLine("alice", "back at 3")}`,
    speaks: true,
    run(host, member, rest) {
      if (rest === "") host.tell(member, "! Usage: /notice text");
      else host.notice(member, rest);
    },
  },
  {
    names: ["mode"],
    usage: "/mode [#room] [+-ikl...]",
    help: "show your room's (or #room's) modes; its operators change them (docs/commands.md)",
    console: true,
    run(host, member, rest) {
      host.mode(member, rest);
    },
  },
  {
    names: ["invite"],
    usage: "/invite NAME [#room]",
    help: "let NAME into your room (or #room) once, past +i and +l",
    run(host, member, rest) {
      host.invite(member, rest);
    },
  },
  account("register", "/register PASSWORD", "make your name yours; you are logged in to it"),
  account("login", "/login NAME PASSWORD", "log in to your account and become NAME"),
  account("password", "/password OLD NEW", "change your account's password"),
  account("unregister", "/unregister PASSWORD", "give up your account and its name"),
  account("whois", "/whois NAME", "whether NAME is registered and logged in, and where", {
    console: true,
  }),
  {
    names: ["upload"],
    usage: "/upload [NAME]",
    help: "an address to share a file with your room (or with NAME) over HTTP",
    run(host, member, rest) {
      host.files(member, "upload", rest);
    },
  },
  {
    names: ["files"],
    usage: "/files",
    help: "the files shared in your room that have not expired",
    run(host, member, rest) {
      host.files(member, "files", rest);
    },
  },
  {
    names: ["unshare"],
    usage: "/unshare ID",
    help: "remove a file you shared (operators: any in their room)",
    run(host, member, rest) {
      host.files(member, "unshare", rest);
    },
  },
  { names: [], usage: "//text", help: "post a message that starts with /" },
  { names: [], usage: "/quit (or <quit>)", help: "leave" },
  {
    names: ["help"],
    usage: "/help",
    help: "this list",
    console: true,
    run(host, member) {
      host.tell(member, ...(host.isConsole(member) ? CONSOLE_HELP_LINES : HELP_LINES));
    },
  },
  {
    names: ["motd"],
    usage: "/motd [text]",
    help: "the message of the day; server operators set it (- clears it)",
    console: true,
    run(host, member, rest) {
      host.moderate(member, "motd", rest);
    },
  },
  moderation("oper", "/oper PASSWORD", "become a server operator", false),
  moderation("op", "/op NAME", "make NAME an operator of its room"),
  moderation("deop", "/deop NAME", "NAME is no longer an operator of its room"),
  moderation("kick", "/kick NAME [reason]", "send NAME back to #lobby (out, from #lobby)"),
  moderation(
    "ban",
    "/ban NAME [TIME] [reason]",
    "disconnect and refuse NAME (TIME: 1h, 30m, 7d, forever)",
  ),
  moderation("unban", "/unban NAME|ADDRESS", "lift a ban"),
  moderation("bans", "/bans", "the bans in force"),
  moderation("mute", "/mute NAME [TIME]", "NAME reads but cannot post (TIME: 10m, 2h, forever)"),
  moderation("unmute", "/unmute NAME", "lift a mute"),
  moderation("mutes", "/mutes", "the mutes in force"),
  account("accounts", "/accounts", "how many accounts there are, and their names", {
    console: true,
    operators: true,
  }),
  account("drop", "/drop NAME", "delete NAME's account", { console: true, operators: true }),
];

/** Width of the typed forms in `/help`, so that the explanations line up. */
const USAGE_COLUMN = 26;

/** One command's line in `/help`. */
function helpLine(command: Command<object>): string {
  return `*   ${command.usage.padEnd(USAGE_COLUMN)}${command.help}`;
}

/** What `/help` shows, one command a line, made from {@linkcode COMMANDS}. */
export const HELP_LINES: readonly string[] = [
  "* Commands:",
  ...COMMANDS.filter((command) => !command.operators).map(helpLine),
  "* Operators' commands:",
  ...COMMANDS.filter((command) => command.operators).map(helpLine),
];

/** What `/help` shows at the server's console: the commands it may run. */
export const CONSOLE_HELP_LINES: readonly string[] = [
  "* Console commands:",
  ...COMMANDS.filter((command) => command.console).map(helpLine),
];

const BY_NAME: ReadonlyMap<string, Command<object>> = new Map(
  COMMANDS.flatMap((command) => command.names.map((name) => [name, command] as const)),
);

/**
 * Runs the command typed as `/name rest` for `member`; an unknown one is
 * answered with an error line to that member alone.
 */
export function runCommand<M extends object>(
  host: CommandHost<M>,
  member: M,
  name: string,
  rest: string,
): void {
  const command = BY_NAME.get(name);
  if (command?.run === undefined) {
    host.tell(member, `! Unknown command: /${name} (type /help)`);
    return;
  }
  if (host.isConsole(member) && !command.console) {
    host.tell(member, `! /${name} is not a console command (type /help)`);
    return;
  }
  if (command.speaks && !host.mayPost(member)) return;
  command.run(host, member, rest, name);
}
