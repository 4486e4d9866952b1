import assert from "node:assert/strict";
import type { Chat, ChatOptions } from "./chat.ts";
import {
  LEAK_CHECKS,
  memoryChat,
  MemoryLink,
  WAIT_MS,
  withDeadline,
} from "../test/test_helpers.ts";

const encoder = new TextEncoder();

/** A core with no cluster, no password and no log, paced as `options` say. */
function chat(options: Partial<ChatOptions> = {}): Chat {
  return memoryChat({
    nameTimeoutMs: WAIT_MS,
    maxLineBytes: 100,
    maxQueueBytes: 65536,
    history: 0,
    ...options,
  });
}

/** Resolves once `link` is closed. */
function closed(link: MemoryLink): Promise<void> {
  return new Promise((resolve) => link.once("close", resolve));
}

Deno.test({
  name: "a link's interrupt ends the session as the quit word does, after the lines before it",
  ...LEAK_CHECKS,
  fn: async () => {
    const core = chat();
    const link = new MemoryLink();
    const member = core.admit(link, link.remoteAddress, link.remotePort, () => new MemoryLink());
    assert.ok(member !== null);
    core.greet(member);
    const gone = closed(link);
    link.emit("data", encoder.encode("alice\nhello\n"), undefined, true);
    await withDeadline(gone, WAIT_MS, "the goodbye");
    const lines = link.text.split("\n");
    assert.deepEqual(lines.slice(1), [
      "Welcome, alice! Type <quit> to leave.",
      "alice: hello",
      "* Goodbye, alice!",
      "",
    ]);
    await core.shutdown(0);
  },
});

Deno.test({
  name: "an interrupt with more bytes than the pace allows ends the session once they are paid for",
  ...LEAK_CHECKS,
  fn: async () => {
    // 100 bytes at once, then 10 KB a second: 1,100 bytes are 100 ms in debt.
    const core = chat({ rate: 100, burst: 1 });
    const link = new MemoryLink();
    const member = core.admit(link, link.remoteAddress, link.remotePort, () => new MemoryLink());
    assert.ok(member !== null);
    core.greet(member);
    const gone = closed(link);
    link.emit("data", encoder.encode("alice\n"), 1100, true);
    await withDeadline(gone, WAIT_MS, "the goodbye");
    assert.match(link.text, /\* Goodbye, alice!\n$/);
    await core.shutdown(0);
  },
});
