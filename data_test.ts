import assert from "node:assert/strict";
import {
  LEAK_CHECKS,
  Peer,
  runServerToExit,
  type ServerProcess,
  startServer,
} from "./test_helpers.ts";

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
