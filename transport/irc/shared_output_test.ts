import assert from "node:assert/strict";
import { outputFor, sharedLines, SharedOutput, translateShared } from "./shared_output.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("members' messages, actions and notices are shared; other lines are not", () => {
  assert.deepEqual(sharedLines("alice: hi\n** bob waves\n-carol- back at 3\n"), [
    { from: "alice", command: "PRIVMSG", text: "hi" },
    { from: "bob", command: "PRIVMSG", text: "\x01ACTION waves\x01" },
    { from: "carol", command: "NOTICE", text: "back at 3" },
  ]);
  assert.equal(sharedLines("alice: hi\n* bob joined #dev\n"), null);
  assert.equal(sharedLines("! No such user: bob\n"), null);
  assert.equal(sharedLines("(private) bob: psst\n"), null);
  assert.deepEqual(sharedLines(""), []);
});

Deno.test("a sender's client gets the shared bytes without its own lines, unless it asked for echo", () => {
  const lines = sharedLines("alice: one\nbob: two\nalice: three\n") ?? [];
  const entry = translateShared(lines, "#dev", "");
  const all = ":alice!alice@chat PRIVMSG #dev :one\r\n:bob!bob@chat PRIVMSG #dev :two\r\n" +
    ":alice!alice@chat PRIVMSG #dev :three\r\n";
  assert.equal(decoder.decode(outputFor(entry, "carol", false)), all);
  assert.equal(decoder.decode(outputFor(entry, "alice", true)), all);
  assert.equal(
    decoder.decode(outputFor(entry, "alice", false)),
    ":bob!bob@chat PRIVMSG #dev :two\r\n",
  );
  assert.equal(
    decoder.decode(outputFor(entry, "bob", false)),
    ":alice!alice@chat PRIVMSG #dev :one\r\n:alice!alice@chat PRIVMSG #dev :three\r\n",
  );
  const stamped = translateShared(lines.slice(0, 1), "#dev", "time=2026-12-06T17:00:00.000Z");
  assert.equal(
    decoder.decode(stamped.output),
    "@time=2026-12-06T17:00:00.000Z :alice!alice@chat PRIVMSG #dev :one\r\n",
  );
  // account-tag: a logged-in sender's lines carry its account, with or without the time.
  const accountOf = (name: string) => name === "alice" ? "alice" : null;
  assert.equal(
    decoder.decode(translateShared(lines.slice(0, 2), "#dev", "", accountOf).output),
    "@account=alice :alice!alice@chat PRIVMSG #dev :one\r\n:bob!bob@chat PRIVMSG #dev :two\r\n",
  );
  assert.equal(
    decoder.decode(translateShared(lines.slice(0, 1), "#dev", "time=T", accountOf).output),
    "@time=T;account=alice :alice!alice@chat PRIVMSG #dev :one\r\n",
  );
});

Deno.test("a line too long for one IRC message is cut into several, all of its sender's", () => {
  const entry = translateShared(
    [{ from: "alice", command: "PRIVMSG", text: "y".repeat(900) }],
    "#dev",
    "",
  );
  const said = decoder.decode(entry.output).split("\r\n").filter((line) => line !== "");
  assert.equal(said.length, 2);
  assert.ok(said.every((line) => encoder.encode(line).length <= 510));
  assert.equal(outputFor(entry, "alice", false).length, 0);
});

Deno.test("a translation is kept for the bytes written last, by view, and forgotten with them", () => {
  const shared = new SharedOutput();
  const first = encoder.encode("alice: hi\n");
  const same = encoder.encode("alice: hi\n");
  const entry = translateShared(sharedLines("alice: hi\n") ?? [], "#dev", "");
  shared.set(first, "dev", entry);
  assert.equal(shared.get(first, "dev"), entry);
  assert.equal(shared.get(first, "dev\n@"), undefined);
  // The same text in other bytes is another write: nothing is assumed of it.
  assert.equal(shared.get(same, "dev"), undefined);
  shared.set(same, "dev", null);
  assert.equal(shared.get(same, "dev"), null);
  assert.equal(shared.get(first, "dev"), undefined);
});
