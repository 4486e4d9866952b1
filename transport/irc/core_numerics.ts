/**
 * The numerics the IRC door answers with for itself: the welcome (001 to
 * 005 and LUSERS) and the core's errors as the numerics IRC has for them
 * (`! No such user: bob` is 401, `! Cannot join #dev: wrong key (+k)` 475).
 *
 * @module
 */

import { MAX_NAME_LENGTH } from "../../protocol.ts";
import {
  CHANNEL_LENGTH,
  lusers,
  MEMBER_HOST,
  type SessionState,
  TARGMAX,
  TOPIC_LENGTH,
  VERSION,
} from "./session_state.ts";

/** The numerics of a successful registration as `name`: 001 to 005 and LUSERS. */
export function welcomeNumerics(s: SessionState, name: string): void {
  const server = s.host.serverName;
  s.now("001", `Welcome to the chat, ${name}!${name}@${MEMBER_HOST}`);
  s.now("002", `Your host is ${server}, running ${VERSION}`);
  s.now("003", "This server was created today");
  s.now("004", server, VERSION, "iw", "biklmnostv");
  s.now(
    "005",
    "CASEMAPPING=ascii",
    "CHANTYPES=#",
    // Operators and voices (+v, heard in a moderated room).
    "PREFIX=(ov)@+",
    `CHANLIMIT=#:${s.channelLimit}`,
    // Lists (b), always with an argument (k), with one when set (l), flags (imnst).
    "CHANMODES=b,k,l,imnst",
    `NICKLEN=${MAX_NAME_LENGTH}`,
    `CHANNELLEN=${CHANNEL_LENGTH}`,
    `TOPICLEN=${TOPIC_LENGTH}`,
    "NETWORK=chat",
    "are supported by this server",
  );
  s.now("005", "WHOX", "UTF8ONLY", `TARGMAX=${TARGMAX}`, "are supported by this server");
  for (const [code, ...params] of lusers(s)) s.now(code as string, ...params);
}

/** The core's error `text` (without `! `) as the numeric IRC has for it, else as a notice. */
export function errorNumerics(s: SessionState, text: string): void {
  const channel = `#${s.room}`;
  const rules: [RegExp, (m: RegExpExecArray) => void][] = [
    [/^No such user: (.*)$/, (m) => s.now("401", m[1]!, "No such nick/channel")],
    [/^Name taken: (.*)$/, (m) => s.now("433", m[1]!, "Nickname is already in use")],
    [
      /^Cannot change your name to (\S+): banned in (#\S+)/,
      (m) => s.now("435", m[1]!, m[2]!, "Cannot change nickname while banned on channel"),
    ],
    [/^Invalid name: (.*)$/, (m) => s.now("432", m[1]!, "Erroneous nickname")],
    [/^Invalid room name: (.*)$/, (m) => {
      s.joining.shift();
      s.now("403", m[1]!.startsWith("#") ? m[1]! : `#${m[1]}`, "No such channel");
    }],
    [/^No such room: (.*)$/, (m) => s.now("403", m[1]!, "No such channel")],
    [/^Cannot join (#\S+): (.*)$/, (m) => {
      s.joining.shift();
      const why = m[2]!;
      const code = why.startsWith("invite only")
        ? "473"
        : why.startsWith("room is full")
        ? "471"
        : why.startsWith("banned")
        ? "474"
        : why.includes("key")
        ? "475"
        : "405";
      s.now(code, m[1]!, `Cannot join channel (${why})`);
    }],
    [/^Too many (?:new )?rooms/, () => {
      s.joining.shift();
      s.now("405", channel, text);
    }],
    [/^You are already in /, () => s.joining.shift()],
    [/^You are muted/, () => s.now("404", channel, text)],
    [
      /^Cannot send to (#\S+): (.*)$/,
      (m) => s.now("404", m[1]!, `Cannot send to channel: ${m[2]}`),
    ],
    [/^Invalid key$/, () => s.now("696", channel, "k", "*", "Invalid key")],
    [/^Invalid limit$/, () => s.now("696", channel, "l", "*", "Invalid limit")],
    [/^Invalid mask: (.*)$/, (m) => s.now("696", channel, "b", m[1]!, text)],
    [/^Unknown mode: (.)$/, (m) => s.now("472", m[1]!, "is unknown mode char to me")],
    [
      /^(\S+) is already in (#\S+)$/,
      (m) => s.now("443", m[1]!, m[2]!, "is already on channel"),
    ],
    [/^You are not in (#\S+)$/, (m) => s.now("442", m[1]!, "You're not on that channel")],
    [/^Only (?:server )?operators can/, () => s.now("482", channel, text)],
    [/^(\S+) is not in #/, (m) => s.now("441", m[1]!, channel, text)],
    [/^Wrong password$/, () => s.now("464", "Password incorrect")],
    [/^Wrong operator password$/, () => s.now("464", "Password incorrect")],
    [/^No operator password is set/, () => s.now("491", text)],
    [/^You are banned/, () => s.now("465", text)],
    [/^You are already /, () => {}],
  ];
  for (const [pattern, act] of rules) {
    const match = pattern.exec(text);
    if (match) return act(match);
  }
  s.notice(text);
}
