import assert from "node:assert/strict";
import { LEAK_CHECKS, Peer } from "../../test/test_helpers.ts";
import { ircJoin, sendIrc, syncIrc, withIrc } from "../../test/irc_test_helpers.ts";

Deno.test({
  name: "a line that is not UTF-8 is refused with FAIL INVALID_UTF8 and the connection stays",
  ...LEAK_CHECKS,
  fn: () =>
    withIrc(async (port) => {
      const [alice, welcome] = await ircJoin(port, "alice");
      await using _a = alice;
      const [bob] = await ircJoin(port, "bob");
      await using _b = bob;
      await alice.expect(":bob!bob@chat JOIN #lobby");
      assert.ok(welcome.some((line) => / 005 alice .*\bUTF8ONLY\b/.test(line)));
      await alice.send(
        new Uint8Array([...new TextEncoder().encode("PRIVMSG bob :hi"), 0xaa, 13, 10]),
      );
      assert.deepEqual(await syncIrc(alice), [
        ":irc.test FAIL PRIVMSG INVALID_UTF8 :Message rejected, it was not valid UTF-8",
      ]);
      await sendIrc(alice, "PRIVMSG bob :héllo");
      await bob.readUntil(":alice!alice@chat PRIVMSG bob :héllo");
      // In one write with good lines around it, the bad line alone is refused, in its place.
      const encode = (text: string) => [...new TextEncoder().encode(text)];
      await alice.send(
        new Uint8Array([
          ...encode("PRIVMSG bob :før\r\nPRIVMSG bob :bad"),
          0xff,
          ...encode("\r\nPRIVMSG bob :åfter\r\n"),
        ]),
      );
      await bob.readUntil(":alice!alice@chat PRIVMSG bob :før");
      await bob.expect(":alice!alice@chat PRIVMSG bob :åfter");
      assert.deepEqual(await syncIrc(alice), [
        ":irc.test FAIL PRIVMSG INVALID_UTF8 :Message rejected, it was not valid UTF-8",
      ]);
    }),
});

Deno.test({
  name:
    "a message that would not fit one line at its IRC recipient is 417; one that fits arrives whole",
  ...LEAK_CHECKS,
  fn: () =>
    withIrc(async (port) => {
      const [alice] = await ircJoin(port, "alice");
      await using _a = alice;
      const [bob] = await ircJoin(port, "bob");
      await using _b = bob;
      await alice.expect(":bob!bob@chat JOIN #lobby");
      // `:alice!alice@chat PRIVMSG bob :` and CR LF leave 479 bytes of text.
      const fits = "a".repeat(475) + "😃";
      await sendIrc(alice, `PRIVMSG bob :${fits}`, `PRIVMSG bob :${fits}b`);
      assert.deepEqual(await syncIrc(alice), [":irc.test 417 alice :Input line was too long"]);
      const line = `:alice!alice@chat PRIVMSG bob :${fits}`;
      assert.equal(new TextEncoder().encode(line).length, 510);
      assert.deepEqual(await syncIrc(bob), [line]);
    }),
});

Deno.test({
  name: "TARGMAX is advertised and a PRIVMSG to more than 4 targets is 407, sent to none",
  ...LEAK_CHECKS,
  fn: () =>
    withIrc(async (port) => {
      const [alice, welcome] = await ircJoin(port, "alice");
      await using _a = alice;
      assert.ok(welcome.some((line) => / 005 alice .*\bTARGMAX=\S*PRIVMSG:4\b/.test(line)));
      assert.ok(welcome.some((line) => / 005 alice .*\bPREFIX=\(ov\)@\+ /.test(line)));
      await sendIrc(alice, "PRIVMSG a,b,c,d,e :hi");
      assert.deepEqual(await syncIrc(alice), [
        ":irc.test 407 alice a,b,c,d,e :Too many targets: at most 4",
      ]);
    }),
});

Deno.test({
  name:
    "messages to the client's own channel in one write reach the room in order, with the lines the full way takes among them",
  ...LEAK_CHECKS,
  fn: () =>
    withIrc(async (port, linePort) => {
      const [alice] = await ircJoin(port, "alice");
      await using _a = alice;
      await using carol = await Peer.join(linePort, "carol");
      await alice.readUntil(":carol!carol@chat JOIN #lobby");
      // A write of plain messages only: each reaches the room, in order.
      await sendIrc(alice, "PRIVMSG #lobby :one", "PRIVMSG #lobby :two two", "PRIVMSG #lobby :3");
      await carol.readUntil("alice: one");
      await carol.expect("alice: two two");
      await carol.expect("alice: 3");
      // Among them lines that are not: an action, a leading slash, a quit word, beyond ASCII, a
      // channel named in other case, and one at IRC's cap (`:alice!alice@chat ` and CR LF leave
      // 492 bytes for `PRIVMSG #lobby :` and the text).
      const longest = "z".repeat(492 - "PRIVMSG #lobby :".length);
      await sendIrc(
        alice,
        "PRIVMSG #lobby :four",
        "PRIVMSG #lobby :\x01ACTION waves\x01",
        "PRIVMSG #lobby :/not a command",
        "PRIVMSG #lobby :{QUIT}",
        "PRIVMSG #lobby :ünïcödé",
        "PRIVMSG #LOBBY :case",
        `PRIVMSG #lobby :${longest}`,
        `PRIVMSG #lobby :${longest}z`,
        "PRIVMSG #lobby :five",
      );
      await carol.readUntil("alice: four");
      await carol.expect("** alice waves");
      await carol.expect("alice: /not a command");
      await carol.expect("alice: ünïcödé");
      await carol.expect("alice: case");
      await carol.expect(`alice: ${longest}`);
      await carol.expect("alice: five");
      assert.deepEqual(await syncIrc(alice), [
        ":irc.test 404 alice #lobby :The chat reads that word as leaving; not sent",
        ":irc.test 417 alice :Input line was too long",
      ]);
      // The longest plain message in a write of plain messages; one byte more is 417 there too.
      await sendIrc(alice, "PRIVMSG #lobby :six", `PRIVMSG #lobby :${longest}`);
      await carol.readUntil("alice: six");
      await carol.expect(`alice: ${longest}`);
      await sendIrc(alice, "PRIVMSG #lobby :seven", `PRIVMSG #lobby :${longest}z`);
      await carol.readUntil("alice: seven");
      assert.deepEqual(await syncIrc(alice), [":irc.test 417 alice :Input line was too long"]);
    }),
});

Deno.test({
  name: "a NICK past a channel's ban on the client is 435, and the ban holds",
  ...LEAK_CHECKS,
  fn: () =>
    withIrc(async (port) => {
      const [alice] = await ircJoin(port, "alice");
      await using _a = alice;
      const [bob] = await ircJoin(port, "bob");
      await using _b = bob;
      await sendIrc(alice, "JOIN #dev");
      await alice.readUntil(/ 366 alice #dev /);
      await sendIrc(bob, "JOIN #dev");
      await bob.readUntil(/ 366 bob #dev /);
      await sendIrc(alice, "MODE #dev +b bob");
      await bob.readUntil(":alice!alice@chat MODE #dev +b bob!*@*");
      await sendIrc(bob, "NICK robert");
      assert.deepEqual(await syncIrc(bob), [
        ":irc.test 435 bob robert #dev :Cannot change nickname while banned on channel",
      ]);
      await sendIrc(bob, "PRIVMSG #dev :hi");
      assert.deepEqual(await syncIrc(bob), [
        ":irc.test 404 bob #dev :Cannot send to channel: banned (+b)",
      ]);
    }),
});
