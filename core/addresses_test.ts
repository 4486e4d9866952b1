import assert from "node:assert/strict";
import { isIP } from "node:net";
import { ipVersion } from "./addresses.ts";

/** Addresses and near misses, each of which `node:net` has an answer for. */
const WORDS = [
  "",
  "alice",
  "0.0.0.0",
  "1.2.3.4",
  "255.255.255.255",
  "256.1.1.1",
  "01.2.3.4",
  "1.2.3",
  "1.2.3.4.5",
  "1.2.3.",
  ".1.2.3",
  "1..2.3",
  "999.999.999.999",
  "10.0.0.1.2",
  "1.2.3.4:80",
  "::",
  "::1",
  "1::",
  "1::8",
  "1:2:3:4:5:6:7:8",
  "1:2:3:4:5:6:7::",
  "::2:3:4:5:6:7:8",
  "1:2:3:4:5:6:7:8:9",
  "1:2:3:4:5:6:7:8::",
  "::1:2:3:4:5:6:7:8",
  "1:2:3:4:5:6:7",
  ":::",
  "1:::2",
  ":1:2:3:4:5:6:7:8",
  "1:2:3:4:5:6:7:8:",
  "1::2::3",
  "2001:DB8:0::1",
  "2001:db8::zz",
  "12345::1",
  "::ffff:1.2.3.4",
  "::FFFF:102:304",
  "::ffff:01.2.3.4",
  "1:2:3:4:5:6:1.2.3.4",
  "1:2:3:4:5:6:7:1.2.3.4",
  "1:2:3:4:5::1.2.3.4",
  "1:2:3:4:5:6::1.2.3.4",
  "1.2.3.4::1",
  "::1.2.3.4:1",
  "fe80::1%eth0",
  "fe80::1%",
  "fe80::1%eth0/1",
  "fe80::1%a.b:c-d",
  "1.2.3.4%eth0",
  "::ffff:127.0.0.1",
  "2001:db8::",
  "g::1",
  "1:2:3:4:5:6:7:8%1",
];

Deno.test("an address's version is what node:net's isIP says, on addresses and near misses", () => {
  for (const word of WORDS) assert.equal(ipVersion(word), isIP(word), JSON.stringify(word));
});

Deno.test("an address's version is what node:net's isIP says, on random words made of its parts", () => {
  // Pieces of addresses, so that many words are addresses or nearly.
  const pieces = ["1", "ab", "ffff", "F0a", "12345", "0", "00", "256", ":", ":", "::", ".", "%e0"];
  const quads = ["1.2.3.4", "255.0.0.1", "1.2.3.04"];
  let seed = 20;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = (list: string[]) => list[Math.floor(random() * list.length)] as string;
  for (let i = 0; i < 50_000; i++) {
    const length = Math.floor(random() * 18);
    let word = "";
    for (let j = 0; j < length; j++) word += random() < 0.05 ? pick(quads) : pick(pieces);
    assert.equal(ipVersion(word), isIP(word), JSON.stringify(word));
  }
});
