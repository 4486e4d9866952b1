import assert from "node:assert/strict";
import { type CommandHost, COMMANDS, HELP_LINES, runCommand } from "./commands.ts";

/** A member, as far as the commands care. */
interface TestMember {
  name: string;
}

const alice: TestMember = { name: "alice" };

/** A host that records what the commands asked of it. */
function recordingHost(replyTo: string | null = null) {
  const calls: string[] = [];
  const host: CommandHost<TestMember> = {
    tell: (member, ...lines) => calls.push(`tell ${member.name}: ${lines.join(" | ")}`),
    names: () => ["alice", "bob"],
    whisper: (from, to, text) => calls.push(`whisper ${from.name}->${to}: ${text}`),
    replyTo: () => replyTo,
    reply: (from, text) => calls.push(`reply ${from.name}: ${text}`),
    rename: (member, requested) => calls.push(`rename ${member.name}: ${requested}`),
    act: (member, action) => calls.push(`act ${member.name}: ${action}`),
  };
  return { host, calls };
}

Deno.test("/help is made from the command table, one line for each entry", () => {
  assert.equal(HELP_LINES.length, COMMANDS.length + 1);
  for (const command of COMMANDS) {
    assert.ok(
      HELP_LINES.some((line) => line.includes(command.usage) && line.endsWith(command.help)),
    );
  }
  assert.equal(HELP_LINES[5], "*   /me action                show an action: ** alice waves");
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
    "tell alice: * 2 online: alice, bob",
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
