import assert from "node:assert/strict";
import { MAX_LIMIT, MAX_ROOM_BANS, RoomModes } from "./room_modes.ts";
import {
  applySharedModes,
  defaultModes,
  isDefault,
  MAX_SHARED_MODES_LENGTH,
  parseSharedModes,
  sharedModes,
} from "./shared_modes.ts";

/** A shared value as another process would write it, with `changes` on a new room's. */
const valueWith = (changes: Record<string, unknown>): string =>
  JSON.stringify({ ...defaultModes(), ...changes });

Deno.test("a room's modes go through the cluster's JSON and come back the same, voices aside", () => {
  const here = new RoomModes<object>();
  const voiced = {};
  here.inviteOnly = true;
  here.key = "sesame";
  here.limit = 10;
  here.moderated = true;
  here.secret = true;
  here.noOutside = false;
  here.topicLocked = false;
  here.bans.push({ mask: "bob!*@*", by: "alice" }, { mask: "*!x@chat", by: "carol" });
  here.voiced.add(voiced);
  const there = new RoomModes<object>();
  applySharedModes(there, parseSharedModes(sharedModes(here)));
  assert.equal(there.describe(true), "+iklms sesame 10");
  assert.deepEqual(there.bans, here.bans);
  assert.notEqual(there.bans[0], here.bans[0], "the bans are copies");
  assert.equal(there.voiced.size, 0);
  // Back to a new room's: "" is what the cluster keeps for one.
  applySharedModes(there, parseSharedModes(""));
  assert.equal(there.describe(true), "+nt");
  assert.ok(isDefault(there));
  assert.ok(!isDefault(here));
});

Deno.test("modes from the cluster that are not what a process writes are refused, naming why", () => {
  const refused: [string, ErrorConstructor, RegExp][] = [
    ["{", SyntaxError, /JSON/],
    ["[]", TypeError, /not an object/],
    ["null", TypeError, /not an object/],
    [valueWith({ i: "yes" }), TypeError, /mode i is not true or false/],
    [valueWith({ m: undefined }), TypeError, /mode m/],
    [valueWith({ k: "two words" }), TypeError, /key/],
    [valueWith({ k: "x".repeat(24) }), TypeError, /key/],
    [valueWith({ k: 5 }), TypeError, /key/],
    [valueWith({ l: 0 }), RangeError, /limit/],
    [valueWith({ l: MAX_LIMIT + 1 }), RangeError, /limit/],
    [valueWith({ l: 2.5 }), RangeError, /limit/],
    [valueWith({ l: "10" }), RangeError, /limit/],
    [valueWith({ b: "bob" }), TypeError, /bans are not a list/],
    [valueWith({ b: [{ mask: "bob", by: "alice" }] }), TypeError, /ban mask "bob"/],
    [valueWith({ b: [null] }), TypeError, /ban mask/],
    [valueWith({ b: [{ mask: "bob!*@*", by: "" }] }), TypeError, /setter of ban bob!\*@\*/],
    [valueWith({ b: [{ mask: `${"a".repeat(100)}!*@*`, by: "x" }] }), TypeError, /ban mask/],
    ["x".repeat(MAX_SHARED_MODES_LENGTH + 1), RangeError, /characters, over/],
  ];
  for (const [value, kind, message] of refused) {
    assert.throws(() => parseSharedModes(value), (error: unknown) => {
      assert.ok(error instanceof kind, `${value.slice(0, 60)}: ${error}`);
      assert.match((error as Error).message, message);
      return true;
    });
  }
  const bans = Array.from(
    { length: MAX_ROOM_BANS + 1 },
    (_, i) => ({ mask: `u${i}!*@*`, by: "a" }),
  );
  assert.throws(() => parseSharedModes(valueWith({ b: bans })), RangeError);
  assert.equal(parseSharedModes(valueWith({ b: bans.slice(1) })).b.length, MAX_ROOM_BANS);
});
