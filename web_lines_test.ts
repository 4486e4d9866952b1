import assert from "node:assert/strict";
import {
  asksForNickname,
  asksForPassword,
  classify,
  clockTime,
  historyOverlap,
  isQuitWord,
  nameHue,
  reconnectDelay,
  roomChange,
  saysName,
  welcomedName,
} from "./web/lines.js";
import { GREETING, PASSWORD_GREETING } from "./protocol.ts";
import { reconnectDelay as clientReconnectDelay } from "./client.ts";

Deno.test("the page reads the greetings and the welcome as the terminal client does", () => {
  assert(asksForNickname(GREETING));
  assert(!asksForPassword(GREETING));
  assert(asksForPassword(PASSWORD_GREETING));
  assert(!asksForPassword("! Wrong password"));
  assert.deepEqual(welcomedName("Welcome, alice! Type <quit> to leave."), "alice");
  assert.deepEqual(welcomedName("Welcome to the chat! Please enter your nickname:"), null);
  assert.deepEqual(welcomedName("bob: Welcome, alice! Type <quit> to leave."), null);
});

Deno.test("quit words are the server's, in any case", () => {
  for (const word of ["<quit>", "/quit", "{quit}", "/QUIT", " <Quit> "]) assert(isQuitWord(word));
  assert(!isQuitWord("/quitter"));
  assert(!isQuitWord("quit"));
});

Deno.test("the page backs off as the terminal client does: 1 s doubling to 30 s, ±20 %", () => {
  for (const random of [0, 0.5, 0.999]) {
    for (let attempt = 0; attempt < 12; attempt++) {
      assert.deepEqual(
        reconnectDelay(attempt, () => random),
        clientReconnectDelay(attempt, () => random),
      );
    }
  }
  assert.deepEqual(reconnectDelay(0, () => 0.5), 1000);
  assert.deepEqual(reconnectDelay(2, () => 0.5), 4000);
  assert.deepEqual(reconnectDelay(9, () => 0.5), 30_000);
  assert.deepEqual(reconnectDelay(0, () => 0), 800);
});

Deno.test("notices about members change the member list; members' lines do not", () => {
  assert.deepEqual(roomChange("* bob joined the chat"), { type: "joined", name: "bob" });
  assert.deepEqual(roomChange("* bob left the chat"), { type: "left", name: "bob" });
  assert.deepEqual(roomChange("* bob left the chat (connection lost)"), {
    type: "left",
    name: "bob",
  });
  assert.deepEqual(roomChange("* bob is now known as bobby"), {
    type: "renamed",
    from: "bob",
    to: "bobby",
  });
  assert.deepEqual(roomChange("* 3 online: alice, bob, carol"), {
    type: "who",
    names: ["alice", "bob", "carol"],
    room: null,
  });
  assert.deepEqual(roomChange("* 1 online: alice"), { type: "who", names: ["alice"], room: null });
  assert.deepEqual(roomChange("bob: * carol joined the chat"), null);
  // Rooms: moving between them, and a room's /who with its operator marked.
  assert.deepEqual(roomChange("* bob joined #dev"), { type: "joined", name: "bob" });
  assert.deepEqual(roomChange("* bob left for #dev"), { type: "left", name: "bob" });
  assert.deepEqual(roomChange("* You are now in #dev (3 here)"), { type: "moved", room: "dev" });
  assert.deepEqual(roomChange("* 2 in #dev: @alice, bob"), {
    type: "who",
    names: ["alice", "bob"],
    room: "dev",
  });
  assert.deepEqual(roomChange("** bob joined the chat"), null);
  assert.deepEqual(roomChange("* Server is shutting down"), null);
});

Deno.test("lines are read by kind, with their names and whose they are", () => {
  assert.deepEqual(classify("alice: hello", "alice"), {
    kind: "message",
    sender: "alice",
    own: true,
    mention: false,
    direct: false,
    public: true,
    names: [[0, 5]],
  });
  assert.deepEqual(classify("bob: hello alice", "alice").own, false);
  assert.deepEqual(classify("bob: hello alice", "alice").mention, true);
  assert.deepEqual(classify("alice: hello alice", "alice").mention, false);
  assert.deepEqual(classify("alice: hello", null).own, false);

  const action = classify("** alice waves", "alice");
  assert.deepEqual([action.kind, action.own, action.public, action.names], ["action", true, true, [[
    3,
    8,
  ]]]);
  assert.deepEqual(classify("** bob waves at Alice", "alice").mention, true);

  const sent = classify("(private to bob) alice: psst", "alice");
  assert.deepEqual([sent.kind, sent.own, sent.direct, sent.public], [
    "private",
    true,
    false,
    false,
  ]);
  assert.deepEqual(sent.names, [[12, 15], [17, 22]]);
  const got = classify("(private) bob: psst", "alice");
  assert.deepEqual([got.kind, got.own, got.direct, got.sender], ["private", false, true, "bob"]);
  assert.deepEqual(got.names, [[10, 13]]);

  assert.deepEqual(classify("* bob joined the chat", "alice").kind, "notice");
  assert.deepEqual(classify("* bob joined the chat", "alice").names, [[2, 5]]);
  const renamed = "* bob is now known as bobby";
  assert.deepEqual(
    classify(renamed, "alice").names.map(([start, end]) => renamed.slice(start, end)),
    ["bob", "bobby"],
  );
  assert.deepEqual(classify("* alice joined the chat", "alice").mention, false);
  assert.deepEqual(classify("! No such user: carol", "alice").kind, "error");
  assert.deepEqual(classify(GREETING, null).kind, "server");
  assert.deepEqual(classify("Welcome, alice! Type <quit> to leave.", "alice").kind, "server");
});

Deno.test("a name is said only as a word of its own, in any case", () => {
  assert(saysName("hi Alice!", "alice"));
  assert(saysName("alice, look", "alice"));
  assert(saysName("ask a.b-c.", "a.b-c"));
  assert(!saysName("malice", "alice"));
  assert(!saysName("alice2 is here", "alice"));
  assert(!saysName("bob-alice", "alice"));
  assert(!saysName("alice.b", "alice"));
  assert(!saysName("aXb", "a.b"), "a name's dot is not a wildcard");
});

Deno.test("a name's hue is stable and ignores case", () => {
  assert.deepEqual(nameHue("Bob"), nameHue("bob"));
  assert.deepEqual(nameHue("bob"), nameHue("bob"));
  assert(nameHue("alice") !== nameHue("bob"));
  for (const name of ["alice", "bob", "ωmega", "李"]) {
    const hue = nameHue(name);
    assert(Number.isInteger(hue) && hue >= 0 && hue < 360);
  }
});

Deno.test("the time beside a line is HH:MM", () => {
  assert.deepEqual(clockTime(new Date(2025, 0, 2, 3, 4)), "03:04");
  assert.deepEqual(clockTime(new Date(2025, 0, 2, 23, 59)), "23:59");
});

Deno.test("after a reconnection only the history the page has not shown is new", () => {
  const seen = ["a: 1", "b: 2", "a: 3"];
  assert.deepEqual(historyOverlap(seen, ["a: 1", "b: 2", "a: 3"]), 3, "nothing new");
  assert.deepEqual(historyOverlap(seen, ["b: 2", "a: 3", "c: 4"]), 2, "one line said while away");
  assert.deepEqual(historyOverlap(seen, ["c: 4", "c: 5"]), 0, "more was said than history holds");
  assert.deepEqual(historyOverlap([], ["a: 1"]), 0, "the first join shows it all");
  assert.deepEqual(historyOverlap(seen, []), 0);
  assert.deepEqual(historyOverlap(["x: 1", "x: 1"], ["x: 1", "x: 1", "x: 2"]), 2);
});
