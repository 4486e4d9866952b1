import assert from "node:assert/strict";
import { Recipient, Room } from "./room.ts";
import { MAX_ROOMS, roomName, Rooms } from "./rooms.ts";
import { LEAK_CHECKS, MemoryLink } from "../test/test_helpers.ts";

/** A member for the room's tests: a recipient with a name, over a memory link. */
class TestMember extends Recipient {
  name: string | null = null;
  room: Room<TestMember> | null = null;
  override link: MemoryLink;

  constructor() {
    const link = new MemoryLink();
    super(link);
    this.link = link;
  }
}

function roomOf(names: string[], maxQueueBytes = 262144, history = 20) {
  const slow: TestMember[] = [];
  const room = new Room<TestMember>(
    "lobby",
    maxQueueBytes,
    history,
    (member) => slow.push(member),
  );
  const members = names.map((name) => {
    const member = new TestMember();
    room.add(member, name);
    return member;
  });
  return { room, members, slow };
}

Deno.test("a turn's lines reach every member in one write, own lines in their places", async () => {
  const { room, members: [alice, bob] } = roomOf(["alice", "bob"]);
  room.broadcast("alice: one");
  room.sendTo(alice!, "(private) bob: psst");
  room.broadcast("bob: two");
  await room.nextTurn();
  assert.equal(alice!.link.writes.length, 1);
  assert.equal(alice!.link.text, "alice: one\n(private) bob: psst\nbob: two\n");
  assert.equal(bob!.link.writes.length, 1);
  assert.equal(bob!.link.text, "alice: one\nbob: two\n");
});

Deno.test("a newcomer skips its own join notice and gets nothing sent before it joined", async () => {
  const { room, members: [alice] } = roomOf(["alice"]);
  room.broadcast("alice: before");
  const bob = new TestMember();
  room.add(bob, "bob");
  room.sendTo(bob, "Welcome, bob!");
  room.broadcast("* bob joined the chat", { except: bob });
  room.broadcast("alice: after");
  await room.nextTurn();
  assert.equal(alice!.link.text, "alice: before\n* bob joined the chat\nalice: after\n");
  assert.equal(bob.link.text, "Welcome, bob!\nalice: after\n");
});

Deno.test("a member leaving mid-turn still gets what was said before it left", async () => {
  const { room, members: [alice, bob] } = roomOf(["alice", "bob"]);
  room.broadcast("bob: bye all");
  room.remove(bob!);
  room.sendTo(bob!, "* Goodbye, bob!");
  room.broadcast("* bob left the chat");
  await room.nextTurn();
  assert.equal(bob!.link.text, "bob: bye all\n* Goodbye, bob!\n");
  assert.equal(alice!.link.text, "bob: bye all\n* bob left the chat\n");
});

Deno.test("only output that piles up over the limit cuts a member off, not one busy turn", async () => {
  const { room, members: [alice, bob], slow } = roomOf(["alice", "bob"], 1000);
  // 900 bytes in one turn: more than a turn should hold, but nothing is waiting.
  room.broadcast("x".repeat(899));
  await room.nextTurn();
  assert.deepEqual(slow, []);
  // Bob's kernel has taken nothing: over the limit waits for him.
  bob!.link.writableLength = 1001;
  room.broadcast("alice: more");
  await room.nextTurn();
  assert.deepEqual(slow, [bob]);
  assert.equal(bob!.overflowed, true);
  assert.equal(alice!.link.writes.length, 2);
  assert.equal(bob!.link.writes.length, 1);
});

Deno.test("a turn is full at a quarter of the allowance and empty again in the next", async () => {
  const { room } = roomOf(["alice"], 1000);
  room.broadcast("y".repeat(200));
  assert.equal(room.turnFull, false);
  room.broadcast("y".repeat(100));
  assert.equal(room.turnFull, true);
  await room.nextTurn();
  assert.equal(room.turnFull, false);
});

Deno.test("history keeps the last public lines and replays them between markers", async () => {
  const { room } = roomOf(["alice"], 262144, 2);
  room.broadcast("alice: 1", { public: true });
  room.broadcast("* not kept");
  room.broadcast("alice: 2", { public: true });
  room.broadcast("alice: 3", { public: true });
  await room.nextTurn();
  const dave = new TestMember();
  room.add(dave, "dave");
  room.sendHistory(dave);
  await room.nextTurn();
  assert.equal(
    dave.link.text,
    "* Recent messages:\nalice: 2\nalice: 3\n* End of recent messages\n",
  );
});

/** A server's rooms with members `names`, all in #lobby. */
function roomsOf(names: string[], maxRooms = MAX_ROOMS, history = 20) {
  const slow: TestMember[] = [];
  const rooms = new Rooms<TestMember>(maxRooms, 262144, history, (member) => slow.push(member));
  const members = names.map((name) => {
    const member = new TestMember();
    rooms.admit(member, name);
    return member;
  });
  return { rooms, members, slow };
}

Deno.test("names are one per member across all rooms by the nickname rules", () => {
  const { rooms, members: [alice, bob] } = roomsOf(["alice", "bob"]);
  rooms.move(bob!, "dev");
  assert.equal(rooms.find("ALICE"), alice);
  assert.equal(rooms.find("alıce"), alice);
  assert.equal(rooms.isTaken("aIice"), true);
  assert.equal(rooms.isTaken("BOB"), true);
  assert.equal(rooms.isTaken("carol"), false);
  rooms.rename(alice!, "carol");
  assert.equal(rooms.find("alice"), undefined);
  assert.equal(rooms.find("Carol"), alice);
  rooms.remove(bob!);
  assert.equal(rooms.isTaken("bob"), false);
});

Deno.test("everyone starts in #lobby, and a join makes a room whose creator is its operator", () => {
  const { rooms, members: [alice, bob] } = roomsOf(["alice", "bob"]);
  assert.equal(alice!.room, rooms.lobby);
  assert.deepEqual([...rooms.lobby.operators], []);
  const left = rooms.move(alice!, "dev");
  assert.equal(left, rooms.lobby);
  const dev = rooms.get("DEV") as Room<TestMember>;
  assert.equal(alice!.room, dev);
  assert.deepEqual([...dev.operators], [alice]);
  rooms.move(bob!, "dev");
  assert.deepEqual([...dev.operators], [alice]);
  assert.deepEqual([...dev.members], [alice, bob]);
  assert.equal(rooms.lobby.members.size, 0);
});

Deno.test("a room goes when its last member leaves unless it has a topic; #lobby stays", () => {
  const { rooms, members: [alice, bob] } = roomsOf(["alice", "bob"]);
  rooms.move(alice!, "dev");
  rooms.move(alice!, "lobby");
  assert.equal(rooms.get("dev"), undefined);
  rooms.move(alice!, "dev");
  rooms.move(bob!, "random");
  (rooms.get("dev") as Room<TestMember>).topic = "builds";
  rooms.remove(alice!);
  rooms.remove(bob!);
  assert.equal(rooms.get("random"), undefined);
  const dev = rooms.get("dev") as Room<TestMember>;
  assert.equal(dev.members.size, 0);
  assert.deepEqual([...dev.operators], []);
  assert.equal(rooms.get("lobby"), rooms.lobby);
  assert.equal(rooms.size, 2);
});

Deno.test("no more than the room cap exist at once, #lobby included", () => {
  const { rooms, members: [alice, bob] } = roomsOf(["alice", "bob"], 2);
  assert.notEqual(rooms.move(alice!, "dev"), null);
  assert.equal(rooms.move(bob!, "random"), null);
  assert.equal(bob!.room, rooms.lobby);
  assert.notEqual(rooms.move(bob!, "dev"), null);
});

Deno.test("rooms are listed busiest first, rooms as busy in the order they were made", () => {
  const { rooms, members } = roomsOf(["a", "b", "c", "d", "e", "f"]);
  rooms.move(members[0]!, "one");
  rooms.move(members[1]!, "two");
  rooms.move(members[2]!, "two");
  rooms.move(members[3]!, "three");
  assert.deepEqual(rooms.busiestFirst().map((room) => `${room.name} ${room.members.size}`), [
    "lobby 2",
    "two 2",
    "one 1",
    "three 1",
  ]);
});

Deno.test("room names follow the nickname rules but are never cleaned", () => {
  assert.equal(roomName("#dev"), "dev");
  assert.equal(roomName("dev.ops-2_x"), "dev.ops-2_x");
  assert.equal(roomName("ｄｅｖ"), "dev");
  assert.equal(roomName("кафе"), "кафе");
  assert.equal(roomName("x".repeat(32)), "x".repeat(32));
  assert.equal(roomName("x".repeat(33)), null);
  assert.equal(roomName("my room"), null);
  assert.equal(roomName("dev!"), null);
  assert.equal(roomName("#"), null);
  // A Cyrillic "а" among Latin letters: a lookalike of #paypal.
  assert.equal(roomName("pаypal"), null);
});

Deno.test("room names count as the same by the nickname skeleton", () => {
  const { rooms, members: [alice] } = roomsOf(["alice"]);
  rooms.move(alice!, "dev");
  assert.equal(rooms.get("DEV"), alice!.room);
  assert.equal(rooms.get("LOBBY"), rooms.lobby);
  // A capital I looks like a small l.
  assert.equal(rooms.get("Iobby"), rooms.lobby);
});

Deno.test("a member moving mid-turn gets the old room's lines before the new room's", async () => {
  const { rooms, members: [alice, bob, carol] } = roomsOf(["alice", "bob", "carol"]);
  rooms.move(carol!, "dev");
  // The new room's flush is queued first: its lines must still come after.
  carol!.room!.broadcast("carol: in dev before");
  rooms.lobby.broadcast("bob: in lobby");
  rooms.lobby.sendTo(alice!, "(private) bob: psst");
  rooms.move(alice!, "dev");
  rooms.lobby.broadcast("* alice left for #dev");
  alice!.room!.sendTo(alice!, "* You are now in #dev (2 here)");
  alice!.room!.broadcast("* alice joined #dev", { except: alice });
  alice!.room!.broadcast("carol: hi alice");
  rooms.lobby.broadcast("bob: after");
  await rooms.lobby.nextTurn();
  assert.equal(
    alice!.link.text,
    "bob: in lobby\n(private) bob: psst\n* You are now in #dev (2 here)\ncarol: hi alice\n",
  );
  assert.equal(bob!.link.text, "bob: in lobby\n* alice left for #dev\nbob: after\n");
  assert.equal(carol!.link.text, "carol: in dev before\n* alice joined #dev\ncarol: hi alice\n");
});

Deno.test("a newcomer that moves in the turn it joined skips nothing in the new room", async () => {
  const { rooms, members: [alice, bob] } = roomsOf(["alice", "bob"]);
  rooms.move(bob!, "dev");
  await rooms.lobby.nextTurn();
  const carol = new TestMember();
  rooms.admit(carol, "carol");
  rooms.lobby.sendTo(carol, "Welcome, carol!");
  rooms.lobby.broadcast("* carol joined the chat", { except: carol });
  rooms.move(carol, "dev");
  const dev = carol.room as Room<TestMember>;
  dev.broadcast("bob: one");
  dev.broadcast("bob: two");
  await dev.nextTurn();
  assert.equal(carol.link.text, "Welcome, carol!\nbob: one\nbob: two\n");
  assert.equal(alice!.link.text, "* carol joined the chat\n");
});

Deno.test({
  name: "at the room cap an empty room kept for its topic gives way only to a server operator's",
  ...LEAK_CHECKS,
  fn() {
    const removed: string[] = [];
    const recorder = {
      addLine() {},
      setTopic() {},
      addRoom() {},
      removeRoom: (room: string) => void removed.push(room),
    };
    const small = new Rooms<TestMember>(3, 262144, 20, () => {}, recorder);
    const [alice, bob] = ["alice", "bob"].map((name) => {
      const member = new TestMember();
      small.admit(member, name);
      return member;
    }) as [TestMember, TestMember];
    const evicted: string[] = [];
    small.onEvicted = (room) => evicted.push(room.name);
    small.move(alice, "dev");
    (small.get("dev") as Room<TestMember>).topic = "builds";
    small.move(alice, "ops");
    (small.get("ops") as Room<TestMember>).broadcast("alice: on call", { public: true });
    small.move(alice, "lobby");
    assert.equal(small.size, 3);
    // Both empty rooms stay, one for its topic, one for its history on disk: a member may not
    // make a room in the place of either.
    assert.equal(small.move(bob, "random"), null);
    assert.equal(small.ensure("random"), null);
    assert.deepEqual([removed, evicted], [[], []]);
    assert.equal((small.get("dev") as Room<TestMember>).topic, "builds");
    // A server operator's new room takes the place of the oldest.
    assert.equal(small.move(bob, "random", true), small.lobby);
    assert.deepEqual([removed, evicted], [["dev"], ["dev"]]);
    assert.equal(small.get("dev"), undefined);
    assert.ok((small.get("ops") as Room<TestMember>).hasHistory);
    // With every room in use, there is no place, even for a server operator.
    small.move(alice, "ops");
    assert.equal(small.move(alice, "new", true), null);
    assert.equal(small.size, 3);
  },
});

Deno.test({
  name: "at the room cap an empty room that holds nothing gives way to anyone's, before a kept one",
  ...LEAK_CHECKS,
  fn() {
    const { rooms: small, members: [alice, bob] } = roomsOf(["alice", "bob"], 4);
    small.move(alice!, "kept");
    (small.get("kept") as Room<TestMember>).topic = "stays";
    small.move(alice!, "lobby");
    // Made and never entered, as a cluster's /join that was refused after it leaves one.
    assert.ok(small.ensure("bare") !== null);
    assert.ok(small.ensure("bare2") !== null);
    assert.equal(small.size, 4);
    assert.equal(small.move(bob!, "new"), small.lobby);
    assert.equal(small.get("bare"), undefined);
    assert.equal(small.move(alice!, "new2", true), small.lobby);
    assert.equal(small.get("bare2"), undefined);
    assert.equal((small.get("kept") as Room<TestMember>).topic, "stays");
  },
});
