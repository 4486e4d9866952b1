/**
 * The cluster end to end: several real `server.ts` processes sharing rooms
 * and names through a real `redis-server`, with raw TCP members on each.
 */

import assert from "node:assert/strict";
import { HISTORY_LINES } from "../protocol.ts";
import { connectRedis } from "./redis.ts";
import { type RedisServer, startRedis } from "../test/redis_test_helpers.ts";
import {
  LEAK_CHECKS,
  Peer,
  Peers,
  runServerToExit,
  type ServerProcess,
  startServer,
  WAIT_MS,
} from "../test/test_helpers.ts";

/** Starts `count` servers of one cluster on `redis`, each on a port of its own. */
async function startCluster(
  redis: RedisServer,
  count: number,
  args: string[] = [],
): Promise<ServerProcess[]> {
  const servers: ServerProcess[] = [];
  for (let i = 0; i < count; i++) {
    servers.push(await startServer(["--quiet", "--rate", "0", "--redis", redis.url(), ...args]));
  }
  return servers;
}

/** Stops every server that still runs. */
async function stopAll(servers: ServerProcess[]): Promise<void> {
  await Promise.all(servers.map((server) => server.stop()));
}

Deno.test({
  name: "three processes, concurrent senders: every member gets the room's lines in one order",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const servers = await startCluster(redis, 3);
    try {
      const peers: Peer[] = [];
      try {
        // One at a time, each seen by those before it: everyone is in before the traffic starts.
        for (const [i, server] of servers.entries()) {
          peers.push(await Peer.join(server.port, `member${i}`));
          for (const peer of peers.slice(0, -1)) {
            await peer.readUntil(`* member${i} joined the chat`);
          }
        }
        const lines = 30;
        await Promise.all(peers.map(async (peer, i) => {
          for (let n = 0; n < lines; n++) await peer.send(`m${i}-${n}\n`);
        }));
        const heard = await Promise.all(peers.map(async (peer) => {
          const got: string[] = [];
          while (got.length < 3 * lines) {
            const line = await peer.readLine();
            if (line === null) break;
            if (/^member\d: m\d-\d+$/.test(line)) got.push(line);
          }
          return got;
        }));
        assert.equal(heard[0]!.length, 3 * lines);
        assert.deepEqual(heard[1], heard[0]);
        assert.deepEqual(heard[2], heard[0]);
        // Each sender's own lines, its echo included, in the order it sent them.
        for (let i = 0; i < 3; i++) {
          const own = heard[0]!.filter((line) => line.startsWith(`member${i}: `));
          assert.deepEqual(own, Array.from({ length: lines }, (_, n) => `member${i}: m${i}-${n}`));
        }
      } finally {
        await Promise.all(peers.map((peer) => peer.close()));
      }
    } finally {
      await stopAll(servers);
    }
  },
});

Deno.test({
  name: "names are unique across processes; /who, /rooms, /msg and /reply work across them",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const servers = await startCluster(redis, 2);
    try {
      await using alice = await Peer.join(servers[0]!.port, "alice");
      await using other = await Peer.connect(servers[1]!.port);
      await other.expect(/nickname/);
      await other.send("ALICE\n");
      await other.expect("Welcome, ALICE2! Type <quit> to leave.");
      await alice.readUntil("* ALICE2 joined the chat");
      await other.send("/who\n");
      await other.readUntil(/^\* 2 online: (alice, ALICE2|ALICE2, alice)$/);
      await other.send("/msg alice psst\n");
      await other.readUntil("(private to alice) ALICE2: psst");
      await alice.readUntil("(private) ALICE2: psst");
      await alice.send("/reply hello back\n");
      await alice.readUntil("(private to ALICE2) alice: hello back");
      await other.readUntil("(private) alice: hello back");
      await other.send("/join dev\n");
      await other.readUntil("* You are now in #dev (1 here)");
      await alice.readUntil("* ALICE2 left for #dev");
      await alice.send("/rooms\n/who #dev\n/join dev\n");
      await alice.readUntil("* 2 rooms: #lobby (1), #dev (1)");
      // ALICE2 made #dev, on the other process: its operator, for everyone.
      await alice.readUntil("* 1 in #dev: @ALICE2");
      await alice.readUntil("* You are now in #dev (2 here)");
      await other.readUntil("* alice joined #dev");
      await other.send("/nick bob\n");
      await alice.readUntil("* ALICE2 is now known as bob");
      // The old name is free again, anywhere.
      await using _again = await Peer.join(servers[0]!.port, "ALICE2");
    } finally {
      await stopAll(servers);
    }
  },
});

Deno.test({
  name: "a newcomer on another process gets the room's history, kept in Redis",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const servers = await startCluster(redis, 1);
    try {
      await using alice = await Peer.join(servers[0]!.port, "alice");
      await alice.send("before the others came\n/join dev\nin dev\n");
      await alice.readUntil("alice: in dev");
      servers.push(...await startCluster(redis, 1));
      await using bob = await Peer.join(servers[1]!.port, "bob");
      await bob.readUntil("* Recent messages:");
      await bob.expect("alice: before the others came");
      await bob.expect("* End of recent messages");
      await bob.send("/join dev\n");
      await bob.readUntil("* You are now in #dev (2 here)");
      await bob.expect("* Recent messages:");
      await bob.expect("alice: in dev");
      await bob.expect("* End of recent messages");
    } finally {
      await stopAll(servers);
    }
  },
});

Deno.test({
  name: "while Redis is away a line gets the unavailable error; when it is back, chat goes on",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const servers = await startCluster(redis, 2);
    try {
      const [alice, bob] = [
        await Peer.join(servers[0]!.port, "alice"),
        await Peer.join(servers[1]!.port, "bob"),
      ];
      try {
        await alice.readUntil("* bob joined the chat");
        await redis.stop();
        for (const peer of [alice, bob]) {
          await peer.readUntil(
            "* The chat lost its connection to Redis; messages cannot be sent until it is back",
          );
        }
        await alice.send("anyone there?\n");
        await alice.readUntil("! Chat is unavailable right now; your message was not sent");
        await redis.restart();
        for (const peer of [alice, bob]) await peer.readUntil("* The chat is back", WAIT_MS * 3);
        await alice.send("back again\n");
        await bob.readUntil("alice: back again");
        await alice.readUntil("alice: back again");
      } finally {
        await alice.close();
        await bob.close();
      }
    } finally {
      await stopAll(servers);
    }
  },
});

Deno.test({
  name:
    "Redis restarted with its data while members chat: every line it took reaches everyone once, in one order",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis({ persist: true });
    // Not quiet: what the processes log is checked too.
    const servers: ServerProcess[] = [];
    for (let i = 0; i < 2; i++) {
      servers.push(await startServer(["--rate", "0", "--redis", redis.url()]));
    }
    const names = ["alice", "bob", "carol", "dave"];
    const peers: Peer[] = [];
    try {
      // Two members on each process, all in #lobby, each seen arriving by those before.
      for (const [i, name] of names.entries()) {
        peers.push(await Peer.join(servers[i % 2]!.port, name));
        for (const peer of peers.slice(0, -1)) await peer.readUntil(`* ${name} joined the chat`);
      }
      const heard: string[][] = peers.map(() => []);
      /** Reads each member's lines until it has heard every one of `lines`. */
      const hearAll = (lines: string[], ms = WAIT_MS) =>
        Promise.all(peers.map(async (peer, i) => {
          const mine = heard[i]!;
          const deadline = Date.now() + ms;
          for (let n = 0; n < 1000 && !lines.every((line) => mine.includes(line)); n++) {
            const line = await peer.readLine(Math.max(deadline - Date.now(), 1));
            if (line === null) throw new Error(`${names[i]} was disconnected`);
            mine.push(line);
          }
        }));
      const post = async (tag: string, count: number): Promise<string[]> => {
        await Promise.all(peers.map(async (peer, i) => {
          for (let n = 0; n < count; n++) await peer.send(`${tag}-${names[i]}-${n}\n`);
        }));
        return names.flatMap((name) =>
          Array.from({ length: count }, (_, n) => `${name}: ${tag}-${name}-${n}`)
        );
      };
      // More than the history keeps, so that it holds lines from both sides of the outage.
      const before = await post("before", 5);
      await hearAll(before);
      const lost =
        "* The chat lost its connection to Redis; messages cannot be sent until it is back";
      await redis.stop();
      await hearAll([lost]);
      for (const [i, peer] of peers.entries()) {
        await peer.send(`during-${names[i]}\n`);
        await peer.expect("! Chat is unavailable right now; your message was not sent");
      }
      // Long enough for a heartbeat of each process to fail: the names' leases go through it too.
      await Promise.all(
        servers.map((server) =>
          server.stdout.waitFor((line) => line.includes("Renewing the cluster's names failed"))
        ),
      );
      await redis.restart();
      await hearAll(["* The chat is back"], WAIT_MS * 3);
      const after = await post("after", 2);
      await hearAll(after);
      const chat = heard.map((lines) => lines.filter((line) => /^[a-z]+: /.test(line)));
      for (const [i, lines] of chat.entries()) {
        assert.deepEqual(lines, chat[0], `${names[i]} heard the lines in another order`);
        assert.equal(heard[i]!.filter((line) => line === lost).length, 1);
        assert.equal(heard[i]!.filter((line) => line === "* The chat is back").length, 1);
        assert.ok(!heard[i]!.some((line) => line.includes("left the chat")), heard[i]!.join("\n"));
      }
      assert.deepEqual([...chat[0]!].sort(), [...before, ...after].sort());
      assert.ok(!chat[0]!.some((line) => line.includes("during-")));
      // A process started now reads the room's history from Redis: the same lines, in that order.
      servers.push(await startServer(["--rate", "0", "--redis", redis.url()]));
      await using erin = await Peer.join(servers[2]!.port, "erin");
      await erin.expect("* Recent messages:");
      const history = (await erin.readUntil("* End of recent messages")).slice(0, -1);
      assert.deepEqual(history, chat[0]!.slice(-HISTORY_LINES));
    } finally {
      await Promise.all(peers.map((peer) => peer.close()));
      await stopAll(servers);
    }
    // The two that lived through the outage; the third came after it.
    for (const [i, server] of servers.entries()) {
      const log = server.stdout.text;
      assert.ok(!log.includes("came back empty"), log);
      assert.ok(!log.includes("another process took the name"), log);
      assert.equal(
        server.stdout.lines.filter((line) => line.endsWith("cluster: Redis is back")).length,
        i < 2 ? 1 : 0,
        log,
      );
    }
  },
});

Deno.test({
  name:
    "Redis paused past the command timeout: a line it was given may arrive late and reaches everyone once, one refused meanwhile never; nobody is told the chat is back before Redis answers",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const servers = await startCluster(redis, 2);
    const notSent = "! Chat is unavailable right now; your message was not sent";
    const late = "! Chat is not answering; your message may arrive late";
    const lost =
      "* The chat lost its connection to Redis; messages cannot be sent until it is back";
    const back = "* The chat is back";
    const peers: Peer[] = [];
    try {
      peers.push(await Peer.join(servers[0]!.port, "alice"));
      peers.push(await Peer.join(servers[1]!.port, "bob"));
      const [alice, bob] = peers as [Peer, Peer];
      await alice.readUntil("* bob joined the chat");
      const heard: string[][] = [[], []];
      /** Reads member `i`'s lines, kept in `heard`, until `wanted`; returns that line. */
      const hear = async (i: number, wanted: string | RegExp, ms = WAIT_MS): Promise<string> => {
        const deadline = Date.now() + ms;
        while (true) {
          const line = await peers[i]!.readLine(Math.max(deadline - Date.now(), 1)).catch(
            (error) => {
              throw new Error(`${error.message} (${wanted}); heard: ${JSON.stringify(heard)}`);
            },
          );
          if (line === null) throw new Error(`Closed before ${wanted}: ${JSON.stringify(heard)}`);
          heard[i]!.push(line);
          if (typeof wanted === "string" ? line === wanted : wanted.test(line)) return line;
        }
      };
      await alice.send("before\n");
      await hear(0, "alice: before");
      await hear(1, "alice: before");
      const pausedFrom = heard.map((lines) => lines.length);
      const pid = redis.pid;
      Deno.kill(pid, "SIGSTOP");
      let bobTold: string;
      try {
        // Written to Redis, not answered: within the 5 s command timeout, and a little more.
        await alice.send("while paused\n");
        await hear(0, late, WAIT_MS * 2);
        // Alice's process now reconnects; the kernel completes the handshake, Redis is silent.
        await alice.send("refused\n");
        await hear(0, notSent);
        // Bob's process finds out when its blocked read times out (its 5 s block and 5 s more).
        await hear(1, lost, WAIT_MS * 3);
        // Its commands connection may be up still (the line is written) or not (it is refused).
        await bob.send("from bob\n");
        bobTold = await hear(1, /^! Chat is /, WAIT_MS * 2);
        // Paused a while longer, past another reconnect of each process: none of them may count
        // as Redis being back. The pause is what is under test, not a wait for something.
        await new Promise((resolve) => setTimeout(resolve, 1000));
      } finally {
        Deno.kill(pid, "SIGCONT");
      }
      const pausedTo = heard.map((lines) => lines.length);
      await Promise.all([hear(0, back), hear(1, back)]);
      await alice.send("after\n");
      await Promise.all([hear(0, "alice: after"), hear(1, "alice: after")]);

      // What each was told while Redis was paused, exactly.
      assert.deepEqual(heard[0]!.slice(pausedFrom[0], pausedTo[0]), [lost, late, notSent]);
      assert.deepEqual(heard[1]!.slice(pausedFrom[1], pausedTo[1]), [lost, bobTold]);
      assert.ok([late, notSent].includes(bobTold), bobTold);
      for (const lines of heard) {
        assert.equal(lines.filter((line) => line === lost).length, 1);
        assert.equal(lines.filter((line) => line === back).length, 1);
      }
      // Every line Redis was given reaches both once, in one order; the refused one never.
      const chat = heard.map((lines) => lines.filter((line) => /^[a-z]+: /.test(line)));
      assert.deepEqual(chat[1], chat[0]);
      const expected = ["alice: before", "alice: while paused", "alice: after"];
      if (bobTold === late) expected.push("bob: from bob");
      assert.deepEqual([...chat[0]!].sort(), expected.sort());
      assert.equal(chat[0]![0], "alice: before");
      assert.equal(chat[0]!.at(-1), "alice: after");
    } finally {
      await Promise.all(peers.map((peer) => peer.close()));
      await stopAll(servers);
    }
  },
});

Deno.test({
  name:
    "a process killed outright: its members' rooms elsewhere are told once within 15 s, and they leave /who",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const servers = await startCluster(redis, 3);
    await using raw = await connectRedis(redis.url());
    try {
      await using alice = await Peer.join(servers[0]!.port, "alice");
      await using carol = await Peer.join(servers[2]!.port, "carol");
      await alice.readUntil("* carol joined the chat");
      // In another room: not told.
      await using dave = await Peer.join(servers[0]!.port, "dave");
      await dave.send("/join dev\n");
      await dave.readUntil("* You are now in #dev (1 here)");
      const doomed = await Peer.join(servers[1]!.port, "bob");
      const survivors = [alice, carol];
      const heard: string[][] = [[], []];
      await Promise.all(survivors.map((peer) => peer.readUntil("* bob joined the chat")));
      await servers[1]!.stop("SIGKILL");
      await doomed.close();
      const killed = Date.now();
      const notice = "* bob left the chat (connection lost)";
      await Promise.all(survivors.map(async (peer, i) => {
        heard[i]!.push(...await peer.readUntil(notice, 15_000 - (Date.now() - killed)));
      }));
      assert.ok(Date.now() - killed <= 15_000);
      // Told once: each surviving process has beaten (renewed, then reaped) since, and a line
      // sent after comes through the stream behind any second notice.
      const hashes = (await raw.command(["KEYS", "chat:members:*"])) as string[];
      assert.equal(hashes.length, 2);
      await Promise.all(hashes.map(async (key) => {
        // Between renewals its time to live only falls.
        let last = await raw.command(["PTTL", key]) as number;
        const deadline = Date.now() + WAIT_MS * 2;
        while (Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          const ttl = await raw.command(["PTTL", key]) as number;
          if (ttl > last) return;
          last = ttl;
        }
        throw new Error(`${key} was not renewed in ${WAIT_MS * 2} ms`);
      }));
      await alice.send("after the notice\n");
      await Promise.all(survivors.map(async (peer, i) => {
        heard[i]!.push(...await peer.readUntil("alice: after the notice"));
      }));
      for (const lines of heard) assert.equal(lines.filter((line) => line === notice).length, 1);
      const entries = await raw.xrange("chat:events", "-", "+");
      assert.equal(entries.filter(([, fields]) => fields.t === "gone").length, 1);
      await alice.send("/who\n");
      const who = (await alice.readUntil(/^\* \d+ online: /)).at(-1);
      assert.match(who!, /^\* 2 online: (alice, carol|carol, alice)$/);
      await using _back = await Peer.join(servers[0]!.port, "bob");
      await alice.readUntil("* bob joined the chat");
      await dave.send("/join lobby\n");
      const told = await dave.readUntil(/^\* You are now in #lobby/);
      assert.ok(!told.includes(notice), told.join("\n"));
    } finally {
      await stopAll(servers);
    }
  },
});

Deno.test({
  name: "--reuse-port: two processes of a cluster on one port share its members",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const first = await startServer(["--quiet", "--redis", redis.url(), "--reuse-port"]);
    const servers = [first];
    try {
      servers.push(
        await startServer([
          "--quiet",
          "--redis",
          redis.url(),
          "--reuse-port",
          "--port",
          String(first.port),
        ]),
      );
      // Joined one at a time, each seen by p0. Not by every earlier member in turn: a member
      // welcomed by one process may hear an earlier join from the other a moment after its own
      // welcome, as that process reads the cluster's stream.
      await using peers = new Peers();
      for (const name of ["p0", "p1", "p2", "p3", "p4", "p5"]) {
        peers.push(await Peer.join(first.port, name));
        if (name !== "p0") await peers[0]!.readUntil(`* ${name} joined the chat`);
      }
      await peers[0]!.send("/who\n");
      const who = (await peers[0]!.readUntil(/^\* 6 online: /)).at(-1) as string;
      assert.equal(who.split(": ")[1]!.split(", ").sort().join(","), "p0,p1,p2,p3,p4,p5");
    } finally {
      await stopAll(servers);
    }
  },
});

Deno.test({
  name: "topics, bans, mutes and the message of the day are the whole cluster's",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "chat-cluster-oper-" });
    await Deno.writeTextFile(`${dir}/oper`, "sesame\n");
    const servers: ServerProcess[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        servers.push(
          await startServer(
            ["--quiet", "--redis", redis.url(), "--oper-password-file", `${dir}/oper`],
            ["--allow-net", `--allow-read=${dir}`],
          ),
        );
      }
      await using alice = await Peer.join(servers[0]!.port, "alice");
      await using eve = await Peer.join(servers[1]!.port, "eve");
      await using mallory = await Peer.join(servers[1]!.port, "mallory");
      await alice.readUntil("* mallory joined the chat");
      await alice.send("/oper sesame\n/join dev\n/topic builds\n");
      await alice.readUntil("* You are now a server operator");
      // The room's line comes back through Redis; the answers to alice alone do not.
      await alice.readUntil("* alice set the topic: builds");
      await alice.send("/motd Be kind\n/part\n");
      await alice.readUntil("* Message of the day set");
      await alice.readUntil("* You are now in #lobby (3 here)");
      await alice.send("/mute eve 10m\n/ban mallory 1h spam\n");
      await alice.readUntil("* eve was muted by alice for 10m");
      await alice.readUntil("* mallory was banned by alice for 1h (spam)");
      // mallory is on the other process: it disconnects her.
      await mallory.readUntil(/^! You are banned \(until \d\d:\d\d\)$/);
      await mallory.expectClosed();
      await eve.send("let me speak\n");
      await eve.readUntil(/^! You are muted \(until \d\d:\d\d\)$/);
      // A room that exists elsewhere is no new name to the room: the muted may join it.
      await eve.send("/join dev\n");
      await eve.readUntil("* You are now in #dev (1 here)");
      await eve.expect("* Topic: builds");
      await eve.send("/join brand-new\n");
      await eve.readUntil(/^! You are muted \(until \d\d:\d\d\)$/);
      await using newcomer = await Peer.connect(servers[1]!.port);
      await newcomer.expect(/nickname/);
      await newcomer.send("carol\n");
      await newcomer.expect("Welcome, carol! Type <quit> to leave.");
      await newcomer.expect("* Message of the day: Be kind");
      await newcomer.send("/join dev\n");
      await newcomer.readUntil("* You are now in #dev (2 here)");
      await newcomer.expect("* Topic: builds");
      await using again = await Peer.connect(servers[1]!.port);
      await again.expect(/nickname/);
      await again.send("mallory\n");
      await again.expect(/^! You are banned \(until \d\d:\d\d\)$/);
    } finally {
      await stopAll(servers);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a Redis that cannot be reached at start is one line, without its password, and exit 1",
  ...LEAK_CHECKS,
  async fn() {
    // A port nothing listens on: taken from the system, then let go.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const url = `redis://user:hunter2@127.0.0.1:${port}`;
    const run = await runServerToExit([
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--no-web",
      "--no-console",
      "--redis",
      url,
    ]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(`^Cannot join the cluster on Redis at redis://127\\.0\\.0\\.1:${port}: .+\\n$`),
    );
    assert.ok(!run.stderr.includes("hunter2"));
  },
});
