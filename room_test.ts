import assert from "node:assert/strict";
import { Recipient, Room } from "./room.ts";
import { MemoryLink } from "./test_helpers.ts";

/** A member for the room's tests: a recipient with a name, over a memory link. */
class TestMember extends Recipient {
  name: string | null = null;
  override link: MemoryLink;

  constructor() {
    const link = new MemoryLink();
    super(link);
    this.link = link;
  }
}

function roomOf(names: string[], maxQueueBytes = 262144, history = 20) {
  const slow: TestMember[] = [];
  const room = new Room<TestMember>(maxQueueBytes, history, (member) => slow.push(member));
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

Deno.test("names are one per member by the nickname rules: case and lookalikes", () => {
  const { room, members: [alice] } = roomOf(["alice"]);
  assert.equal(room.find("ALICE"), alice);
  assert.equal(room.find("alıce"), alice);
  assert.equal(room.isTaken("aIice"), true);
  assert.equal(room.isTaken("bob"), false);
  room.rename(alice!, "carol");
  assert.equal(room.find("alice"), undefined);
  assert.equal(room.find("Carol"), alice);
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
