import assert from "node:assert/strict";
import { joinAll, LEAK_CHECKS, Peer, type ServerProcess, startServer } from "./test_helpers.ts";

const OPER_PASSWORD = "correct horse";

/** Runs `body` against a server with an operator password and a console, then stops it. */
async function withOperServer(
  args: string[],
  body: (server: ServerProcess) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-oper-" });
  const file = `${dir}/oper-password`;
  await Deno.writeTextFile(file, OPER_PASSWORD + "\n");
  const server = await startServer(
    ["--oper-password-file", file, ...args],
    ["--allow-net", `--allow-read=${dir}`],
    { console: true },
  );
  try {
    await body(server);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "/oper makes a server operator; a wrong password waits a second and is never logged",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      await bob.send("/kick alice\n");
      await bob.expect("! Only operators can /kick");
      const started = performance.now();
      await alice.send("/oper guess\n/who\n");
      await alice.expect("! Wrong operator password");
      assert.ok(performance.now() - started >= 900, "the wrong password was answered at once");
      // The line after the wrong password waited for the answer.
      await alice.expect("* 2 online: alice, bob");
      await alice.send(`/oper ${OPER_PASSWORD}\n`);
      await alice.expect("* You are now a server operator");
      await alice.send("/who\n");
      await alice.expect("* 2 online: @alice, bob");
      await server.stdout.waitFor((line) => line.endsWith("alice is now a server operator"));
      assert.ok(
        server.stdout.lines.some((line) => line.endsWith("gave a wrong operator password")),
      );
      assert.ok(!server.stdout.text.includes(OPER_PASSWORD), "the password reached the log");
      assert.ok(!server.stdout.text.includes("guess"), "the wrong password reached the log");
    }),
});

Deno.test({
  name: "room operators /op, /deop and /kick in their room; a kick from #lobby disconnects",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await alice.send("/join dev\n");
      await alice.expect("* You are now in #dev (1 here)");
      for (const peer of [bob, carol]) {
        await peer.send("/join dev\n");
        await peer.readUntil(/^\* You are now in #dev/);
      }
      await alice.readUntil("* carol joined #dev");
      await bob.readUntil("* carol joined #dev");
      await bob.send("/kick carol\n");
      await bob.expect("! Only operators can /kick");
      await alice.send("/op bob\n");
      await alice.expect("* bob was made an operator of #dev by alice");
      await bob.readUntil("* bob was made an operator of #dev by alice");
      await carol.readUntil("* bob was made an operator of #dev by alice");
      await carol.send("/who\n");
      await carol.expect("* 3 in #dev: @alice, @bob, carol");
      await bob.send("/kick carol spam\n");
      for (const peer of [alice, bob, carol]) await peer.expect("* carol was kicked by bob (spam)");
      await carol.expect("* You are now in #lobby (1 here)");
      await alice.send("/deop bob\n");
      await alice.expect("* bob was removed as an operator of #dev by alice");
      await bob.expect("* bob was removed as an operator of #dev by alice");
      await bob.send("/kick alice\n");
      await bob.expect("! Only operators can /kick");
      // Carol is in #lobby now: a room operator of #dev cannot reach her there.
      await alice.send("/kick carol\n");
      await alice.expect("! carol is not in #dev");
      // The console is a server operator: from #lobby, a kick disconnects.
      await server.type("/kick carol enough");
      await carol.expect("* carol was kicked by server (enough)");
      await carol.expectClosed();
      await server.stdout.waitFor((line) =>
        line.endsWith("console kicked carol from #lobby (enough)")
      );
    }),
});

Deno.test({
  name: "a ban disconnects and refuses the name; /bans lists it and /unban lifts it",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      await bob.send("/ban alice\n");
      await bob.expect("! Only server operators can /ban");
      await alice.send(`/oper ${OPER_PASSWORD}\n`);
      await alice.expect("* You are now a server operator");
      await bob.send("/kick alice\n");
      await bob.expect("! Only operators can /kick");
      await alice.send("/ban bob 90x\n");
      await alice.expect(
        "! Invalid duration: 90x (30m, 2h, 7d and the like up to 365d, or forever)",
      );
      await alice.send("/ban bob 2h flooding\n");
      await alice.expect("* bob was banned by alice for 2h (flooding)");
      await bob.expect("* bob was banned by alice for 2h (flooding)");
      await bob.expectClosed();
      await using again = await Peer.connect(server.port);
      await again.expect(/^Welcome to the chat!/);
      await again.send("bob\n");
      await again.expect(/^! You are banned \(until \d\d:\d\d\)$/);
      await again.expectClosed();
      await alice.send("/bans\n");
      await alice.expect("* 1 ban:");
      await alice.expect(/^\* {3}bob until \d\d:\d\d, by alice \(flooding\)$/);
      await alice.send("/unban bob\n");
      await alice.expect("* bob was unbanned by alice");
      await using _back = await Peer.join(server.port, "bob");
      await alice.readUntil("* bob joined the chat");
    }),
});
