import assert from "node:assert/strict";
import { REPORT_EVERY_MS, WriteFailures } from "./write_failures.ts";
import { LEAK_CHECKS } from "../test/test_helpers.ts";

const FULL = "database or disk is full";

Deno.test({
  name: "the first failure is logged and alerted at once; more within the minute are only counted",
  ...LEAK_CHECKS,
  fn() {
    const failures = new WriteFailures("chat.db");
    assert.deepEqual(failures.failed(FULL, 1000), {
      log: "Cannot save to data file chat.db: database or disk is full (its last changes are lost)",
      alert: "Cannot write the data file chat.db: database or disk is full",
    });
    // The report's full disk: 403 batches in 23 s.
    for (let i = 1; i < 403; i++) {
      assert.deepEqual(failures.failed(FULL, 1000 + i * 57), { log: null, alert: null });
    }
    assert.ok(failures.failing);
  },
});

Deno.test({
  name: "a minute after the last line, the next failure logs how many failed since, and no alert",
  ...LEAK_CHECKS,
  fn() {
    const failures = new WriteFailures("chat.db");
    failures.failed(FULL, 0);
    for (let i = 1; i <= 402; i++) failures.failed(FULL, i * 100);
    assert.deepEqual(failures.failed("disk I/O error", REPORT_EVERY_MS + 500), {
      log: "Cannot save to data file chat.db: disk I/O error" +
        " (403 more writes failed in 61 s; their changes are lost)",
      alert: null,
    });
    // Counted afresh from that line.
    assert.equal(failures.failed(FULL, REPORT_EVERY_MS + 600).log, null);
    assert.equal(
      failures.failed(FULL, 2 * REPORT_EVERY_MS + 500).log,
      "Cannot save to data file chat.db: database or disk is full" +
        " (2 more writes failed in 60 s; their changes are lost)",
    );
  },
});

Deno.test({
  name: "writes working again are logged with the failures not yet logged, and alerted once",
  ...LEAK_CHECKS,
  fn() {
    const failures = new WriteFailures("chat.db");
    assert.deepEqual(failures.succeeded(0), { log: null, alert: null });
    failures.failed(FULL, 0);
    failures.failed(FULL, 10_000);
    assert.deepEqual(failures.succeeded(20_000), {
      log: "Data file chat.db is written again (1 more write failed in 20 s; its changes are lost)",
      alert: "The data file chat.db is written again",
    });
    assert.equal(failures.failing, false);
    assert.deepEqual(failures.succeeded(30_000), { log: null, alert: null });
    // One failure alone was logged already: the line back says no more.
    failures.failed(FULL, 40_000);
    assert.equal(failures.succeeded(41_000).log, "Data file chat.db is written again");
    assert.equal(failures.closing(42_000), null);
  },
});

Deno.test({
  name: "closing while writes fail logs the failures not yet logged",
  ...LEAK_CHECKS,
  fn() {
    const failures = new WriteFailures("chat.db");
    failures.failed(FULL, 0);
    assert.equal(failures.closing(1000), null);
    failures.failed(FULL, 1000);
    failures.failed(FULL, 2000);
    assert.equal(
      failures.closing(3000),
      "Cannot save to data file chat.db: database or disk is full" +
        " (2 more writes failed in 3 s; their changes are lost)",
    );
  },
});
