import assert from "node:assert/strict";
import {
  HASHES_AT_ONCE,
  hashesWaiting,
  hashPassword,
  needsRehash,
  passwordLength,
  SALT_BYTES,
  SCRYPT_BLOCK_SIZE,
  SCRYPT_COST,
  SCRYPT_PARALLELISM,
  verifyPassword,
} from "./passwords.ts";
import { LEAK_CHECKS } from "../test/test_helpers.ts";

Deno.test({
  name: "a hash keeps its parameters and salt beside it, and a new salt each time",
  ...LEAK_CHECKS,
  fn: async () => {
    const stored = await hashPassword("correct horse");
    const [kind, n, r, p, salt, hash] = stored.split("$");
    assert.deepEqual([kind, Number(n), Number(r), Number(p)], [
      "scrypt",
      SCRYPT_COST,
      SCRYPT_BLOCK_SIZE,
      SCRYPT_PARALLELISM,
    ]);
    assert.equal(atob(salt as string).length, SALT_BYTES);
    assert.equal(atob(hash as string).length, 32);
    assert.ok(!stored.includes("correct horse"));
    assert.notEqual(await hashPassword("correct horse"), stored);
    assert.equal(needsRehash(stored), false);
  },
});

Deno.test({
  name: "a password is checked by the parameters stored with it, so they can be raised later",
  ...LEAK_CHECKS,
  fn: async () => {
    const cheap = await hashPassword("correct horse", { cost: 1024 });
    assert.ok(cheap.startsWith("scrypt$1024$8$1$"));
    assert.equal(await verifyPassword("correct horse", cheap), true);
    assert.equal(await verifyPassword("correct horsf", cheap), false);
    assert.equal(needsRehash(cheap), true);
  },
});

Deno.test({
  name: "a stored hash that cannot be read, or asks for absurd costs, matches nothing",
  ...LEAK_CHECKS,
  fn: async () => {
    for (
      const stored of [
        "",
        "plain",
        "scrypt$1024$8$1$$",
        "scrypt$1000$8$1$AAAA$AAAA",
        "scrypt$1073741824$8$1$AAAA$AAAA",
        "pbkdf2$1024$8$1$AAAA$AAAA",
      ]
    ) {
      assert.equal(await verifyPassword("anything", stored), false, stored);
    }
  },
});

Deno.test("the length limits count characters, not UTF-16 units", () => {
  assert.equal(passwordLength("🔑🔑"), 2);
  assert.equal(passwordLength("abc"), 3);
});

Deno.test({
  name: "hashing runs off the event loop: timers keep firing while it works",
  ...LEAK_CHECKS,
  fn: async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await Promise.all([hashPassword("one password"), hashPassword("two password")]);
    } finally {
      clearInterval(timer);
    }
    // A synchronous scrypt would have held the loop for the whole of it: no tick at all.
    assert.ok(ticks > 5, `${ticks} ticks`);
  },
});

Deno.test({
  name:
    "a crowd of hashes takes turns: only HASHES_AT_ONCE are worked on, the rest wait, and all finish",
  ...LEAK_CHECKS,
  async fn() {
    const crowd = Array.from({ length: 6 }, (_, i) => hashPassword(`password${i}`, { cost: 1024 }));
    // Each scrypt at 2^15 takes 32 MiB: a crowd of logins must not take them all at once.
    assert.equal(hashesWaiting(), 6 - HASHES_AT_ONCE);
    const hashes = await Promise.all(crowd);
    assert.equal(hashesWaiting(), 0);
    assert.equal(new Set(hashes).size, 6);
    assert.ok(await verifyPassword("password5", hashes[5] as string));
  },
});
