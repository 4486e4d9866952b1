import assert from "node:assert/strict";
import { MemoryAccounts } from "./account_book.ts";
import { KEPT_FOR_MS, keptTime, Mailbox, MAX_KEPT, MAX_KEPT_PER_SENDER } from "./mailbox.ts";

function aliceMailbox() {
  const book = new MemoryAccounts();
  book.add({ name: "alice", hash: "h", registeredAt: 0 });
  return { book, mailbox: new Mailbox(book, 0) };
}

Deno.test("kept messages come back oldest first, once", () => {
  const { mailbox } = aliceMailbox();
  assert.ok(mailbox.keep("alice", "bob", "one", 1000));
  assert.ok(mailbox.keep("alice", "carol", "two", 2000));
  assert.deepEqual(mailbox.take("alice", 3000), [
    { from: "bob", text: "one", at: 1000 },
    { from: "carol", text: "two", at: 2000 },
  ]);
  assert.deepEqual(mailbox.take("alice", 3000), []);
});

Deno.test("one sender fills at most its share of a mailbox, and a mailbox has a ceiling", () => {
  const { mailbox } = aliceMailbox();
  for (let i = 0; i < MAX_KEPT_PER_SENDER; i++) assert.ok(mailbox.keep("alice", "bob", `${i}`, i));
  assert.equal(mailbox.keep("alice", "bob", "more", 100), false);
  // Lookalikes of a sender are the sender.
  assert.equal(mailbox.keep("alice", "BOB", "more", 100), false);
  let sender = 0;
  while (mailbox.keep("alice", `s${sender}`, "hi", 200)) sender++;
  assert.equal(mailbox.take("alice", 300).length, MAX_KEPT);
});

Deno.test("messages older than 30 days are forgotten, and make room", () => {
  const { book, mailbox } = aliceMailbox();
  for (let i = 0; i < MAX_KEPT_PER_SENDER; i++) mailbox.keep("alice", "bob", `${i}`, 0);
  assert.ok(mailbox.keep("alice", "bob", "later", KEPT_FOR_MS + 1));
  assert.deepEqual(mailbox.take("alice", KEPT_FOR_MS + 2).map((m) => m.text), ["later"]);
  book.keep("alice", { from: "bob", text: "old", at: 0 });
  // A restarted server forgets what is too old at once.
  new Mailbox(book, KEPT_FOR_MS + 1);
  assert.deepEqual(book.kept("alice"), []);
});

Deno.test("a kept message's time reads [MM-DD HH:MM] on the server's clock", () => {
  const at = new Date(2026, 11, 6, 14, 2).getTime();
  assert.equal(keptTime(at), "[12-06 14:02]");
});
