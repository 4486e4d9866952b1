import assert from "node:assert/strict";
import { parseServerArgs } from "./server.ts";
import { joinAll, LEAK_CHECKS, Peer, withServer } from "./test_helpers.ts";

Deno.test({
  name: "/join moves a member to a new room, told to both rooms, and /part brings it back",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await alice.send("/join #dev\n");
      await alice.expect("* You are now in #dev (1 here)");
      await bob.expect("* alice left for #dev");
      await carol.expect("* alice left for #dev");
      await bob.send("/join DEV\n");
      await bob.expect("* You are now in #dev (2 here)");
      await alice.expect("* bob joined #dev");
      await carol.expect("* bob left for #dev");
      await alice.send("in dev\n");
      await alice.expect("alice: in dev");
      await bob.expect("alice: in dev");
      await carol.send("in lobby\n");
      await carol.expect("carol: in lobby");
      await bob.send("/part\n");
      await bob.expect("* You are now in #lobby (2 here)");
      await alice.expect("* bob left for #lobby");
      await carol.expect("* bob joined #lobby");
      // Alice heard nothing of the lobby meanwhile.
      await alice.send("/who\n");
      await alice.expect("* 1 in #dev: @alice");
    }),
});

Deno.test({
  name: "/rooms lists the rooms busiest first and /who #name another room, @ for its operator",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol", "dave"]);
      const [alice, bob, carol, dave] = [...peers] as [Peer, Peer, Peer, Peer];
      await alice.send("/join random\n");
      await alice.expect("* You are now in #random (1 here)");
      await bob.send("/join dev\n");
      await bob.readUntil("* You are now in #dev (1 here)");
      await carol.send("/join dev\n");
      await carol.readUntil("* You are now in #dev (2 here)");
      await dave.send("/rooms\n/list\n/who #dev\n/who\n/who #nowhere\n/who #no where\n");
      await dave.readUntil("* 3 rooms: #dev (2), #lobby (1), #random (1)");
      await dave.expect("* 3 rooms: #dev (2), #lobby (1), #random (1)");
      await dave.expect("* 2 in #dev: @bob, carol");
      await dave.expect("* 1 online: dave");
      await dave.expect("! No such room: #nowhere");
      await dave.expect("! Invalid room name: #no where");
    }),
});

Deno.test({
  name: "the topic is set by the room's operator only and shown to whoever joins",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await alice.send("/topic hello\n");
      await alice.expect("! Only operators can /topic");
      await alice.send("/join dev\n/topic\n/topic builds and releases\n");
      await alice.expect("* You are now in #dev (1 here)");
      await alice.expect("* No topic in #dev");
      await alice.expect("* alice set the topic: builds and releases");
      await bob.send("/join dev\n/topic\n/topic mine now\n");
      await bob.readUntil("* You are now in #dev (2 here)");
      await bob.expect("* Topic: builds and releases");
      await bob.expect("* Topic: builds and releases");
      await bob.expect("! Only operators can /topic");
      // A room with a topic outlives its members; a newcomer is not its operator.
      await alice.send("/part\n");
      await bob.send("/part\n");
      await bob.readUntil("* You are now in #lobby (3 here)");
      await carol.send("/join dev\n/who\n/topic taken\n");
      await carol.readUntil("* You are now in #dev (1 here)");
      await carol.expect("* Topic: builds and releases");
      await carol.expect("* 1 in #dev: carol");
      await carol.expect("! Only operators can /topic");
    }),
});

Deno.test({
  name: "names are unique across rooms and /msg, /reply and /nick work between them",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      await alice.send("/join dev\n");
      await alice.expect("* You are now in #dev (1 here)");
      await using carol = await Peer.connect(port);
      await carol.expect(/nickname/);
      await carol.send("ALICE\n");
      await carol.expect("Welcome, ALICE2! Type <quit> to leave.");
      await bob.send("/nick alice\n/msg alice psst\n");
      await bob.readUntil("! Name taken: alice");
      await bob.expect("(private to alice) bob: psst");
      await alice.expect("(private) bob: psst");
      await alice.send("/reply got it\n");
      await alice.expect("(private to bob) alice: got it");
      await bob.expect("(private) alice: got it");
    }),
});

Deno.test({
  name: "bad room names and the room cap are refused, and the member stays where it was",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--max-rooms", "2"], async (port) => {
      await using alice = await Peer.join(port, "alice");
      await alice.send(`/join my room\n/join ${"x".repeat(33)}\n/join pаypal\n/join lobby\n`);
      await alice.expect("! Invalid room name: my room");
      await alice.expect(`! Invalid room name: ${"x".repeat(33)}`);
      await alice.expect("! Invalid room name: pаypal");
      await alice.expect("! You are already in #lobby");
      await alice.send("/join dev\n/join random\n/who\n");
      await alice.expect("* You are now in #dev (1 here)");
      await alice.expect("! Too many rooms");
      await alice.expect("* 1 in #dev: @alice");
    }),
});

Deno.test({
  name: "joining and leaving the server is told to the member's current room only",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      await alice.send("/join dev\n");
      await alice.expect("* You are now in #dev (1 here)");
      await bob.expect("* alice left for #dev");
      await using carol = await Peer.join(port, "carol");
      await bob.expect("* carol joined the chat");
      await carol.send("/join dev\n");
      await alice.expect("* carol joined #dev");
      await carol.send("/quit\n");
      await alice.expect("* carol left the chat");
      // Bob got nothing of carol since she left the lobby.
      await bob.expect("* carol left for #dev");
      await bob.send("/who\n");
      await bob.expect("* 1 online: bob");
    }),
});

Deno.test({
  name: "a busy room's order is unaffected by another room's traffic",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--rate", "0"], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol", "dave"]);
      const [alice, bob, carol, dave] = [...peers] as [Peer, Peer, Peer, Peer];
      for (const peer of [carol, dave]) {
        await peer.send("/join dev\n");
        await peer.readUntil(/^\* You are now in #dev/);
      }
      await alice.readUntil("* dave left for #dev");
      await bob.readUntil("* dave left for #dev");
      await carol.readUntil("* dave joined #dev");
      const sends = [];
      for (let i = 0; i < 50; i++) {
        sends.push(alice.send(`a${i}\n`), bob.send(`b${i}\n`));
        sends.push(carol.send(`c${i}\n`), dave.send(`d${i}\n`));
      }
      await Promise.all(sends);
      const seen: string[][] = [];
      for (const peer of [alice, bob, carol, dave]) {
        const lines: string[] = [];
        for (let i = 0; i < 100; i++) lines.push((await peer.readLine()) ?? "<closed>");
        seen.push(lines);
      }
      assert.deepEqual(seen[1], seen[0]);
      assert.deepEqual(seen[3], seen[2]);
      assert.ok(seen[0]!.every((line) => /^(alice: a|bob: b)\d+$/.test(line)));
      assert.ok(seen[2]!.every((line) => /^(carol: c|dave: d)\d+$/.test(line)));
      const own = seen[2]!.filter((line) => line.startsWith("carol: "));
      assert.deepEqual(own, Array.from({ length: 50 }, (_, i) => `carol: c${i}`));
    }),
});

Deno.test("--max-rooms sets how many rooms may exist", () => {
  assert.equal(parseServerArgs(["--max-rooms", "5"]).options.maxRooms, 5);
  assert.equal(parseServerArgs([]).options.maxRooms, undefined);
  assert.throws(() => parseServerArgs(["--max-rooms", "0"]));
});
