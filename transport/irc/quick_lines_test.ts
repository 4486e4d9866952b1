import assert from "node:assert/strict";
import { quickLines } from "./quick_lines.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What quickLines makes of `text`'s complete lines, as text, or null. */
function quick(text: string, room = "lobby", longest = 400): string | null {
  const data = encoder.encode(text);
  const lines = quickLines(data, data.lastIndexOf(10), room, longest);
  return lines === null ? null : decoder.decode(lines);
}

Deno.test("a write of plain messages to the client's own channel is their texts for the core", () => {
  assert.equal(
    quick(
      "PRIVMSG #lobby :hi\r\nPRIVMSG #lobby :two words \nPRIVMSG #lobby :ünïcödé\ttab\r\n" +
        "PRIVMSG #lo",
    ),
    "hi\ntwo words \nünïcödé\ttab\n",
  );
  const line = "PRIVMSG #lobby :" + "x".repeat(84);
  assert.equal(quick(`${line}\r\n`, "lobby", 100), `${"x".repeat(84)}\n`);
  assert.equal(quick(`${line}x\r\n`, "lobby", 100), null);
});

Deno.test("any other line sends the whole write the full way", () => {
  for (
    const other of [
      "PRIVMSG #dev :elsewhere",
      "PRIVMSG #LOBBY :other case",
      "PRIVMSG #lobbyx :longer name",
      "PRIVMSG #lobby no colon",
      "PRIVMSG #lobby :",
      "PRIVMSG #lobby :\x01ACTION waves\x01",
      "PRIVMSG #lobby :/me waves",
      "PRIVMSG #lobby :<QUIT>",
      "PRIVMSG #lobby :{QUIT}",
      "@time=x PRIVMSG #lobby :tagged",
      "privmsg #lobby :lower case",
      "NOTICE #lobby :a notice",
      "",
    ]
  ) {
    assert.equal(quick(`PRIVMSG #lobby :fine\r\n${other}\r\n`), null, JSON.stringify(other));
  }
  // A line that is not UTF-8 is the full way's to refuse.
  const bad = new Uint8Array([...encoder.encode("PRIVMSG #lobby :bad "), 0xff, 13, 10]);
  assert.equal(quickLines(bad, bad.length - 1, "lobby", 400), null);
});
