import assert from "node:assert/strict";
import {
  MessageHeads,
  partsFor,
  sharedLines,
  SharedOutput,
  translateMessages,
  translateShared,
} from "./shared_output.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a client is written of `entry`: its parts, one after the other. */
function sent(entry: Parameters<typeof partsFor>[0], name: string, echo: boolean): Uint8Array {
  const parts = partsFor(entry, name, echo);
  const all = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}

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
  assert.equal(decoder.decode(sent(entry, "carol", false)), all);
  assert.equal(decoder.decode(sent(entry, "alice", true)), all);
  assert.equal(
    decoder.decode(sent(entry, "alice", false)),
    ":bob!bob@chat PRIVMSG #dev :two\r\n",
  );
  assert.equal(
    decoder.decode(sent(entry, "bob", false)),
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
  assert.equal(sent(entry, "alice", false).length, 0);
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

Deno.test("members' messages made from their bytes read as the same messages made from text", () => {
  const accountOf = (name: string) => name === "bob" ? "bob" : null;
  const same = (text: string, channel = "#dev", time = "", account = accountOf) => {
    const data = encoder.encode(text);
    const fast = translateMessages(data, new MessageHeads(channel), time, account);
    assert.notEqual(fast, undefined, text);
    const slow = translateShared(sharedLines(text) ?? [], channel, time, account);
    assert.equal(decoder.decode(fast?.output), decoder.decode(slow.output), text);
    assert.deepEqual(fast?.ends, slow.ends, text);
    assert.deepEqual(fast?.linesOf, slow.linesOf, text);
  };
  same("alice: hi\nbob: there\nalice: again\n");
  same("alice: hi\n\nbob: two: colons, ünïcödé and 😀\n", "#café", "time=T");
  same("a-b.c_d: \n-x-: a dash first\n");
  same("bob: " + "z".repeat(400) + "\n");
  same("");
  // Heads kept from one write to the next; names with the same hash told apart.
  const heads = new MessageHeads("#dev");
  const once = (text: string) =>
    decoder.decode(translateMessages(encoder.encode(text), heads, "")?.output);
  assert.equal(once("Aa: 1\n"), ":Aa!Aa@chat PRIVMSG #dev :1\r\n");
  assert.equal(
    once("BB: 2\nAa: 3\n"),
    ":BB!BB@chat PRIVMSG #dev :2\r\n:Aa!Aa@chat PRIVMSG #dev :3\r\n",
  );
  // Lines read another way, or cut, are left to the text's way.
  for (
    const text of [
      "alice: hi\n* bob joined #dev\n",
      "** bob waves\n",
      "-carol- back at 3\n",
      "(private) bob: psst\n",
      "Welcome: hi\n",
      "älice: hi\n",
      "alice:hi\n",
      "alice: a\u2028b\n",
      "alice: a\rb\n",
      "alice: " + "y".repeat(900) + "\n",
    ]
  ) {
    assert.equal(translateMessages(encoder.encode(text), heads, ""), undefined, text);
  }
});
