import assert from "node:assert/strict";
import { ChatClient, ConnectError, parseClientArgs, parsePort, printable } from "./client.ts";
import {
  LEAK_CHECKS,
  Peer,
  runClient,
  startServer,
  WAIT_MS,
  withDeadline,
} from "./test_helpers.ts";

/** A port on 127.0.0.1 where nothing listens (bound, read back, released). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/**
 * A listener that never accepts, with its backlog filled, so that the next
 * connect gets no answer at all: a local stand-in for a host that is down.
 */
async function silentListener(): Promise<{ port: number; [Symbol.asyncDispose](): Promise<void> }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const fillers: Deno.Conn[] = [];
  for (let i = 0; i < 10_000; i++) {
    try {
      fillers.push(
        await Deno.connect({ hostname: "127.0.0.1", port, signal: AbortSignal.timeout(200) }),
      );
    } catch {
      break; // The backlog is full: this connect got no answer.
    }
  }
  return {
    port,
    [Symbol.asyncDispose]() {
      for (const conn of fillers) conn.close();
      listener.close();
      return Promise.resolve();
    },
  };
}

Deno.test({
  name: "piped input is delivered whole before the client quits, and it exits 0",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer(["--quiet"]);
    try {
      await using watcher = await Peer.join(server.port, "watcher");
      const run = await runClient(["127.0.0.1", String(server.port)], "alice\nhi\nsecond line\n");
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /nickname/);
      assert.match(run.stdout, /^Welcome, alice! Type <quit> to leave\.$/m);
      assert.match(run.stdout, /^alice: hi\nalice: second line\n\* Goodbye, alice!$/m);
      assert.equal(run.stderr, "");
      await watcher.expect("* alice joined the chat");
      await watcher.expect("alice: hi");
      await watcher.expect("alice: second line");
      await watcher.expect("* alice left the chat");
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "--name answers the nickname question and each quit word stops sending",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer(["--quiet"]);
    try {
      await using watcher = await Peer.join(server.port, "watcher");
      for (const word of ["<quit>", "/quit", "{quit}"]) {
        const run = await runClient(
          ["127.0.0.1", String(server.port), "--name", "bob"],
          `hello\n${word}\nnot sent\n`,
        );
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /^Welcome, bob!/m);
        assert.doesNotMatch(run.stdout, /not sent/);
        await watcher.expect("* bob joined the chat");
        await watcher.expect("bob: hello");
        await watcher.expect("* bob left the chat");
      }
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "Ctrl+C sends <quit> and exits 0",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer(["--quiet"]);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "client.ts",
        "127.0.0.1",
        String(server.port),
        "--name",
        "carol",
      ],
      cwd: new URL(".", import.meta.url),
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      await using watcher = await Peer.join(server.port, "watcher");
      await watcher.expect("* carol joined the chat");
      child.kill("SIGINT");
      await watcher.expect("* carol left the chat");
      const { code } = await withDeadline(child.status, WAIT_MS, "the client to exit");
      assert.equal(code, 0);
    } finally {
      await child.stdin.close().catch(() => {});
      await child.stdout.cancel();
      await child.status;
      await server.stop();
    }
  },
});

Deno.test({
  name: "the server closing the connection prints one line on stderr and exits 1",
  ...LEAK_CHECKS,
  async fn() {
    // Any line-based server will do: this one says one line and hangs up.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = (async () => {
      const conn = await listener.accept();
      await conn.write(new TextEncoder().encode("hello from elsewhere\n"));
      conn.close();
    })();
    try {
      const run = await runClient(["127.0.0.1", String(listener.addr.port)], null);
      await serving;
      assert.equal(run.code, 1);
      assert.equal(run.stderr, "Connection closed by server.\n");
      assert.equal(run.stdout, "hello from elsewhere\n");
    } finally {
      listener.close();
    }
  },
});

Deno.test({
  name: "a server that hangs up while the user is still typing makes the client exit 1",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer(["--quiet", "--max-clients", "1"]);
    try {
      await using _holder = await Peer.join(server.port, "holder");
      const run = await runClient(["127.0.0.1", String(server.port)], null);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, "Connection closed by server.\n");
      assert.match(run.stdout, /^! Server is full \(1 users\)/);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "a refused connection names host, port and reason and exits 2",
  ...LEAK_CHECKS,
  async fn() {
    const port = freePort();
    const run = await runClient(["127.0.0.1", String(port)]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `Cannot connect to 127.0.0.1:${port}: connection refused\n`);
  },
});

Deno.test({
  name: "an unknown host exits 2 with one line",
  ...LEAK_CHECKS,
  async fn() {
    const run = await runClient(["no-such-host.invalid", "2003", "--timeout", "3"]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, "Cannot connect to no-such-host.invalid:2003: unknown host\n");
  },
});

Deno.test({
  name: "a peer that never answers times out after --timeout seconds and exits 2",
  ...LEAK_CHECKS,
  async fn() {
    await using silent = await silentListener();
    const started = Date.now();
    const run = await runClient(["127.0.0.1", String(silent.port), "--timeout", "1"]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr, `Cannot connect to 127.0.0.1:${silent.port}: timed out after 1 s\n`);
    assert.ok(Date.now() - started >= 900, "gave up before the timeout");
  },
});

Deno.test({
  name: "bad arguments print usage on stderr and exit 2; --help exits 0",
  ...LEAK_CHECKS,
  async fn() {
    for (
      const args of [
        ["127.0.0.1", "0"],
        ["127.0.0.1", "65536"],
        ["127.0.0.1", "abc"],
        ["--bogus"],
        ["--timeout", "0"],
      ]
    ) {
      const run = await runClient(args);
      assert.equal(run.code, 2, `${args}: ${run.stderr}`);
      assert.match(run.stderr, /Usage: deno run --allow-net client\.ts/);
      assert.equal(run.stdout, "");
    }
    const help = await runClient(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: deno run --allow-net client\.ts/);
  },
});

Deno.test({
  name: "with input that is not a terminal the client never prompts for host or port",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer(["--quiet"]);
    try {
      // HOST given, PORT missing: the default port is used, with no question asked.
      const run = await runClient(["127.0.0.1", "--timeout", "1"], "dave\n");
      assert.doesNotMatch(run.stdout, /Port \[/);
      assert.ok(
        run.code === 0 || run.stderr === "Cannot connect to 127.0.0.1:2003: connection refused\n",
        run.stderr,
      );
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "ChatClient drives a session in-process: lines, send, quit",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer(["--quiet"]);
    try {
      await using watcher = await Peer.join(server.port, "watcher");
      const client = await ChatClient.connect({ hostname: "127.0.0.1", port: server.port });
      const lines: string[] = [];
      const reading = (async () => {
        for await (const line of client.lines()) lines.push(line);
      })();
      await client.send("erin");
      await watcher.expect("* erin joined the chat");
      await client.send("hello");
      await watcher.expect("erin: hello");
      await client.quit();
      await reading;
      assert.deepEqual(lines.slice(1), [
        "Welcome, erin! Type <quit> to leave.",
        "erin: hello",
        "* Goodbye, erin!",
      ]);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "ChatClient.connect throws a ConnectError that names host, port and reason",
  ...LEAK_CHECKS,
  async fn() {
    const port = freePort();
    await assert.rejects(
      ChatClient.connect({ hostname: "127.0.0.1", port }),
      (error) =>
        error instanceof ConnectError &&
        error.message === `Cannot connect to 127.0.0.1:${port}: connection refused`,
    );
  },
});

Deno.test("printable removes terminal escapes and control characters but keeps tabs", () => {
  assert.equal(printable("\x1b[2Jhi\tthere\x07\x9b"), "[2Jhi\tthere");
});

Deno.test("client arguments: host, port, name and timeout are read and checked", () => {
  assert.deepEqual(parseClientArgs(["example.org", "2004", "--name", "zoe", "--timeout", "2.5"]), {
    hostname: "example.org",
    port: 2004,
    name: "zoe",
    timeoutMs: 2500,
    tls: false,
    caFile: undefined,
    reconnect: false,
    timestamps: false,
    serve: false,
    help: false,
  });
  assert.equal(parseClientArgs([]).timeoutMs, 5000);
  assert.throws(() => parsePort("0"), /Invalid port "0"/);
  assert.throws(() => parseClientArgs(["a", "1", "extra"]), /Unexpected argument: extra/);
});
