/**
 * Smoke tests of the terminal harness: `client.ts` as a person runs it, in a
 * real terminal (a private tmux server), against a real `server.ts`; and the
 * bytes a program in that terminal receives for keys, text and pastes.
 */

import assert from "node:assert/strict";
import { LEAK_CHECKS, Peer, withServer } from "./test_helpers.ts";
import { TmuxTerminal } from "./terminal_test_helpers.ts";

/** This directory, where `client.ts` is. */
const HERE = decodeURIComponent(new URL(".", import.meta.url).pathname);

/** Starts `client.ts` against the server on `port`, in a terminal of 80 by 24. */
function startClient(port: number): Promise<TmuxTerminal> {
  return TmuxTerminal.start(
    [Deno.execPath(), "run", "--allow-net", "client.ts", "127.0.0.1", String(port)],
    { columns: 80, rows: 24, cwd: HERE },
  );
}

/** Answers the nickname question at the terminal and waits for the welcome. */
async function joinAs(term: TmuxTerminal, name: string): Promise<void> {
  await term.waitForText("Please enter your nickname:");
  await term.type(name);
  await term.sendKeys("Enter");
  await term.waitForText(`Welcome, ${name}!`);
}

Deno.test({
  name: "client.ts at a terminal: the nickname typed, a message on screen and in the room, " +
    "Ctrl+C leaves with exit code 0",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using bob = await Peer.join(port, "bob");
      await using term = await startClient(port);
      await joinAs(term, "alice");
      await bob.expect("* alice joined the chat");

      await term.type("hi");
      // The terminal echoes what is typed (the client reads cooked lines); the cursor follows it.
      const rows = await term.waitForScreen((rows) => rows.includes("hi"), "the echo of hi");
      assert.deepEqual(await term.cursor(), { row: rows.indexOf("hi"), column: 2 });
      await term.sendKeys("Enter");
      await term.waitForText("alice: hi");
      await bob.expect("alice: hi");
      // One's own message is bold; NO_COLOR from the test's environment does not reach the pane.
      assert.ok(
        (await term.screenWithColors()).some((row) => row.startsWith("\x1b[1malice: hi")),
        (await term.screenWithColors()).join("\n"),
      );

      await term.sendKeys("C-c");
      assert.equal(await term.exitCode(), 0);
      await bob.expect("* alice left the chat");
    });
  },
});

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
      await term.sendKeys("C-c");
      assert.equal(await term.exitCode(), 0);
    });
  },
});

Deno.test({
  name: "client.ts at a terminal: a paste arrives as typed lines (the client asks for no " +
    "bracketed paste) and the room gets each line in order",
  ...LEAK_CHECKS,
  async fn() {
    await withServer([], async (port) => {
      await using bob = await Peer.join(port, "bob");
      await using term = await startClient(port);
      await joinAs(term, "alice");
      await bob.expect("* alice joined the chat");

      await term.paste("one\ntwo\nthree\n");
      await bob.expect("alice: one");
      await bob.expect("alice: two");
      await bob.expect("alice: three");
      const rows = await term.waitForText("alice: three");
      // Without bracketed paste turned on, tmux adds no ESC [200~ (the echo would show ^[[200~).
      assert.ok(!rows.some((row) => row.includes("[200~")), rows.join("\n"));
      await term.sendKeys("C-c");
      assert.equal(await term.exitCode(), 0);
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
