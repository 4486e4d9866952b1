import assert from "node:assert/strict";
import { SharedOutput, sharedSenders } from "./shared_output.ts";

const encoder = new TextEncoder();

Deno.test("members' messages, actions and notices are shared with their senders; other lines are not", () => {
  assert.deepEqual(
    sharedSenders("alice: hi\n** bob waves\n-carol- back at 3\n"),
    new Set(["alice", "bob", "carol"]),
  );
  assert.equal(sharedSenders("alice: hi\n* bob joined #dev\n"), null);
  assert.equal(sharedSenders("! No such user: bob\n"), null);
  assert.equal(sharedSenders("(private) bob: psst\n"), null);
  assert.deepEqual(sharedSenders(""), new Set());
});

Deno.test("a translation is kept for the bytes written last, by view, and forgotten with them", () => {
  const shared = new SharedOutput();
  const first = encoder.encode("alice: hi\n");
  const same = encoder.encode("alice: hi\n");
  const entry = {
    output: encoder.encode(":alice!alice@chat PRIVMSG #dev :hi\r\n"),
    senders: new Set(["alice"]),
  };
  shared.set(first, "dev\n", entry);
  assert.equal(shared.get(first, "dev\n"), entry);
  assert.equal(shared.get(first, "dev\nserver-time"), undefined);
  // The same text in other bytes is another write: nothing is assumed of it.
  assert.equal(shared.get(same, "dev\n"), undefined);
  shared.set(same, "dev\n", entry);
  assert.equal(shared.get(first, "dev\n"), undefined);
});
