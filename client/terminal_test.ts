/**
 * `client.ts` as a person runs it, in a real terminal (a private tmux
 * server), against a real `server.ts`: its line editor, prompt, completion
 * and pasting; and the bytes a program in that terminal receives for keys,
 * text and pastes.
 */

import assert from "node:assert/strict";
import {
  LEAK_CHECKS,
  Peer,
  startServer,
  WAIT_MS,
  withDeadline,
  withServer,
} from "../test/test_helpers.ts";
import { TmuxTerminal } from "../test/terminal_test_helpers.ts";

/** The repository's root, where `client.ts` is. */
const HERE = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** Starts `client.ts` against the server on `port`, in a terminal of 80 by 24. */
function startClient(port: number, args: string[] = []): Promise<TmuxTerminal> {
  return TmuxTerminal.start(
    [Deno.execPath(), "run", "--allow-net", "client.ts", "127.0.0.1", String(port), ...args],
    { columns: 80, rows: 24, cwd: HERE },
  );
}

/** Leaves with Ctrl+C, which must end the client with exit code 0. */
async function leave(term: TmuxTerminal): Promise<void> {
  await term.sendKeys("C-c");
  assert.equal(await term.exitCode(), 0);
}

/** Answers the nickname question at the terminal and waits for the welcome. */
async function joinAs(term: TmuxTerminal, name: string): Promise<void> {
  await term.waitForText("Please enter your nickname:");
  await term.type(name);
  await term.sendKeys("Enter");
  await term.waitForText(`Welcome, ${name}!`);
}

Deno.test({
  name: "client.ts at a terminal: <quit> leaves with exit code 0, the goodbye left on screen",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using term = await startClient(port);
      await joinAs(term, "alice");
      await term.type("<quit>");
      await term.sendKeys("Enter");
      assert.equal(await term.exitCode(), 0);
      // The pane outlives the program, its last screen untouched.
      const rows = await term.screen();
      assert.ok(rows.includes("* Goodbye, alice!"), rows.join("\n"));
      assert.equal(rows.length, 24);
    });
  },
});

Deno.test({
  name: "client.ts at a terminal resized to 40 by 10: the pane is 40 wide, long lines wrap at 40",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using term = await startClient(port);
      await joinAs(term, "alice");
      await term.resize(40, 10);
      assert.deepEqual(await term.size(), { columns: 40, rows: 10 });
      assert.equal(await term.display("#{pane_width}"), "40");
      assert.equal((await term.screen()).length, 10);

      await term.type("x".repeat(50));
      await term.sendKeys("Enter");
      const line = `alice: ${"x".repeat(50)}`;
      const rows = await term.waitForScreen(
        (rows) => rows.includes(line.slice(0, 40)) && rows.includes(line.slice(40)),
        "the long line wrapped at 40 columns",
      );
      assert.ok(rows.every((row) => row.length <= 40), rows.join("\n"));
      await leave(term);
    });
  },
});

/**
 * A program that turns on bracketed paste and raw mode, then shows every
 * chunk it reads as a JSON string on a row of its own, until it reads "q".
 * DEL and the C1 controls are escaped too: JSON leaves them raw, and a
 * terminal shows no cell for them.
 */
const SHOW_INPUT = `
Deno.stdin.setRaw(true);
const out = (text) => Deno.stdout.write(new TextEncoder().encode(text));
await out("\\x1b[?2004hready\\r\\n");
const decoder = new TextDecoder();
for await (const chunk of Deno.stdin.readable) {
  const text = decoder.decode(chunk, { stream: true });
  const shown = JSON.stringify(text)
    .replace(/[\\x7f-\\x9f]/g, (c) => "\\\\u00" + c.charCodeAt(0).toString(16));
  await out(shown + "\\r\\n");
  if (text.endsWith("q")) break;
}
await out("\\x1b[?2004l");
Deno.exit(0);
`;

/** Runs SHOW_INPUT, lets `act` send it input, then returns everything it read, as one string. */
async function bytesReceived(act: (term: TmuxTerminal) => Promise<void>): Promise<string> {
  await using term = await TmuxTerminal.start(
    [Deno.execPath(), "eval", SHOW_INPUT],
    { columns: 200, rows: 50, cwd: HERE },
  );
  await term.waitForText("ready");
  await act(term);
  await term.type("q");
  assert.equal(await term.exitCode(), 0);
  const rows = (await term.screen()).filter((row) => row.startsWith('"'));
  return rows.map((row) => JSON.parse(row) as string).join("").slice(0, -1);
}

Deno.test({
  name: "the terminal sends keys as tmux encodes them, text literally, and a paste bracketed " +
    "when the program asks for it",
  ...LEAK_CHECKS,
  async fn() {
    const keys = await bytesReceived((term) =>
      term.sendKeys("Enter", "BSpace", "Tab", "Left", "Up", "Home", "End", "DC", "C-a", "M-b")
    );
    assert.equal(keys, "\r\x7f\t\x1b[D\x1b[A\x1b[1~\x1b[4~\x1b[3~\x01\x1bb");

    // A trailing ";" would end tmux's command; a leading "-" looks like a flag.
    const text = await bytesReceived(async (term) => {
      await term.type("a;");
      await term.type("-l é日 Enter\n");
    });
    assert.equal(text, "a;-l é日 Enter\n");

    const pasted = await bytesReceived((term) => term.paste("one\ntwo;"));
    assert.equal(pasted, "\x1b[200~one\rtwo;\x1b[201~");
  },
});

/** What is typed after `prompt` on the editor's row. */
function lineOf(rows: string[], prompt: string): string | undefined {
  return rows.at(promptRow(rows, prompt))?.slice(prompt.length);
}

/** The row the editor is on: the one that starts with `prompt`. */
function promptRow(rows: string[], prompt: string): number {
  // Rows come with their trailing spaces trimmed, the prompt's own too.
  return rows.findLastIndex((row) => row.startsWith(prompt.trimEnd()));
}

Deno.test({
  name: "lines that arrive while you type print above your line, which stays as it was, " +
    "cursor and all; what you send appears once",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using bob = await Peer.join(port, "bob");
      await using term = await startClient(port);
      await joinAs(term, "alice");
      await bob.expect("* alice joined the chat");
      const prompt = "alice #lobby> ";
      await term.type("I am typing a half line");
      await term.sendKeys("Left", "Left", "Left", "Left");
      await bob.send("interrupting message\n");
      const rows = await term.waitForScreen(
        (rows) =>
          rows.includes("bob: interrupting message") &&
          rows.at(promptRow(rows, prompt)) === prompt + "I am typing a half line",
        "bob's line above the half-written one",
      );
      const row = promptRow(rows, prompt);
      assert.ok(rows.indexOf("bob: interrupting message") < row, rows.join("\n"));
      assert.deepEqual(await term.cursor(), { row, column: prompt.length + 19 });
      await term.sendKeys("Enter");
      await bob.readUntil("alice: I am typing a half line");
      const after = await term.waitForText("alice: I am typing a half line");
      assert.equal(
        after.filter((line) => line.includes("I am typing a half line")).length,
        1,
        after.join("\n"),
      );
      assert.equal(after.at(promptRow(after, prompt)), prompt.trimEnd());
      // Someone else's line that names you is yellow (and bold).
      await bob.send("thanks alice\n");
      await term.waitForText("bob: thanks alice");
      assert.ok(
        (await term.screenWithColors()).some((line) =>
          // deno-lint-ignore no-control-regex
          /\x1b\[[0-9;]*33mbob: thanks alice/.test(line)
        ),
        (await term.screenWithColors()).join("\n"),
      );
      await leave(term);
      await bob.readUntil("* alice left the chat");
    });
  },
});

Deno.test({
  name: "the editor edits as a shell does and Up and Down walk this session's history",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using bob = await Peer.join(port, "bob");
      await using term = await startClient(port);
      await joinAs(term, "alice");
      const prompt = "alice #lobby> ";
      await term.type("hello world");
      await term.sendKeys("C-w");
      await term.type("there");
      await term.sendKeys("Home");
      await term.type(">");
      await term.sendKeys("End", "M-b", "C-k");
      await term.waitForScreen((rows) => lineOf(rows, prompt) === ">hello", "the edited line");
      await term.type("you");
      await term.sendKeys("Enter");
      await bob.readUntil("alice: >hello you");
      await term.type("second");
      await term.sendKeys("Enter");
      await bob.expect("alice: second");
      await term.type("draft");
      await term.sendKeys("Up");
      await term.waitForScreen((rows) => lineOf(rows, prompt) === "second", "the last line again");
      await term.sendKeys("Up");
      await term.waitForScreen((rows) => lineOf(rows, prompt) === ">hello you", "the one before");
      await term.sendKeys("Down", "Down");
      await term.waitForScreen((rows) => lineOf(rows, prompt) === "draft", "the draft kept");
      await term.sendKeys("C-a", "C-k", "Up", "Enter");
      await bob.expect("alice: second");
      await leave(term);
    });
  },
});

Deno.test({
  name: "Tab completes a name (with ': ' at the start of the line), a command and a room; " +
    "the prompt follows /nick and /join",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using term = await startClient(port);
      await joinAs(term, "alice");
      await using bob = await Peer.join(port, "bobby");
      await term.waitForText("* bobby joined the chat");
      await bob.send("/join dev\n");
      await term.waitForText("* bobby left for #dev");
      let prompt = "alice #lobby> ";
      await term.type("bo");
      await term.sendKeys("Tab");
      await term.waitForScreen((rows) => lineOf(rows, prompt) === "bobby:", "the name completed");
      await term.sendKeys("C-u");
      await term.type("/ni");
      await term.sendKeys("Tab");
      await term.waitForScreen(
        (rows) => lineOf(rows, prompt) === "/nick",
        "the command completed",
      );
      await term.type("alicia");
      await term.sendKeys("Enter");
      await term.waitForText("* alice is now known as alicia");
      prompt = "alicia #lobby> ";
      await term.waitForScreen(
        (rows) => lineOf(rows, prompt) === "",
        "the prompt with the new name",
      );
      await term.type("/join #d");
      await term.sendKeys("Tab");
      await term.waitForScreen(
        (rows) => lineOf(rows, prompt) === "/join #dev",
        "the room completed",
      );
      await term.sendKeys("Enter");
      await term.waitForText("* You are now in #dev (2 here)");
      prompt = "alicia #dev> ";
      await term.waitForScreen((rows) => lineOf(rows, prompt) === "", "the prompt in #dev");
      await leave(term);
    });
  },
});

Deno.test({
  name: "a wide character takes two columns: the cursor lands where the terminal puts it",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using bob = await Peer.join(port, "bob");
      await using term = await startClient(port);
      await joinAs(term, "alice");
      const prompt = "alice #lobby> ";
      await term.type("漢字ab");
      await term.sendKeys("Left", "Left", "Left");
      const rows = await term.waitForText(prompt + "漢字ab");
      assert.deepEqual(await term.cursor(), { row: promptRow(rows, prompt), column: 16 });
      await term.type("x");
      await term.sendKeys("Enter");
      await bob.readUntil("alice: 漢x字ab");
      await leave(term);
    });
  },
});

Deno.test({
  name: "a resize redraws the line being typed, wrapped at the new width, cursor at its end",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using term = await startClient(port);
      await joinAs(term, "alice");
      const text = "a line long enough to wrap once the terminal is narrow";
      await term.type(text);
      await term.waitForText("alice #lobby> " + text);
      await term.resize(30, 10);
      const whole = "alice #lobby> " + text;
      const rows = await term.waitForScreen(
        (rows) => rows.includes(whole.slice(0, 30)) && rows.includes(whole.slice(60)),
        "the line wrapped at 30 columns",
      );
      const first = rows.indexOf(whole.slice(0, 30));
      assert.equal(rows[first + 1], whole.slice(30, 60));
      assert.deepEqual(await term.cursor(), { row: first + 2, column: whole.length - 60 });
      await leave(term);
    });
  },
});

Deno.test({
  name: "a paste of many lines goes as those lines, in order, paced by the server, " +
    "the editor showing how many wait",
  ...LEAK_CHECKS,
  async fn() {
    await withServer(["--rate", "4", "--burst", "1"], async (port) => {
      await using bob = await Peer.join(port, "bob");
      await using term = await startClient(port);
      await joinAs(term, "alice");
      await bob.expect("* alice joined the chat");
      const lines = Array.from({ length: 8 }, (_, i) => `pasted line ${i + 1}`);
      await term.paste(lines.join("\n") + "\n");
      await term.waitForScreen(
        (rows) => rows.some((row) => / \[[1-7] waiting\]$/.test(row)),
        "the count of lines waiting",
      );
      for (const line of lines) await bob.expect(`alice: ${line}`);
      const rows = await term.waitForScreen(
        (rows) =>
          rows.at(-1) !== undefined && rows.includes("alice: pasted line 8") &&
          !rows.some((row) => row.includes("waiting]")),
        "every line sent and none waiting",
      );
      assert.ok(rows.some((row) => row === "alice #lobby>"), rows.join("\n"));
      await leave(term);
    });
  },
});

Deno.test({
  name: "a locked room's password is typed into the editor unseen and kept out of the history",
  ...LEAK_CHECKS,
  async fn() {
    const password = (await Deno.readTextFile("test/testdata/password.txt")).split(
      "\n",
    )[0] as string;
    await withServer(
      ["--password-file", "test/testdata/password.txt"],
      async (port) => {
        await using term = await startClient(port);
        await term.waitForText("Please enter the password:");
        await term.type(password);
        const typing = await term.screen();
        assert.ok(!typing.some((row) => row.includes(password)), typing.join("\n"));
        await term.sendKeys("Enter");
        await joinAs(term, "alice");
        await term.sendKeys("Up", "Up");
        const rows = await term.waitForText("alice #lobby>");
        assert.ok(!rows.some((row) => row.includes(password)), rows.join("\n"));
        await leave(term);
      },
      ["--allow-net", "--allow-read"],
    );
  },
});

Deno.test({
  name: "a line that names you rings the terminal's bell, unless --no-bell",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using bob = await Peer.join(port, "bob");
      for (const [args, rings] of [[[], "1"], [["--no-bell"], "0"]] as const) {
        await using term = await startClient(port, [...args]);
        await joinAs(term, "alice");
        await bob.readUntil("* alice joined the chat");
        await bob.send("just chatting\n");
        await term.waitForText("bob: just chatting");
        assert.equal(await term.display("#{window_bell_flag}"), "0");
        await bob.send("over to you, alice\n");
        await term.waitForText("bob: over to you, alice");
        assert.equal(await term.display("#{window_bell_flag}"), rings);
        // Ctrl+D on a line being typed deletes; on an empty line it leaves.
        await term.type("ab");
        await term.sendKeys("Home", "C-d");
        await term.waitForText("alice #lobby> b");
        await term.sendKeys("C-k", "C-d");
        assert.equal(await term.exitCode(), 0);
        await bob.readUntil("* alice left the chat");
      }
    });
  },
});

Deno.test({
  name: "with --reconnect the client goes back to its room after a restart; the prompt " +
    "follows and the line being typed is kept",
  ...LEAK_CHECKS,
  async fn() {
    let server = await startServer(["--quiet"]);
    const port = server.port;
    try {
      await using term = await startClient(port, ["--reconnect", "--name", "rita"]);
      await term.waitForText("Welcome, rita!");
      await term.type("/join dev");
      await term.sendKeys("Enter");
      await term.waitForText("* You are now in #dev (1 here)");
      await term.waitForText("rita #dev>");
      await term.type("half typed");
      await server.stop();
      await term.waitForText("Connection lost; reconnecting in ");
      server = await startServer(["--quiet", "--port", String(port)]);
      await term.waitForText("Reconnected.", WAIT_MS * 2);
      const rows = await term.waitForScreen(
        (rows) =>
          rows.filter((row) => row === "* You are now in #dev (1 here)").length === 2 &&
          lineOf(rows, "rita #dev> ") === "half typed",
        "back in #dev, the typed line kept",
      );
      assert.equal(rows.filter((row) => row.startsWith("Welcome, rita!")).length, 2);
      await leave(term);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "typed lines to a server that echoes nothing leave no count of waiting lines behind",
  ...LEAK_CHECKS,
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = listener.accept();
    // A long --timeout: its note that the server is silent would redraw the editor anyway.
    await using term = await startClient(listener.addr.port, ["--timeout", "60"]);
    // Trailing spaces are trimmed from captured rows: the prompt "> " shows as ">".
    await term.waitForScreen((rows) => rows[0] === ">", "the prompt");
    using conn = await accepted;
    await term.type("first");
    await term.sendKeys("Enter");
    await term.type("second");
    await term.sendKeys("Enter");
    // The server reads both lines, and answers nothing.
    let received = "";
    const decoder = new TextDecoder();
    const reader = conn.readable.getReader();
    while (!received.includes("second\n")) {
      const { value, done } = await withDeadline(reader.read(), WAIT_MS, "the typed lines");
      if (done) break;
      received += decoder.decode(value, { stream: true });
    }
    reader.releaseLock();
    assert.equal(received, "first\nsecond\n");
    const rows = await term.waitForScreen(
      (rows) => rows.at(promptRow(rows, "> ")) === ">",
      "an empty prompt with no count",
    );
    assert.ok(!rows.some((row) => row.includes("waiting")), rows.join("\n"));
    await leave(term);
  },
});

Deno.test({
  name: "a room's /who adds to the names Tab knows: those in other rooms still complete",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using _bea = await Peer.join(port, "bea");
      await using term = await startClient(port);
      await joinAs(term, "ivan");
      await term.type("/who");
      await term.sendKeys("Enter");
      await term.waitForText("* 2 online: bea, ivan");
      await term.type("/join dev");
      await term.sendKeys("Enter");
      await term.waitForText("* You are now in #dev (1 here)");
      await term.type("/who");
      await term.sendKeys("Enter");
      await term.waitForText("* 1 in #dev: @ivan");
      const prompt = "ivan #dev> ";
      await term.type("/msg b");
      await term.sendKeys("Tab");
      await term.waitForScreen((rows) => lineOf(rows, prompt) === "/msg bea", "bea completed");
      // Your own name is never offered.
      await term.sendKeys("C-u");
      await term.type("iv");
      await term.sendKeys("Tab");
      await term.type("!");
      await term.waitForScreen((rows) => lineOf(rows, prompt) === "iv!", "no completion");
      await leave(term);
    });
  },
});

Deno.test({
  name: "the password of /login shows as * while typed, and Up never brings the line back",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using bob = await Peer.join(port, "bob");
      await using term = await startClient(port);
      await joinAs(term, "alice");
      const prompt = "alice #lobby> ";
      await term.type("before");
      await term.sendKeys("Enter");
      await bob.readUntil("alice: before");
      await term.type("/login alice secret123");
      await term.waitForScreen(
        (rows) => lineOf(rows, prompt) === "/login alice *********",
        "the password masked",
      );
      assert.ok(!(await term.screen()).join("\n").includes("secret123"));
      await term.sendKeys("Enter");
      // Nobody registered alice: the answer shows the line went, and repeats no password.
      await term.waitForText("! No such account: alice");
      await term.sendKeys("Up");
      await term.waitForScreen((rows) => lineOf(rows, prompt) === "before", "the line before");
      // Then the nickname typed at the start, the oldest line: the /login line is in no step.
      await term.sendKeys("Up");
      await term.waitForScreen((rows) => lineOf(rows, prompt) === "alice", "the nickname");
      await term.sendKeys("Up");
      await term.waitForScreen((rows) => lineOf(rows, prompt) === "alice", "still the nickname");
      assert.ok(!(await term.screen()).join("\n").includes("secret123"));
      await leave(term);
    });
  },
});

Deno.test({
  name:
    "--login asks for the password unseen on the terminal and logs in to the account after the welcome",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      // alice is registered, and away: the name is hers.
      await using owner = await Peer.join(port, "alice");
      await owner.send("/register secret123\n");
      await owner.expect(/^\* Registered alice: /);
      await owner.send("<quit>\n");
      await owner.expectClosed();
      await using term = await startClient(port, ["--name", "alice", "--login"]);
      await term.waitForText("Password for alice:");
      await term.type("secret123");
      await term.waitForScreen(
        (rows) => rows.some((row) => row.trimEnd() === "Password for alice:"),
        "nothing shown of the password",
      );
      await term.sendKeys("Enter");
      await term.waitForText("Welcome, alice2!");
      await term.waitForText("* Logged in as alice");
      await term.waitForText("* alice2 is now known as alice");
      assert.ok(!(await term.screen()).join("\n").includes("secret123"));
      await leave(term);
    });
  },
});
