/**
 * `/send`: its words, its address and progress wording, the file sender
 * against a local HTTP server that reads slowly, and `client.ts` against the
 * real `server.ts`, piped and in a real terminal (where Deno asks for the
 * file's read permission).
 */

import assert from "node:assert/strict";
import {
  baseName,
  FileSender,
  parseSend,
  progressText,
  sendArguments,
  uploadUrl,
} from "./file_sender.ts";
import type { ChatConsole } from "./terminal_console.ts";
import { LEAK_CHECKS, Peer, spawnClient, startServer, WAIT_MS } from "../test/test_helpers.ts";
import { TmuxTerminal } from "../test/terminal_test_helpers.ts";

/** The repository's root, where `client.ts` is. */
const HERE = decodeURIComponent(new URL("..", import.meta.url).pathname);

const none = () => false;

Deno.test("/send reads a path, or a NAME and a path; quotes hold spaces", () => {
  assert.deepEqual(parseSend("cat.png", none), { to: null, path: "cat.png", guessed: false });
  assert.deepEqual(parseSend("  bob   notes.txt ", none), {
    to: "bob",
    path: "notes.txt",
    guessed: true,
  });
  assert.deepEqual(parseSend('"my file.png"', none), {
    to: null,
    path: "my file.png",
    guessed: false,
  });
  assert.deepEqual(parseSend("bob 'my file.png'", none), {
    to: "bob",
    path: "my file.png",
    guessed: false,
  });
  // An apostrophe inside a word is no quote.
  assert.deepEqual(parseSend("bob's.txt", none), { to: null, path: "bob's.txt", guessed: false });
  assert.equal(parseSend("", none), null);
  assert.equal(parseSend('"my file.png', none), null);
  assert.equal(parseSend('a "b" c', none), null);
  assert.equal(parseSend('""', none), null);
});

Deno.test("/send with unquoted spaces: the whole when it is a file, else a NAME and the rest", () => {
  const files = new Set(["my file.png", "holiday photo.png"]);
  const isFile = (path: string) => files.has(path);
  assert.deepEqual(parseSend("my file.png", isFile), {
    to: null,
    path: "my file.png",
    guessed: false,
  });
  assert.deepEqual(parseSend("bob holiday photo.png", isFile), {
    to: "bob",
    path: "holiday photo.png",
    guessed: true,
  });
});

Deno.test("only /send is /send, in any letter case; the rest of the line is its words", () => {
  assert.equal(sendArguments("/send cat.png"), "cat.png");
  assert.equal(sendArguments("/SEND  bob cat.png "), "bob cat.png");
  assert.equal(sendArguments("/send"), "");
  assert.equal(sendArguments("/sender x"), null);
  assert.equal(sendArguments("//send x"), null);
  assert.equal(sendArguments("send x"), null);
});

Deno.test("the upload goes to the address given, the name encoded; loopback means the chat's host", () => {
  const address = "http://127.0.0.1:8080/upload/0123abcd";
  assert.equal(
    uploadUrl(address, "a b#?%.txt").href,
    "http://127.0.0.1:8080/upload/0123abcd/a%20b%23%3F%25.txt",
  );
  assert.equal(uploadUrl(address, "x", "127.0.0.1").hostname, "127.0.0.1");
  assert.equal(uploadUrl(address, "x", "chat.example").host, "chat.example:8080");
  assert.equal(uploadUrl(address, "x", "2001:db8::1").hostname, "[2001:db8::1]");
  assert.equal(
    uploadUrl("https://chat.example/upload/0123", "x", "10.0.0.5").href,
    "https://chat.example/upload/0123/x",
  );
  assert.equal(baseName("/home/alice/cat.png"), "cat.png");
  assert.equal(baseName("pics\\cat.png"), "cat.png");
  assert.equal(baseName("cat.png"), "cat.png");
});

Deno.test("progress says the percentage and the sizes as the server writes them", () => {
  assert.equal(progressText("cat.png", 0, 1_200_000), "Sending cat.png: 0% (0 bytes of 1.2 MB)");
  assert.equal(
    progressText("cat.png", 540_000, 1_200_000),
    "Sending cat.png: 45% (540 KB of 1.2 MB)",
  );
  assert.equal(progressText("empty", 0, 0), "Sending empty: 100% (0 bytes of 0 bytes)");
});

/** A console that keeps what the sender says. */
class RecordingConsole implements ChatConsole {
  readonly notes: string[] = [];
  readonly progressShown: string[] = [];
  onInterrupt = () => {};
  next() {
    return Promise.resolve(null);
  }
  start() {}
  startSecretLine() {}
  askSecret() {
    return Promise.resolve(null);
  }
  show() {
    return Promise.resolve();
  }
  note(text: string) {
    this.notes.push(text);
  }
  where() {}
  progress(text: string) {
    this.progressShown.push(text);
  }
  lendTerminal<T>(): Promise<T | null> {
    return Promise.resolve(null);
  }
  restore() {}
}

/** What a local upload server received: the path and the body, or what it answered. */
interface Received {
  path: string;
  bytes: Uint8Array;
}

/**
 * An HTTP server standing in for the page's port: takes `PUT /upload/...`,
 * reading the body a piece at a time with a pause between, and answers 201
 * (or `refuse`'s status and text).
 */
function uploadServer(refuse?: { status: number; text: string }) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const chunks: Uint8Array[] = [];
    if (refuse !== undefined) {
      await request.body?.cancel();
      return new Response(refuse.text + "\n", { status: refuse.status });
    }
    for await (const chunk of request.body ?? []) {
      chunks.push(chunk);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    received.push({ path: new URL(request.url).pathname, bytes });
    return new Response("http://example/files/1/x\n", { status: 201 });
  });
  return {
    received,
    address: (token: string) =>
      `* Upload within 10 minutes: curl -T FILE http://127.0.0.1:${server.addr.port}/upload/${token}`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A temporary file of `size` random bytes named `name`; removed on dispose. */
async function tempFile(name: string, size: number) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/${name}`;
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
  }
  await Deno.writeFile(path, bytes);
  return {
    path,
    bytes,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name:
    "/send asks for an address, keeps its answer unseen, PUTs the file whole and shows progress",
  ...LEAK_CHECKS,
  async fn() {
    await using server = uploadServer();
    await using file = await tempFile("my cat.bin", 8_000_000);
    const console = new RecordingConsole();
    const sender = new FileSender({ console });
    const sent: string[] = [];
    await sender.command(`"${file.path}"`, (line) => {
      sent.push(line);
      // The server's answer comes as a line, and the sender keeps it off the screen.
      setTimeout(() => assert.equal(sender.take(server.address("feed")), true), 1);
      return Promise.resolve();
    });
    assert.deepEqual(sent, ["/upload"]);
    assert.equal(sender.sending, 1);
    await sender.finish();
    assert.deepEqual(console.notes, []);
    assert.equal(server.received.length, 1);
    assert.equal(server.received[0]?.path, "/upload/feed/my%20cat.bin");
    assert.deepEqual(server.received[0]?.bytes, file.bytes);
    // From 0% through at least one step between to the end, then nothing.
    const shown = console.progressShown;
    assert.equal(shown[0], "Sending my cat.bin: 0% (0 bytes of 8 MB)");
    assert.ok(
      shown.some((text) => /^Sending my cat\.bin: [1-9]\d?% /.test(text)),
      shown.join("\n"),
    );
    assert.equal(shown.at(-1), "");
  },
});

Deno.test({
  name: "/send NAME PATH asks for a private address; the person's own /upload answer is theirs",
  ...LEAK_CHECKS,
  async fn() {
    await using server = uploadServer();
    await using file = await tempFile("notes.txt", 1000);
    const console = new RecordingConsole();
    const sender = new FileSender({ console });
    // The person typed /upload just before: the first answer is theirs, to be shown.
    sender.typedUpload();
    const sent: string[] = [];
    await sender.command(`bob ${file.path}`, (line) => {
      sent.push(line);
      setTimeout(() => {
        assert.equal(sender.take(server.address("aaaa")), false);
        assert.equal(sender.take("alice: an unrelated line"), false);
        assert.equal(sender.take(server.address("bbbb")), true);
      }, 1);
      return Promise.resolve();
    });
    await sender.finish();
    assert.deepEqual(sent, ["/upload bob"]);
    assert.equal(server.received[0]?.path, "/upload/bbbb/notes.txt");
    // With no /upload waiting, an answer is shown.
    assert.equal(sender.take(server.address("cccc")), false);
  },
});

Deno.test({
  name: "a refused /upload ends the /send with the server's line alone, and the file is closed",
  ...LEAK_CHECKS,
  async fn() {
    await using file = await tempFile("cat.png", 100);
    const console = new RecordingConsole();
    const sender = new FileSender({ console });
    await sender.command(file.path, () => {
      setTimeout(() => assert.equal(sender.take("! Too many uploads; try again later"), false), 1);
      return Promise.resolve();
    });
    await sender.finish();
    assert.deepEqual(console.notes, []);
    assert.equal(sender.sending, 0);
  },
});

Deno.test({
  name: "an upload the server refuses over HTTP prints the server's answer",
  ...LEAK_CHECKS,
  async fn() {
    await using server = uploadServer({ status: 413, text: "File too large (max 10 MiB)" });
    await using file = await tempFile("big.bin", 300_000);
    const console = new RecordingConsole();
    const sender = new FileSender({ console });
    await sender.command(file.path, () => {
      setTimeout(() => sender.take(server.address("dddd")), 1);
      return Promise.resolve();
    });
    await sender.finish();
    assert.deepEqual(console.notes, ["! Sending big.bin failed: File too large (max 10 MiB)"]);
  },
});

Deno.test({
  name: "a missing file, a folder or no words is one line, and nothing is asked of the server",
  ...LEAK_CHECKS,
  async fn() {
    await using file = await tempFile("here.txt", 10);
    const dir = file.path.slice(0, file.path.lastIndexOf("/"));
    const console = new RecordingConsole();
    const sender = new FileSender({ console });
    const send = () => Promise.reject(new Error("nothing should be sent"));
    await sender.command(`${dir}/gone.txt`, send);
    await sender.command(dir, send);
    await sender.command("", send);
    await sender.command(`bob ${dir}/gone too.txt`, send);
    assert.deepEqual(console.notes, [
      `! No such file: ${dir}/gone.txt`,
      `! ${dir} is not a file`,
      '! Usage: /send PATH, or /send NAME PATH to NAME alone (quote a path with spaces: /send "my file.png")',
      `! No such file: ${dir}/gone too.txt (a path with spaces goes in quotes: /send "bob ${dir}/gone too.txt")`,
    ]);
  },
});

Deno.test({
  name: "a server that never answers /upload gets one line after the wait",
  ...LEAK_CHECKS,
  async fn() {
    await using file = await tempFile("cat.png", 10);
    const console = new RecordingConsole();
    const sender = new FileSender({ console, answerMs: 50 });
    await sender.command(file.path, () => Promise.resolve());
    assert.deepEqual(console.notes, [
      "! cat.png not sent: the server gave no upload address in 0.05 s (does it share files?)",
    ]);
    // A late answer is not taken for a /send that gave up.
    assert.equal(sender.take("* Upload within 10 minutes: curl -T FILE http://x/upload/1"), false);
  },
});

Deno.test({
  name: "a third /send waits its turn: the server takes two at once",
  ...LEAK_CHECKS,
  async fn() {
    await using server = uploadServer();
    await using file = await tempFile("f.bin", 200_000);
    const console = new RecordingConsole();
    const sender = new FileSender({ console });
    let tokens = 0;
    const send = () => {
      const token = `t${tokens++}`;
      setTimeout(() => sender.take(server.address(token)), 1);
      return Promise.resolve();
    };
    await sender.command(file.path, send);
    await sender.command(file.path, send);
    await sender.command(file.path, send);
    assert.equal(tokens, 2, "the third asked before a turn was free");
    assert.deepEqual(console.notes, ["[f.bin waits its turn: 2 files are being sent]"]);
    await sender.finish();
    assert.equal(tokens, 3);
    assert.equal(server.received.length, 3);
  },
});

// ---------------------------------------------------------------------------
// client.ts against server.ts

/** The shared file line a member sees, and its link. */
const SHARED = /^\* alice shared (.+) \((.+)\): (http:\/\/\S+)$/;

Deno.test({
  name:
    "client.ts /send: the room's TCP member gets the shared line, and the link serves the same bytes",
  ...LEAK_CHECKS,
  async fn() {
    await using server = await startServer(["--quiet"]);
    await using file = await tempFile("cat photo.bin", 300_000);
    await using bob = await Peer.join(server.port, "bob");
    await using alice = spawnClient(
      ["127.0.0.1", String(server.port), "--name", "alice"],
      ["--allow-net", "--allow-read"],
    );
    await bob.expect("* alice joined the chat");
    await alice.type(`/send "${file.path}"\n/upload\n`);
    const shared = SHARED.exec((await bob.readUntil(SHARED)).at(-1) as string);
    assert.equal(shared?.[1], "cat photo.bin");
    assert.equal(shared?.[2], "300 KB");
    const response = await fetch(shared?.[3] as string);
    assert.equal(response.status, 200);
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), file.bytes);
    // alice sees the room's line and the answer to the /upload she typed, not /send's own.
    await alice.stdout.waitFor((line) => line.startsWith("* alice shared cat photo.bin"));
    await alice.stdout.waitFor((line) => line.startsWith("* Upload within 10 minutes: "));
    await alice.endInput();
    assert.equal(await alice.exitCode(), 0);
    const answers = alice.stdout.lines.filter((line) => line.startsWith("* Upload within"));
    assert.equal(answers.length, 1, alice.stdout.text);
    assert.equal(alice.stderr.text, "");
  },
});

Deno.test({
  name: "client.ts /send of a missing file says so in one line, and the client goes on",
  ...LEAK_CHECKS,
  async fn() {
    await using server = await startServer(["--quiet"]);
    await using bob = await Peer.join(server.port, "bob");
    await using alice = spawnClient(
      ["127.0.0.1", String(server.port), "--name", "alice"],
      ["--allow-net", "--allow-read"],
    );
    await bob.expect("* alice joined the chat");
    await alice.type("/send no-such-file.png\nstill here\n");
    await bob.expect("alice: still here");
    await alice.endInput();
    assert.equal(await alice.exitCode(), 0);
    assert.equal(alice.stderr.text, "! No such file: no-such-file.png");
  },
});

Deno.test({
  name:
    "client.ts without --allow-read, input piped so Deno cannot ask: /send names the flag, the client goes on",
  ...LEAK_CHECKS,
  async fn() {
    await using server = await startServer(["--quiet"]);
    await using file = await tempFile("cat.png", 100);
    await using bob = await Peer.join(server.port, "bob");
    await using alice = spawnClient(["127.0.0.1", String(server.port), "--name", "alice"]);
    await bob.expect("* alice joined the chat");
    await alice.type(`/send ${file.path}\n`);
    await alice.stderr.waitFor((line) => line.startsWith("! /send needs"));
    await alice.type("still here\n");
    await bob.expect("alice: still here");
    await alice.endInput();
    assert.equal(await alice.exitCode(), 0);
    assert.equal(
      alice.stderr.text,
      `! /send needs --allow-read to read ${file.path} (run with --allow-read)`,
    );
  },
});

Deno.test({
  name: "client.ts at a terminal without --allow-read: Deno asks for the file, and yes sends it",
  ...LEAK_CHECKS,
  async fn() {
    await using server = await startServer(["--quiet"]);
    await using file = await tempFile("cat.png", 5000);
    await using bob = await Peer.join(server.port, "bob");
    await using term = await TmuxTerminal.start(
      [Deno.execPath(), "run", "--allow-net", "client.ts", "127.0.0.1", String(server.port)]
        .concat(["--name", "alice"]),
      { columns: 100, rows: 30, cwd: HERE },
    );
    await term.waitForText("alice #lobby>");
    await bob.expect("* alice joined the chat");
    await term.type(`/send ${file.path}`);
    await term.sendKeys("Enter");
    await term.waitForText("Allow?");
    // Deno drops what was typed before it got ready to read (after its prompt shows), and
    // asks again after an empty line: so the answer is typed until it is taken.
    for (let tries = 1;; tries++) {
      await term.type("y");
      await term.sendKeys("Enter");
      try {
        await term.waitForText("Granted read access", 1000);
        break;
      } catch (error) {
        if (tries === 5) throw error;
      }
    }
    const shared = SHARED.exec((await bob.readUntil(SHARED, WAIT_MS * 2)).at(-1) as string);
    assert.equal(shared?.[1], "cat.png");
    const rows = await term.waitForText("* alice shared cat.png");
    assert.ok(!rows.some((row) => row.includes("Upload within")), rows.join("\n"));
    // The editor is back and takes keys.
    await term.type("after");
    await term.sendKeys("Enter");
    await bob.expect("alice: after");
    await term.sendKeys("C-c");
    assert.equal(await term.exitCode(), 0);
  },
});
