import assert from "node:assert/strict";
import type { Chat } from "./chat.ts";
import { Cluster } from "../cluster/cluster.ts";
import { CONSOLE_HELP_LINES } from "./commands.ts";
import { DEFAULT_MUTE_MS, MAX_DURATION_MS, untilNote, untilWords } from "./moderation.ts";
import { GREETING, HISTORY_LINES } from "../protocol.ts";
import {
  joinAll,
  LEAK_CHECKS,
  memoryChat,
  MemoryLink,
  Peer,
  type ServerProcess,
  startServer,
  WAIT_MS,
  withDeadline,
  withServer,
} from "../test/test_helpers.ts";
import { startRedis } from "../test/redis_test_helpers.ts";

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

/** What a muted member's line gets. */
const MUTED = /^! You are muted \(until \d\d:\d\d\)$/;

/** The answer to a duration that is not one. */
function invalidDuration(word: string): string {
  return `! Invalid duration: ${word} (30m, 2h, 7d and the like up to 365d, or forever)`;
}

/** Makes `peer` a server operator. */
async function becomeOperator(peer: Peer): Promise<void> {
  await peer.send(`/oper ${OPER_PASSWORD}\n`);
  await peer.expect("* You are now a server operator");
}

/** A line of the server's log: its timestamp, then what happened. */
const LOG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /;

/**
 * Waits for the log line saying `who` (a member's name, after its address,
 * or `console`) did `action`.
 */
async function logged(server: ServerProcess, who: string, action: string): Promise<string> {
  const by = who === "console" ? "console" : `127.0.0.1:\\d+ ${who}`;
  const escaped = action.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`${LOG_LINE.source}${by} ${escaped}$`);
  return await server.stdout.waitFor((line) => pattern.test(line));
}

/** What the server printed on its standard output after its first `from` lines, log lines aside. */
function consoleOutput(server: ServerProcess, from: number): string[] {
  return server.stdout.lines.slice(from).filter((line) => !LOG_LINE.test(line));
}

/** Waits until the console has printed `count` lines (log lines aside) after its first `from`. */
async function printed(server: ServerProcess, from: number, count: number): Promise<string[]> {
  await server.stdout.waitFor(() => consoleOutput(server, from).length >= count);
  return consoleOutput(server, from);
}

/** Connects as `name` and expects the ban to turn it away. */
async function expectBanned(port: number, name: string, note: RegExp | string): Promise<void> {
  await using peer = await Peer.connect(port);
  await peer.expect(GREETING);
  await peer.send(`${name}\n`);
  await peer.expect(typeof note === "string" ? `! You are banned ${note}` : note);
  await peer.expectClosed();
}

Deno.test({
  name:
    "a muted member reads on, but its lines, /me, /msg, /reply and /nick are refused until /unmute",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await becomeOperator(alice);
      // So that bob has someone to /reply to.
      await carol.send("/msg bob hi\n");
      await bob.expect("(private) carol: hi");
      await carol.expect("(private to bob) carol: hi");
      const before = Date.now();
      await alice.send("/mute bob\n");
      for (const peer of [alice, bob, carol]) await peer.expect("* bob was muted by alice for 10m");
      const after = Date.now();
      await bob.send("hello\n/me waves\n/msg carol psst\n/reply psst\n/nick rob\n//slash\n");
      const notes = [untilNote(before + DEFAULT_MUTE_MS), untilNote(after + DEFAULT_MUTE_MS)];
      for (let i = 0; i < 6; i++) {
        const line = await bob.expect(MUTED);
        assert.ok(notes.some((note) => line === `! You are muted ${note}`), line);
      }
      // Bob's lines were all handled; had any gone out, they would come before this one.
      await carol.send("still there?\n");
      for (const peer of [alice, bob, carol]) await peer.expect("carol: still there?");
      await alice.send("/who\n/mutes\n");
      await alice.expect("* 3 online: @alice, bob, carol");
      await alice.expect("* 1 mute:");
      await alice.expect(/^\* {3}bob until \d\d:\d\d, by alice$/);
      await alice.send("/unmute bob\n");
      for (const peer of [alice, bob, carol]) await peer.expect("* bob was unmuted by alice");
      await bob.send("hello again\n");
      for (const peer of [alice, bob, carol]) await peer.expect("bob: hello again");
      await alice.send("/mutes\n");
      await alice.expect("* No mutes");
      await alice.send("/mute bob 2h shouting\n");
      for (const peer of [alice, bob, carol]) {
        await peer.expect("* bob was muted by alice for 2h (shouting)");
      }
      await bob.send("hello?\n");
      await bob.expect(MUTED);
      const from = server.stdout.lines.length;
      await server.type("/unmute bob");
      for (const peer of [alice, bob, carol]) await peer.expect("* bob was unmuted by server");
      assert.deepEqual(await printed(server, from, 1), ["* bob was unmuted by server"]);
      await bob.send("back\n");
      for (const peer of [alice, bob, carol]) await peer.expect("bob: back");
      await logged(server, "alice", "muted bob for 10m");
      await logged(server, "alice", "unmuted bob");
      await logged(server, "alice", "muted bob for 2h (shouting)");
      await logged(server, "console", "unmuted bob");
    }),
});

Deno.test({
  name: "a newcomer is never given a banned name, and the muted may not name a new room",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await becomeOperator(alice);
      await alice.send("/ban bob2 1h\n/mute carol\n");
      await alice.expect("* bob2 was banned by alice for 1h");
      await alice.expect("* carol was muted by alice for 10m");
      // bob is here and bob2 banned: asking for bob gives bob3.
      await using other = await Peer.connect(server.port);
      await other.expect(/nickname/);
      await other.send("bob\n");
      await other.expect("Welcome, bob3! Type <quit> to leave.");
      // A new room's name would be heard by the room (`left for #...`).
      await carol.readUntil("* carol was muted by alice for 10m");
      await carol.readUntil("* bob3 joined the chat");
      await carol.send("/join liars-all\n");
      await carol.expect(MUTED);
      await bob.send("/join dev\n");
      await bob.readUntil("* You are now in #dev (1 here)");
      await carol.readUntil("* bob left for #dev");
      await carol.send("/join dev\n");
      await carol.expect("* You are now in #dev (2 here)");
      await alice.send("/rooms\n");
      await alice.readUntil("* 2 rooms: #lobby (2), #dev (2)");
    }),
});

Deno.test({
  name: "a mute on a name nobody has yet silences whoever comes with it",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice"]);
      const [alice] = [...peers] as [Peer];
      await becomeOperator(alice);
      await alice.send("/mute dave 30m\n");
      await alice.expect("* dave was muted by alice for 30m");
      await using dave = await Peer.join(server.port, "dave");
      await alice.expect("* dave joined the chat");
      await dave.send("hi all\n");
      await dave.expect(MUTED);
      await alice.send("/unmute DAVE\n");
      for (const peer of [alice, dave]) await peer.expect("* dave was unmuted by alice");
      await dave.send("hi all\n");
      for (const peer of [alice, dave]) await peer.expect("dave: hi all");
    }),
});

Deno.test({
  name: "/bans and /mutes say when there are none; a ban on a name nobody has refuses it forever",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      await becomeOperator(alice);
      await alice.send("/bans\n/mutes\n");
      await alice.expect("* No bans");
      await alice.expect("* No mutes");
      await alice.send("/ban dave forever trolling\n");
      await alice.expect("* dave was banned by alice forever (trolling)");
      await expectBanned(server.port, "dave", "(forever)");
      await expectBanned(server.port, "DAVE", "(forever)");
      await alice.send("/bans\n");
      await alice.expect("* 1 ban:");
      await alice.expect("*   dave forever, by alice (trolling)");
      // Nobody else heard of a ban on a name that was not here.
      await alice.send("ok\n");
      await bob.expect("alice: ok");
      await logged(server, "alice", "banned dave forever (trolling)");
      await server.stdout.waitFor((line) => / refused: dave is banned$/.test(line));
    }),
});

Deno.test({
  name: "durations that are none, or under a second, or over 365 days, ban and mute nobody",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      await becomeOperator(alice);
      const words = ["0m", "0s", "366d", "53w", "8761h", "1000000000s", "90x", "3"];
      // Meant as durations, though none is one: not to be taken for a reason and the default.
      words.push("1h30m", "1.5h", "-1h", "+2h", "2h!");
      for (const word of words) {
        await alice.send(`/ban bob ${word} reason\n`);
        await alice.expect(invalidDuration(word));
        await alice.send(`/mute bob ${word}\n`);
        await alice.expect(invalidDuration(word));
      }
      await alice.send("/bans\n/mutes\n");
      await alice.expect("* No bans");
      await alice.expect("* No mutes");
      await alice.send("still here?\n");
      for (const peer of [alice, bob]) await peer.expect("alice: still here?");
      const before = Date.now();
      await alice.send("/ban bob 365d\n");
      for (const peer of [alice, bob]) await peer.expect("* bob was banned by alice for 365d");
      const after = Date.now();
      await bob.expectClosed();
      await alice.send("/bans\n");
      await alice.expect("* 1 ban:");
      const line = await alice.expect(/^\* {3}bob until \d{4}-\d\d-\d\d \d\d:\d\d, by alice$/);
      const ends = [untilWords(before + MAX_DURATION_MS), untilWords(after + MAX_DURATION_MS)];
      assert.ok(ends.some((end) => line === `*   bob until ${end}, by alice`), line);
      await expectBanned(
        server.port,
        "bob",
        /^! You are banned \(until \d{4}-\d\d-\d\d \d\d:\d\d\)$/,
      );
    }),
});

Deno.test({
  name: "operators cannot ban, kick, mute or deop a server operator, nor kick or ban themselves",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await becomeOperator(alice);
      await becomeOperator(bob);
      for (const command of ["ban", "kick", "mute", "deop"]) {
        await alice.send(`/${command} bob\n`);
        await alice.expect(`! You cannot /${command} a server operator`);
      }
      await alice.send("/kick alice\n/ban alice\n/mute alice\n");
      await alice.expect("! You cannot /kick yourself");
      await alice.expect("! You cannot /ban yourself");
      await alice.expect("! You cannot /mute yourself");
      await alice.send("/op bob\n");
      await alice.expect("! bob is already a server operator");
      // A room's own operator: not itself, not a server operator in its room.
      await carol.send("/join dev\n");
      await carol.expect("* You are now in #dev (1 here)");
      await alice.send("/join dev\n");
      await alice.readUntil(/^\* You are now in #dev/);
      await carol.expect("* alice joined #dev");
      await carol.send("/kick carol\n/kick alice\n/deop alice\n");
      await carol.expect("! You cannot /kick yourself");
      await carol.expect("! You cannot /kick a server operator");
      await carol.expect("! You cannot /deop a server operator");
      await carol.send("/who\n");
      await carol.expect("* 2 in #dev: @carol, @alice");
      // The console may: bob is in #lobby, so out he goes.
      await server.type("/kick bob enough");
      await bob.readUntil("* bob was kicked by server (enough)");
      await bob.expectClosed();
      await logged(server, "console", "kicked bob from #lobby (enough)");
    }),
});

Deno.test({
  name: "a server operator kicks from any room back to #lobby, and /ops in any room; all logged",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await becomeOperator(alice);
      await bob.send("/join dev\n");
      await bob.expect("* You are now in #dev (1 here)");
      await alice.expect("* bob left for #dev");
      await carol.expect("* bob left for #dev");
      await carol.send("/join dev\n");
      await carol.readUntil(/^\* You are now in #dev/);
      await bob.expect("* carol joined #dev");
      await alice.expect("* carol left for #dev");
      await alice.send("/op carol\n");
      for (const peer of [alice, bob, carol]) {
        await peer.expect("* carol was made an operator of #dev by alice");
      }
      await alice.send("/deop bob\n");
      for (const peer of [alice, bob, carol]) {
        await peer.expect("* bob was removed as an operator of #dev by alice");
      }
      await alice.send("/deop bob\n");
      await alice.expect("! bob is not an operator of #dev");
      await carol.send("/deop carol\n");
      for (const peer of [bob, carol]) {
        await peer.expect("* carol was removed as an operator of #dev by carol");
      }
      await alice.send("/kick bob\n");
      for (const peer of [alice, bob, carol]) await peer.expect("* bob was kicked by alice");
      await bob.expect("* You are now in #lobby (2 here)");
      await alice.expect("* bob joined #lobby");
      // #dev does not hear where a kicked member went: it heard the kick.
      await carol.send("/who\n");
      await carol.expect("* 1 in #dev: carol");
      await logged(server, "alice", "made carol an operator of #dev");
      await logged(server, "alice", "removed bob as an operator of #dev");
      await logged(server, "carol", "removed carol as an operator of #dev");
      await logged(server, "alice", "kicked bob from #dev");
      await server.stdout.waitFor((line) => / bob moved from #dev to #lobby$/.test(line));
    }),
});

Deno.test({
  name: "non-operators are refused every operator command; operators get usage and no-such errors",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      for (const command of ["op", "deop", "kick"]) {
        await bob.send(`/${command} alice\n`);
        await bob.expect(`! Only operators can /${command}`);
      }
      for (const command of ["ban", "unban", "mute", "unmute"]) {
        await bob.send(`/${command} alice\n`);
        await bob.expect(`! Only server operators can /${command}`);
      }
      for (const command of ["bans", "mutes"]) {
        await bob.send(`/${command}\n`);
        await bob.expect(`! Only server operators can /${command}`);
      }
      await bob.send("/topic mine\n");
      await bob.expect("! Only operators can /topic");
      await becomeOperator(alice);
      await alice.send("/oper again\n");
      await alice.expect("! You are already a server operator");
      await alice.send("/ban\n/mute\n/unban\n/unmute\n/kick\n/op\n/deop\n");
      await alice.expect("! Usage: /ban NAME [DURATION] [reason]");
      await alice.expect("! Usage: /mute NAME [DURATION] [reason]");
      await alice.expect("! Usage: /unban NAME|ADDRESS");
      await alice.expect("! Usage: /unmute NAME");
      await alice.expect("! Usage: /kick NAME [reason]");
      await alice.expect("! Usage: /op NAME");
      await alice.expect("! Usage: /deop NAME");
      await alice.send("/kick nobody\n/op nobody\n/unban nobody\n/unmute nobody\n/unmute bob\n");
      await alice.expect("! No such user: nobody");
      await alice.expect("! No such user: nobody");
      await alice.expect("! No ban on nobody");
      await alice.expect("! nobody is not muted");
      await alice.expect("! bob is not muted");
      await alice.send("/ban bad*name\n/mute server\n");
      await alice.expect("! Invalid name: bad*name");
      await alice.expect("! Invalid name: server");
      await alice.send("/bans\n");
      await alice.expect("* No bans");
    }),
});

Deno.test({
  name: "/motd set by a server operator greets each newcomer after the welcome; - clears it",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      await bob.send("/motd\n/motd be nice\n");
      await bob.expect("* No message of the day");
      await bob.expect("! Only server operators can /motd");
      await becomeOperator(alice);
      await alice.send("/motd Be kind; no spam\n");
      await alice.expect("* Message of the day set");
      await using carol = await Peer.connect(server.port);
      await carol.expect(GREETING);
      await carol.send("carol\n");
      await carol.expect("Welcome, carol! Type <quit> to leave.");
      await carol.expect("* Message of the day: Be kind; no spam");
      for (const peer of [alice, bob]) await peer.expect("* carol joined the chat");
      await bob.send("/motd\n");
      await bob.expect("* Message of the day: Be kind; no spam");
      await alice.send("/motd -\n");
      await alice.expect("* Message of the day cleared");
      await using dave = await Peer.join(server.port, "dave");
      await dave.send("/motd\n");
      // Nothing came between the welcome and the answer.
      await dave.expect("* No message of the day");
      const from = server.stdout.lines.length;
      await server.type("/motd From the console");
      assert.deepEqual(await printed(server, from, 1), ["* Message of the day set"]);
      await using erin = await Peer.join(server.port, "erin");
      await erin.expect("* Message of the day: From the console");
      await logged(server, "alice", "set the message of the day");
      await logged(server, "alice", "cleared the message of the day");
      await logged(server, "console", "set the message of the day");
      assert.ok(!server.stdout.text.includes("Be kind"), "the log needs no copy of the message");
    }),
});

Deno.test({
  name: "a room operator clears the topic with -, and a server operator sets it in any room",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await becomeOperator(alice);
      await carol.send("/join dev\n");
      await carol.expect("* You are now in #dev (1 here)");
      for (const peer of [alice, bob]) await peer.expect("* carol left for #dev");
      await carol.send("/topic Release day\n");
      await carol.expect("* carol set the topic: Release day");
      await carol.send("/topic -\n");
      await carol.expect("* carol cleared the topic");
      await carol.send("/topic\n");
      await carol.expect("* No topic in #dev");
      for (const peer of [alice, bob]) {
        await peer.send("/join dev\n");
        await peer.readUntil(/^\* You are now in #dev/);
      }
      await carol.readUntil("* bob joined #dev");
      await alice.expect("* bob joined #dev");
      await bob.send("/topic mine\n");
      await bob.expect("! Only operators can /topic");
      await alice.send("/topic Code freeze\n");
      for (const peer of [alice, bob, carol]) {
        await peer.expect("* alice set the topic: Code freeze");
      }
      await bob.send("/topic\n/who\n");
      await bob.expect("* Topic: Code freeze");
      await bob.expect("* 3 in #dev: @carol, @alice, bob");
      await alice.send("/topic -\n");
      for (const peer of [alice, bob, carol]) await peer.expect("* alice cleared the topic");
      await logged(server, "carol", "set the topic of #dev");
      await logged(server, "alice", "set the topic of #dev");
    }),
});

Deno.test({
  name:
    "the console lists its commands, answers other lines with one error each, and runs /who, /rooms",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob"]);
      const [_alice, bob] = [...peers] as [Peer, Peer];
      await bob.send("/join dev\n");
      await bob.expect("* You are now in #dev (1 here)");
      let from = server.stdout.lines.length;
      await server.type("/help");
      assert.deepEqual(await printed(server, from, CONSOLE_HELP_LINES.length), [
        ...CONSOLE_HELP_LINES,
      ]);
      for (const command of ["/who", "/rooms", "/kick", "/ban", "/unban", "/bans", "/motd"]) {
        assert.ok(CONSOLE_HELP_LINES.some((line) => line.startsWith(`*   ${command} `)), command);
      }
      for (const command of ["/oper", "/join", "/msg", "/nick", "/topic"]) {
        assert.ok(!CONSOLE_HELP_LINES.some((line) => line.startsWith(`*   ${command} `)), command);
      }
      from = server.stdout.lines.length;
      await server.type("hello there");
      await server.type("/join #elsewhere");
      await server.type("/nosuch thing");
      await server.type("   ");
      await server.type("/who");
      await server.type("/who #dev");
      await server.type("/rooms");
      assert.deepEqual(await printed(server, from, 6), [
        "! The console takes commands (type /help)",
        "! /join is not a console command (type /help)",
        "! Unknown command: /nosuch (type /help)",
        "* 1 online: alice",
        "* 1 in #dev: @bob",
        "* 2 rooms: #lobby (1), #dev (1)",
      ]);
    }),
});

Deno.test({
  name:
    "the console bans and unbans: the room and the console hear it, the log says console did it",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      let from = server.stdout.lines.length;
      await server.type("/ban bob 30m spam");
      for (const peer of [alice, bob]) {
        await peer.expect("* bob was banned by server for 30m (spam)");
      }
      await bob.expectClosed();
      await server.type("/bans");
      assert.deepEqual((await printed(server, from, 3)).slice(0, 2), [
        "* bob was banned by server for 30m (spam)",
        "* 1 ban:",
      ]);
      assert.match(
        consoleOutput(server, from)[2] as string,
        /^\* {3}bob until \d\d:\d\d, by server \(spam\)$/,
      );
      await expectBanned(server.port, "bob", /^! You are banned \(until \d\d:\d\d\)$/);
      from = server.stdout.lines.length;
      await server.type("/unban bob");
      assert.deepEqual(await printed(server, from, 1), ["* bob was unbanned by server"]);
      await using _back = await Peer.join(server.port, "bob");
      await alice.expect("* bob joined the chat");
      await logged(server, "console", "banned bob for 30m (spam)");
      await logged(server, "console", "unbanned bob");
    }),
});

Deno.test({
  name:
    "/ban of what is written like an address but is none is refused; names, and a member called so, are banned",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using alice = await Peer.join(server.port, "alice");
      let from = server.stdout.lines.length;
      const typos = ["999.999.999.999", "1.2.3.4.5", "01.2.3.4", "2001:db8::zz", "1.2.3.4:80"];
      for (const typed of typos) await server.type(`/ban ${typed} 2h`);
      await server.type("/bans");
      assert.deepEqual(await printed(server, from, typos.length + 1), [
        ...typos.map((typed) => `! Invalid address: ${typed}`),
        "* No bans",
      ]);
      await becomeOperator(alice);
      await alice.send("/ban 999.999.999.999\n");
      await alice.expect("! Invalid address: 999.999.999.999");
      // Names that are not written like an address are names, as before.
      from = server.stdout.lines.length;
      await server.type("/ban 1.2.3 2h");
      await server.type("/ban v1.2.3.4 2h");
      assert.deepEqual(await printed(server, from, 2), [
        "* 1.2.3 was banned by server for 2h",
        "* v1.2.3.4 was banned by server for 2h",
      ]);
      // A member called like an address that is none is banned by that name.
      await using tricky = await Peer.join(server.port, "999.999.999.999");
      await alice.expect("* 999.999.999.999 joined the chat");
      await server.type("/ban 999.999.999.999 2h");
      for (const peer of [alice, tricky]) {
        await peer.expect("* 999.999.999.999 was banned by server for 2h");
      }
      await tricky.expectClosed();
      await logged(server, "console", "banned 999.999.999.999 for 2h");
    }),
});

Deno.test({
  name: "the end of the console's input does not stop the server: members chat and newcomers join",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      const from = server.stdout.lines.length;
      // A line left unfinished is run at the end of the input: its answer shows the end was read.
      await server.type("/who", "");
      await server.endInput();
      assert.deepEqual(await printed(server, from, 1), ["* 2 online: alice, bob"]);
      await alice.send("still up?\n");
      for (const peer of [alice, bob]) await peer.expect("alice: still up?");
      await using _carol = await Peer.join(server.port, "carol");
      for (const peer of [alice, bob]) await peer.expect("* carol joined the chat");
      await bob.send("yes\n");
      for (const peer of [alice, bob]) await peer.expect("bob: yes");
    }),
});

Deno.test({
  name: "/oper on a server with no operator password says so",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using alice = await Peer.join(port, "alice");
      await alice.send(`/oper ${OPER_PASSWORD}\n/ban bob\n`);
      await alice.expect("! No operator password is set on this server");
      await alice.expect("! Only server operators can /ban");
    }),
});

Deno.test({
  name: "loopback addresses are never banned: a loopback member's ban is on its name alone",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      await becomeOperator(alice);
      const loopback = ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"];
      // The same addresses written otherwise.
      loopback.push("0:0:0:0:0:0:0:1", "::FFFF:127.0.0.1", "::ffff:7f00:1", "0::ffff:127.0.0.2");
      for (const address of loopback) {
        await alice.send(`/ban ${address}\n`);
        await alice.expect("! Loopback addresses are never banned");
      }
      await alice.send("/ban bob\n");
      for (const peer of [alice, bob]) await peer.expect("* bob was banned by alice for 1h");
      await bob.expectClosed();
      // Same address, another name: welcome.
      await using _carol = await Peer.join(server.port, "carol");
      await alice.expect("* carol joined the chat");
      await expectBanned(server.port, "bob", /^! You are banned \(until \d\d:\d\d\)$/);
      await alice.send("/bans\n");
      await alice.expect("* 1 ban:");
      await alice.expect(/^\* {3}bob until \d\d:\d\d, by alice$/);
      await logged(server, "alice", "banned bob for 1h");
    }),
});

Deno.test({
  name: "a member named like an address (127.0.0.1) is banned, muted and let off by that name",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "127.0.0.1"]);
      const [alice, tricky] = [...peers] as [Peer, Peer];
      await becomeOperator(alice);
      await alice.send("/mute 127.0.0.1\n");
      for (const peer of [alice, tricky]) {
        await peer.expect("* 127.0.0.1 was muted by alice for 10m");
      }
      await tricky.send("hi\n");
      await tricky.expect(MUTED);
      await alice.send("/unmute 127.0.0.1\n");
      for (const peer of [alice, tricky]) await peer.expect("* 127.0.0.1 was unmuted by alice");
      await alice.send("/ban 127.0.0.1 forever\n");
      for (const peer of [alice, tricky]) {
        await peer.expect("* 127.0.0.1 was banned by alice forever");
      }
      await tricky.expectClosed();
      await expectBanned(server.port, "127.0.0.1", "(forever)");
      // Nobody has the name now: it is the address again, which is never banned.
      await alice.send("/ban 127.0.0.1\n/unban 127.0.0.1\n");
      await alice.expect("! Loopback addresses are never banned");
      await alice.expect("* 127.0.0.1 was unbanned by alice");
      await using _back = await Peer.join(server.port, "127.0.0.1");
      await alice.expect("* 127.0.0.1 joined the chat");
    }),
});

Deno.test({
  name: "a muted operator may still act, but not speak through a reason or the message of the day",
  ...LEAK_CHECKS,
  fn: () =>
    withOperServer([], async (server) => {
      await using peers = await joinAll(server.port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await becomeOperator(alice);
      await carol.send("/join dev\n");
      await carol.expect("* You are now in #dev (1 here)");
      for (const peer of [alice, bob]) await peer.expect("* carol left for #dev");
      await bob.send("/join dev\n");
      await bob.readUntil(/^\* You are now in #dev/);
      await carol.expect("* bob joined #dev");
      await alice.expect("* bob left for #dev");
      await alice.send("/mute carol\n");
      for (const peer of [alice, bob, carol]) {
        await peer.expect("* carol was muted by alice for 10m");
      }
      await carol.send("/kick bob you are all fools\n/topic fools\n");
      await carol.expect(MUTED);
      await carol.expect(MUTED);
      // Had bob been kicked, the notice would have come before this.
      await bob.send("still here\n");
      for (const peer of [bob, carol]) await peer.expect("bob: still here");
      await carol.send("/kick bob\n");
      for (const peer of [bob, carol]) await peer.expect("* bob was kicked by carol");
      await bob.expect("* You are now in #lobby (2 here)");
      await alice.expect("* bob joined #lobby");
      // A server operator muted at the console.
      await server.type("/mute alice 5m");
      for (const peer of [alice, bob]) await peer.expect("* alice was muted by server for 5m");
      await alice.send(
        "/motd free stuff at evil.example\n/mute bob 5m shut up\n/ban dave 1h go away\n",
      );
      for (let i = 0; i < 3; i++) await alice.expect(MUTED);
      await alice.send("/motd\n/bans\n/mutes\n");
      await alice.expect("* No message of the day");
      await alice.expect("* No bans");
      await alice.expect("* 2 mutes:");
      // Soonest to end first: alice's five minutes, then carol's ten.
      await alice.expect(/^\* {3}alice until \d\d:\d\d, by server$/);
      await alice.expect(/^\* {3}carol until \d\d:\d\d, by alice$/);
      await alice.send("/ban dave\n");
      await alice.expect("* dave was banned by alice for 1h");
    }),
});

// Every test peer above is on a loopback address, which is never banned. What
// bans and mutes do to other addresses is tested on the core itself, with
// links in memory that say where they come from.

const encoder = new TextEncoder();

/** A memory link that wakes whoever waits for its next write or its close. */
class WatchedLink extends MemoryLink {
  #waiters: (() => void)[] = [];

  override write(data: Uint8Array | string): boolean {
    const taken = super.write(data);
    this.#wake();
    return taken;
  }

  override destroy(): this {
    super.destroy();
    this.#wake();
    return this;
  }

  /** Resolves at the next write or close. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

/** A connection to an in-memory core from `ip`, read line by line with a deadline. */
class MemoryPeer {
  readonly link = new WatchedLink();
  #read = 0;

  constructor(chat: Chat, ip: string) {
    const member = chat.admit(this.link, ip, 4000, () => this.link);
    if (member !== null) chat.greet(member);
  }

  send(text: string): void {
    this.link.emit("data", encoder.encode(text));
  }

  /** The next line, or null once the link is closed and every line read. */
  async readLine(): Promise<string | null> {
    const deadline = Date.now() + WAIT_MS;
    while (true) {
      const text = this.link.text;
      const end = text.indexOf("\n", this.#read);
      if (end !== -1) {
        const line = text.slice(this.#read, end);
        this.#read = end + 1;
        return line;
      }
      if (this.link.destroyed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No line within ${WAIT_MS} ms; got:\n${text}`);
      await withDeadline(this.link.changed(), left, "a line from the core");
    }
  }

  async expect(wanted: string | RegExp): Promise<string> {
    const line = await this.readLine();
    const matches = line !== null &&
      (typeof wanted === "string" ? line === wanted : wanted.test(line));
    if (!matches) throw new Error(`Expected ${wanted}, got ${JSON.stringify(line)}`);
    return line as string;
  }

  /** Reads lines until one is `wanted`; returns all read, the match last. */
  async readUntil(wanted: string): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const line = await this.readLine();
      if (line === null) throw new Error(`Closed before ${wanted}; got:\n${seen.join("\n")}`);
      seen.push(line);
      if (line === wanted) return seen;
    }
    throw new Error(`No ${wanted} in 1000 lines`);
  }

  async expectClosed(): Promise<void> {
    for (let i = 0; i < 1000; i++) if (await this.readLine() === null) return;
    throw new Error("The link was never closed");
  }
}

/** A core with an operator password, its log and its console's output kept. */
async function withCore(
  body: (core: {
    chat: Chat;
    log: string[];
    console: string[];
    join(name: string, ip: string): Promise<MemoryPeer>;
  }) => Promise<void>,
  options: { redisUrl?: string } = {},
): Promise<void> {
  const log: string[] = [];
  const console: string[] = [];
  const chat = memoryChat({
    maxClients: 100,
    maxPerIp: 100,
    operatorPassword: OPER_PASSWORD,
    consoleOutput: (text) => console.push(...text.split("\n").slice(0, -1)),
    log: (event) => log.push(event),
  });
  const join = async (name: string, ip: string) => {
    const peer = new MemoryPeer(chat, ip);
    await peer.expect(GREETING);
    peer.send(`${name}\n`);
    await peer.expect(/^Welcome, /);
    return peer;
  };
  // One process of a cluster, as server.ts makes it.
  const cluster = options.redisUrl === undefined ? null : await Cluster.connect({
    url: options.redisUrl,
    historyLines: HISTORY_LINES,
    onEvent: (event) => chat.clusterEvent(event),
    onDown: () => chat.clusterStatus(true),
    onUp: () => chat.clusterStatus(false),
  });
  try {
    if (cluster !== null) await chat.joinCluster(cluster);
    await body({ chat, log, console, join });
  } finally {
    await chat.shutdown(0);
    await cluster?.close();
  }
}

Deno.test({
  name:
    "a ban on an address disconnects everyone from it, in every form, and refuses it at connect",
  ...LEAK_CHECKS,
  fn: () =>
    withCore(async ({ chat, log, join }) => {
      const alice = await join("alice", "198.51.100.1");
      alice.send(`/oper ${OPER_PASSWORD}\n`);
      await alice.expect("* You are now a server operator");
      const bob = await join("bob", "203.0.113.5");
      await alice.expect("* bob joined the chat");
      const carol = await join("carol", "::ffff:203.0.113.5");
      for (const peer of [alice, bob]) await peer.expect("* carol joined the chat");
      carol.send("/join dev\n");
      await carol.expect("* You are now in #dev (1 here)");
      for (const peer of [alice, bob]) await peer.expect("* carol left for #dev");
      alice.send("/ban 203.0.113.5 2h flood\n");
      for (const peer of [alice, bob, carol]) {
        await peer.expect("* 203.0.113.5 was banned by alice for 2h (flood)");
      }
      await bob.expectClosed();
      await carol.expectClosed();
      for (const ip of ["203.0.113.5", "::ffff:203.0.113.5", "::FFFF:cb00:7105"]) {
        const again = new MemoryPeer(chat, ip);
        await again.expect(/^! You are banned \(until \d\d:\d\d\)$/);
        await again.expectClosed();
      }
      await join("dave", "203.0.113.6");
      alice.send("/bans\n");
      await alice.expect("* dave joined the chat");
      await alice.expect("* 1 ban:");
      await alice.expect(/^\* {3}203\.0\.113\.5 until \d\d:\d\d, by alice \(flood\)$/);
      alice.send("/unban ::ffff:203.0.113.5\n");
      await alice.expect("* 203.0.113.5 was unbanned by alice");
      await join("bob", "203.0.113.5");
      assert.ok(log.some((line) => line.endsWith(" alice banned 203.0.113.5 for 2h (flood)")));
      assert.ok(log.some((line) => line.endsWith(" refused: 203.0.113.5 is banned")));
      assert.ok(log.some((line) => line.endsWith(" alice unbanned 203.0.113.5")));
    }),
});

Deno.test({
  name: "a ban on a member's name is on its address too: another name from there is refused",
  ...LEAK_CHECKS,
  fn: () =>
    withCore(async ({ chat, log, join }) => {
      const alice = await join("alice", "198.51.100.1");
      alice.send(`/oper ${OPER_PASSWORD}\n`);
      await alice.expect("* You are now a server operator");
      const bob = await join("bob", "2001:db8::5");
      await alice.expect("* bob joined the chat");
      alice.send("/ban bob\n");
      for (const peer of [alice, bob]) await peer.expect("* bob was banned by alice for 1h");
      await bob.expectClosed();
      const rob = new MemoryPeer(chat, "2001:db8::5");
      await rob.expect(/^! You are banned \(until \d\d:\d\d\)$/);
      await rob.expectClosed();
      alice.send("/bans\n");
      await alice.expect("* 1 ban:");
      await alice.expect(/^\* {3}bob \(2001:db8::5\) until \d\d:\d\d, by alice$/);
      assert.ok(log.some((line) => line.endsWith(" alice banned bob (2001:db8::5) for 1h")));
      // Lifting it by the address lifts the name too.
      alice.send("/unban 2001:DB8:0::5\n");
      await alice.expect("* bob was unbanned by alice");
      await join("bob", "2001:db8::5");
    }),
});

Deno.test({
  name: "a mute on a member's name is on its address too: another name from there is muted",
  ...LEAK_CHECKS,
  fn: () =>
    withCore(async ({ join }) => {
      const alice = await join("alice", "198.51.100.1");
      alice.send(`/oper ${OPER_PASSWORD}\n`);
      await alice.expect("* You are now a server operator");
      const bob = await join("bob", "203.0.113.5");
      await alice.expect("* bob joined the chat");
      alice.send("/mute bob 30m\n");
      for (const peer of [alice, bob]) await peer.expect("* bob was muted by alice for 30m");
      const rob = await join("rob", "203.0.113.5");
      for (const peer of [alice, bob]) await peer.expect("* rob joined the chat");
      rob.send("it is me again\n");
      await rob.expect(MUTED);
      const dave = await join("dave", "203.0.113.6");
      for (const peer of [alice, bob, rob]) await peer.expect("* dave joined the chat");
      dave.send("hello\n");
      for (const peer of [alice, bob, rob, dave]) await peer.expect("dave: hello");
    }),
});

Deno.test({
  name: "a member at a server operator's address is banned and muted by name alone",
  ...LEAK_CHECKS,
  fn: () =>
    withCore(async ({ chat, log, join }) => {
      // One house, one address: alice keeps the server, bob does not behave.
      const alice = await join("alice", "203.0.113.5");
      alice.send(`/oper ${OPER_PASSWORD}\n`);
      await alice.expect("* You are now a server operator");
      const bob = await join("bob", "::ffff:203.0.113.5");
      await alice.expect("* bob joined the chat");
      alice.send("/mute bob\n");
      for (const peer of [alice, bob]) await peer.expect("* bob was muted by alice for 10m");
      alice.send("still the operator\n");
      for (const peer of [alice, bob]) await peer.expect("alice: still the operator");
      alice.send("/ban bob\n");
      for (const peer of [alice, bob]) await peer.expect("* bob was banned by alice for 1h");
      await bob.expectClosed();
      alice.send("/bans\n/mutes\n");
      await alice.expect("* 1 ban:");
      await alice.expect(/^\* {3}bob until \d\d:\d\d, by alice$/);
      await alice.expect("* 1 mute:");
      await alice.expect(/^\* {3}bob until \d\d:\d\d, by alice$/);
      // Alice's second device, from the same address.
      await join("alice2", "203.0.113.5");
      await alice.expect("* alice2 joined the chat");
      const refused = new MemoryPeer(chat, "203.0.113.5");
      await refused.expect(GREETING);
      refused.send("bob\n");
      await refused.expect(/^! You are banned \(until \d\d:\d\d\)$/);
      assert.ok(log.some((line) => line.endsWith(" alice banned bob for 1h")));
    }),
});

Deno.test({
  name: "in a cluster, a ban of an address, or of a name, reaches its members on another process",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await withCore(async (a) => {
      await withCore(async (b) => {
        const alice = await a.join("alice", "198.51.100.1");
        alice.send(`/oper ${OPER_PASSWORD}\n`);
        await alice.expect("* You are now a server operator");
        const bob = await b.join("bob", "203.0.113.5");
        const carol = await b.join("carol", "::ffff:203.0.113.5");
        carol.send("/join dev\n");
        await carol.readUntil("* You are now in #dev (1 here)");
        const dave = await b.join("dave", "203.0.113.9");
        await alice.readUntil("* dave joined the chat");
        // bob and carol are on b, in two rooms: each room hears it, and they are gone.
        alice.send("/ban 203.0.113.5 2h flood\n");
        const notice = "* 203.0.113.5 was banned by alice for 2h (flood)";
        await alice.readUntil(notice);
        await dave.readUntil(notice);
        for (const peer of [bob, carol]) {
          await peer.readUntil(notice);
          await peer.expectClosed();
        }
        const again = new MemoryPeer(b.chat, "203.0.113.5");
        await again.expect(/^! You are banned \(until \d\d:\d\d\)$/);
        await again.expectClosed();
        // A ban of a name elsewhere covers the address that member is connected from.
        alice.send("/ban dave\n");
        await dave.readUntil("* dave was banned by alice for 1h");
        await dave.expectClosed();
        const fromDave = new MemoryPeer(a.chat, "203.0.113.9");
        await fromDave.expect(/^! You are banned \(until \d\d:\d\d\)$/);
        await fromDave.expectClosed();
        alice.send("/bans\n");
        await alice.readUntil("* 2 bans:");
      }, { redisUrl: redis.url() });
    }, { redisUrl: redis.url() });
  },
});
