import assert from "node:assert/strict";
import { ChatServer } from "./server.ts";
import { HELP_LINES } from "./core/commands.ts";
import {
  joinAll,
  LEAK_CHECKS,
  Peer,
  startServer,
  WAIT_MS,
  withDeadline,
  withServer,
} from "./test/test_helpers.ts";

Deno.test({
  name: "members chatting all see every message, their own included, in one order",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using alice = await Peer.join(port, "alice");
      await using bob = await Peer.join(port, "bob");
      await alice.expect("* bob joined the chat");
      await using carol = await Peer.join(port, "carol");
      await alice.expect("* carol joined the chat");
      await bob.expect("* carol joined the chat");
      // Three members talk at once; every member must see the same sequence.
      const sends = [];
      for (let i = 0; i < 20; i++) {
        sends.push(alice.send(`a${i}\n`), bob.send(`b${i}\n`), carol.send(`c${i}\n`));
      }
      await Promise.all(sends);
      const seen: string[][] = [];
      for (const member of [alice, bob, carol]) {
        const lines: string[] = [];
        for (let i = 0; i < 60; i++) lines.push((await member.readLine()) ?? "<closed>");
        seen.push(lines);
      }
      assert.deepEqual(seen[1], seen[0]);
      assert.deepEqual(seen[2], seen[0]);
      for (const who of ["a", "b", "c"]) {
        const name = { a: "alice", b: "bob", c: "carol" }[who];
        const own = seen[0]!.filter((line) => line.startsWith(`${name}: `));
        assert.deepEqual(own, Array.from({ length: 20 }, (_, i) => `${name}: ${who}${i}`));
      }
    }),
});

Deno.test({
  name: "a newcomer is greeted, welcomed by its final name, and announced to the others only",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using alice = await Peer.join(port, "alice");
      await using bob = await Peer.connect(port);
      assert.match((await bob.readLine())!, /nickname/);
      await bob.send("bob\n");
      await bob.expect("Welcome, bob! Type <quit> to leave.");
      await alice.expect("* bob joined the chat");
      await bob.send("hi\n");
      await bob.expect("bob: hi", WAIT_MS);
      await alice.expect("bob: hi");
    }),
});

Deno.test({
  name: "taken names get the smallest free number, ignoring case",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using first = await Peer.join(port, "alice");
      await using second = await Peer.connect(port);
      await second.expect(/nickname/);
      await second.send("ALICE\n");
      await second.expect("Welcome, ALICE2! Type <quit> to leave.");
      await using third = await Peer.connect(port);
      await third.expect(/nickname/);
      await third.send("alice\n");
      await third.expect("Welcome, alice3! Type <quit> to leave.");
      await first.expect("* ALICE2 joined the chat");
      await first.expect("* alice3 joined the chat");
    }),
});

Deno.test({
  name:
    "lookalike names count as taken for joins, /nick and /msg, and lookalikes of server are reserved",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using alice = await Peer.join(port, "alice");
      await using twin = await Peer.connect(port);
      await twin.expect(/nickname/);
      await twin.send("al\u0131ce\n"); // dotless i
      await twin.expect("Welcome, al\u0131ce2! Type <quit> to leave.");
      await using fake = await Peer.connect(port);
      await fake.expect(/nickname/);
      await fake.send("\ua731\u1d07\u0280\u1d20\u1d07\u0280\n"); // small-capital SERVER
      await fake.expect("Welcome, guest! Type <quit> to leave.");
      await using bob = await Peer.join(port, "bob");
      await bob.send("/nick aIice\n/nick \u0251lice\n/msg ALICE hi\n");
      await bob.expect("! Name taken: aIice");
      await bob.expect("! Name taken: \u0251lice");
      await bob.expect("(private to alice) bob: hi");
      await alice.expect("* al\u0131ce2 joined the chat");
      await alice.expect("* guest joined the chat");
      await alice.expect("* bob joined the chat");
      await alice.expect("(private) bob: hi");
    }),
});

Deno.test({
  name: "invalid, reserved, impersonating and escape-laden names are cleaned or become guest",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      const cases: [string, string][] = [
        ["server", "guest"],
        ["  \t ", "guest2"],
        ["\u0430lice", "guest3"],
        ["alice: fake", "alicefake"],
        ["\x1b[2Jmallory\x00", "mallory"],
        ["x".repeat(40), "x".repeat(24)],
      ];
      const peers = [];
      try {
        for (const [requested, final] of cases) {
          const peer = await Peer.connect(port);
          peers.push(peer);
          await peer.expect(/nickname/);
          await peer.send(`${requested}\r\n`);
          await peer.expect(`Welcome, ${final}! Type <quit> to leave.`);
        }
      } finally {
        for (const peer of peers) await peer.close();
      }
    }),
});

Deno.test({
  name: "a connection that sends no nickname in time gets the default name",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--name-timeout", "0.2"], async (port) => {
      await using quiet = await Peer.connect(port);
      await quiet.expect(/nickname/);
      await quiet.expect("Welcome, guest! Type <quit> to leave.");
      await quiet.send("hello\n");
      await quiet.expect("guest: hello");
    }),
});

Deno.test({
  name: "each quit word, in any case, says goodbye, closes the connection and tells the others",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using watcher = await Peer.join(port, "watcher");
      for (const word of ["<quit>", "/quit", "{quit}", "/QUIT", "<Quit>"]) {
        const leaver = await Peer.join(port, "leaver");
        try {
          await watcher.expect("* leaver joined the chat");
          await leaver.send(`${word}\nnever sent\n`);
          assert.deepEqual(await leaver.expectClosed(), ["* Goodbye, leaver!"]);
          await watcher.expect("* leaver left the chat");
        } finally {
          await leaver.close();
        }
      }
      await watcher.send("still here\n");
      await watcher.expect("watcher: still here");
    }),
});

Deno.test({
  name: "a dropped connection is announced as connection lost",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using alice = await Peer.join(port, "alice");
      const bob = await Peer.join(port, "bob");
      await alice.expect("* bob joined the chat");
      await bob.close();
      await alice.expect("* bob left the chat (connection lost)");
    }),
});

Deno.test({
  name: "a full server refuses the next connection with one line and nobody else notices",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--max-clients", "2"], async (port) => {
      await using alice = await Peer.join(port, "alice");
      await using bob = await Peer.join(port, "bob");
      await alice.expect("* bob joined the chat");
      await using carol = await Peer.connect(port);
      assert.deepEqual(await carol.expectClosed(), [
        "! Server is full (2 users); try again later.",
      ]);
      await bob.send("after\n");
      await alice.expect("bob: after");
      await bob.expect("bob: after");
      // Room again once someone leaves.
      await bob.send("<quit>\n");
      await bob.expectClosed();
      await alice.expect("* bob left the chat");
      await using _dave = await Peer.join(port, "dave");
      await alice.expect("* dave joined the chat");
    }),
});

Deno.test({
  name: "an over-long line is dropped with an error and the connection stays",
  ...LEAK_CHECKS,
  fn: () =>
    // Flood control off: it would pace these bytes to 100 a second.
    withServer(["--max-line-bytes", "100", "--rate", "0"], async (port) => {
      await using alice = await Peer.join(port, "alice");
      await using bob = await Peer.join(port, "bob");
      await alice.expect("* bob joined the chat");
      await alice.send("y".repeat(100) + "\r\n");
      await alice.expect(`alice: ${"y".repeat(100)}`);
      await alice.send("x".repeat(101) + "\n");
      await alice.expect("! Line too long (max 100 bytes); message dropped.");
      // Most of a megabyte with no newline in sight, in pieces: one error, nothing echoed.
      const block = "z".repeat(64 * 1024);
      for (let i = 0; i < 15; i++) await alice.send(block);
      await alice.send("\nstill connected\n");
      await alice.expect("! Line too long (max 100 bytes); message dropped.");
      await alice.expect("alice: still connected");
      await bob.expect(`alice: ${"y".repeat(100)}`);
      await bob.expect("alice: still connected");
    }),
});

Deno.test({
  name:
    "text rules: split lines, many lines per segment, CRLF, empty lines, NUL, escapes, bidi, bad UTF-8",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using alice = await Peer.join(port, "alice");
      await alice.send("hal");
      await alice.send("f a li");
      await alice.send("ne\r\n\n  \r\n\tone\ttwo \ntwo\nthree\n");
      await alice.send("nul\0byte \x1b[2Jclear \x07bell\n");
      await alice.send("\x1b]0;title\x07\x1b[2J\n\u202egnp.exe\u2028\u200bok\n");
      // Byte 255 starts a telnet command; these two are never UTF-8 either.
      await alice.send(new Uint8Array([0x62, 0x61, 0x64, 0xfe, 0xc0, 0x0a]));
      await alice.send("alice: fake\n");
      for (
        const line of [
          "alice: half a line",
          "alice: one two",
          "alice: two",
          "alice: three",
          "alice: nulbyte clear bell",
          "alice: gnp.exe ok",
          "alice: bad\uFFFD\uFFFD",
          "alice: alice: fake",
        ]
      ) {
        await alice.expect(line);
      }
    }),
});

Deno.test({
  name: "a member that stops reading is dropped as too slow and the others lose nothing",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--rate", "0"], async (port) => {
      await using talker = await Peer.join(port, "talker");
      await using reader = await Peer.join(port, "reader");
      await talker.expect("* reader joined the chat");
      await using _sleeper = await Peer.join(port, "sleeper");
      await talker.expect("* sleeper joined the chat");
      await reader.expect("* sleeper joined the chat");
      // 24 MB in all: far more than the sleeper's socket buffers and its queue
      // (256 KiB) hold. One batch in flight at a time, so readers keep up.
      const padding = "p".repeat(3000);
      const batches = 400;
      const perBatch = 20;
      const notices = { talker: 0, reader: 0 };
      const readBatch = async (member: Peer, who: "talker" | "reader", first: number) => {
        for (let next = first; next < first + perBatch;) {
          const line = await member.readLine();
          if (line === "* sleeper left the chat (too slow)") {
            notices[who]++;
            continue;
          }
          assert.equal(line, `talker: ${next} ${padding}`);
          next++;
        }
      };
      for (let batch = 0; batch < batches; batch++) {
        const first = batch * perBatch;
        let text = "";
        for (let i = first; i < first + perBatch; i++) text += `${i} ${padding}\n`;
        await talker.send(text);
        await Promise.all([readBatch(talker, "talker", first), readBatch(reader, "reader", first)]);
      }
      assert.deepEqual(notices, { talker: 1, reader: 1 });
    }),
});

Deno.test({
  name: "SIGTERM tells every member, closes every connection and exits 0",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer([]);
    try {
      await using alice = await Peer.join(server.port, "alice");
      await using bob = await Peer.join(server.port, "bob");
      await alice.expect("* bob joined the chat");
      await using unnamed = await Peer.connect(server.port);
      await unnamed.expect(/nickname/);
      await server.stdout.waitFor((line) => / connected$/.test(line) && !line.includes("is "));
      const code = withDeadline(server.stop("SIGTERM"), WAIT_MS, "the server to exit");
      assert.deepEqual(await alice.expectClosed(), ["* Server is shutting down"]);
      assert.deepEqual(await bob.expectClosed(), ["* Server is shutting down"]);
      assert.deepEqual(await unnamed.expectClosed(), ["* Server is shutting down"]);
      assert.equal(await code, 0);
    } finally {
      await server.stop("SIGKILL");
    }
  },
});

Deno.test({
  name: "the server logs connects, names, quits and drops with a timestamp",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer([]);
    try {
      const alice = await Peer.join(server.port, "alice");
      await alice.send("<quit>\n");
      await alice.expectClosed();
      await alice.close();
      const bob = await Peer.join(server.port, "bob");
      await bob.close();
      const stamp = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 127\.0\.0\.1:\d+ /;
      for (
        const event of [
          / connected$/,
          / is alice$/,
          / alice left the chat$/,
          / bob left the chat \(connection lost\)$/,
        ]
      ) {
        const line = await server.stdout.waitFor((l) => event.test(l));
        assert.match(line, stamp);
      }
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "at a TLS port, a stalled handshake is closed at the limit and a plain client is told",
  ...LEAK_CHECKS,
  async fn() {
    const tls = ["--cert", "test/testdata/localhost.crt", "--key", "test/testdata/localhost.key"];
    // The handshake gets at most the name timeout.
    const server = await startServer([...tls, "--name-timeout", "0.3"], [
      "--allow-net",
      "--allow-read",
    ]);
    try {
      // A client that begins a handshake and stalls gets nothing it could not read.
      await using stalled = await Peer.connect(server.port);
      await stalled.send(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xff, 0x01]));
      assert.deepEqual(await stalled.expectClosed(), []);
      await server.stdout.waitFor((l) => l.endsWith("TLS handshake failed: timed out"), WAIT_MS);
      // A plain client gets one line it can read, where it once got binary.
      await using plain = await Peer.connect(server.port);
      await plain.send("alice\n");
      assert.deepEqual(await plain.expectClosed(), [
        "! This port speaks TLS; connect with TLS (client.ts --tls).",
      ]);
      // One that says nothing may be a plain client waiting to be greeted: it is told too.
      await using silent = await Peer.connect(server.port);
      assert.deepEqual(await silent.expectClosed(), [
        "! This port speaks TLS; connect with TLS (client.ts --tls).",
      ]);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "connections that close at once leave the server quiet and the room working",
  ...LEAK_CHECKS,
  async fn() {
    const events: string[] = [];
    const allGone = Promise.withResolvers<void>();
    let gone = 0;
    const server = new ChatServer({
      hostname: "127.0.0.1",
      port: 0,
      log: (event) => {
        events.push(event);
        if (event.endsWith(" disconnected before joining") && ++gone === 50) allGone.resolve();
      },
    });
    const { port } = await server.start();
    try {
      // Fifty peers that connect and hang up before reading their greeting.
      const quitters = await Promise.all(
        Array.from({ length: 50 }, () => Deno.connect({ hostname: "127.0.0.1", port })),
      );
      for (const conn of quitters) conn.close();
      await using alice = await Peer.join(port, "alice");
      await alice.send("hello\n");
      await alice.expect("alice: hello");
      await withDeadline(allGone.promise, WAIT_MS, "the fifty connections to be let go");
      assert.deepEqual(events.filter((e) => e.includes("failed")), []);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name:
    "a server closed while members are connected finishes, also with a connection arriving late",
  ...LEAK_CHECKS,
  async fn() {
    const server = new ChatServer({ hostname: "127.0.0.1", port: 0 });
    const { port } = await server.start();
    const alice = await Peer.join(port, "alice");
    const late = Deno.connect({ hostname: "127.0.0.1", port }).catch(() => null);
    await withDeadline(server.close(), WAIT_MS, "close()");
    await withDeadline(server.finished, WAIT_MS, "finished");
    assert.deepEqual(await alice.expectClosed(), ["* Server is shutting down"]);
    await alice.close();
    (await late)?.close();
  },
});

Deno.test({
  name: "start() twice listens once, and close() during start() leaves nothing listening",
  ...LEAK_CHECKS,
  async fn() {
    const server = new ChatServer({ hostname: "127.0.0.1", port: 0 });
    const [first, second] = [server.start(), server.start()];
    const closed = server.close();
    const { port } = await first;
    assert.equal((await second).port, port);
    await withDeadline(closed, WAIT_MS, "close()");
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
    );
    await assert.rejects(server.start(), /it was closed/);
  },
});

Deno.test({
  name: "/help lists every command, unknown commands say so, and //text posts /text",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      await alice.send("/help\n");
      for (const line of HELP_LINES) await alice.expect(line);
      await alice.send("/foo bar\n");
      await alice.expect("! Unknown command: /foo (type /help)");
      await alice.send("//slash at the start\n");
      await alice.expect("alice: /slash at the start");
      await bob.expect("alice: /slash at the start");
    }),
});

Deno.test({
  name: "/who and /names list the members in join order, to the asker only",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      await bob.send("/who\n/NAMES\n");
      await bob.expect("* 3 online: alice, bob, carol");
      await bob.expect("* 3 online: alice, bob, carol");
      await bob.send("done\n");
      await alice.expect("bob: done", WAIT_MS);
    }),
});

Deno.test({
  name: "/msg, /w, /reply and /r reach only the two people involved",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = peers as Peer[] as [Peer, Peer, Peer];
      await carol.send("/reply anyone?\n");
      await carol.expect("! Nobody to reply to");
      await alice.send("/msg BOB hi there\n");
      await bob.expect("(private) alice: hi there");
      await alice.expect("(private to bob) alice: hi there");
      await bob.send("/r back at you\n");
      await alice.expect("(private) bob: back at you");
      await bob.expect("(private to alice) bob: back at you");
      await alice.send("/w carol psst\n");
      await carol.expect("(private) alice: psst");
      await alice.expect("(private to carol) alice: psst");
      await carol.send("/reply yes?\n");
      await alice.expect("(private) carol: yes?");
      await carol.expect("(private to alice) carol: yes?");
      await alice.send("/msg nobody hello\n/msg bob\n");
      await alice.expect("! No such user: nobody");
      await alice.expect("! Usage: /msg NAME text");
      // Carol saw none of the alice-bob exchange: her next line is this one.
      await bob.send("public again\n");
      await carol.expect("bob: public again");
    }),
});

Deno.test({
  name:
    "/nick renames for everyone, refuses taken and invalid names, and /msg follows the new name",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      await alice.send("/nick Alicia\n");
      await alice.expect("* alice is now known as Alicia");
      await bob.expect("* alice is now known as Alicia");
      await bob.send("/nick ALICIA\n/nick server\n/nick\n");
      await bob.expect("! Name taken: ALICIA");
      await bob.expect("! Invalid name: server");
      await bob.expect("! Usage: /nick NEW");
      await bob.send("/msg alicia hello\n");
      await alice.expect("(private) bob: hello");
      await alice.send("hi\n");
      await bob.expect("(private to Alicia) bob: hello");
      await bob.expect("Alicia: hi");
      // The old name is free again.
      await using _newcomer = await Peer.join(port, "alice");
      await bob.expect("* alice joined the chat");
    }),
});

Deno.test({
  name: "/me shows an action to everyone, in a form no server notice has",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      await alice.send("/me waves\n");
      await alice.expect("** alice waves");
      await bob.expect("** alice waves");
      // Once byte for byte the notice of a member dropped as too slow.
      await bob.send("/me left the chat (too slow)\n");
      await alice.expect("** bob left the chat (too slow)");
    }),
});

Deno.test({
  name: "a newcomer gets the last --history public lines as sent, and never private ones",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--history", "3"], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      await alice.send("m1\nm2\nm3\n/msg bob secret\nm4\n/me dances\n");
      await bob.readUntil("** alice dances");
      await using dave = await Peer.join(port, "dave");
      await dave.expect("* Recent messages:");
      await dave.expect("alice: m3");
      await dave.expect("alice: m4");
      await dave.expect("** alice dances");
      await dave.expect("* End of recent messages");
      await dave.send("hello\n");
      await dave.expect("dave: hello");
    }),
});

Deno.test({
  name: "with --history 0 a newcomer gets no replay",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--history", "0"], async (port) => {
      await using alice = await Peer.join(port, "alice");
      await alice.send("before\n");
      await alice.expect("alice: before");
      await using bob = await Peer.join(port, "bob");
      await bob.send("after\n");
      await bob.expect("bob: after");
    }),
});

Deno.test({
  name: "a flood of 500 lines arrives whole, in order and paced, while others are not delayed",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--rate", "200", "--burst", "50"], async (port) => {
      await using peers = await joinAll(port, ["flooder", "bystander", "observer"]);
      const [flooder, bystander, observer] = peers as Peer[] as [Peer, Peer, Peer];
      let block = "";
      for (let i = 0; i < 500; i++) block += `line ${i}\n`;
      const started = performance.now();
      await flooder.send(block);
      let next = 0;
      let bystanderSentAt = 0;
      let bystanderLatency = -1;
      while (next < 500) {
        const line = await observer.readLine();
        if (line === "bystander: quick") {
          bystanderLatency = performance.now() - bystanderSentAt;
          continue;
        }
        assert.equal(line, `flooder: line ${next}`);
        next++;
        // Well into the paced part of the flood, someone else speaks.
        if (next === 100) {
          bystanderSentAt = performance.now();
          await bystander.send("quick\n");
        }
      }
      const elapsed = performance.now() - started;
      // 450 lines beyond the burst at 200 a second take 2.25 s.
      assert.ok(elapsed >= 2000, `the flood was not paced: ${elapsed} ms`);
      assert.ok(bystanderLatency >= 0, "the bystander's line arrived after the whole flood");
      assert.ok(bystanderLatency < 1000, `the bystander waited ${bystanderLatency} ms`);
    }),
});

Deno.test({
  name: "lines held back by flood control still all arrive when their sender hangs up after them",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--rate", "100", "--burst", "10"], async (port) => {
      await using peers = await joinAll(port, ["flooder", "observer"]);
      const [flooder, observer] = peers as Peer[] as [Peer, Peer];
      let block = "";
      for (let i = 0; i < 100; i++) block += `line ${i}\n`;
      await flooder.send(block);
      await flooder.finish();
      for (let i = 0; i < 100; i++) await observer.expect(`flooder: line ${i}`);
      await observer.expect("* flooder left the chat (connection lost)");
    }),
});

Deno.test({
  name: "one address over --max-per-ip is refused with one line; others are untouched",
  ...LEAK_CHECKS,
  async fn() {
    const server = new ChatServer({
      hostname: "127.0.0.1",
      port: 0,
      maxPerIp: 2,
      limitLoopback: true,
    });
    const { port } = await server.start();
    try {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      await using third = await Peer.connect(port);
      assert.deepEqual(await third.expectClosed(), ["! Too many connections from your address"]);
      await bob.send("<quit>\n");
      await bob.expectClosed();
      await alice.expect("* bob left the chat");
      await using carol = await Peer.join(port, "carol");
      await alice.expect("* carol joined the chat");
      await carol.send("in\n");
      await alice.expect("carol: in");
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "loopback addresses are exempt from --max-per-ip by default",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--max-per-ip", "1"], async (port) => {
      // All three from 127.0.0.1 get in, one over the cap.
      await using peers = await joinAll(port, ["alice", "bob", "carol"]);
      await peers[2]?.send("/who\n");
      await peers[2]?.expect("* 3 online: alice, bob, carol");
    }),
});

Deno.test({
  name: "a locked room: a wrong password is refused after a delay and logged without the guess",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer(["--password-file", "test/testdata/password.txt"], [
      "--allow-net",
      "--allow-read",
    ]);
    try {
      await using guesser = await Peer.connect(server.port);
      await guesser.expect("This room is locked. Please enter the password:");
      const started = performance.now();
      await guesser.send("open sesame!\n");
      assert.deepEqual(await guesser.expectClosed(), ["! Wrong password"]);
      assert.ok(performance.now() - started >= 900, "answered without the delay");
      const logged = await server.stdout.waitFor((line) => line.includes("wrong password"));
      assert.match(logged, /127\.0\.0\.1:\d+ gave a wrong password$/);
      assert.doesNotMatch(server.stdout.text, /sesame/);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "a locked room: the right password leads on to the nickname and the chat",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--password-file", "test/testdata/password.txt"], async (port) => {
      await using alice = await Peer.connect(port);
      await alice.expect(/password/);
      await alice.send("open sesame\r\n");
      await alice.expect(/nickname/);
      await alice.send("alice\n");
      await alice.expect("Welcome, alice! Type <quit> to leave.");
      await alice.send("in\n");
      await alice.expect("alice: in");
    }, ["--allow-net", "--allow-read"]),
});

Deno.test({
  name: "--exit-when-empty stops the server with 0 when the last member leaves",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer(["--exit-when-empty", "--quiet"]);
    try {
      const peers = await joinAll(server.port, ["alice", "bob"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      await alice.send("<quit>\n");
      await alice.expectClosed();
      await bob.expect("* alice left the chat");
      await bob.send("still open\n");
      await bob.expect("bob: still open");
      await bob.send("<quit>\n");
      await bob.expectClosed();
      await peers[Symbol.asyncDispose]();
      const status = await withDeadline(server.child.status, WAIT_MS, "the server to exit");
      assert.equal(status.code, 0);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "lines of one moment keep their places: a join, public lines and private ones in one segment",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--history", "0"], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      // Carol names herself and speaks in the same segment as alice's burst.
      const carol = await Peer.connect(port);
      peers.push(carol);
      await carol.expect(/nickname/);
      await Promise.all([
        carol.send("carol\nhello all\n"),
        alice.send("one\n/msg bob secret\ntwo\n/who\nthree\n"),
      ]);
      const read = async (peer: Peer, count: number) => {
        const lines: string[] = [];
        for (let i = 0; i < count; i++) lines.push((await peer.readLine()) ?? "<closed>");
        return lines;
      };
      // Alice: her 3 lines, her private copy, the /who answer, carol's join and hello.
      const aliceLines = await read(alice, 7);
      const bobLines = await read(bob, 6);
      const carolLines = await carol.readUntil("carol: hello all");
      // Public lines: the same order for everyone.
      const isPublic = (line: string) => /^(\* carol joined|carol: |alice: )/.test(line);
      assert.deepEqual(aliceLines.filter(isPublic), bobLines.filter(isPublic));
      assert.deepEqual(aliceLines.filter((l) => /^alice: /.test(l)), [
        "alice: one",
        "alice: two",
        "alice: three",
      ]);
      // Each one's own lines sit right where they were asked for.
      const at = (lines: string[], line: string) => lines.indexOf(line);
      assert.ok(
        at(aliceLines, "(private to bob) alice: secret") === at(aliceLines, "alice: one") + 1,
      );
      assert.ok(at(bobLines, "(private) alice: secret") === at(bobLines, "alice: one") + 1);
      assert.match(
        aliceLines[at(aliceLines, "alice: two") + 1] as string,
        /^\* [23] online: alice, bob/,
      );
      assert.ok(at(aliceLines, "carol: hello all") > at(aliceLines, "* carol joined the chat"));
      assert.equal(carolLines[0], "Welcome, carol! Type <quit> to leave.");
      // Carol never sees her own join notice, nor anything private.
      assert.ok(!carolLines.some((l) => l.startsWith("* carol joined")), carolLines.join("\n"));
      assert.ok(!carolLines.some((l) => l.includes("secret") || l.includes("online")));
    }),
});

Deno.test({
  name: "joins and leaves are announced only while the room is at most --announce-limit members",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--announce-limit", "2"], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      // A third member makes the room too big to announce arrivals and departures.
      const carol = await Peer.join(port, "carol");
      await carol.send("/who\n");
      await carol.expect("* 3 online: alice, bob, carol");
      // Her goodbye comes after the server took her out of the room.
      await carol.send("<quit>\n");
      assert.deepEqual(await carol.expectClosed(), ["* Goodbye, carol!"]);
      await bob.send("/who\n");
      await bob.expect("* 2 online: alice, bob");
      await bob.send("<quit>\n");
      await bob.expectClosed();
      await alice.expect("* bob left the chat");
    }),
});

Deno.test({
  name: "a line sent together with <quit> still reaches everyone, the sender before its goodbye",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--history", "0"], async (port) => {
      // Regression: a member that left within the same turn lost that turn's broadcasts.
      await using watcher = await Peer.join(port, "watcher");
      for (let i = 0; i < 5; i++) {
        const leaver = await Peer.connect(port);
        try {
          await leaver.expect(/nickname/);
          await leaver.send(`leaver\nlast words ${i}\n<quit>\n`);
          assert.deepEqual(await leaver.expectClosed(), [
            "Welcome, leaver! Type <quit> to leave.",
            `leaver: last words ${i}`,
            "* Goodbye, leaver!",
          ]);
          await watcher.readUntil(`leaver: last words ${i}`);
          await watcher.expect("* leaver left the chat");
        } finally {
          await leaver.close();
        }
      }
    }),
});
