/**
 * What a shared file is, judged without trusting its sender: a picture is
 * recognised by its first bytes ({@linkcode pictureType}), never by its name
 * or the `Content-Type` it came with; its name keeps the nickname rules'
 * spirit ({@linkcode cleanFileName}); and sizes read as people write them
 * ({@linkcode sizeText}).
 *
 * @module
 */

/** The longest file name kept, in characters. */
export const MAX_FILE_NAME_LENGTH = 100;

/** The picture types shown in place, by the bytes each starts with. */
const PICTURES: readonly { type: string; matches: (bytes: Uint8Array) => boolean }[] = [
  {
    type: "image/png",
    matches: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  },
  { type: "image/jpeg", matches: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  {
    type: "image/gif",
    matches: (b) =>
      startsWith(b, [0x47, 0x49, 0x46, 0x38, 0x37, 0x61]) ||
      startsWith(b, [0x47, 0x49, 0x46, 0x38, 0x39, 0x61]),
  },
  {
    type: "image/webp",
    matches: (b) =>
      startsWith(b, [0x52, 0x49, 0x46, 0x46]) && b.length >= 12 &&
      startsWith(b.subarray(8), [0x57, 0x45, 0x42, 0x50]),
  },
];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  return prefix.every((byte, i) => bytes[i] === byte);
}

/**
 * The picture type (`image/png`, `image/jpeg`, `image/gif`, `image/webp`)
 * that a file's first bytes say it is, or null for anything else: SVG and
 * HTML are never pictures here, since a browser may run what they hold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(pictureType(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])), "image/jpeg");
 * assert.equal(pictureType(new TextEncoder().encode("<svg>")), null);
 * ```
 */
export function pictureType(bytes: Uint8Array): string | null {
  return PICTURES.find((picture) => picture.matches(bytes))?.type ?? null;
}

/** Control characters, bidi controls and other format characters: nothing a name should hold. */
const UNWANTED = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\u2028\u2029]/gu;

/**
 * A sender's file name made safe to show and to serve: no path (only what
 * follows the last `/` or `\`), no control, bidi or format characters, no
 * leading dots or spaces, at most {@linkcode MAX_FILE_NAME_LENGTH}
 * characters, and `file` when nothing is left.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(cleanFileName("../../etc/passwd"), "passwd");
 * assert.equal(cleanFileName("cat\u202Egnp.exe"), "catgnp.exe");
 * assert.equal(cleanFileName("\u0000"), "file");
 * ```
 */
export function cleanFileName(name: string): string {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const clean = base.normalize("NFC").replace(UNWANTED, "").replace(/\s+/gu, " ")
    .replace(/^[\s.]+/u, "").trim();
  const cut = Array.from(clean).slice(0, MAX_FILE_NAME_LENGTH).join("").trim();
  return cut === "" ? "file" : cut;
}

/**
 * A size as people write it: `512 bytes`, `120 KB`, `2 MB`, `1.5 GB`, in
 * powers of 1,000 (kilo is a thousand), one decimal below ten.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(sizeText(120_000), "120 KB");
 * assert.equal(sizeText(2_400_000), "2.4 MB");
 * ```
 */
export function sizeText(bytes: number): string {
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const shown = value < 9.95 ? value.toFixed(1).replace(/\.0$/, "") : String(Math.round(value));
  return `${shown} ${units[unit]}`;
}

/**
 * A limit as the server states it, in powers of 1,024: `10 MiB`, `256 MiB`,
 * `512 KiB`, as the flags take it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(limitText(10 * 1024 * 1024), "10 MiB");
 * ```
 */
export function limitText(bytes: number): string {
  const units: [string, number][] = [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]];
  for (const [unit, size] of units) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}
