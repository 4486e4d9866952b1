import assert from "node:assert/strict";
import { LEAK_CHECKS, Peer, withDeadline } from "../test/test_helpers.ts";
import { ircJoin, sendIrc, syncIrc, withIrcServer } from "../test/irc_test_helpers.ts";
import { ChatServer, parseServerArgs } from "../server.ts";

Deno.test({
  name: "an IRC client registers with CAP, NICK and USER and lands in #lobby",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer(["--irc-server-name", "chat.test"], async (server) => {
      const [alice, lines] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      const codes = lines.map((line) => line.split(" ")[1]);
      for (const code of ["001", "002", "003", "004", "005", "251", "422", "JOIN", "353"]) {
        assert.ok(codes.includes(code), `no ${code} in:\n${lines.join("\n")}`);
      }
      assert.ok(codes.indexOf("001") < codes.indexOf("005"));
      assert.ok(codes.indexOf("422") < codes.indexOf("JOIN"));
      assert.ok(lines.includes(":chat.test 001 alice :Welcome to the chat, alice!alice@chat"));
      const isupport = lines.find((line) => line.includes(" 005 ")) ?? "";
      for (const token of ["CASEMAPPING=", "CHANTYPES=#", "PREFIX=(ov)@+", "NICKLEN=24"]) {
        assert.ok(isupport.includes(token), `${token} missing from ${isupport}`);
      }
      assert.ok(lines.includes(":alice!alice@chat JOIN #lobby"));
      assert.ok(lines.includes(":chat.test 353 alice = #lobby :alice"));
      await sendIrc(alice, "PING :are you there");
      await alice.expect(":chat.test PONG chat.test :are you there");
    }),
});

Deno.test({
  name: "a line member and an IRC member in #lobby see each other's lines, the sender's not echoed",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using bob = await Peer.join(server.port, "bob");
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      await bob.expect("* alice joined the chat");
      await bob.send("hello from the line\n");
      await bob.expect("bob: hello from the line");
      await alice.expect(":bob!bob@chat PRIVMSG #lobby :hello from the line");
      await sendIrc(alice, "PRIVMSG #lobby :hello from irssi", "PRIVMSG #lobby :/not a command");
      await sendIrc(alice, "PRIVMSG #lobby :\x01ACTION waves\x01");
      await bob.expect("alice: hello from irssi");
      await bob.expect("alice: /not a command");
      await bob.expect("** alice waves");
      await bob.send("/me waves back\n");
      await alice.expect(":bob!bob@chat PRIVMSG #lobby :\x01ACTION waves back\x01");
      // Nothing of its own came back to the IRC client.
      assert.deepEqual(await syncIrc(alice), []);
    }),
});

Deno.test({
  name: "private messages cross between the doors both ways, and an unknown name is 401",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using bob = await Peer.join(server.port, "bob");
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      await bob.expect("* alice joined the chat");
      await sendIrc(alice, "PRIVMSG bob :psst");
      await bob.expect("(private) alice: psst");
      await bob.send("/msg alice hush\n");
      await bob.expect("(private to alice) bob: hush");
      await alice.expect(":bob!bob@chat PRIVMSG alice :hush");
      await sendIrc(alice, "PRIVMSG nobody :hello?");
      assert.deepEqual(await syncIrc(alice), [
        `:127.0.0.1 401 alice nobody :No such nick/channel`,
      ]);
    }),
});

Deno.test({
  name: "JOIN adds a channel (a seat in its room), PART leaves it with its reason, NAMES and TOPIC",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using bob = await Peer.join(server.port, "bob");
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      await bob.expect("* alice joined the chat");
      await sendIrc(alice, "JOIN #dev", "TOPIC #dev :builds and releases");
      assert.deepEqual(await syncIrc(alice), [
        ":alice!alice@chat JOIN #dev",
        ":127.0.0.1 353 alice = #dev :@alice",
        ":127.0.0.1 366 alice #dev :End of /NAMES list",
        ":alice!alice@chat TOPIC #dev :builds and releases",
      ]);
      // Still in #lobby: bob hears her there.
      await sendIrc(alice, "PRIVMSG #lobby :still in the lobby");
      await bob.expect("alice: still in the lobby");
      await bob.send("/join #dev\n");
      await bob.readUntil("* Topic: builds and releases");
      await alice.expect(":bob!bob@chat PART #lobby :left for #dev");
      await alice.expect(":bob!bob@chat JOIN #dev");
      await sendIrc(alice, "NAMES #dev", "TOPIC #dev", "WHO #dev");
      const answers = await syncIrc(alice);
      // Who set the topic, and when (RPL_TOPICWHOTIME), in seconds.
      const whoTime = answers.splice(3, 1)[0] ?? "";
      const setAt = Number(/^:127\.0\.0\.1 333 alice #dev alice :(\d+)$/.exec(whoTime)?.[1]);
      assert.ok(Math.abs(setAt - Date.now() / 1000) < 60, whoTime);
      assert.deepEqual(answers, [
        ":127.0.0.1 353 alice = #dev :@alice bob",
        ":127.0.0.1 366 alice #dev :End of /NAMES list",
        ":127.0.0.1 332 alice #dev :builds and releases",
        ":127.0.0.1 352 alice #dev alice chat 127.0.0.1 alice H@ :0 alice the tester",
        ":127.0.0.1 352 alice #dev bob chat 127.0.0.1 bob H :0 bob",
        ":127.0.0.1 315 alice #dev :End of /WHO list",
      ]);
      await bob.send("in dev\n");
      await bob.expect("bob: in dev");
      await alice.expect(":bob!bob@chat PRIVMSG #dev :in dev");
      await sendIrc(alice, "PRIVMSG #dev :hello dev");
      await bob.expect("alice: hello dev");
      await sendIrc(alice, "PART #dev :see you");
      await alice.expect(":alice!alice@chat PART #dev :see you");
      await bob.expect("* alice left #dev (see you)");
      await sendIrc(alice, "PRIVMSG #dev :still here?");
      assert.deepEqual(await syncIrc(alice), [
        ":127.0.0.1 404 alice #dev :Cannot send to channel: no messages from outside (+n)",
      ]);
      await bob.send("/who\n");
      await bob.expect("* 1 in #dev: bob");
    }),
});

Deno.test({
  name: "malformed and unknown commands get the RFC's numerics and the connection stays",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using early = await Peer.connect(server.ircPort);
      await sendIrc(early, "JOIN #dev", "USER x", "NICK", "NICK 1$x");
      await early.expect(":127.0.0.1 451 * :You have not registered");
      await early.expect(":127.0.0.1 461 * USER :Not enough parameters");
      await early.expect(":127.0.0.1 431 * :No nickname given");
      await early.expect(":127.0.0.1 432 * 1$x :Erroneous nickname");
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      await sendIrc(
        alice,
        "FOO bar",
        "PRIVMSG",
        "PRIVMSG #lobby",
        "JOIN",
        "USER a b c d",
        "PART #elsewhere",
        "TOPIC #nowhere",
        "WHOIS nobody",
        "KICK #lobby",
        `PRIVMSG #lobby :${"x".repeat(600)}`,
      );
      assert.deepEqual(await syncIrc(alice), [
        ":127.0.0.1 421 alice FOO :Unknown command",
        ":127.0.0.1 411 alice :No recipient given (PRIVMSG)",
        ":127.0.0.1 412 alice :No text to send",
        ":127.0.0.1 461 alice JOIN :Not enough parameters",
        ":127.0.0.1 462 alice :You may not reregister",
        ":127.0.0.1 442 alice #elsewhere :You're not on that channel",
        ":127.0.0.1 403 alice #nowhere :No such channel",
        ":127.0.0.1 401 alice nobody :No such nick/channel",
        ":127.0.0.1 318 alice nobody :End of /WHOIS list",
        ":127.0.0.1 461 alice KICK :Not enough parameters",
        ":127.0.0.1 417 alice :Input line was too long",
      ]);
    }),
});

Deno.test({
  name: "a name taken through another door, or its lookalike, is 433 for an IRC client",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using bob = await Peer.join(server.port, "bob");
      await using alice = await Peer.connect(server.ircPort);
      await sendIrc(alice, "NICK BOB", "USER alice 0 * :Alice");
      await alice.expect(":127.0.0.1 433 * BOB :Nickname is already in use");
      await sendIrc(alice, "NICK alice");
      await alice.readUntil(/ 366 alice #lobby /);
      await bob.expect("* alice joined the chat");
      // After registration a rename goes through the core, which says why not.
      await sendIrc(alice, "NICK Bob", "NICK alicia");
      await alice.expect(":127.0.0.1 433 alice Bob :Nickname is already in use");
      await alice.expect(":alice!alice@chat NICK alicia");
      await bob.expect("* alice is now known as alicia");
      await bob.send("/nick bobby\n");
      await alice.expect(":bob!bob@chat NICK bobby");
    }),
});

Deno.test({
  name: "QUIT ends with ERROR; a line member's lost connection is a QUIT for IRC clients",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      const bob = await Peer.join(server.port, "bob");
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      await bob.expect("* alice joined the chat");
      await bob.close();
      await alice.expect(":bob!bob@chat QUIT :Connection lost");
      await using carol = await Peer.join(server.port, "carol");
      await alice.expect(":carol!carol@chat JOIN #lobby");
      await sendIrc(alice, "QUIT :bye");
      assert.deepEqual(await alice.expectClosed(), ["ERROR :Closing Link: Quit"]);
      await carol.expect("* alice left the chat (bye)");
    }),
});

Deno.test({
  name: "the limits hold for IRC clients: --max-clients, and a mute is 404 with its reason",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer(["--max-clients", "2"], async (server) => {
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      await using bob = await Peer.join(server.port, "bob");
      await using third = await Peer.connect(server.ircPort);
      await sendIrc(third, "NICK carol");
      const refused = await third.expectClosed();
      assert.ok(
        refused.includes("ERROR :Closing Link: Server is full (2 users); try again later."),
        refused.join("\n"),
      );
      await server.type("/mute alice 10m");
      await withDeadline(server.stdout.waitFor((line) => line.includes("alice")), 5000, "mute");
      await sendIrc(alice, "PRIVMSG #lobby :can I talk?");
      const lines = await syncIrc(alice);
      assert.ok(lines.some((line) => / 404 alice #lobby :You are muted/.test(line)), lines.join());
      await sendIrc(alice, "PRIVMSG bob :and privately?");
      assert.match((await syncIrc(alice)).join("\n"), / 404 alice #lobby :You are muted/);
      // A muted member still reads the room.
      await bob.send("ping\n");
      await alice.expect(":bob!bob@chat PRIVMSG #lobby :ping");
    }, { console: true }),
});

Deno.test({
  name: "names IRC does not allow (a leading digit, a dot) are shown and reached as they are",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using dotted = await Peer.join(server.port, "j.doe");
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      await using digit = await Peer.join(server.port, "2pac");
      await alice.expect(":2pac!2pac@chat JOIN #lobby");
      await dotted.send("hi from a dotted name\n");
      await alice.expect(":j.doe!j.doe@chat PRIVMSG #lobby :hi from a dotted name");
      await sendIrc(alice, "PRIVMSG j.doe :reached", "PRIVMSG 2pac :you too", "ISON j.doe 2pac x");
      await dotted.readUntil("(private) alice: reached");
      await digit.readUntil("(private) alice: you too");
      assert.deepEqual(await syncIrc(alice), [":127.0.0.1 303 alice :j.doe 2pac"]);
    }),
});

Deno.test({
  name: "a line member's long message reaches IRC clients cut into lines of at most 512 bytes",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using bob = await Peer.join(server.port, "bob");
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      const text = "ä".repeat(300) + "x".repeat(700);
      await bob.send(`${text}\n`);
      const lines = (await syncIrc(alice)).filter((line) => line.includes(" PRIVMSG "));
      assert.ok(lines.length >= 3, lines.join("\n"));
      const prefix = ":bob!bob@chat PRIVMSG #lobby :";
      for (const line of lines) {
        assert.ok(line.startsWith(prefix), line);
        assert.ok(new TextEncoder().encode(line).length + 2 <= 512, `${line.length}: ${line}`);
      }
      assert.equal(lines.map((line) => line.slice(prefix.length)).join(""), text);
    }),
});

Deno.test({
  name: "a storm of malformed lines gets answers, never a crash or a dropped connection",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _ = alice;
      const storm = [
        ":",
        "@",
        "@a=b ",
        ":only.a.prefix",
        "\x00\x01\x02",
        "PRIVMSG #lobby :\x01",
        "PRIVMSG #lobby :\x01ACTION\x01",
        "PRIVMSG , :x",
        "CAP",
        "CAP REQ",
        "CAP WHAT",
        "MODE",
        "MODE #lobby +ooo",
        "MODE #lobby -x+b",
        "MODE alice +z",
        "KICK",
        "NICK :",
        "JOIN ,,,",
        "PART ,",
        "WHO",
        "NAMES ,",
        "LIST ,#x",
        "TOPIC",
        "USERHOST",
        "ISON",
        "PING",
        "OPER a",
        "AWAY",
        "WHOIS",
        "PRIVMSG #lobby :\x01VERSION\x01",
      ];
      await sendIrc(alice, ...storm);
      await alice.send(new Uint8Array([0xff, 0xfe, 13, 10]));
      const answers = await syncIrc(alice);
      assert.ok(answers.length > 10, answers.join("\n"));
      await sendIrc(alice, "PRIVMSG #lobby :still here");
      await using bob = await Peer.join(server.port, "bob");
      await sendIrc(alice, "PRIVMSG #lobby :and heard");
      await bob.readUntil("alice: and heard");
    }),
});

Deno.test("the IRC flags: --irc-port (6667), --no-irc, --irc-server-name, --irc-no-autojoin", () => {
  assert.equal(parseServerArgs([]).options.ircPort, 6667);
  assert.equal(parseServerArgs(["--irc-port", "0"]).options.ircPort, 0);
  assert.equal(parseServerArgs(["--no-irc"]).options.ircPort, undefined);
  assert.equal(parseServerArgs(["--irc-server-name", "irc.lan"]).options.ircServerName, "irc.lan");
  assert.equal(parseServerArgs([]).options.ircAutoJoin, true);
  assert.equal(parseServerArgs(["--irc-no-autojoin"]).options.ircAutoJoin, false);
  assert.throws(() => parseServerArgs(["--no-irc", "--irc-port", "1"]), /--no-irc/);
  assert.throws(() => parseServerArgs(["--irc-port", "70000"]), /--irc-port/);
  assert.throws(() => new ChatServer({ ircPort: 0, ircServerName: "two words" }), /ircServerName/);
  assert.throws(() => new ChatServer({ ircPort: 0, ircServerName: "a:b" }), /ircServerName/);
});

Deno.test({
  name: "WHO, WHOIS and USERHOST tell an IRC member's user name, real name and AWAY; INVITE",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer([], async (server) => {
      await using bob = await Peer.join(server.port, "bob");
      const [alice] = await ircJoin(server.ircPort, "alice");
      await using _a = alice;
      const [carol] = await ircJoin(server.ircPort, "carol");
      await using _c = carol;
      await alice.expect(":carol!carol@chat JOIN #lobby");
      await sendIrc(carol, "AWAY :gone fishing");
      assert.deepEqual(await syncIrc(carol), [
        ":127.0.0.1 306 carol :You have been marked as being away",
      ]);
      await sendIrc(alice, "PRIVMSG carol :hi", "WHO car*", "WHO bob", "USERHOST carol bob");
      assert.deepEqual(await syncIrc(alice), [
        ":127.0.0.1 301 alice carol :gone fishing",
        ":127.0.0.1 352 alice * carol chat 127.0.0.1 carol G :0 carol the tester",
        ":127.0.0.1 315 alice car* :End of /WHO list",
        ":127.0.0.1 352 alice * bob chat 127.0.0.1 bob H :0 bob",
        ":127.0.0.1 315 alice bob :End of /WHO list",
        ":127.0.0.1 302 alice :carol=-carol@chat bob=+bob@chat",
      ]);
      await sendIrc(alice, "WHOIS carol");
      const whois = await syncIrc(alice);
      assert.ok(whois.includes(":127.0.0.1 311 alice carol carol chat * :carol the tester"));
      assert.ok(whois.includes(":127.0.0.1 301 alice carol :gone fishing"));
      await sendIrc(
        alice,
        "JOIN #dev",
        "INVITE carol #dev",
        "INVITE bob #dev",
        "INVITE nobody #dev",
      );
      const invited = await syncIrc(alice);
      assert.deepEqual(invited.slice(-3), [
        ":127.0.0.1 341 alice carol :#dev",
        ":127.0.0.1 341 alice bob :#dev",
        ":127.0.0.1 401 alice nobody :No such nick/channel",
      ]);
      await carol.readUntil(":alice!alice@chat INVITE carol #dev");
      await bob.readUntil("* alice invited you to #dev");
    }),
});
