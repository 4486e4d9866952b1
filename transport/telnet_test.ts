import assert from "node:assert/strict";
import { TelnetFilter } from "./telnet.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("a stream without byte 255 passes through the telnet filter untouched", () => {
  const chunk = new TextEncoder().encode("hello\n");
  const filtered = new TelnetFilter().filter(chunk);
  assert.equal(filtered.data, chunk);
  assert.equal(filtered.reply, null);
  assert.equal(filtered.interrupted, false);
});

Deno.test("telnet commands cut across chunks are taken out whole, and IAC IAC is a data byte", () => {
  const filter = new TelnetFilter();
  const first = filter.filter(bytes(97, 255));
  assert.deepEqual([...first.data], [97]);
  assert.equal(filter.midCommand, true);
  // The rest of that command (NOP), a subnegotiation with an escaped 255 inside, and data.
  const second = filter.filter(bytes(241, 255, 250, 24, 255, 255, 0, 255, 240, 98, 255, 255));
  assert.deepEqual([...second.data], [98, 255]);
  assert.equal(filter.midCommand, false);
});

Deno.test("telnet options are refused, a timing mark is answered, and nothing answers a refusal", () => {
  const { reply } = new TelnetFilter().filter(
    bytes(255, 253, 1, 255, 251, 3, 255, 253, 6, 255, 252, 1),
  );
  assert.deepEqual([...(reply as Uint8Array)], [255, 252, 1, 255, 254, 3, 255, 251, 6]);
});

Deno.test("Interrupt Process drops the data after it but still answers the negotiation", () => {
  const filtered = new TelnetFilter().filter(bytes(104, 105, 10, 255, 244, 120, 255, 253, 6));
  assert.deepEqual([...filtered.data], [104, 105, 10]);
  assert.equal(filtered.interrupted, true);
  assert.deepEqual([...(filtered.reply as Uint8Array)], [255, 251, 6]);
});

Deno.test("each telnet option is answered once per connection, however often it is asked", () => {
  const filter = new TelnetFilter();
  assert.equal(filter.needed, false);
  // DO ECHO and WILL SUPPRESS-GO-AHEAD, twice each in one chunk.
  const first = filter.filter(bytes(255, 253, 1, 255, 251, 3, 255, 253, 1, 255, 251, 3));
  assert.deepEqual([...(first.reply as Uint8Array)], [255, 252, 1, 255, 254, 3]);
  assert.equal(filter.needed, true);
  // Asked again in later chunks: no answer. A new option still gets one; DO and WILL are apart.
  const asks = new Uint8Array(3000).map((_, i) => [255, 251, 3][i % 3] as number);
  assert.equal(filter.filter(asks).reply, null);
  assert.deepEqual([...(filter.filter(bytes(255, 251, 1)).reply as Uint8Array)], [255, 254, 1]);
  assert.equal(filter.filter(bytes(255, 253, 1, 255, 251, 1)).reply, null);
});
