import assert from "node:assert/strict";
import {
  ChatClient,
  ConnectError,
  formatLine,
  parseClientArgs,
  parsePort,
  printable,
  reconnectDelay,
} from "./client.ts";
import {
  LEAK_CHECKS,
  Peer,
  runClient,
  spawnClient,
  startServer,
  WAIT_MS,
  withDeadline,
  withServer,
} from "./test/test_helpers.ts";
import { readLines } from "./protocol.ts";

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
  fn: () =>
    withServer([], async (port) => {
      await using watcher = await Peer.join(port, "watcher");
      const run = await runClient(["127.0.0.1", String(port)], "alice\nhi\nsecond line\n");
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /nickname/);
      assert.match(run.stdout, /^Welcome, alice! Type <quit> to leave\.$/m);
      assert.match(run.stdout, /^alice: hi\nalice: second line\n\* Goodbye, alice!$/m);
      assert.equal(run.stderr, "");
      await watcher.expect("* alice joined the chat");
      await watcher.expect("alice: hi");
      await watcher.expect("alice: second line");
      await watcher.expect("* alice left the chat");
    }),
});

Deno.test({
  name: "--name answers the nickname question and each quit word stops sending",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using watcher = await Peer.join(port, "watcher");
      for (const word of ["<quit>", "/quit", "{quit}"]) {
        const run = await runClient(
          ["127.0.0.1", String(port), "--name", "bob"],
          `hello\n${word}\nnot sent\n`,
        );
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /^Welcome, bob!/m);
        assert.doesNotMatch(run.stdout, /not sent/);
        await watcher.expect("* bob joined the chat");
        await watcher.expect("bob: hello");
        await watcher.expect("* bob left the chat");
      }
    }),
});

Deno.test({
  name: "Ctrl+C sends <quit> and exits 0",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using client = spawnClient(["127.0.0.1", String(port), "--name", "carol"]);
      await using watcher = await Peer.join(port, "watcher");
      await watcher.readUntil("* carol joined the chat");
      client.child.kill("SIGINT");
      await watcher.expect("* carol left the chat");
      assert.equal(await client.exitCode(), 0);
    }),
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
  fn: () =>
    withServer(["--max-clients", "1"], async (port) => {
      await using _holder = await Peer.join(port, "holder");
      const run = await runClient(["127.0.0.1", String(port)], null);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, "Connection closed by server.\n");
      assert.match(run.stdout, /^! Server is full \(1 users\)/);
    }),
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
    // HOST given, PORT missing: the default port is used, with no question
    // asked. Whether something listens on 2003 here is not ours to know, so
    // either ending is right; a prompt or a hang is not.
    const run = await runClient(["127.0.0.2", "--timeout", "1"], "dave\n");
    assert.doesNotMatch(run.stdout, /Port \[|Host \[/);
    assert.ok(
      run.code === 0 || /^Cannot connect to 127\.0\.0\.2:2003: /.test(run.stderr),
      `exit ${run.code}: ${run.stderr}`,
    );
  },
});

Deno.test({
  name: "ChatClient drives a session in-process: lines, send, quit",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using watcher = await Peer.join(port, "watcher");
      const client = await ChatClient.connect({ hostname: "127.0.0.1", port: port });
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
    }),
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

Deno.test("printable removes whole terminal escapes and control characters but keeps tabs", () => {
  assert.equal(printable("\x1b[2Jhi\tthere\x07\x9b"), "hi\tthere");
  assert.equal(printable("\x1b]0;title\x07a\x1b[1;31mb"), "ab");
});

Deno.test("client arguments: host, port, name and timeout are read and checked", () => {
  assert.deepEqual(parseClientArgs(["example.org", "2004", "--name", "zoe", "--timeout", "2.5"]), {
    hostname: "example.org",
    port: 2004,
    name: "zoe",
    login: false,
    passwordFile: undefined,
    timeoutMs: 2500,
    tls: false,
    caFile: undefined,
    reconnect: false,
    timestamps: false,
    bell: true,
    serve: false,
    help: false,
  });
  assert.equal(parseClientArgs([]).timeoutMs, 5000);
  assert.equal(parseClientArgs(["--no-bell"]).bell, false);
  assert.throws(() => parsePort("0"), /Invalid port "0"/);
  assert.throws(() => parseClientArgs(["a", "1", "extra"]), /Unexpected argument: extra/);
});

const READ = ["--allow-net", "--allow-read"];
const TLS_FLAGS = ["--cert", "test/testdata/localhost.crt", "--key", "test/testdata/localhost.key"];

Deno.test({
  name: "--tls with --ca chats with a TLS server using the test certificate",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([...TLS_FLAGS], async (port) => {
      const run = await runClient(
        ["localhost", String(port), "--tls", "--ca", "test/testdata/ca.crt", "--name", "sec"],
        "over tls\n",
        { permissions: READ },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Welcome, sec! /m);
      assert.match(run.stdout, /^sec: over tls$/m);
    }, READ),
});

Deno.test({
  name: "a plain client at a TLS port is told so instead of hanging",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([...TLS_FLAGS], async (port) => {
      const args = ["127.0.0.1", String(port), "--name", "plain", "--timeout", "1"];
      const run = await runClient(args, null);
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        "[the server has said nothing for 1 s; if it uses TLS, add --tls]\n" +
          "Connection closed by server: it speaks TLS (add --tls).\n",
      );
      assert.equal(run.stdout, "");
    }, READ),
});

Deno.test({
  name: "a TLS client at a plain port gets one clear line and exit 2",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      const run = await runClient(
        ["127.0.0.1", String(port), "--tls", "--ca", "test/testdata/ca.crt"],
        null,
        { permissions: READ },
      );
      assert.equal(run.code, 2);
      assert.equal(
        run.stderr,
        `Cannot connect to 127.0.0.1:${port}: TLS handshake failed: ` +
          "the server does not speak TLS (try without --tls)\n",
      );
    }),
});

Deno.test({
  name: "a TLS handshake that never completes is bounded by --timeout",
  ...LEAK_CHECKS,
  async fn() {
    // Accepts and stays silent: the TCP connection opens, the handshake never ends.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = listener.accept();
    try {
      const run = await runClient(
        ["127.0.0.1", String(listener.addr.port), "--tls", "--timeout", "1"],
        null,
      );
      assert.equal(run.code, 2);
      assert.equal(
        run.stderr,
        `Cannot connect to 127.0.0.1:${listener.addr.port}: timed out after 1 s\n`,
      );
    } finally {
      (await accepted).close();
      listener.close();
    }
  },
});

Deno.test({
  name: "a self-signed certificate made by the README's recipe works with --ca, and only with it",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(
      ["--cert", "test/testdata/selfsigned.crt", "--key", "test/testdata/selfsigned.key"],
      async (p) => {
        const port = String(p);
        for (const host of ["localhost", "127.0.0.1"]) {
          const args = [
            host,
            port,
            "--tls",
            "--ca",
            "test/testdata/selfsigned.crt",
            "--name",
            "sam",
          ];
          const run = await runClient(args, "signed by myself\n", { permissions: READ });
          assert.equal(run.code, 0, run.stderr);
          assert.match(run.stdout, /^sam: signed by myself$/m);
        }
        const failure = `Cannot connect to localhost:${port}: TLS handshake failed: `;
        const untrusted = await runClient(["localhost", port, "--tls"], null);
        assert.equal(untrusted.code, 2);
        assert.equal(
          untrusted.stderr,
          `${failure}the server's certificate is not signed by a trusted authority ` +
            "(with a self-signed server, pass --ca FILE)\n",
        );
        const wrongCa = await runClient(
          ["localhost", port, "--tls", "--ca", "test/testdata/ca.crt"],
          null,
          {
            permissions: READ,
          },
        );
        assert.equal(wrongCa.code, 2);
        assert.equal(
          wrongCa.stderr,
          `${failure}the server's certificate is not signed by the --ca certificate ` +
            "or a trusted authority\n",
        );
      },
      READ,
    ),
});

Deno.test({
  name: "a CA certificate used as the server's is explained to the client, and the server warns",
  ...LEAK_CHECKS,
  async fn() {
    // What a plain `openssl req -x509` makes: rustls refuses it as CaUsedAsEndEntity,
    // with or without --ca, so telling the user to pass --ca would be wrong.
    const server = await startServer(
      [
        "--quiet",
        "--cert",
        "test/testdata/ca-as-server.crt",
        "--key",
        "test/testdata/ca-as-server.key",
      ],
      READ,
    );
    try {
      assert.equal(
        await server.stderr.waitFor((line) => line.startsWith("Warning: ")),
        "Warning: the certificate in test/testdata/ca-as-server.crt is a CA certificate (CA:TRUE), " +
          "which TLS clients refuse as a server's own; make one with " +
          "basicConstraints=critical,CA:FALSE (README: Encryption).",
      );
      for (const ca of [[], ["--ca", "test/testdata/ca-as-server.crt"]]) {
        const run = await runClient(["localhost", String(server.port), "--tls", ...ca], null, {
          permissions: READ,
        });
        assert.equal(run.code, 2);
        assert.equal(
          run.stderr,
          `Cannot connect to localhost:${server.port}: TLS handshake failed: ` +
            "the server's certificate is a CA certificate (CA:TRUE), which clients refuse as " +
            "a server's own; the server needs one with basicConstraints=critical,CA:FALSE " +
            "(README: Encryption)\n",
        );
      }
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "the client answers a locked room with $CHAT_PASSWORD when allowed to read it",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--password-file", "test/testdata/password.txt"], async (serverPort) => {
      const port = String(serverPort);
      const env = ["--allow-net", "--allow-env=CHAT_PASSWORD"];
      const right = await runClient(["127.0.0.1", port, "--name", "pat"], "inside\n", {
        permissions: env,
        env: { CHAT_PASSWORD: "open sesame" },
      });
      assert.equal(right.code, 0, right.stderr);
      assert.match(right.stdout, /^pat: inside$/m);
      assert.doesNotMatch(right.stdout, /sesame/);
      const wrong = await runClient(["127.0.0.1", port, "--name", "pat"], null, {
        permissions: env,
        env: { CHAT_PASSWORD: "guess" },
      });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stdout, /^! Wrong password$/m);
      // Without the variable, piped input answers the question in order.
      const piped = await runClient(["127.0.0.1", port], "open sesame\npip\nhi\n");
      assert.equal(piped.code, 0, piped.stderr);
      assert.match(piped.stdout, /^pip: hi$/m);
    }, READ),
});

Deno.test({
  name: "in a locked room --name answers the nickname question after the typed password",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--password-file", "test/testdata/password.txt"], async (port) => {
      // Regression: the typed password waited for the nickname question, which
      // comes only after the password, until the server's name timeout.
      const args = ["127.0.0.1", String(port), "--name", "pat"];
      const piped = await runClient(args, "open sesame\nhi\n");
      assert.equal(piped.code, 0, piped.stderr);
      assert.match(piped.stdout, /^Welcome, pat! /m);
      assert.match(piped.stdout, /^pat: hi$/m);
      assert.doesNotMatch(piped.stdout, /sesame/);
      const typed = await runOnTerminal(args, "open sesame\nhi\n", { NO_COLOR: "1" });
      // The line editor ends its last row with a carriage return before the next line.
      assert.match(typed, /(^|\r)Welcome, pat! /m);
      assert.match(typed, /^pat: hi\r?$/m);
    }, READ),
});

Deno.test({
  name: "--serve hosts a room others can join, and closes it when the host quits",
  ...LEAK_CHECKS,
  async fn() {
    const port = freePort();
    await using host = spawnClient(["--serve", "--port", String(port), "--name", "host"]);
    await host.stdout.waitFor((line) => line === `Hosting a chat room on port ${port}.`);
    await host.stdout.waitFor((line) => line.includes("--allow-sys"));
    await host.stdout.waitFor((line) => line.startsWith("Welcome, host!"));
    await using guest = await Peer.join(port, "visitor");
    await host.stdout.waitFor((line) => line === "* visitor joined the chat");
    await host.type("welcome aboard\n");
    await guest.expect("host: welcome aboard");
    await host.endInput();
    assert.deepEqual(await guest.expectClosed(), [
      "* host left the chat",
      "* Server is shutting down",
    ]);
    assert.equal(await host.exitCode(), 0, host.stderr.text);
  },
});

Deno.test({
  name: "--serve lists this machine's addresses when allowed to, never a loopback one",
  ...LEAK_CHECKS,
  async fn() {
    const port = freePort();
    const run = await runClient(["--serve", "--port", String(port), "--name", "h"], "", {
      permissions: ["--allow-net", "--allow-sys"],
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^(Others join with one of:|This machine has no network address)/m);
    assert.doesNotMatch(run.stdout, /client\.ts 127\./);
  },
});

Deno.test({
  name: "--serve without --allow-sys on a terminal says how to list addresses instead of prompting",
  ...LEAK_CHECKS,
  async fn() {
    const port = freePort();
    const screen = await runOnTerminal(["--serve", "--port", String(port), "--name", "h"], "", {});
    assert.match(screen, /\(run with --allow-sys to have the addresses listed here\)/);
    assert.doesNotMatch(screen, /Deno requests/);
  },
});

Deno.test({
  name: "--reconnect joins again under the same name after the server restarts",
  ...LEAK_CHECKS,
  async fn() {
    let server = await startServer([]);
    const port = server.port;
    try {
      await using client = spawnClient([
        "127.0.0.1",
        String(port),
        "--name",
        "rita",
        "--reconnect",
      ]);
      await server.stdout.waitFor((line) => line.endsWith(" is rita"));
      await server.stop();
      await client.stderr.waitFor((line) => line.startsWith("Connection lost; reconnecting in "));
      server = await startServer(["--port", String(port)]);
      await using watcher = await Peer.join(port, "watcher");
      await server.stdout.waitFor((line) => line.endsWith(" is rita"), WAIT_MS * 2);
      await watcher.send("/who\n");
      await watcher.readUntil(/^\* 2 online: (rita, watcher|watcher, rita)$/);
      await client.stderr.waitFor((line) => line === "Reconnected.");
      await client.endInput();
      assert.equal(await client.exitCode(), 0, client.stderr.text);
      const welcomes = client.stdout.lines.filter((line) => line.startsWith("Welcome, rita!"));
      assert.equal(welcomes.length, 2);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "--timestamps puts the local HH:MM before every line",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      const run = await runClient([
        "127.0.0.1",
        String(port),
        "--timestamps",
        "--name",
        "tim",
      ], "hi\n");
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trimEnd().split("\n");
      assert.ok(lines.length >= 3);
      for (const line of lines) assert.match(line, /^\d\d:\d\d /);
      assert.ok(lines.some((line) => /^\d\d:\d\d tim: hi$/.test(line)));
    }),
});

/**
 * Runs the client on a real terminal (through `script`) and returns what the
 * terminal got. Each of `answers` is typed once its question is on the screen
 * (Deno's `prompt` drops what was typed ahead of it), then `input` and `<quit>`,
 * then end of input. (On a terminal the client's line editor reads raw input;
 * an end of input typed ahead, before it turns raw mode on, is lost with the
 * terminal's line mode, while typed-ahead lines are kept.)
 */
async function runOnTerminal(
  args: string[],
  input: string,
  env: Record<string, string>,
  answers: [question: string, answer: string][] = [],
): Promise<string> {
  const command = ["deno", "run", "--allow-net", "client.ts", ...args].join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    cwd: new URL(".", import.meta.url),
    // Only what the test says: an inherited NO_COLOR would decide the outcome.
    clearEnv: true,
    env: {
      PATH: `${Deno.execPath().replace(/\/[^/]*$/, "")}:${Deno.env.get("PATH") ?? ""}`,
      HOME: Deno.env.get("HOME") ?? "/",
      TERM: "xterm",
      ...env,
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let screen = "";
  let changed = Promise.withResolvers<void>();
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      screen += decoder.decode(chunk, { stream: true });
      changed.resolve();
      changed = Promise.withResolvers<void>();
    }
  })();
  const errors = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  try {
    let seen = 0;
    for (const [question, answer] of answers) {
      const deadline = Date.now() + WAIT_MS;
      while (!screen.includes(question, seen)) {
        const what = `${JSON.stringify(question)} on the terminal:\n${screen}`;
        await withDeadline(changed.promise, Math.max(deadline - Date.now(), 1), what);
      }
      seen = screen.indexOf(question, seen) + question.length;
      await writer.write(encoder.encode(answer));
    }
    await writer.write(encoder.encode(input + "<quit>\n"));
    await writer.close();
    const status = await withDeadline(child.status, WAIT_MS * 2, "the client on a terminal");
    await reading;
    assert.equal(status.code, 0, `${await errors}${screen}`);
    return screen;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    await writer.close().catch(() => {});
    await Promise.all([child.status, reading.catch(() => {}), errors.catch(() => "")]);
    throw error;
  }
}

Deno.test({
  name: "on a terminal the client asks for host and port only when given no arguments at all",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      // Regression: with --name and no HOST it asked for the host anyway, and
      // took the first typed line for it.
      const given = await runOnTerminal(["--port", String(port), "--name", "ann"], "hello\n", {
        NO_COLOR: "1",
      });
      assert.doesNotMatch(given, /Host \[|Port \[/);
      assert.match(given, /^ann: hello\r?$/m);
      const bare = await runOnTerminal([], "", { NO_COLOR: "1" }, [
        ["Host [127.0.0.1]:", "\n"],
        ["Port [2003]:", `${port}\n`],
        ["Please enter your nickname:", "bea\nhi\n"],
      ]);
      assert.match(bare, /Host \[127\.0\.0\.1\]:/);
      assert.match(bare, /Port \[2003\]:/);
      assert.match(bare, /^bea: hi\r?$/m);
    }),
});

Deno.test({
  name: "on a terminal notices are dim and your own lines bold, and NO_COLOR turns that off",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      const args = ["127.0.0.1", String(port), "--name", "col"];
      const colored = await runOnTerminal(args, "hi\n", {});
      assert.ok(colored.includes("\x1b[1mcol: hi\x1b[0m"), JSON.stringify(colored));
      assert.ok(colored.includes("\x1b[2m* Goodbye, col!\x1b[0m"), JSON.stringify(colored));
      const plain = await runOnTerminal(args, "hi\n", { NO_COLOR: "1" });
      assert.ok(plain.includes("col: hi"), JSON.stringify(plain));
      // No colours; the line editor still moves the cursor with escape sequences.
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(plain, /\x1b\[[0-9;]*m/, JSON.stringify(plain));
      // Piped output never gets colors, terminal or not on the input side.
      const piped = await runClient(args, "hi\n");
      assert.ok(!piped.stdout.includes("\x1b["));
    }),
});

Deno.test("formatLine dims notices, reddens errors, italicizes actions, bolds yours, marks mentions and private messages, stamps the time", () => {
  const color = { color: true, timestamps: false };
  assert.equal(
    formatLine("* bob joined the chat", color, "me"),
    "\x1b[2m* bob joined the chat\x1b[0m",
  );
  assert.equal(formatLine("! Wrong password", color, "me"), "\x1b[31m! Wrong password\x1b[0m");
  assert.equal(formatLine("me: hi", color, "me"), "\x1b[1mme: hi\x1b[0m");
  assert.equal(formatLine("bob: hi", color, "me"), "bob: hi");
  // Actions are what members say, not notices: italic, and bold too when they are yours.
  assert.equal(formatLine("** bob waves", color, "me"), "\x1b[3m** bob waves\x1b[0m");
  assert.equal(formatLine("** me waves", color, "me"), "\x1b[1;3m** me waves\x1b[0m");
  assert.equal(formatLine("** meg waves", color, "me"), "\x1b[3m** meg waves\x1b[0m");
  assert.equal(formatLine("** me waves", color, null), "\x1b[3m** me waves\x1b[0m");
  // A line that names you is bold yellow; a private message to you bold magenta.
  assert.equal(formatLine("bob: hi Me!", color, "me"), "\x1b[1;33mbob: hi Me!\x1b[0m");
  assert.equal(formatLine("bob: hi meg", color, "me"), "bob: hi meg");
  assert.equal(formatLine("** bob pokes me", color, "me"), "\x1b[1;33m** bob pokes me\x1b[0m");
  assert.equal(
    formatLine("(private) bob: psst", color, "me"),
    "\x1b[1;35m(private) bob: psst\x1b[0m",
  );
  assert.equal(
    formatLine("(private to bob) me: psst", color, "me"),
    "\x1b[1m(private to bob) me: psst\x1b[0m",
  );
  const at = new Date(2026, 0, 2, 9, 5);
  assert.equal(
    formatLine("bob: hi", { color: false, timestamps: true }, null, at),
    "09:05 bob: hi",
  );
});

Deno.test("reconnect delays double from 1 s to 30 s with jitter", () => {
  assert.equal(reconnectDelay(0, () => 0.5), 1000);
  assert.equal(reconnectDelay(1, () => 0.5), 2000);
  assert.equal(reconnectDelay(10, () => 0.5), 30_000);
  assert.equal(reconnectDelay(0, () => 0), 800);
  assert.equal(reconnectDelay(20, () => 1), 36_000);
});

Deno.test({
  name: "rooms and operators' commands work from the client as typed",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using watcher = await Peer.join(port, "watcher");
      await watcher.send("/join dev\n");
      await watcher.expect("* You are now in #dev (1 here)");
      const run = await runClient(
        ["127.0.0.1", String(port)],
        "alice\n/join #dev\nin dev\n/who\n/kick watcher\n/oper nope\n",
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^\* You are now in #dev \(2 here\)$/m);
      assert.match(run.stdout, /^alice: in dev$/m);
      assert.match(run.stdout, /^\* 2 in #dev: @watcher, alice$/m);
      assert.match(run.stdout, /^! Only operators can \/kick$/m);
      assert.match(run.stdout, /^! No operator password is set on this server$/m);
      await watcher.expect("* alice joined #dev");
      await watcher.expect("alice: in dev");
      await watcher.expect("* alice left the chat");
    }),
});

/**
 * A stand-in for a server with accounts (the real one's are built elsewhere):
 * it greets, welcomes `alice` as `alice2` with the notice that the name is
 * registered, answers `/login alice PASSWORD` as the issue says, and records
 * every line each connection sends. `hangUpAfterLogin` closes the first
 * connection once it has logged in, to see a reconnection log in again.
 */
function accountServer(password: string, hangUpAfterLogin = false) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const encoder = new TextEncoder();
  /** Lines received, one array per connection. */
  const received: string[][] = [];
  let changed = Promise.withResolvers<void>();
  const conns = new Set<Deno.Conn>();
  const serveOne = async (conn: Deno.Conn, lines: string[]) => {
    const say = (text: string) => conn.write(encoder.encode(text + "\n")).catch(() => 0);
    await say("Welcome to the chat! Please enter your nickname:");
    let name = "";
    for await (const line of readLines(conn.readable, 4096)) {
      if (typeof line !== "string") continue;
      lines.push(line);
      changed.resolve();
      changed = Promise.withResolvers<void>();
      if (name === "") {
        name = line === "alice" ? "alice2" : line;
        if (line === "alice") await say("* alice is registered; /login alice PASSWORD to use it");
        await say(`Welcome, ${name}! Type <quit> to leave.`);
      } else if (line === `/login alice ${password}`) {
        await say("* Logged in as alice");
        await say(`* ${name} is now known as alice`);
        name = "alice";
        if (hangUpAfterLogin && received.length === 1) break;
      } else if (line.startsWith("/login ")) {
        await say("! Wrong password for alice");
      } else if (line === "<quit>") {
        await say(`* Goodbye, ${name}!`);
        break;
      }
    }
  };
  const serving = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      const lines: string[] = [];
      received.push(lines);
      void serveOne(conn, lines).catch(() => {}).finally(() => {
        conns.delete(conn);
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      });
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    received,
    /** Resolves once connection `index` has sent `line`; rejects after the deadline. */
    async waitFor(index: number, line: string): Promise<void> {
      const deadline = Date.now() + WAIT_MS;
      while (!(received[index]?.includes(line) ?? false)) {
        const what = `${JSON.stringify(line)} from connection ${index}: ${
          JSON.stringify(received)
        }`;
        await withDeadline(changed.promise, Math.max(1, deadline - Date.now()), what);
      }
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
      await serving;
    },
  };
}

Deno.test({
  name: "--login with --password-file sends /login NAME PASSWORD right after the welcome",
  ...LEAK_CHECKS,
  async fn() {
    const password = "secret123";
    await using server = accountServer(password);
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(file, `${password}\n`);
      await using client = spawnClient(
        ["127.0.0.1", String(server.port), "--name", "alice", "--login", "--password-file", file],
        READ,
      );
      await client.stdout.waitFor((line) => line === "* alice2 is now known as alice");
      assert.deepEqual(server.received[0], ["alice", `/login alice ${password}`]);
      await client.type("hello\n");
      await server.waitFor(0, "hello");
      await client.endInput();
      assert.equal(await client.exitCode(), 0, client.stderr.text);
      await Promise.all([client.stdout.done, client.stderr.done]);
      assert.doesNotMatch(client.stdout.text + client.stderr.text, /secret123/);
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test({
  name: "--login with --reconnect logs in again after each reconnection",
  ...LEAK_CHECKS,
  async fn() {
    const password = "secret123";
    await using server = accountServer(password, true);
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(file, `${password}\r\nignored second line\n`);
      await using client = spawnClient([
        "127.0.0.1",
        String(server.port),
        "--name",
        "alice",
        "--login",
        "--password-file",
        file,
        "--reconnect",
      ], READ);
      await server.waitFor(0, `/login alice ${password}`);
      await client.stderr.waitFor((line) => line === "Reconnected.");
      // The name the server last welcomed it by, then the login again.
      await server.waitFor(1, `/login alice ${password}`);
      assert.deepEqual(server.received[1]?.slice(0, 2), ["alice", `/login alice ${password}`]);
      await client.endInput();
      assert.equal(await client.exitCode(), 0, client.stderr.text);
      await Promise.all([client.stdout.done, client.stderr.done]);
      assert.doesNotMatch(client.stdout.text + client.stderr.text, /secret123/);
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test({
  name: "--login with neither a terminal nor --password-file is one line on stderr and exit 2",
  ...LEAK_CHECKS,
  async fn() {
    await using server = accountServer("secret123");
    const run = await runClient(["127.0.0.1", String(server.port), "--name", "alice", "--login"]);
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      "Cannot log in: --login asks for the password on a terminal, and input is not one " +
        "(give --password-file FILE)\n",
    );
    assert.equal(run.stdout, "");
    assert.deepEqual(server.received, []);
  },
});

Deno.test({
  name: "--login needs --name, --password-file needs --login, and --help lists both",
  ...LEAK_CHECKS,
  async fn() {
    assert.throws(() => parseClientArgs(["--login"]), /--login needs --name NAME/);
    assert.throws(
      () => parseClientArgs(["--name", "a", "--password-file", "f"]),
      /--password-file goes with --login/,
    );
    assert.deepEqual(
      {
        ...parseClientArgs(["--name", "a", "--login", "--password-file", "f"]),
      },
      { ...parseClientArgs(["--name", "a"]), login: true, passwordFile: "f" },
    );
    const help = await runClient(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^ {2}--login {14}log in to the account NAME/m);
    assert.match(help.stdout, /^ {2}--password-file FILE with --login/m);
    const missing = await runClient(
      ["--name", "alice", "--login", "--password-file", "/nonexistent/pw"],
      "",
      { permissions: READ },
    );
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^Cannot read --password-file \/nonexistent\/pw: .+\n$/);
  },
});
