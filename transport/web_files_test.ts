import assert from "node:assert/strict";
import { ChunkedDecoder, parseRange } from "./web_files.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("a chunked body is undone whatever pieces it comes in, extensions and trailers dropped", () => {
  const body = encoder.encode("5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n");
  for (const size of [1, 2, 3, 7, body.length]) {
    const chunked = new ChunkedDecoder();
    let text = "";
    for (let at = 0; at < body.length; at += size) {
      for (const piece of chunked.push(body.subarray(at, at + size))) text += decoder.decode(piece);
    }
    assert.equal(text, "hello, world");
    assert.equal(chunked.ended, true);
  }
});

Deno.test("a malformed chunked body throws, and a size line cannot grow without end", () => {
  assert.throws(() => new ChunkedDecoder().push(encoder.encode("zz\r\n")), /not hex/);
  assert.throws(() => new ChunkedDecoder().push(encoder.encode("1\r\nab\r\n")), /no line end/);
  assert.throws(() => new ChunkedDecoder().push(new Uint8Array(2000).fill(0x31)), /too long/);
});

Deno.test("Range: one range within the file, a suffix, or none; past the end is unsatisfiable", () => {
  assert.deepEqual(parseRange(undefined, 10), null);
  assert.deepEqual(parseRange("bytes=2-4", 10), [2, 4]);
  assert.deepEqual(parseRange("bytes=2-", 10), [2, 9]);
  assert.deepEqual(parseRange("bytes=-3", 10), [7, 9]);
  assert.deepEqual(parseRange("bytes=5-99", 10), [5, 9]);
  assert.equal(parseRange("bytes=10-", 10), "unsatisfiable");
  assert.equal(parseRange("bytes=4-2", 10), "unsatisfiable");
  // Several ranges, or another unit: the whole file.
  assert.equal(parseRange("bytes=0-1,3-4", 10), null);
  assert.equal(parseRange("items=0-1", 10), null);
});
