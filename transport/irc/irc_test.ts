import assert from "node:assert/strict";
import { ChatServer } from "../../server.ts";
import { LEAK_CHECKS, memoryChat, Peer, WAIT_MS } from "../../test/test_helpers.ts";
import { ircJoin, sendIrc, syncIrc } from "../../test/irc_test_helpers.ts";
import { readCoreLine } from "./core_lines.ts";
import { IrcListener } from "./listener.ts";
import { formatMessage, parseMessage } from "./message.ts";
import { bytes } from "./session_state.ts";

Deno.test("IRC messages are read with their tags, prefix and trailing parameter", () => {
  const message = parseMessage(
    "@time=2026-01-01T00:00:00Z;msgid=a\\sb :nick!u@h privmsg #dev :hi :)",
  );
  assert.deepEqual(message?.tags, new Map([["time", "2026-01-01T00:00:00Z"], ["msgid", "a b"]]));
  assert.equal(message?.prefix, "nick!u@h");
  assert.equal(message?.command, "PRIVMSG");
  assert.deepEqual(message?.params, ["#dev", "hi :)"]);
  assert.deepEqual(parseMessage("NICK   alice  ")?.params, ["alice"]);
  assert.deepEqual(parseMessage("PING :")?.params, [""]);
  assert.equal(parseMessage(""), null);
  assert.equal(parseMessage("@tags-only"), null);
  assert.equal(formatMessage("s", "PRIVMSG", ["#dev", ":)"]), ":s PRIVMSG #dev ::)");
  assert.equal(formatMessage("a!a@h", "NICK", ["b"]), ":a!a@h NICK b");
});

Deno.test("the core's lines are read as what they say", () => {
  assert.deepEqual(readCoreLine("alice: hi: there"), {
    type: "message",
    from: "alice",
    text: "hi: there",
  });
  assert.deepEqual(readCoreLine("** alice waves"), {
    type: "action",
    from: "alice",
    text: "waves",
  });
  assert.deepEqual(readCoreLine("* bob left the chat (connection lost)"), {
    type: "left",
    name: "bob",
    room: null,
    reason: "connection lost",
  });
  assert.deepEqual(readCoreLine("* bob left for #dev"), {
    type: "left",
    name: "bob",
    room: "dev",
    reason: null,
  });
  assert.deepEqual(readCoreLine("* You are now in #dev (3 here)"), {
    type: "moved",
    room: "dev",
    here: 3,
  });
  assert.deepEqual(readCoreLine("* 2 in #dev: @alice, bob+"), {
    type: "who",
    room: "dev",
    names: ["@alice", "bob+"],
  });
  assert.deepEqual(readCoreLine("(private to bob) alice: psst"), {
    type: "privateOut",
    to: "bob",
    from: "alice",
    text: "psst",
  });
  assert.deepEqual(readCoreLine("* bob was kicked by alice (spam)"), {
    type: "kicked",
    name: "bob",
    by: "alice",
    reason: "spam",
  });
  assert.equal(readCoreLine("! No such user: carol").type, "error");
  assert.equal(readCoreLine("* Something else").type, "notice");
});

Deno.test({
  name: "a quiet IRC client is pinged, and closed when it does not answer",
  ...LEAK_CHECKS,
  async fn() {
    const chat = memoryChat();
    const listener = new IrcListener(chat, {
      hostname: "127.0.0.1",
      port: 0,
      tls: null,
      handshakeMs: WAIT_MS,
      serverName: "irc.test",
      pingIdleMs: 100,
      pingTimeoutMs: 200,
      log: undefined,
    });
    const { port } = await listener.start();
    try {
      const [alice] = await ircJoin(port, "alice");
      await using _ = alice;
      await alice.expect("PING irc.test");
      await sendIrc(alice, "PONG :irc.test");
      // Answered: pinged again after the next quiet spell, and not closed meanwhile.
      await alice.expect("PING irc.test");
      assert.deepEqual(await alice.expectClosed(), [
        "ERROR :Closing Link: Ping timeout: 0 seconds",
      ]);
    } finally {
      await chat.shutdown(0);
      await listener.stop();
    }
  },
});

Deno.test({
  name: "with a certificate the IRC port speaks TLS to a ClientHello and plain IRC to the rest",
  ...LEAK_CHECKS,
  async fn() {
    const server = new ChatServer({
      hostname: "127.0.0.1",
      port: 0,
      ircPort: 0,
      ircServerName: "irc.test",
      cert: await Deno.readTextFile("test/testdata/localhost.crt"),
      key: await Deno.readTextFile("test/testdata/localhost.key"),
    });
    await server.start();
    try {
      const port = (server.ircAddr as Deno.NetAddr).port;
      assert.equal(server.ircUrl, `ircs://127.0.0.1:${port}`);
      const [plain] = await ircJoin(port, "plain");
      await using _ = plain;
      const conn = await Deno.connectTls({
        hostname: "localhost",
        port,
        caCerts: [await Deno.readTextFile("test/testdata/ca.crt")],
      });
      const secure = Peer.over(conn);
      await using __ = secure;
      await sendIrc(secure, "NICK secure", "USER secure 0 * :Secure");
      await secure.readUntil(/ 366 secure #lobby /);
      await sendIrc(secure, "PRIVMSG #lobby :over TLS");
      await plain.expect(":secure!secure@chat JOIN #lobby");
      await plain.expect(":secure!secure@chat PRIVMSG #lobby :over TLS");
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "PASS gives the room's password; a wrong one is 464 and the connection ends",
  ...LEAK_CHECKS,
  async fn() {
    const server = new ChatServer({
      hostname: "127.0.0.1",
      port: 0,
      ircPort: 0,
      ircServerName: "irc.test",
      password: "sesame",
    });
    await server.start();
    try {
      const port = (server.ircAddr as Deno.NetAddr).port;
      await using right = await Peer.connect(port);
      await sendIrc(right, "PASS sesame", "NICK alice", "USER alice 0 * :Alice");
      await right.readUntil(/ 366 alice #lobby /);
      assert.deepEqual(await syncIrc(right), []);
      await using wrong = await Peer.connect(port);
      await sendIrc(wrong, "PASS guess", "NICK bob", "USER bob 0 * :Bob");
      assert.deepEqual(await wrong.expectClosed(), [
        ":irc.test 464 bob :Password incorrect",
        "ERROR :Closing Link: Wrong password",
      ]);
    } finally {
      await server.close();
    }
  },
});

Deno.test("a line's length in bytes is counted as UTF-8 writes it, surrogates included", () => {
  const encoder = new TextEncoder();
  for (const text of ["abc", "héllo", "日本語", "😀x", "a\ud800b", "\udc00", "x\ud83d", ""]) {
    assert.equal(bytes(text), encoder.encode(text).length, JSON.stringify(text));
  }
});
