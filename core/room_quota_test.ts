import assert from "node:assert/strict";
import { MAX_ADDRESSES } from "./guesses.ts";
import { NEW_ROOMS_PER_ADDRESS, NEW_ROOMS_WINDOW_MS, RoomQuota } from "./room_quota.ts";
import { LEAK_CHECKS } from "../test/test_helpers.ts";

Deno.test({
  name: "an address makes ten rooms an hour; the eleventh waits until the first is an hour old",
  ...LEAK_CHECKS,
  fn() {
    const quota = new RoomQuota();
    for (let i = 0; i < NEW_ROOMS_PER_ADDRESS; i++) {
      assert.ok(quota.allows("203.0.113.5", i * 1000), `room ${i + 1}`);
      quota.take("203.0.113.5", i * 1000);
    }
    assert.equal(quota.allows("203.0.113.5", 10_000), false);
    assert.equal(quota.allows("203.0.113.5", NEW_ROOMS_WINDOW_MS - 1), false);
    assert.equal(quota.allows("203.0.113.5", NEW_ROOMS_WINDOW_MS), true);
    quota.take("203.0.113.5", NEW_ROOMS_WINDOW_MS);
    // The window slides: the second room is not an hour old yet.
    assert.equal(quota.allows("203.0.113.5", NEW_ROOMS_WINDOW_MS + 999), false);
    assert.equal(quota.allows("203.0.113.5", NEW_ROOMS_WINDOW_MS + 1000), true);
  },
});

Deno.test({
  name: "asking does not count: only rooms made do, and other addresses are not affected",
  ...LEAK_CHECKS,
  fn() {
    const quota = new RoomQuota(1, 1000);
    for (let i = 0; i < 5; i++) assert.ok(quota.allows("a", 0));
    quota.take("a", 0);
    assert.equal(quota.allows("a", 1), false);
    assert.ok(quota.allows("b", 1));
  },
});

Deno.test({
  name: "the table of addresses stays bounded, losing the one quiet longest first",
  ...LEAK_CHECKS,
  fn() {
    const quota = new RoomQuota(1, 1000);
    quota.take("first", 0);
    for (let i = 0; i < MAX_ADDRESSES; i++) quota.take(`10.0.${i >> 8}.${i & 255}`, 1);
    assert.equal(quota.size, MAX_ADDRESSES);
    assert.ok(quota.allows("first", 2));
    assert.equal(quota.allows("10.0.0.0", 2), false);
  },
});
