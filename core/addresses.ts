/**
 * What the core knows of IP addresses as text: whether a word is one, of
 * which version, and whether it is loopback. It reads the forms `node:net`'s
 * `isIP` accepts (no leading zeros in IPv4, an IPv6 zone after `%`), so that
 * the core needs no socket module to tell a name from an address.
 *
 * @module
 */

/** A part of an IPv4 address: 0 to 255, without leading zeros. */
const IPV4_PART = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;

/** A group of an IPv6 address: one to four hex digits. */
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** What may follow `%` in an IPv6 address: the zone (`fe80::1%eth0`). */
const ZONE = /^[0-9a-zA-Z.:-]+$/;

/** Whether `text` is a dotted IPv4 address: four parts from 0 to 255. */
function isIPv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => IPV4_PART.test(part));
}

/**
 * Whether `text` is an IPv6 address: eight groups, or fewer around one `::`
 * that stands for at least one; the last two may be written as IPv4; a zone
 * may follow `%`.
 */
function isIPv6(text: string): boolean {
  const percent = text.indexOf("%");
  if (percent !== -1 && !ZONE.test(text.slice(percent + 1))) return false;
  const address = percent === -1 ? text : text.slice(0, percent);
  const halves = address.split("::");
  if (halves.length > 2) return false;
  let groups = 0;
  for (const [h, half] of halves.entries()) {
    if (half === "") continue;
    const words = half.split(":");
    for (const [w, word] of words.entries()) {
      // IPv4 only as the address's last two groups.
      const last = h === halves.length - 1 && w === words.length - 1;
      if (last && word.includes(".")) {
        if (!isIPv4(word)) return false;
        groups += 2;
      } else if (IPV6_GROUP.test(word)) {
        groups += 1;
      } else {
        return false;
      }
    }
  }
  return halves.length === 2 ? groups <= 7 : groups === 8;
}

/**
 * 4 for an IPv4 address, 6 for an IPv6 one, 0 for anything else, as
 * `node:net`'s `isIP` says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipVersion } from "./addresses.ts";
 * assert.equal(ipVersion("192.0.2.1"), 4);
 * assert.equal(ipVersion("::ffff:192.0.2.1"), 6);
 * assert.equal(ipVersion("alice"), 0);
 * ```
 */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (isIPv4(text)) return 4;
  return text.includes(":") && isIPv6(text) ? 6 : 0;
}

/** Whether `ip` is a loopback address (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
export function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1" || ip.startsWith("::ffff:127.");
}
