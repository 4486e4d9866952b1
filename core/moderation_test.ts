import assert from "node:assert/strict";
import {
  DEFAULT_BAN_MS,
  DEFAULT_MUTE_MS,
  durationWords,
  isAddress,
  looksLikeAddress,
  looksLikeDuration,
  MAX_DURATION_MS,
  MAX_RESTRICTIONS,
  parseDuration,
  plainAddress,
  type Restriction,
  Restrictions,
  untilNote,
  untilWords,
} from "./moderation.ts";
import { LEAK_CHECKS } from "../test/test_helpers.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A ban as an operator would set it: on a name, an address or both. */
function restriction(fields: Partial<Restriction>): Restriction {
  return { name: null, address: null, until: null, by: "alice", reason: "", ...fields };
}

Deno.test("durations are counted in seconds, minutes, hours, days and weeks, in either case", () => {
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("30m"), 30 * MINUTE);
  assert.equal(parseDuration("2h"), 2 * HOUR);
  assert.equal(parseDuration("7d"), 7 * DAY);
  assert.equal(parseDuration("2w"), 14 * DAY);
  assert.equal(parseDuration("2H"), 2 * HOUR);
  assert.equal(parseDuration("007d"), 7 * DAY);
  assert.equal(parseDuration("forever"), null);
  assert.equal(parseDuration("FOREVER"), null);
  assert.equal(DEFAULT_BAN_MS, HOUR);
  assert.equal(DEFAULT_MUTE_MS, 10 * MINUTE);
});

Deno.test("a duration is at least a second and at most 365 days; anything else is none", () => {
  assert.equal(parseDuration("1s"), 1000);
  assert.equal(parseDuration("365d"), MAX_DURATION_MS);
  assert.equal(parseDuration("52w"), 52 * 7 * DAY);
  for (const word of ["0s", "0m", "0d", "366d", "53w", "8761h", "525601m", "999999999w"]) {
    assert.equal(parseDuration(word), undefined, word);
  }
  for (
    const word of ["", "h", "90x", "1.5h", "-1h", "+1h", " 1h", "1h ", "1 h", "1hh", "1000000000s"]
  ) {
    assert.equal(parseDuration(word), undefined, JSON.stringify(word));
  }
});

Deno.test("a word that starts with a digit is meant as a duration, valid or not; others are a reason", () => {
  for (
    const word of ["30m", "90x", "3", "366d", "forever", "Forever", "1h30m", "1.5h", "-1h", "+2h"]
  ) {
    assert.ok(looksLikeDuration(word), word);
  }
  for (const word of ["spam", "x1", "for", "-", "-x", "h2", ""]) {
    assert.ok(!looksLikeDuration(word), JSON.stringify(word));
  }
});

Deno.test("notices say a duration in the largest unit that divides it", () => {
  assert.equal(durationWords(null), "forever");
  assert.equal(durationWords(HOUR), "for 1h");
  assert.equal(durationWords(90 * MINUTE), "for 90m");
  assert.equal(durationWords(10 * MINUTE), "for 10m");
  assert.equal(durationWords(DAY), "for 1d");
  assert.equal(durationWords(7 * DAY), "for 7d");
  assert.equal(durationWords(14 * DAY), "for 14d");
  assert.equal(durationWords(MAX_DURATION_MS), "for 365d");
  assert.equal(durationWords(30_000), "for 30s");
  assert.equal(durationWords(90_000), "for 90s");
  assert.equal(durationWords(1500), "for 2s");
});

Deno.test("an end within 20 hours is a time of day, a later one has its date, and forever is forever", () => {
  const now = new Date(2026, 11, 2, 14, 30).getTime();
  assert.equal(untilWords(null, now), "forever");
  assert.equal(untilWords(now + 10 * MINUTE, now), "14:40");
  assert.equal(untilWords(new Date(2026, 11, 2, 9, 5).getTime(), now), "09:05");
  // Past midnight but within 20 hours: still the time alone.
  assert.equal(untilWords(now + 19 * HOUR, now), "09:30");
  assert.equal(untilWords(now + 20 * HOUR, now), "2026-12-03 10:30");
  assert.equal(untilWords(now + 7 * DAY, now), "2026-12-09 14:30");
  assert.equal(untilWords(new Date(2027, 0, 5, 3, 7).getTime(), now), "2027-01-05 03:07");
  assert.equal(untilNote(null, now), "(forever)");
  assert.equal(untilNote(now + HOUR, now), "(until 15:30)");
  assert.equal(untilNote(now + 2 * DAY, now), "(until 2026-12-04 14:30)");
});

Deno.test("an IPv4 address mapped into IPv6 compares as the IPv4 one; others are lower-cased", () => {
  assert.equal(plainAddress("::ffff:1.2.3.4"), "1.2.3.4");
  assert.equal(plainAddress("1.2.3.4"), "1.2.3.4");
  assert.equal(plainAddress("2001:DB8::1"), "2001:db8::1");
  assert.equal(plainAddress("bob"), "bob");
  assert.ok(isAddress("1.2.3.4") && isAddress("::1") && isAddress("2001:db8::1"));
  assert.ok(!isAddress("bob") && !isAddress("1.2.3") && !isAddress("") && !isAddress("01.2.3.4"));
});

Deno.test({
  name: "a word with three dots and only digits, or with a colon, is written like an address",
  ...LEAK_CHECKS,
  fn() {
    for (
      const word of ["999.999.999.999", "1.2.3.4", "1.2.3.4.5", "1..2.3", "::1", "2001:db8::zz"]
    ) {
      assert.ok(looksLikeAddress(word), word);
    }
    for (const word of ["bob", "1.2.3", "v1.2.3.4", "3.14", "1234", "bob.smith"]) {
      assert.ok(!looksLikeAddress(word), word);
    }
  },
});

Deno.test("a ban is found under its name, names that count as the same, and its address", () => {
  const bans = new Restrictions();
  assert.ok(bans.add(restriction({ name: "bob", address: "203.0.113.5", reason: "spam" })));
  assert.equal(bans.find("bob", null, 0)?.reason, "spam");
  assert.equal(bans.find("BOB", null, 0)?.name, "bob", "case alone");
  assert.equal(bans.find("b\u043eb", null, 0)?.name, "bob", "a Cyrillic o");
  assert.equal(bans.find("b0b", null, 0), undefined, "a zero is not an o");
  assert.equal(bans.find("carol", null, 0), undefined);
  assert.equal(bans.find("carol", "203.0.113.5", 0)?.name, "bob", "its address, another name");
  assert.equal(bans.find(null, "::ffff:203.0.113.5", 0)?.name, "bob", "mapped into IPv6");
  assert.equal(bans.find("carol", "203.0.113.6", 0), undefined);
  assert.equal(bans.size, 1);
});

Deno.test("loopback addresses are never kept: an address alone is not added, a name keeps its own", () => {
  const bans = new Restrictions();
  for (const address of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
    assert.ok(bans.add(restriction({ address })), address);
  }
  assert.equal(bans.size, 0);
  bans.add(restriction({ name: "bob", address: "127.0.0.1" }));
  assert.equal(bans.size, 1);
  assert.equal(bans.list(0)[0]?.address, null);
  assert.equal(bans.find("carol", "127.0.0.1", 0), undefined, "another loopback member");
  assert.equal(bans.find("bob", "127.0.0.1", 0)?.name, "bob");
});

Deno.test("a new ban on the same name, or the same address alone, replaces the old one", () => {
  const bans = new Restrictions();
  bans.add(restriction({ name: "bob", until: HOUR }));
  bans.add(restriction({ name: "BOB", until: null, reason: "again" }));
  assert.equal(bans.size, 1);
  assert.deepEqual(bans.find("bob", null, 0), restriction({ name: "BOB", reason: "again" }));
  bans.add(restriction({ address: "198.51.100.7", until: HOUR }));
  bans.add(restriction({ address: "::ffff:198.51.100.7", until: 2 * HOUR }));
  assert.equal(bans.size, 2);
  assert.equal(bans.find(null, "198.51.100.7", 0)?.until, 2 * HOUR);
});

Deno.test("the caller's object is not kept: changing it later changes no ban", () => {
  const bans = new Restrictions();
  const ban = restriction({ name: "bob", address: "::ffff:203.0.113.5" });
  bans.add(ban);
  ban.name = "carol";
  assert.equal(ban.address, "::ffff:203.0.113.5");
  assert.deepEqual(bans.list(0), [restriction({ name: "bob", address: "203.0.113.5" })]);
});

Deno.test("a ban ends at its time: it is dropped when next looked at, by find or by list", () => {
  const bans = new Restrictions();
  bans.add(restriction({ name: "bob", until: 1000 }));
  bans.add(restriction({ name: "carol", until: 2000 }));
  bans.add(restriction({ name: "dave", until: null }));
  assert.equal(bans.find("bob", null, 999)?.name, "bob");
  assert.equal(bans.find("bob", null, 1000), undefined);
  assert.equal(bans.size, 2);
  assert.equal(bans.find("dave", null, 1e15)?.name, "dave", "forever");
  assert.deepEqual(bans.list(2000).map((ban) => ban.name), ["dave"]);
  assert.equal(bans.size, 1);
  assert.equal(bans.remove("carol", 2000), undefined, "an ended ban cannot be lifted");
});

Deno.test(`no more than ${MAX_RESTRICTIONS} at once: one more is refused, a replacement is not`, () => {
  const bans = new Restrictions();
  for (let i = 0; i < MAX_RESTRICTIONS; i++) {
    assert.ok(bans.add(restriction({ address: `10.0.${i >> 8}.${i & 255}` })), String(i));
  }
  assert.equal(bans.size, MAX_RESTRICTIONS);
  assert.equal(bans.add(restriction({ name: "bob" })), false);
  assert.equal(bans.find("bob", null, 0), undefined);
  assert.ok(bans.add(restriction({ address: "10.0.0.0", reason: "again" })), "replaces one");
  assert.equal(bans.find(null, "10.0.0.0", 0)?.reason, "again");
  assert.equal(bans.size, MAX_RESTRICTIONS);
  bans.remove("10.0.0.1", 0);
  assert.ok(bans.add(restriction({ name: "bob" })), "room for one once one is lifted");
});

Deno.test("a ban is lifted by its name (or one that counts as the same) or by its address", () => {
  const bans = new Restrictions();
  bans.add(restriction({ name: "bob", address: "203.0.113.5" }));
  bans.add(restriction({ name: "carol", address: "2001:db8::7" }));
  bans.add(restriction({ address: "198.51.100.7" }));
  assert.equal(bans.remove("nobody", 0), undefined);
  assert.equal(bans.remove("203.0.113.9", 0), undefined);
  assert.equal(bans.remove("BOB", 0)?.name, "bob");
  assert.equal(bans.find(null, "203.0.113.5", 0), undefined, "its address is free too");
  assert.equal(bans.remove("2001:DB8::7", 0)?.name, "carol");
  assert.equal(bans.find("carol", null, 0), undefined, "its name is free too");
  assert.equal(bans.remove("::ffff:198.51.100.7", 0)?.address, "198.51.100.7");
  assert.equal(bans.size, 0);
});

Deno.test("the list is soonest to end first, forever last", () => {
  const bans = new Restrictions();
  bans.add(restriction({ name: "forever1" }));
  bans.add(restriction({ name: "late", until: 3000 }));
  bans.add(restriction({ name: "soon", until: 1000 }));
  bans.add(restriction({ name: "forever2" }));
  bans.add(restriction({ name: "middle", until: 2000 }));
  assert.deepEqual(
    bans.list(0).map((ban) => ban.name),
    ["soon", "middle", "late", "forever1", "forever2"],
  );
  assert.deepEqual(bans.list(1500).map((ban) => ban.name), [
    "middle",
    "late",
    "forever1",
    "forever2",
  ]);
});

Deno.test("onChange hears every change with the whole list, and nothing else", () => {
  const bans = new Restrictions();
  const heard: string[][] = [];
  bans.onChange = (list) => heard.push(list.map((ban) => ban.name ?? ban.address ?? ""));
  bans.add(restriction({ name: "bob", until: 1000 }));
  bans.add(restriction({ name: "carol" }));
  assert.deepEqual(heard, [["bob"], ["bob", "carol"]]);
  bans.find("bob", null, 0);
  bans.find("nobody", "203.0.113.5", 0);
  bans.list(0);
  bans.remove("nobody", 0);
  assert.equal(heard.length, 2, "looking changes nothing");
  bans.find("bob", null, 1000);
  assert.deepEqual(heard.at(-1), ["carol"], "an ended one dropped by find");
  bans.add(restriction({ name: "dave", until: 1000 }));
  bans.list(1000);
  assert.deepEqual(heard.at(-1), ["carol"], "an ended one dropped by list");
  bans.remove("carol", 1000);
  assert.deepEqual(heard.at(-1), []);
  assert.equal(heard.length, 6);
});

Deno.test("ended bans do not count against the cap: a new one is kept when only ended ones fill it", () => {
  const bans = new Restrictions();
  for (let i = 0; i < MAX_RESTRICTIONS; i++) {
    bans.add(restriction({ address: `10.0.${i >> 8}.${i & 255}`, until: 1000 }));
  }
  assert.ok(
    bans.add(restriction({ name: "bob", until: null }), 1000),
    "only ended ones were there",
  );
  assert.equal(bans.find("bob", null, 1000)?.name, "bob");
  assert.deepEqual(bans.list(1000).map((ban) => ban.name), ["bob"]);
});

Deno.test("an address compares the same however it is written: case, zeros, IPv4 mapped in hex", () => {
  assert.equal(plainAddress("::FFFF:1.2.3.4"), "1.2.3.4");
  assert.equal(plainAddress("::ffff:cb00:7105"), "203.0.113.5");
  assert.equal(plainAddress("0:0:0:0:0:ffff:203.0.113.5"), "203.0.113.5");
  assert.equal(plainAddress("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
  assert.equal(plainAddress("0:0:0:0:0:0:0:1"), "::1");
  assert.equal(plainAddress("::ffff:ffff"), "::ffff:ffff", "not a mapped one: one group short");
  assert.equal(plainAddress("fe80::1%eth0"), "fe80::1%eth0", "a zone is left as it is");
  const bans = new Restrictions();
  bans.add(restriction({ name: "bob", address: "2001:DB8:0:0::1" }));
  assert.equal(bans.find("carol", "2001:db8::1", 0)?.name, "bob");
  assert.equal(bans.list(0)[0]?.address, "2001:db8::1");
  assert.equal(bans.remove("2001:db8:0::1", 0)?.name, "bob");
  for (const address of ["0:0:0:0:0:0:0:1", "::FFFF:127.0.0.1", "::ffff:7f00:1"]) {
    assert.ok(bans.add(restriction({ address })), address);
    assert.equal(bans.size, 0, `${address} is loopback`);
  }
});

Deno.test("names banned from one address are bans of their own: one replaced or lifted leaves the others", () => {
  const mutes = new Restrictions();
  mutes.add(restriction({ name: "carol", address: "203.0.113.5", until: null }));
  // Bob shares carol's address (one house, one NAT): his mute is his own.
  mutes.add(restriction({ name: "bob", address: "203.0.113.5", until: 10 * MINUTE }));
  assert.equal(mutes.size, 2);
  assert.equal(mutes.find("carol", null, 0)?.until, null, "carol's stays forever");
  assert.equal(mutes.find("dave", "203.0.113.5", 20 * MINUTE)?.name, "carol", "past bob's end");
  mutes.add(restriction({ name: "bob", address: "203.0.113.5", until: 10 * MINUTE }));
  assert.equal(mutes.remove("bob", 0)?.name, "bob");
  assert.equal(mutes.find("carol", null, 0)?.name, "carol", "lifting bob's left carol's");
  assert.equal(mutes.find("dave", "203.0.113.5", 0)?.name, "carol", "and her address");
  // A ban on the address alone is another again; it lifts no name.
  mutes.add(restriction({ address: "::ffff:203.0.113.5", reason: "the address" }));
  assert.equal(mutes.size, 2);
  assert.equal(mutes.find("carol", null, 0)?.name, "carol");
  // Lifting by the address lifts one at a time.
  const lifted = [mutes.remove("203.0.113.5", 0), mutes.remove("203.0.113.5", 0)];
  assert.deepEqual(lifted.map((mute) => mute?.name ?? mute?.reason).sort(), [
    "carol",
    "the address",
  ]);
  assert.equal(mutes.remove("203.0.113.5", 0), undefined);
  assert.equal(mutes.size, 0);
});

Deno.test("a name that reads as an address is lifted by it too, once no ban on the address is left", () => {
  const bans = new Restrictions();
  bans.add(restriction({ name: "127.0.0.1" }));
  bans.add(restriction({ name: "10.0.0.1" }));
  bans.add(restriction({ address: "10.0.0.1" }));
  assert.equal(bans.remove("127.0.0.1", 0)?.name, "127.0.0.1");
  assert.equal(bans.remove("10.0.0.1", 0)?.address, "10.0.0.1", "the address first");
  assert.equal(bans.remove("10.0.0.1", 0)?.name, "10.0.0.1", "then the name");
  assert.equal(bans.size, 0);
});
