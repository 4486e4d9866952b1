import assert from "node:assert/strict";
import { parseServerArgs } from "./server_cli.ts";
import { LEAK_CHECKS, runServerToExit } from "../test/test_helpers.ts";

Deno.test("server flags are checked and name the bad one", () => {
  assert.deepEqual(parseServerArgs(["--port", "0", "--max-clients", "5"]).options.maxClients, 5);
  assert.equal(parseServerArgs(["--name-timeout", "1.5"]).options.nameTimeoutMs, 1500);
  assert.equal(parseServerArgs(["--rate", "2.5"]).options.rate, 2.5);
  assert.equal(parseServerArgs([]).options.limitLoopback, false);
  assert.equal(parseServerArgs(["--trust-loopback", "false"]).options.limitLoopback, true);
  assert.equal(parseServerArgs(["--trust-loopback", "true"]).options.limitLoopback, false);
  assert.throws(() => parseServerArgs(["--trust-loopback", "no"]), /--trust-loopback/);
  assert.throws(() => parseServerArgs(["--cert", "a.pem"]), /--cert and --key/);
  assert.throws(() => parseServerArgs(["--history", "-1"]), /--history/);
  assert.throws(() => parseServerArgs(["--port", "70000"]), /--port/);
  assert.throws(() => parseServerArgs(["--max-clients", "0"]), /--max-clients/);
  assert.throws(() => parseServerArgs(["--max-line-bytes", "abc"]), /--max-line-bytes/);
  assert.throws(() => parseServerArgs(["--name-timeout", "-1"]), /--name-timeout/);
  assert.throws(() => parseServerArgs(["--bogus"]), /bogus/);
});

Deno.test({
  name: "a server given an unreadable password file says which file and exits 2",
  ...LEAK_CHECKS,
  async fn() {
    const run = await runServerToExit(["--password-file", "test/testdata/none"], [
      "--allow-net",
      "--allow-read",
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^Cannot read password file test\/testdata\/none: /);
  },
});

Deno.test({
  name: "a server given a certificate or key it cannot use says what is wrong and exits 2",
  ...LEAK_CHECKS,
  async fn() {
    const cases: [string, string, RegExp][] = [
      [
        "test/testdata/password.txt",
        "test/testdata/localhost.key",
        /^Invalid TLS certificate: not a PEM /,
      ],
      [
        "test/testdata/localhost.crt",
        "test/testdata/password.txt",
        /^Invalid TLS key: not a PEM private key/,
      ],
      [
        "test/testdata/ca.crt",
        "test/testdata/localhost.key",
        /^Invalid TLS key: it does not belong to /,
      ],
    ];
    for (const [cert, key, message] of cases) {
      const run = await runServerToExit(["--cert", cert, "--key", key], [
        "--allow-net",
        "--allow-read",
      ]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trimEnd().split("\n").length, 1, run.stderr);
    }
  },
});
