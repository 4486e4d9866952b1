import assert from "node:assert/strict";
import {
  accountAnswer,
  asksForNickname,
  asksForPassword,
  classify,
  clockTime,
  historyOverlap,
  isQuitWord,
  listedRooms,
  nameHue,
  offeredPassword,
  pastedName,
  pictureUrl,
  reconnectDelay,
  refusesUpload,
  registeredName,
  roomChange,
  saysName,
  secretStart,
  sharedFile,
  sizeText,
  uploadAddress,
  uploadPath,
  welcomedName,
} from "./lines.js";
import { GREETING, PASSWORD_GREETING } from "../protocol.ts";
import { reconnectDelay as clientReconnectDelay } from "../client.ts";
import { roomName } from "../core/rooms.ts";
import { cleanFileName, sizeText as serverSizeText } from "../core/file_kinds.ts";
import { LEAK_CHECKS } from "../test/test_helpers.ts";

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
  assert.deepEqual(roomChange("* bob joined the chat"), {
    type: "joined",
    name: "bob",
    room: null,
  });
  assert.deepEqual(roomChange("* bob left the chat"), { type: "left", name: "bob", room: null });
  assert.deepEqual(roomChange("* bob left the chat (connection lost)"), {
    type: "left",
    name: "bob",
    room: null,
  });
  assert.deepEqual(roomChange("* bob left #dev (see you)"), {
    type: "left",
    name: "bob",
    room: "lobby",
  });
  assert.deepEqual(roomChange("* bob left #dev"), { type: "left", name: "bob", room: "lobby" });
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
  // Operators: a kicked or banned member leaves the room it was in.
  assert.deepEqual(roomChange("* bob was kicked by alice (spam)"), {
    type: "left",
    name: "bob",
    room: null,
  });
  assert.deepEqual(roomChange("* bob was banned by server for 2h"), {
    type: "left",
    name: "bob",
    room: null,
  });
  assert.deepEqual(roomChange("* bob was muted by alice for 10m"), null);
  // Rooms: moving between them, and a room's /who with its operator marked.
  // A move names the room: the one joined, or the one left for.
  assert.deepEqual(roomChange("* bob joined #dev"), { type: "joined", name: "bob", room: "dev" });
  assert.deepEqual(roomChange("* bob left for #dev"), { type: "left", name: "bob", room: "dev" });
  assert.deepEqual(roomChange("* You are now in #dev (3 here)"), {
    type: "moved",
    room: "dev",
    here: 3,
  });
  assert.deepEqual(roomChange("* You are now in #開発 (12 here)"), {
    type: "moved",
    room: "開発",
    here: 12,
  });
  assert.deepEqual(roomChange("* 2 in #dev: @alice, bob"), {
    type: "who",
    names: ["alice", "bob"],
    room: "dev",
  });
  // Accounts: members logged in to theirs are marked `+`.
  assert.deepEqual(roomChange("* 3 online: @alice+, bob, carol+"), {
    type: "who",
    names: ["alice", "bob", "carol"],
    room: null,
  });
  assert.deepEqual(roomChange("** bob joined the chat"), null);
  assert.deepEqual(roomChange("* Server is shutting down"), null);
});

Deno.test("the answer to /rooms is read as the rooms with their counts, in its order", () => {
  assert.deepEqual(listedRooms("* 3 rooms: #lobby (12), #dev (3), #random (1)"), [
    { name: "lobby", count: 12 },
    { name: "dev", count: 3 },
    { name: "random", count: 1 },
  ]);
  assert.deepEqual(listedRooms("* 1 room: #lobby (1)"), [{ name: "lobby", count: 1 }]);
  // A room's modes beyond +nt follow its count: a key or invitations lock it.
  assert.deepEqual(listedRooms("* 2 rooms: #dev (3, +ik), #lobby (1)"), [
    { name: "dev", count: 3, modes: "+ik" },
    { name: "lobby", count: 1 },
  ]);
  // A room with a topic outlives its last member.
  assert.deepEqual(listedRooms("* 2 rooms: #lobby (0), #news (0)"), [
    { name: "lobby", count: 0 },
    { name: "news", count: 0 },
  ]);
  // Names of any script, with digits, `_`, `-` and `.`.
  const names = ["разработка", "開発", "ωμέγα_2", "a-b.c", "2025", "Dev"];
  const line = `* ${names.length} rooms: ${names.map((name, i) => `#${name} (${i})`).join(", ")}`;
  assert.deepEqual(listedRooms(line), names.map((name, count) => ({ name, count })));
  for (const name of names) assert.equal(roomName(name), name, "the server takes it as it is");
});

Deno.test("only a whole /rooms answer is a list of rooms", () => {
  for (
    const line of [
      "* 2 rooms: #lobby (1)", // fewer than it says
      "* 1 room: #lobby (1), #dev (2)", // more than it says
      "* 1 room: ",
      "* 1 room: lobby (1)",
      "* 1 room: #lobby",
      "* 1 room: #lobby (one)",
      "* 1 room: #lob by (1)",
      "* 2 rooms: #lobby (1),#dev (2)",
      "* 1 room: #lobby (1) and more",
      "bob: * 1 room: #lobby (1)",
      "** bob 1 room: #lobby (1)",
      "* 2 online: alice, bob",
      "* You are now in #dev (3 here)",
    ]
  ) {
    assert.equal(listedRooms(line), null, line);
  }
  assert.equal(roomChange("* 3 rooms: #lobby (12), #dev (3), #random (1)"), null);
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

Deno.test({
  name:
    "the passwords of /login, /register, /password and /unregister start after the visible words",
  sanitizeOps: true,
  sanitizeResources: true,
  fn() {
    assert.equal(secretStart("/login alice secret123"), "/login alice ".length);
    assert.equal(secretStart("/login alice"), null);
    assert.equal(secretStart("/login alice "), "/login alice ".length);
    assert.equal(secretStart("/Login alice s"), "/Login alice ".length);
    assert.equal(secretStart("/register"), null);
    assert.equal(secretStart("/register s"), "/register ".length);
    assert.equal(secretStart("/password old new"), "/password ".length);
    assert.equal(secretStart("/unregister s"), "/unregister ".length);
    assert.equal(secretStart("/loginx alice s"), null);
    assert.equal(secretStart("/msg alice s"), null);
    assert.equal(secretStart("hello /login alice s"), null);
  },
});

Deno.test({
  name: "the notice of a registered name gives the name, and is no password question",
  sanitizeOps: true,
  sanitizeResources: true,
  fn() {
    const notice = "* alice is registered; /login alice PASSWORD to use it";
    assert.equal(registeredName(notice), "alice");
    assert.equal(
      registeredName("bob: * alice is registered; /login alice PASSWORD to use it"),
      null,
    );
    assert.equal(registeredName("* alice is registered; /login bob PASSWORD to use it"), null);
  },
});

Deno.test({
  name: "the password an account command would make the account's is split as the server splits",
  sanitizeOps: true,
  sanitizeResources: true,
  fn() {
    assert.equal(offeredPassword("/login alice correct-horse"), "correct-horse");
    assert.equal(offeredPassword("/LOGIN alice  correct-horse "), "correct-horse");
    assert.equal(offeredPassword("/register correct-horse"), "correct-horse");
    assert.equal(offeredPassword("/password correct-horse battery-staple"), "battery-staple");
    assert.equal(offeredPassword("/login alice"), null);
    assert.equal(offeredPassword("/password correct-horse"), null);
    assert.equal(offeredPassword("/register"), null);
    assert.equal(offeredPassword("/unregister correct-horse"), null);
    assert.equal(offeredPassword("/msg alice correct-horse"), null);
    assert.equal(offeredPassword("login alice correct-horse"), null);
  },
});

Deno.test({
  name: "the server's answers about the account are read with the account's name",
  sanitizeOps: true,
  sanitizeResources: true,
  fn() {
    assert.deepEqual(accountAnswer("* Logged in as alice"), { type: "loggedIn", name: "alice" });
    assert.deepEqual(
      accountAnswer(
        "* Registered alice: only you can use this name until the server restarts (it keeps no data)",
      ),
      { type: "loggedIn", name: "alice" },
    );
    assert.deepEqual(accountAnswer("* Registered alice: only you can use this name from now on"), {
      type: "loggedIn",
      name: "alice",
    });
    assert.deepEqual(accountAnswer("* Password changed"), { type: "passwordChanged" });
    assert.deepEqual(accountAnswer("* alice is no longer registered"), {
      type: "unregistered",
      name: "alice",
    });
    assert.deepEqual(accountAnswer("! Wrong password for alice"), {
      type: "wrongPassword",
      name: "alice",
    });
    assert.deepEqual(accountAnswer("! No such account: zed"), { type: "noAccount", name: "zed" });
    assert.deepEqual(accountAnswer("* You logged in from elsewhere; closing this connection"), {
      type: "elsewhere",
    });
    // Not the server's, or not about the account.
    assert.equal(accountAnswer("bob: * Logged in as alice"), null);
    assert.equal(accountAnswer("! alice is no longer registered"), null);
    assert.equal(accountAnswer("! Wrong password"), null);
    assert.equal(accountAnswer("* alice left the chat (logged in elsewhere)"), null);
  },
});

/** A shared file's notice as `core/files.ts` writes it. */
function shareLine(from: string, name: string, size: number, base = "http://127.0.0.1:8080") {
  const id = "0123456789abcdef0123456789abcdef";
  const clean = cleanFileName(name);
  const url = `${base}/files/${id}/${encodeURIComponent(clean)}`;
  return { line: `* ${from} shared ${clean} (${serverSizeText(size)}): ${url}`, url, clean };
}

Deno.test({
  name: "a shared file's notice gives who shared what, its size and address, in every form",
  ...LEAK_CHECKS,
  fn() {
    const { line, url } = shareLine("alice", "cat.png", 120_000);
    assert.deepEqual(sharedFile(line), {
      from: "alice",
      name: "cat.png",
      size: "120 KB",
      url,
      at: line.indexOf("http://"),
      private: false,
      to: null,
    });
    // Names hold spaces, brackets and colons; the size and the address are the last words.
    const odd = shareLine("bob", "my (1): draft.tar.gz", 1);
    assert.deepEqual(
      [sharedFile(odd.line)?.name, sharedFile(odd.line)?.size, sharedFile(odd.line)?.url],
      ["my (1): draft.tar.gz", "1 byte", odd.url],
    );
    const received = sharedFile(`(private) ${line}`);
    assert.deepEqual([received?.private, received?.to, received?.from], [true, null, "alice"]);
    const sent = sharedFile(`(private to bob) ${line}`);
    assert.deepEqual([sent?.private, sent?.to, sent?.url], [true, "bob", url]);
    assert.equal(sent?.at, `(private to bob) ${line}`.indexOf("http://"));
    // Members' lines are not the server's notices.
    assert.equal(sharedFile(`bob: ${line}`), null);
    assert.equal(sharedFile(`(private) bob: ${line}`), null);
    assert.equal(sharedFile(`** bob ${line.slice(2)}`), null);
    assert.equal(sharedFile("* alice shared cat.png (120 KB): javascript:alert(1)"), null);
    assert.equal(sharedFile("* alice shared cat.png: http://h/files/x"), null);
  },
});

Deno.test({
  name: "sizes read as the server writes them",
  ...LEAK_CHECKS,
  fn() {
    for (
      const bytes of [
        0,
        1,
        999,
        1000,
        1049,
        9_949,
        9_950,
        120_000,
        999_949,
        999_950,
        2_400_000,
        1e13,
      ]
    ) {
      assert.equal(sizeText(bytes), serverSizeText(bytes), `${bytes}`);
    }
  },
});

Deno.test({
  name: "only pictures served at /files/ on the page's own origin are shown in place",
  ...LEAK_CHECKS,
  fn() {
    const origin = "http://127.0.0.1:8080";
    for (const name of ["cat.png", "CAT.PNG", "a.jpg", "a.jpeg", "a.gif", "a.webp", "my cat.png"]) {
      const share = sharedFile(shareLine("alice", name, 10).line);
      assert.ok(share !== null);
      assert.equal(pictureUrl(share, origin), share.url, name);
    }
    for (const name of ["page.html", "image.svg", "notes.txt", "png", "a.png.exe", "file"]) {
      const share = sharedFile(shareLine("alice", name, 10).line);
      assert.ok(share !== null);
      assert.equal(pictureUrl(share, origin), null, name);
    }
    const elsewhere = sharedFile(shareLine("alice", "cat.png", 10, "http://chat.lan:8080").line);
    assert.ok(elsewhere !== null);
    assert.equal(pictureUrl(elsewhere, origin), null, "another origin");
    assert.equal(pictureUrl(elsewhere, "http://chat.lan:8080"), elsewhere.url);
    const notFiles = sharedFile(`* alice shared cat.png (1 KB): ${origin}/upload/cat.png`);
    assert.ok(notFiles !== null);
    assert.equal(pictureUrl(notFiles, origin), null, "not under /files/");
  },
});

Deno.test({
  name: "shared files' notices are set apart as private when they are, and kept for the history",
  ...LEAK_CHECKS,
  fn() {
    const { line } = shareLine("bob", "cat.png", 2048);
    const shown = classify(line, "alice");
    assert.deepEqual([shown.kind, shown.public, shown.own, shown.direct, shown.sender], [
      "notice",
      true,
      false,
      false,
      "bob",
    ]);
    assert.deepEqual(shown.names.map(([start, end]) => line.slice(start, end)), ["bob"]);
    const got = `(private) ${line}`;
    const received = classify(got, "alice");
    assert.deepEqual([received.kind, received.public, received.direct], ["private", false, true]);
    assert.deepEqual(received.names.map(([start, end]) => got.slice(start, end)), ["bob"]);
    const gave = `(private to alice) ${line}`;
    const sent = classify(gave, "bob");
    assert.deepEqual([sent.kind, sent.own, sent.direct], ["private", true, false]);
    assert.deepEqual(sent.names.map(([start, end]) => gave.slice(start, end)), ["alice", "bob"]);
    const removed = classify("* bob removed cat.png", "alice");
    assert.deepEqual([removed.kind, removed.public], ["notice", true]);
    assert.equal(
      classify("* bob was removed as an operator of #dev by carol", "alice").public,
      false,
    );
    // The history repeats them: a page that saw them finds nothing new.
    const seen = ["a: 1", line, "* bob removed cat.png"];
    assert.equal(historyOverlap(seen, seen), 3);
  },
});

Deno.test({
  name: "the answer to /upload gives the token and its time, or refuses",
  ...LEAK_CHECKS,
  fn() {
    const token = "00112233445566778899aabbccddeeff";
    assert.deepEqual(
      uploadAddress(
        `* Upload within 10 minutes: curl -T FILE http://127.0.0.1:8080/upload/${token}`,
      ),
      { token, ms: 10 * 60_000 - 30_000 },
    );
    assert.equal(
      uploadAddress(`bob: * Upload within 10 minutes: curl -T FILE http://h/upload/${token}`),
      null,
    );
    assert.equal(
      uploadAddress(`* Upload within 10 minutes: curl -T FILE http://h/upload/xyz`),
      null,
    );
    for (
      const line of [
        "! File sharing is off on this server",
        "! Too many uploads; try again later",
        "! You are muted (until 14:02)",
        "! Cannot send to #dev: moderated (+m)",
        "! Cannot send to #dev: banned (+b)",
        "! Unknown command: /upload (type /help)",
      ]
    ) {
      assert.ok(refusesUpload(line), line);
    }
    assert.ok(!refusesUpload("! Unknown command: /uploads (type /help)"));
    assert.ok(!refusesUpload("! File too large (max 10 MiB)"), "a refusal of the file, later");
  },
});

Deno.test({
  name: "a file goes to a path on the page's own origin, its name encoded, and pastes get a name",
  ...LEAK_CHECKS,
  fn() {
    const token = "00112233445566778899aabbccddeeff";
    assert.equal(uploadPath(token, "cat.png"), `/upload/${token}/cat.png`);
    const odd = "../a b/ü?#%.png";
    const path = uploadPath(token, odd);
    const last = path.slice(`/upload/${token}/`.length);
    assert.ok(!last.includes("/") && !last.includes("?") && !last.includes("#"), path);
    assert.equal(decodeURIComponent(last), odd);
    const date = new Date(2025, 4, 1, 14, 2, 5);
    assert.equal(pastedName("image/png", date), "pasted-20250501-140205.png");
    assert.equal(pastedName("image/JPEG", date), "pasted-20250501-140205.jpg");
    assert.equal(pastedName("image/bmp", date), "pasted-20250501-140205.img");
  },
});
