import assert from "node:assert/strict";
import { type CommandHost, COMMANDS, HELP_LINES, runCommand } from "./commands.ts";

/** A member, as far as the commands care. */
interface TestMember {
  name: string;
}

const alice: TestMember = { name: "alice" };
const muted: TestMember = { name: "muted" };

/** A host that records what the commands asked of it. */
function recordingHost(replyTo: string | null = null) {
  const calls: string[] = [];
  const host: CommandHost<TestMember> = {
    tell: (member, ...lines) => calls.push(`tell ${member.name}: ${lines.join(" | ")}`),
    who: (member, room) => calls.push(`who ${member.name}: ${room}`),
    whisper: (from, to, text) => calls.push(`whisper ${from.name}->${to}: ${text}`),
    replyTo: () => replyTo,
    reply: (from, text) => calls.push(`reply ${from.name}: ${text}`),
    rename: (member, requested) => calls.push(`rename ${member.name}: ${requested}`),
    act: (member, action) => calls.push(`act ${member.name}: ${action}`),
    notice: (member, text) => calls.push(`notice ${member.name}: ${text}`),
    join: (member, room, key) =>
      calls.push(`join ${member.name}: ${room}${key === undefined ? "" : ` key ${key}`}`),
    part: (member, reason) => calls.push(`part ${member.name}: ${reason}`),
    rooms: (member) => calls.push(`rooms ${member.name}`),
    topic: (member, text) => calls.push(`topic ${member.name}: ${text}`),
    mode: (member, rest) => calls.push(`mode ${member.name}: ${rest}`),
    invite: (member, rest) => calls.push(`invite ${member.name}: ${rest}`),
    isConsole: (member) => member.name === "server",
    mayPost: (member) => {
      if (member.name !== "muted") return true;
      calls.push(`tell ${member.name}: ! You are muted`);
      return false;
    },
    moderate: (member, command, rest) => calls.push(`${command} ${member.name}: ${rest}`),
    accounts: (member, command, rest) => calls.push(`${command} ${member.name}: ${rest}`),
    files: (member, command, rest) => calls.push(`${command} ${member.name}: ${rest}`),
  };
  return { host, calls };
}

Deno.test("/help is made from the command table, one line for each entry", () => {
  assert.equal(HELP_LINES.length, COMMANDS.length + 2);
  for (const command of COMMANDS) {
    assert.ok(
      HELP_LINES.some((line) => line.includes(command.usage) && line.endsWith(command.help)),
    );
  }
  assert.equal(HELP_LINES[9], "*   /me action                show an action: ** alice waves");
});

Deno.test("each command and alias runs, with its usage error when it is incomplete", () => {
  const { host, calls } = recordingHost();
  runCommand(host, alice, "who", "");
  runCommand(host, alice, "w", "bob hi there");
  runCommand(host, alice, "msg", "bob");
  runCommand(host, alice, "r", "hello");
  runCommand(host, alice, "nick", "carol");
  runCommand(host, alice, "me", "");
  runCommand(host, alice, "quit", "");
  assert.deepEqual(calls, [
    "who alice: ",
    "whisper alice->bob: hi there",
    "tell alice: ! Usage: /msg NAME text",
    "tell alice: ! Nobody to reply to",
    "rename alice: carol",
    "tell alice: ! Usage: /me action",
    "tell alice: ! Unknown command: /quit (type /help)",
  ]);
});

Deno.test("/reply goes to whoever last whispered, and needs text", () => {
  const { host, calls } = recordingHost("bob");
  runCommand(host, alice, "reply", "");
  runCommand(host, alice, "reply", "thanks");
  assert.deepEqual(calls, ["tell alice: ! Usage: /reply text", "reply alice: thanks"]);
});

Deno.test("the room commands and their aliases run, /join needing a room", () => {
  const { host, calls } = recordingHost();
  runCommand(host, alice, "join", "#dev");
  runCommand(host, alice, "join", "");
  runCommand(host, alice, "join", "#dev  sesame");
  runCommand(host, alice, "part", "");
  runCommand(host, alice, "part", "see you");
  runCommand(host, muted, "part", "see you");
  runCommand(host, alice, "rooms", "");
  runCommand(host, alice, "list", "");
  runCommand(host, alice, "who", "#dev");
  runCommand(host, alice, "names", "");
  runCommand(host, alice, "topic", "");
  runCommand(host, alice, "topic", "builds and releases");
  runCommand(host, alice, "mode", "#dev +k sesame");
  runCommand(host, alice, "invite", "bob");
  assert.deepEqual(calls, [
    "join alice: #dev",
    "tell alice: ! Usage: /join #room",
    "join alice: #dev key sesame",
    "part alice: ",
    "part alice: see you",
    "tell muted: ! You are muted",
    "rooms alice",
    "rooms alice",
    "who alice: #dev",
    "who alice: ",
    "topic alice: ",
    "topic alice: builds and releases",
    "mode alice: #dev +k sesame",
    "invite alice: bob",
  ]);
});

Deno.test("/help lists the room commands", () => {
  for (
    const usage of [
      "/join #room",
      "/part [reason]",
      "/rooms (or /list)",
      "/topic [text]",
      "/who [#room]",
    ]
  ) {
    assert.ok(HELP_LINES.some((line) => line.startsWith(`*   ${usage}`)), usage);
  }
});
