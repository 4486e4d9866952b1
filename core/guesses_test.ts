import assert from "node:assert/strict";
import {
  FIRST_WAIT_MS,
  FORGET_AFTER_MS,
  FREE_GUESSES,
  GuessLimiter,
  MAX_ADDRESSES,
  MAX_WAIT_MS,
} from "./guesses.ts";

Deno.test("an address gets three free guesses, then waits 5, 10, 20, 40 and at most 60 s", () => {
  const guesses = new GuessLimiter();
  let now = 0;
  for (let i = 0; i < FREE_GUESSES; i++) assert.equal(guesses.take("a", now), 0);
  const waits = [];
  for (let i = 0; i < 6; i++) {
    const wait = guesses.take("a", now);
    waits.push(wait);
    now += wait;
    assert.equal(guesses.take("a", now), 0);
  }
  assert.deepEqual(waits, [FIRST_WAIT_MS, 10_000, 20_000, 40_000, MAX_WAIT_MS, MAX_WAIT_MS]);
});

Deno.test("a right guess, or a long quiet spell, clears an address; others are not affected", () => {
  const guesses = new GuessLimiter();
  for (let i = 0; i < FREE_GUESSES; i++) guesses.take("a", 0);
  assert.ok(guesses.take("a", 0) > 0);
  assert.equal(guesses.take("b", 0), 0);
  guesses.right("a");
  assert.equal(guesses.take("a", 1), 0);
  for (let i = 0; i < FREE_GUESSES; i++) guesses.take("c", 0);
  assert.equal(guesses.take("c", FORGET_AFTER_MS + 1), 0);
});

Deno.test("the table of addresses stays bounded, losing the longest quiet first", () => {
  const guesses = new GuessLimiter();
  for (let i = 0; i < FREE_GUESSES; i++) guesses.take("first", 0);
  for (let i = 0; i < MAX_ADDRESSES; i++) guesses.take(`10.0.${i >> 8}.${i & 255}`, 1);
  assert.equal(guesses.size, MAX_ADDRESSES);
  assert.equal(guesses.take("first", 2), 0);
});
