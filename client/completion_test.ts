import assert from "node:assert/strict";
import { CompletionSource, MAX_COMPLETION_NAMES, MAX_COMPLETION_ROOMS } from "./completion.ts";
import { LineEditor } from "./line_editor.ts";

const test = (name: string, fn: () => void) =>
  Deno.test({ name, fn, sanitizeOps: true, sanitizeResources: true });

const COMMANDS = ["/who", "/whois", "/join", "/msg", "/me", "/rooms", "/quit"];

function source(): CompletionSource {
  const source = new CompletionSource(COMMANDS);
  source.setNames(["alice", "Alina", "bob"]);
  source.setRooms(["#dev", "#design", "#lobby"]);
  return source;
}

test("a / word at the start of the line completes commands, a single one with a space", () => {
  const s = source();
  assert.deepEqual(s.complete("/jo", ""), { replaceFrom: 0, candidates: ["/join "] });
  assert.deepEqual(s.complete("  /J", ""), { replaceFrom: 2, candidates: ["/join "] });
  assert.deepEqual(s.complete("/wh", ""), { replaceFrom: 0, candidates: ["/who ", "/whois "] });
  assert.deepEqual(s.complete("/m", ""), { replaceFrom: 0, candidates: ["/msg ", "/me "] });
  assert.equal(s.complete("/x", ""), null);
});

test("a / word elsewhere is not a command", () => {
  assert.equal(source().complete("see /jo", ""), null);
});

test("commands may be given without their /", () => {
  const s = new CompletionSource(["who", "/join", "who"]);
  assert.deepEqual(s.complete("/", ""), { replaceFrom: 0, candidates: ["/who ", "/join "] });
});

test("a # word completes rooms anywhere, letter case aside", () => {
  const s = source();
  assert.deepEqual(s.complete("/join #DE", ""), {
    replaceFrom: 6,
    candidates: ["#dev ", "#design "],
  });
  assert.deepEqual(s.complete("see #lo", ""), { replaceFrom: 4, candidates: ["#lobby "] });
  assert.equal(s.complete("#x", ""), null);
});

test("the word after /join completes rooms without #, and all of them when empty", () => {
  const s = source();
  assert.deepEqual(s.complete("/join l", ""), { replaceFrom: 6, candidates: ["lobby "] });
  assert.deepEqual(s.complete("/join ", ""), {
    replaceFrom: 6,
    candidates: ["dev ", "design ", "lobby "],
  });
  // Its second word is a name again.
  assert.deepEqual(s.complete("/join dev bo", ""), { replaceFrom: 10, candidates: ["bob "] });
});

test("a name at the start of the line completes to 'name: ', elsewhere to 'name '", () => {
  const s = source();
  assert.deepEqual(s.complete("bo", ""), { replaceFrom: 0, candidates: ["bob: "] });
  assert.deepEqual(s.complete("hi BO", ""), { replaceFrom: 3, candidates: ["bob "] });
  assert.deepEqual(s.complete("/msg bo", ""), { replaceFrom: 5, candidates: ["bob "] });
});

test("names match letter case aside and keep their own spelling", () => {
  assert.deepEqual(source().complete("hi AL", ""), {
    replaceFrom: 3,
    candidates: ["alice ", "Alina "],
  });
});

test("the most recently seen names come first", () => {
  const s = source();
  s.addName("alina");
  s.addName("albert");
  assert.deepEqual(s.complete("x al", "")?.candidates, ["albert ", "alina ", "alice "]);
  s.addName("Alice");
  assert.deepEqual(s.complete("x al", "")?.candidates, ["Alice ", "albert ", "alina "]);
});

test("nothing is completed inside a word or for an empty word", () => {
  const s = source();
  assert.equal(s.complete("al", "ice"), null);
  assert.equal(s.complete("hi ", ""), null);
  assert.equal(s.complete("", ""), null);
});

test("before a space no space is added", () => {
  const s = source();
  assert.deepEqual(s.complete("bo", " there"), { replaceFrom: 0, candidates: ["bob:"] });
  assert.deepEqual(s.complete("hi bo", " there"), { replaceFrom: 3, candidates: ["bob"] });
  assert.deepEqual(s.complete("/jo", " #dev"), { replaceFrom: 0, candidates: ["/join"] });
});

test("a fresh list of names keeps its order", () => {
  const s = new CompletionSource([]);
  s.setNames(["carol", "alice", "bob"]);
  assert.deepEqual(s.names, ["carol", "alice", "bob"]);
  s.addName("bob");
  assert.deepEqual(s.names, ["bob", "carol", "alice"]);
});

test("removeName, rename and setNames change who is completed", () => {
  const s = source();
  s.removeName("BOB");
  assert.equal(s.complete("bo", ""), null);
  s.rename("alice", "bobby");
  assert.deepEqual(s.names, ["bobby", "Alina"]);
  s.addName("carol");
  s.setNames(["dave", "Carol", "alina", "dave"]);
  // Known names keep their order and take the list's spelling; new ones are the least recent.
  assert.deepEqual(s.names, ["Carol", "alina", "dave"]);
});

test("names and rooms with spaces, or empty, are not kept", () => {
  const s = new CompletionSource([]);
  s.addName("");
  s.addName("two words");
  s.setNames(["ok", "not ok", ""]);
  s.addRoom("#");
  assert.deepEqual(s.names, ["ok"]);
  assert.deepEqual(s.rooms, []);
});

test("addRoom and setRooms keep rooms without #, the newest first", () => {
  const s = new CompletionSource([]);
  s.addRoom("#dev");
  s.addRoom("lobby");
  s.addRoom("#DEV");
  assert.deepEqual(s.rooms, ["DEV", "lobby"]);
  s.setRooms(["#lobby", "#new"]);
  assert.deepEqual(s.rooms, ["lobby", "new"]);
});

test("names and rooms are bounded, the most recently seen kept", () => {
  const s = new CompletionSource([], { maxNames: 3, maxRooms: 2 });
  for (const name of ["a1", "a2", "a3", "a4"]) s.addName(name);
  s.addName("a2");
  s.addName("a5");
  assert.deepEqual(s.names, ["a5", "a2", "a4"]);
  s.setNames(["b1", "b2", "a5", "b3"]);
  assert.deepEqual(s.names, ["a5", "b1", "b2"]);
  for (const room of ["r1", "r2", "r3"]) s.addRoom(room);
  assert.deepEqual(s.rooms, ["r3", "r2"]);
  const big = new CompletionSource([]);
  for (let i = 0; i < MAX_COMPLETION_NAMES + 5; i++) big.addName(`n${i}`);
  for (let i = 0; i < MAX_COMPLETION_ROOMS + 5; i++) big.addRoom(`r${i}`);
  assert.equal(big.names.length, 10_000);
  assert.equal(big.names.at(-1), "n5");
  assert.equal(big.rooms.length, 1_000);
});

test("in the editor: Tab completes a name, then cycles through several whole", () => {
  const s = source();
  const editor = new LineEditor({ complete: s.complete });
  editor.handle({ type: "text", text: "al" });
  editor.handle({ type: "tab" });
  assert.equal(editor.line, "ali");
  editor.handle({ type: "tab" });
  assert.equal(editor.line, "alice: ");
  editor.handle({ type: "tab" });
  assert.equal(editor.line, "Alina: ");
  editor.handle({ type: "text", text: "hi /j" });
  editor.handle({ type: "tab" });
  assert.equal(editor.line, "Alina: hi /j");
  editor.setLine("/j");
  editor.handle({ type: "tab" });
  editor.handle({ type: "text", text: "#d" });
  editor.handle({ type: "tab" });
  assert.equal(editor.line, "/join #de");
  editor.handle({ type: "tab" });
  assert.equal(editor.line, "/join #dev ");
  editor.handle({ type: "tab" });
  assert.equal(editor.line, "/join #design ");
});
