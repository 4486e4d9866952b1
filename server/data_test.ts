import assert from "node:assert/strict";
import { CAN_MOUNT, withTmpfs } from "../test/mount_test_helpers.ts";
import { ChatServer } from "../server.ts";
import { ChatStore, DEFAULT_FLUSH_MS } from "../store/store.ts";
import {
  LEAK_CHECKS,
  Peer,
  runServerToExit,
  type ServerProcess,
  startServer,
  WAIT_MS,
  withDeadline,
} from "../test/test_helpers.ts";

const OPER_PASSWORD = "swordfish";

/** A temporary directory with an operator password file, removed after `body`. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-data-" });
  try {
    await Deno.writeTextFile(`${dir}/oper`, OPER_PASSWORD + "\n");
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A quiet server keeping its state in `dir`/chat.db. */
function dataServer(dir: string, args: string[] = []): Promise<ServerProcess> {
  return startServer(
    ["--quiet", "--data", `${dir}/chat.db`, "--oper-password-file", `${dir}/oper`, ...args],
    ["--allow-net", `--allow-read=${dir}`, `--allow-write=${dir}`],
  );
}

Deno.test({
  name: "with --data, history, topics, rooms, bans and the motd survive a restart",
  ...LEAK_CHECKS,
  fn: () =>
    inTempDir(async (dir) => {
      let server = await dataServer(dir);
      try {
        await using alice = await Peer.join(server.port, "alice");
        await alice.send(`hello before the restart\n/oper ${OPER_PASSWORD}\n`);
        await alice.expect("alice: hello before the restart");
        await alice.expect("* You are now a server operator");
        await alice.send("/join dev\n/topic builds and releases\nin dev\n");
        await alice.expect("* You are now in #dev (1 here)");
        await alice.expect("* alice set the topic: builds and releases");
        await alice.expect("alice: in dev");
        await alice.send("/join quiet\n/ban mallory 2h spam\n/motd Be kind\n/mute eve forever\n");
        await alice.expect("* You are now in #quiet (1 here)");
        await alice.expect("* mallory was banned by alice for 2h (spam)");
        await alice.expect("* Message of the day set");
        await alice.expect("* eve was muted by alice forever");
      } finally {
        assert.equal(await server.stop(), 0);
      }
      server = await dataServer(dir);
      try {
        await using carol = await Peer.connect(server.port);
        await carol.expect(/nickname/);
        await carol.send("carol\n");
        await carol.expect("Welcome, carol! Type <quit> to leave.");
        await carol.expect("* Message of the day: Be kind");
        await carol.expect("* Recent messages:");
        await carol.expect("alice: hello before the restart");
        await carol.expect("* End of recent messages");
        // #quiet had no topic and no history: it did not outlive its members.
        await carol.send("/rooms\n/join dev\n");
        await carol.expect("* 2 rooms: #lobby (1), #dev (0)");
        await carol.expect("* You are now in #dev (1 here)");
        await carol.expect("* Topic: builds and releases");
        await carol.expect("* Recent messages:");
        await carol.expect("alice: in dev");
        await carol.expect("* End of recent messages");
        await using mallory = await Peer.connect(server.port);
        await mallory.expect(/nickname/);
        await mallory.send("mallory\n");
        await mallory.expect(/^! You are banned \(until \d\d:\d\d\)$/);
        await mallory.expectClosed();
        await using eve = await Peer.join(server.port, "eve");
        await eve.send("still here?\n");
        await eve.readUntil("! You are muted (forever)");
      } finally {
        assert.equal(await server.stop(), 0);
      }
    }),
});

Deno.test({
  name: "a data file that is not a database is one line on stderr and exit 1",
  ...LEAK_CHECKS,
  fn: () =>
    inTempDir(async (dir) => {
      const file = `${dir}/chat.db`;
      await Deno.writeTextFile(file, "not a database\n".repeat(200));
      const run = await runServerToExit(
        ["--host", "127.0.0.1", "--port", "0", "--no-web", "--data", file],
        ["--allow-net", `--allow-read=${dir}`, `--allow-write=${dir}`],
      );
      assert.equal(run.code, 1);
      assert.equal(run.stderr, `Cannot open data file ${file}: file is not a database\n`);
      assert.equal(run.stdout, "");
      assert.equal(await Deno.readTextFile(file), "not a database\n".repeat(200));
    }),
});

Deno.test({
  name: "a data file in use by another server is one line on stderr and exit 1",
  ...LEAK_CHECKS,
  fn: () =>
    inTempDir(async (dir) => {
      const first = await dataServer(dir);
      try {
        const run = await runServerToExit(
          ["--host", "127.0.0.1", "--port", "0", "--no-web", "--data", `${dir}/chat.db`],
          ["--allow-net", `--allow-read=${dir}`, `--allow-write=${dir}`],
        );
        assert.equal(run.code, 1);
        assert.equal(
          run.stderr,
          `Cannot open data file ${dir}/chat.db: it is in use by another server\n`,
        );
        // The first server is unharmed.
        await using alice = await Peer.join(first.port, "alice");
        await alice.send("still fine\n");
        await alice.expect("alice: still fine");
      } finally {
        assert.equal(await first.stop(), 0);
      }
    }),
});

/** Makes a data file at `path` with one line in it, as a server that ran before would. */
function madeBefore(path: string): void {
  const store = ChatStore.open(path, { historyLines: 5 });
  store.addLine("lobby", "alice: from before");
  store.close();
}

Deno.test({
  name: `a data file on a read-only file system is one line naming the cause and exit 1${
    CAN_MOUNT ? "" : " (ignored: this process cannot mount the read-only tmpfs it needs)"
  }`,
  ignore: !CAN_MOUNT,
  ...LEAK_CHECKS,
  fn: () =>
    withTmpfs("256k", async ({ dir, readOnly }) => {
      const file = `${dir}/chat.db`;
      madeBefore(file);
      await readOnly();
      const run = await runServerToExit(
        ["--host", "127.0.0.1", "--port", "0", "--no-web", "--data", file],
        ["--allow-net", `--allow-read=${dir}`, `--allow-write=${dir}`],
      );
      assert.equal(run.code, 1);
      assert.equal(run.stderr, `Cannot open data file ${file}: read-only file system\n`);
      assert.equal(run.stdout, "");
    }),
});

/** Whether this process runs as root, which may write any file whatever its mode. */
function isRoot(): boolean {
  // `id`, as Deno.uid() needs --allow-sys and /proc/self needs --allow-all.
  const { stdout } = new Deno.Command("id", { args: ["-u"], stderr: "null" }).outputSync();
  return new TextDecoder().decode(stdout).trim() === "0";
}

Deno.test({
  name: "a data file the server may not write is one line naming the cause and exit 1",
  ...LEAK_CHECKS,
  fn: () =>
    inTempDir(async (dir) => {
      const file = `${dir}/chat.db`;
      madeBefore(file);
      const before = await Deno.readFile(file);
      const args = [
        "run",
        "--allow-net",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        "server.ts",
        ...["--host", "127.0.0.1", "--port", "0", "--no-web", "--no-irc", "--data", file],
      ];
      // Killed if it does not exit in time, so that no server outlives the test.
      const killer = new AbortController();
      let command: Deno.Command;
      if (isRoot()) {
        // Root writes whatever the mode says: the server runs as nobody, who may read the file
        // but not write it, with a Deno cache of its own.
        await Deno.chmod(dir, 0o755);
        await Deno.mkdir(`${dir}/cache`, { mode: 0o777 });
        await Deno.chmod(`${dir}/cache`, 0o777);
        command = new Deno.Command("setpriv", {
          args: ["--reuid=65534", "--regid=65534", "--clear-groups", Deno.execPath(), ...args],
          env: { DENO_DIR: `${dir}/cache`, HOME: `${dir}/cache` },
          cwd: new URL("..", import.meta.url),
          stdin: "null",
          signal: killer.signal,
        });
      } else {
        await Deno.chmod(file, 0o444);
        command = new Deno.Command(Deno.execPath(), {
          args,
          cwd: new URL("..", import.meta.url),
          stdin: "null",
          signal: killer.signal,
        });
      }
      const output = command.output();
      const decoder = new TextDecoder();
      const run = await withDeadline(output, WAIT_MS * 4, "server.ts to exit").catch(
        async (error) => {
          killer.abort();
          const { stdout, stderr } = await output;
          throw new Error(
            `${error.message}; it printed:\n${decoder.decode(stdout)}${decoder.decode(stderr)}`,
          );
        },
      );
      assert.equal(run.code, 1);
      assert.equal(
        decoder.decode(run.stderr),
        `Cannot open data file ${file}: permission denied\n`,
      );
      assert.equal(decoder.decode(run.stdout), "");
      assert.deepEqual(await Deno.readFile(file), before);
    }),
});

/** Lines handed to a function (the console's output, the log), waited for with a deadline. */
class Heard {
  readonly lines: string[] = [];
  #waiters: (() => void)[] = [];

  /** Takes text, one line or several, each ending in a newline or not. */
  readonly take = (text: string): void => {
    this.lines.push(...text.replace(/\n$/, "").split("\n"));
    for (const waiter of this.#waiters.splice(0)) waiter();
  };

  /** Waits for a line matching `test`; fails after WAIT_MS. */
  async waitFor(test: (line: string) => boolean): Promise<string> {
    const deadline = Date.now() + WAIT_MS;
    while (true) {
      const found = this.lines.find(test);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`No line wanted within ${WAIT_MS} ms:\n${this.lines.join("\n")}`);
      }
      await withDeadline(
        new Promise<void>((resolve) => this.#waiters.push(resolve)),
        left,
        "a line",
      );
    }
  }
}

/** Fills the file system `dir` is on with one file, until a write finds no space. */
async function fill(path: string): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  const block = new Uint8Array(4096);
  // Bounded: the tmpfs is far smaller than this.
  for (let i = 0; i < 65_536; i++) {
    try {
      await file.write(block);
    } catch (error) {
      if (/No space left/.test(String(error))) return;
      throw error;
    }
  }
  throw new Error(`${path} never filled its file system`);
}

Deno.test({
  name: `a full disk: the log hears of the first failed write and then counts, the console is told${
    CAN_MOUNT ? "" : " (ignored: this process cannot mount the small tmpfs it fills)"
  }`,
  ignore: !CAN_MOUNT,
  ...LEAK_CHECKS,
  fn: () =>
    withTmpfs("512k", async ({ dir }) => {
      const dataFile = `${dir}/chat.db`;
      const log = new Heard();
      const console = new Heard();
      const server = new ChatServer({
        hostname: "127.0.0.1",
        port: 0,
        rate: 0,
        dataFile,
        log: log.take,
        consoleOutput: console.take,
      });
      try {
        const { port } = await server.start();
        await using alice = await Peer.join(port, "alice");
        await alice.send("saved\n");
        await alice.expect("alice: saved");
        await fill(`${dir}/filler`);
        const long = "x".repeat(2000);
        for (let i = 0; i < 40; i++) {
          await alice.send(`${long} ${i}\n`);
          await alice.expect(`alice: ${long} ${i}`);
        }
        await console.waitFor((line) => line.startsWith("* Cannot write"));
        // More, each its own batch (a batch waits DEFAULT_FLUSH_MS for company), as a room
        // chatting on would: they fail too, and are counted rather than logged.
        for (let i = 0; i < 10; i++) {
          await new Promise((resolve) => setTimeout(resolve, 4 * DEFAULT_FLUSH_MS));
          await alice.send(`${long} more ${i}\n`);
          await alice.expect(`alice: ${long} more ${i}`);
        }
        // The disk is freed: the next batch is written, and that is told.
        await Deno.remove(`${dir}/filler`);
        await alice.send("back\n");
        await alice.expect("alice: back");
        await console.waitFor((line) => line === `* The data file ${dataFile} is written again`);
        // Now and then a batch fits in what a failed one took of the disk: each success between
        // failures ends a run, and each run is one alert, one log line at its start and one at
        // its end (a run shorter than a minute has no line between).
        const runs = console.lines.length / 2;
        assert.deepEqual(
          console.lines,
          Array.from({ length: runs }, () => [
            `* Cannot write the data file ${dataFile}: database or disk is full`,
            `* The data file ${dataFile} is written again`,
          ]).flat(),
        );
        const saving = log.lines.filter((line) => /Cannot save|written again/.test(line));
        let failed = 0;
        saving.forEach((line, i) => {
          if (i % 2 === 0) {
            assert.equal(
              line,
              `Cannot save to data file ${dataFile}: database or disk is full` +
                " (its last changes are lost)",
            );
            failed++;
            return;
          }
          const [, more = "0"] =
            /^Data file .* is written again(?: \((\d+) more writes? failed in \d+ s; (?:its|their) changes are lost\))?$/
              .exec(line) ?? [];
          failed += Number(more);
        });
        assert.equal(saving.length, 2 * runs, saving.join("\n"));
        // Fewer lines than failed writes: the rest were counted, not logged one by one.
        assert.ok(failed > runs, `${failed} failed writes, ${saving.length} lines`);
      } finally {
        await server.close();
      }
      const store = ChatStore.open(dataFile, { historyLines: 20 });
      const history = store.load().rooms[0]?.history;
      store.close();
      // What came after the trouble is on disk again.
      assert.equal(history?.at(-1), "alice: back");
    }),
});
