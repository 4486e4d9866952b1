import assert from "node:assert/strict";
import { cleanFileName, limitText, pictureType, sizeText } from "./file_kinds.ts";

Deno.test("a picture is known by its first bytes only; SVG, HTML and the rest are not pictures", () => {
  const bytes = (...list: number[]) => new Uint8Array(list);
  assert.equal(pictureType(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)), "image/png");
  assert.equal(pictureType(new TextEncoder().encode("GIF89a...")), "image/gif");
  assert.equal(pictureType(new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 ")), "image/webp");
  assert.equal(pictureType(new TextEncoder().encode("RIFF\0\0\0\0WAVEfmt ")), null);
  assert.equal(pictureType(new TextEncoder().encode("<html><script>")), null);
  assert.equal(pictureType(new TextEncoder().encode("<?xml version='1.0'?><svg/>")), null);
  assert.equal(pictureType(new Uint8Array()), null);
});

Deno.test("a file name loses its path, control and bidi characters, and its length past 100", () => {
  assert.equal(cleanFileName("C:\\Users\\bob\\cat.png"), "cat.png");
  assert.equal(cleanFileName("a\u0000b\u001bc\u200fd\u2066e.txt"), "abcde.txt");
  assert.equal(cleanFileName("...hidden"), "hidden");
  assert.equal(cleanFileName("  two   spaces  "), "two spaces");
  assert.equal(cleanFileName("é".normalize("NFD")), "é");
  assert.equal([...cleanFileName("x".repeat(300))].length, 100);
  assert.equal(cleanFileName("/"), "file");
});

Deno.test("sizes read in thousands as people write them; limits in the flags' binary units", () => {
  assert.deepEqual([0, 1, 999].map(sizeText), ["0 bytes", "1 byte", "999 bytes"]);
  assert.deepEqual([1000, 1500, 120_000, 999_999].map(sizeText), [
    "1 KB",
    "1.5 KB",
    "120 KB",
    "1 MB",
  ]);
  assert.equal(sizeText(10 * 1024 * 1024), "10 MB");
  assert.equal(limitText(10 * 1024 * 1024), "10 MiB");
  assert.equal(limitText(256 * 1024 * 1024), "256 MiB");
  assert.equal(limitText(1536), "1.5 KiB");
  assert.equal(limitText(100), "100 bytes");
});
