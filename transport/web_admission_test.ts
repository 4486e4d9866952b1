import assert from "node:assert/strict";
import { Admission } from "./web_admission.ts";

Deno.test("an address gets maxPerIp requests, then as many refusals, then is closed unanswered", () => {
  const log: string[] = [];
  const admission = new Admission({ maxPerIp: 2, log: (event) => log.push(event) });
  const requests = [admission.admit("192.0.2.1"), admission.admit("192.0.2.1")];
  assert.ok(requests.every((ticket) => ticket?.refusal === null));
  const refusals = [admission.admit("192.0.2.1"), admission.admit("192.0.2.1")];
  assert.ok(refusals.every((ticket) => ticket?.refusal?.status === 429));
  assert.equal(admission.admit("192.0.2.1"), null);
  assert.equal(admission.admit("192.0.2.1"), null);
  assert.deepEqual(log, [
    "192.0.2.1 refused: too many requests under way from this address; " +
    "closing its further connections unanswered",
  ]);
  assert.equal(admission.admit("192.0.2.2")?.refusal, null, "another address is let in");
  admission.release(refusals[0]!);
  assert.equal(admission.admit("192.0.2.1")?.refusal?.status, 429, "a refusal's room came back");
  admission.release(requests[0]!);
  admission.release(requests[0]!);
  assert.equal(admission.admit("192.0.2.1")?.refusal, null, "released once, however often asked");
  assert.equal(admission.admit("192.0.2.1"), null, "its refusals are full again");
});

Deno.test("past maxPending everyone is refused with 503, loopback too, until one is released", () => {
  const admission = new Admission({ maxPending: 2 });
  const first = admission.admit("127.0.0.1");
  admission.admit("192.0.2.1");
  assert.equal(admission.admit("127.0.0.1")?.refusal?.status, 503);
  assert.equal(admission.admit("192.0.2.3")?.refusal?.status, 503);
  admission.release(first!);
  assert.equal(admission.admit("192.0.2.3")?.refusal, null);
});

Deno.test("loopback is exempt from maxPerIp unless limitLoopback", () => {
  const exempt = new Admission({ maxPerIp: 1 });
  assert.equal(exempt.admit("127.0.0.1")?.refusal, null);
  assert.equal(exempt.admit("127.0.0.1")?.refusal, null);
  const held = new Admission({ maxPerIp: 1, limitLoopback: true });
  assert.equal(held.admit("::1")?.refusal, null);
  assert.equal(held.admit("::1")?.refusal?.status, 429);
});

Deno.test("limits that are not whole numbers of at least 1 are refused by name", () => {
  assert.throws(() => new Admission({ maxPending: 0 }), /Invalid maxPending/);
  assert.throws(() => new Admission({ maxPerIp: 1.5 }), /Invalid maxPerIp/);
});
