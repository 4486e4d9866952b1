/**
 * End-to-end tests of what a stranger can make the server hold, do or say:
 * big turns, streams with no newline, running out of descriptors, password
 * guessing, TLS and telnet at the wrong place. Each pins an attack that once
 * worked.
 */
import assert from "node:assert/strict";

const encoder = new TextEncoder();
import {
  joinAll,
  LEAK_CHECKS,
  Peer,
  Peers,
  startServer,
  WAIT_MS,
  withDeadline,
  withServer,
} from "../test/test_helpers.ts";
import { ircJoin, sendIrc } from "../test/irc_test_helpers.ts";

Deno.test({
  name: "sixteen members each sending a full burst of long lines at once drop nobody as too slow",
  ...LEAK_CHECKS,
  fn: () =>
    // 50 lines of 4000 bytes each is one allowed burst. Once, all bursts
    // landed in one turn, over 8 times --max-queue-bytes (here a quarter of
    // the default, so that it happens however the reads are cut), and every
    // member was dropped as too slow.
    withServer(["--max-queue-bytes", "65536"], async (port) => {
      const senders = Array.from({ length: 16 }, (_, i) => `s${i}`);
      await using peers = await joinAll(port, ["r1", "r2", ...senders]);
      const padding = "p".repeat(3990);
      const lines = 50;
      await Promise.all(senders.map((_, i) => {
        let block = "";
        for (let n = 0; n < lines; n++) block += `${n} ${padding}\n`;
        return (peers[i + 2] as Peer).send(block);
      }));
      await Promise.all(peers.map(async (peer) => {
        const next = new Map(senders.map((name) => [name, 0]));
        for (let received = 0; received < senders.length * lines;) {
          const line = await peer.readLine(4 * WAIT_MS);
          assert.ok(line !== null, "the connection was closed");
          assert.ok(!line.includes("too slow"), line);
          const name = line.slice(0, line.indexOf(":"));
          const expected = next.get(name);
          if (expected === undefined) continue;
          assert.equal(line, `${name}: ${expected} ${padding}`);
          next.set(name, expected + 1);
          received++;
        }
      }));
      // Everyone is still here.
      const [r1] = peers as Peer[] as [Peer];
      await r1.send("/who\n");
      await r1.expect(/^\* 18 online: /);
    }),
});

Deno.test({
  name: "one member flooding without flood control drops none of the members that keep reading",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--rate", "0"], async (port) => {
      await using peers = await joinAll(port, ["flooder", "r1", "r2"]);
      const [flooder] = peers as Peer[] as [Peer];
      // 8 MB in one go: far more than a turn, or a member's allowance, holds.
      const padding = "f".repeat(3990);
      const lines = 2000;
      let block = "";
      for (let n = 0; n < lines; n++) block += `${n} ${padding}\n`;
      const sending = flooder.send(block);
      await Promise.all(peers.map(async (peer) => {
        for (let n = 0; n < lines; n++) await peer.expect(`flooder: ${n} ${padding}`, 4 * WAIT_MS);
      }));
      await sending;
    }),
});

Deno.test({
  name: "a line far over the limit with no newline closes its connection with one error line",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--rate", "0"], async (port) => {
      await using peers = await joinAll(port, ["alice", "mallory"]);
      const [alice, mallory] = peers as Peer[] as [Peer, Peer];
      const block = "z".repeat(64 * 1024);
      // Over a megabyte with no newline: the server stops reading and says why.
      const sending = (async () => {
        for (let i = 0; i < 40; i++) await mallory.send(block);
      })().catch(() => "the server hung up");
      const seen = await mallory.expectClosed(2 * WAIT_MS);
      assert.deepEqual(seen, [
        "! Line too long (max 4096 bytes); message dropped.",
        "! Line far too long (over 1048576 bytes); closing the connection.",
      ]);
      await sending;
      await alice.expect("* mallory left the chat (line too long)");
      await alice.send("still here\n");
      await alice.expect("alice: still here");
    }),
});

Deno.test({
  name: "flood control paces bytes as well as lines: a sender over its byte budget waits",
  ...LEAK_CHECKS,
  fn: () =>
    // A byte budget of 5 lines of 100 bytes, refilled at 1000 bytes a second.
    withServer(["--rate", "10", "--burst", "5", "--max-line-bytes", "100"], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      // One line, dropped as too long, that costs 2600 bytes: 2.1 s of debt.
      await alice.send("x".repeat(2600) + "\n");
      await alice.expect("! Line too long (max 100 bytes); message dropped.");
      const sentAt = performance.now();
      await alice.send("hello\n");
      await bob.send("meanwhile\n");
      // Bob is not held up by alice's debt.
      await alice.expect("bob: meanwhile");
      const bobSeenAfter = performance.now() - sentAt;
      await alice.expect("alice: hello");
      const waited = performance.now() - sentAt;
      assert.ok(bobSeenAfter < 1000, `bob's line took ${bobSeenAfter} ms`);
      assert.ok(waited >= 1500, `alice's line was read after only ${waited} ms`);
    }),
});

Deno.test({
  name: "out of file descriptors, the server says it is busy, logs it once, and accepts again",
  ...LEAK_CHECKS,
  fn: async () => {
    const server = await startServer();
    try {
      // Room for 20 more descriptors than the server holds now (prlimit, util-linux).
      const pid = server.child.pid;
      // Reading another process's /proc needs every permission; ls does not.
      const listing = await new Deno.Command("ls", { args: [`/proc/${pid}/fd`] }).output();
      const open = new TextDecoder().decode(listing.stdout).trim().split("\n").length;
      const limit = open + 20;
      const prlimit = await new Deno.Command("prlimit", {
        args: ["--pid", String(pid), `--nofile=${limit}:${limit}`],
      }).output();
      assert.equal(prlimit.code, 0, new TextDecoder().decode(prlimit.stderr));
      await using peers = new Peers();
      for (let i = 0; i < 40; i++) peers.push(await Peer.connect(server.port));
      const firstLines = await Promise.all(peers.map((peer) => peer.readLine()));
      const greeted = firstLines.filter((line) => line?.includes("nickname")).length;
      const busy = firstLines.filter((line) => line === "! Server is busy; try again later.");
      assert.equal(greeted + busy.length, 40, firstLines.join("\n"));
      assert.ok(greeted > 0 && busy.length >= 15, `${greeted} greeted, ${busy.length} busy`);
      await server.stdout.waitFor((line) =>
        line.endsWith("out of file descriptors: refusing new connections until some are free")
      );
      // The page's listener meets the shortage too: requests to it wait in the backlog.
      const pageLine = await server.stdout.waitFor((line) => line.startsWith("Open http://"));
      const webPort = Number(/:(\d+)\//.exec(pageLine)?.[1]);
      const browsers: Deno.TcpConn[] = [];
      for (let i = 0; i < 3; i++) {
        const browser = await Deno.connect({ hostname: "127.0.0.1", port: webPort });
        browsers.push(browser);
        await browser.write(encoder.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
      }
      // An IRC client that comes meanwhile waits in the IRC port's backlog, or is told it is busy.
      assert.ok(server.ircPort !== null, "no IRC port printed");
      await using waiting = await Peer.connect(server.ircPort);
      await sendIrc(waiting, "NICK waiting", "USER waiting 0 * :waiting");
      for (const peer of peers) await peer.close();
      // Once the descriptors are free again, a newcomer is greeted within a second.
      const freedAt = performance.now();
      let answer: string | null = null;
      while (performance.now() - freedAt < 2000) {
        await using peer = await Peer.connect(server.port);
        answer = await peer.readLine();
        if (answer?.includes("nickname")) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const took = performance.now() - freedAt;
      assert.ok(answer?.includes("nickname"), `still refused: ${answer}`);
      assert.ok(took < 1000, `accepting again took ${took} ms`);
      await server.stdout.waitFor((line) =>
        line.endsWith("file descriptors are available again: accepting connections")
      );
      const shortages = server.stdout.lines.filter((line) =>
        line.includes("out of file descriptors:")
      );
      assert.equal(shortages.length, 1, server.stdout.text);
      // And the page's listener accepts again too, and answers the requests that waited.
      for (const browser of browsers) {
        const page = new Uint8Array(64);
        const read = await withDeadline(browser.read(page), WAIT_MS, "the page's answer");
        assert.match(new TextDecoder().decode(page.subarray(0, read ?? 0)), /^HTTP\/1\.1 200 /);
        browser.close();
      }
      // The IRC port accepts again too: the client that waited is answered, and a newcomer joins.
      await waiting.readUntil(/ 001 waiting |^ERROR :Closing Link: Server is busy/);
      const [irc] = await ircJoin(server.ircPort, "ircuser");
      await using _irc = irc;
      await using alice = await Peer.join(server.port, "alice");
      await alice.send("back\n");
      await alice.expect("alice: back");
      await irc.readUntil(":alice!alice@chat PRIVMSG #lobby :back");
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "password guesses from one address slow down after three, however many connect at once",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--password-file", "test/testdata/password.txt"], async (port) => {
      await using guessers = new Peers();
      for (let i = 0; i < 6; i++) guessers.push(await Peer.connect(port));
      for (const guesser of guessers) {
        await guesser.expect("This room is locked. Please enter the password:");
      }
      // Six guesses at once from one address: three are judged, three wait.
      await Promise.all(guessers.map((guesser) => guesser.send("open sesame!\n")));
      const answers = await Promise.all(guessers.map((guesser) => guesser.expectClosed()));
      const wrong = answers.filter((lines) => lines.join() === "! Wrong password");
      const waiting = answers.filter((lines) =>
        /^! Too many wrong passwords from your address; try again in [1-5] s$/.test(lines.join())
      );
      assert.equal(wrong.length, 3, answers.join("\n"));
      assert.equal(waiting.length, 3, answers.join("\n"));
      // Even the right password waits its turn.
      await using late = await Peer.connect(port);
      await late.expect("This room is locked. Please enter the password:");
      await late.send("open sesame\n");
      assert.match((await late.expectClosed()).join(), /^! Too many wrong passwords/);
    }, ["--allow-net", "--allow-read"]),
});

Deno.test({
  name: "a TLS client at a plain port is closed at once, never joins, and does not empty the room",
  ...LEAK_CHECKS,
  async fn() {
    // Once, the probe joined under a name made of its handshake and, leaving,
    // stopped a server that exits when empty.
    const server = await startServer(["--exit-when-empty"]);
    try {
      const ca = await Deno.readTextFile("test/testdata/ca.crt");
      await assert.rejects(async () => {
        const probe = await Deno.connectTls({
          hostname: "localhost",
          port: server.port,
          caCerts: [ca],
        });
        try {
          await probe.handshake();
        } finally {
          probe.close();
        }
      });
      await server.stdout.waitFor((line) =>
        line.endsWith("refused: it speaks TLS, and this port does not")
      );
      assert.doesNotMatch(server.stdout.text, / is /);
      await using alice = await Peer.join(server.port, "alice");
      await alice.send("/who\n");
      await alice.expect("* 1 online: alice");
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "telnet's Ctrl+C ends the session as <quit> does, and its negotiation never reaches the room",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["watcher"]);
      const [watcher] = peers as Peer[] as [Peer];
      await using alice = await Peer.connect(port);
      await alice.expect(/nickname/);
      // IAC DO ECHO, a terminal-type subnegotiation cut in two, then the name.
      await alice.send(new Uint8Array([255, 253, 1, 255, 250, 24, 0, 120, 116]));
      await alice.send(new Uint8Array([101, 114, 109, 255, 240, ...encoder.encode("alice\n")]));
      // The refusal (IAC WONT ECHO) comes first, with the welcome.
      assert.equal(
        await alice.readLine(),
        "\uFFFD\uFFFD\u0001Welcome, alice! Type <quit> to leave.",
      );
      await watcher.expect("* alice joined the chat");
      await alice.send("hello\n");
      await watcher.expect("alice: hello");
      await alice.expect("alice: hello");
      // Ctrl+C: IAC IP, IAC DO TIMING-MARK. The mark is answered (IAC WILL TM).
      await alice.send(new Uint8Array([255, 244, 255, 253, 6]));
      assert.deepEqual(await alice.expectClosed(), ["\uFFFD\uFFFD\u0006* Goodbye, alice!"]);
      await watcher.expect("* alice left the chat");
    }),
});
