import assert from "node:assert/strict";
import { banMask, maskMatches, parseLimit, validKey } from "./room_modes.ts";
import { ChatServer } from "../server.ts";
import { startRedis } from "../test/redis_test_helpers.ts";
import { joinAll, LEAK_CHECKS, Peer, type Peers, withServer } from "../test/test_helpers.ts";

/**
 * Runs `body` with `names` joined to a fresh server, the first of them
 * (alice) having made `#dev`, of which she is the operator.
 */
function inDev(names: string[], body: (peers: Peer[]) => Promise<void>): Promise<void> {
  return withServer([], async (port) => {
    await using peers: Peers = await joinAll(port, names);
    const [alice] = peers as Peer[] as [Peer];
    await alice.send("/join #dev\n");
    await alice.expect("* You are now in #dev (1 here)");
    for (const other of peers.slice(1)) await other.expect("* alice left for #dev");
    await body(peers);
  });
}

/** Sends `/join #dev` (with `key`) and reads until the move, or the refusal `refused`. */
async function join(peer: Peer, refused: string | null, key = ""): Promise<void> {
  await peer.send(`/join #dev${key === "" ? "" : ` ${key}`}\n`);
  await peer.readUntil(refused ?? /^\* You are now in #dev \(\d+ here\)$/);
}

Deno.test({
  name: "a key is checked on /join: missing and wrong keys are refused, the right one enters",
  ...LEAK_CHECKS,
  fn: () =>
    inDev(["alice", "bob", "carol"], async ([alice, bob, carol]) => {
      await alice!.send("/mode +k sesame\n");
      await alice!.expect("* alice set mode +k sesame on #dev");
      await bob!.send("/join #dev\n/join #dev nope\n");
      await bob!.expect("! Cannot join #dev: wrong key (+k)");
      await bob!.expect("! Cannot join #dev: wrong key (+k)");
      await bob!.send("/join #dev sesame\n");
      await bob!.expect("* You are now in #dev (2 here)");
      // Entering a room with modes beyond +nt tells them, as the topic is told.
      await bob!.expect(/^\* Modes of #dev: \+knt sesame \(made \S+\)$/);
      await alice!.expect("* bob joined #dev");
      // The key is shown to the room's members only.
      await bob!.send("/mode\n");
      await bob!.expect(/^\* Modes of #dev: \+knt sesame \(made \S+\)$/);
      await carol!.send("/mode #dev\n");
      await carol!.readUntil(/^\* Modes of #dev: \+knt \(made \S+\)$/);
      await alice!.send("/mode -k\n");
      await alice!.expect("* alice set mode -k on #dev");
      await bob!.expect("* alice set mode -k on #dev");
      await join(carol!, null);
    }),
});

Deno.test({
  name: "an invalid key is refused and no key is set",
  ...LEAK_CHECKS,
  fn: () =>
    inDev(["alice", "bob"], async ([alice, bob]) => {
      await alice!.send(`/mode +k\n/mode #dev +k a,b\n/mode +k ${"long".repeat(6)}\n/mode\n`);
      await alice!.expect("! Invalid key");
      await alice!.expect("! Invalid key");
      await alice!.expect("! Invalid key");
      await alice!.expect(/^\* Modes of #dev: \+nt \(made \S+\)$/);
      await join(bob!, null);
    }),
});

Deno.test({
  name: "an invite-only room lets in only whom its operators invited, once",
  ...LEAK_CHECKS,
  fn: () =>
    inDev(["alice", "bob", "carol"], async ([alice, bob, carol]) => {
      await join(carol!, null);
      await alice!.readUntil("* carol joined #dev");
      await alice!.send("/mode +i\n");
      await alice!.expect("* alice set mode +i on #dev");
      await carol!.readUntil("* alice set mode +i on #dev");
      await join(bob!, "! Cannot join #dev: invite only (+i)");
      await carol!.send("/invite bob\n");
      await carol!.expect("! Only operators can /invite");
      await alice!.send("/invite nobody\n/invite carol\n/invite BOB\n");
      await alice!.expect("! No such user: nobody");
      await alice!.expect("! carol is already in #dev");
      await alice!.expect("* You invited bob to #dev");
      await bob!.expect("* alice invited you to #dev");
      await join(bob!, null);
      // The invitation was used up by the entry.
      await bob!.send("/part\n");
      await bob!.readUntil("* You are now in #lobby (1 here)");
      await join(bob!, "! Cannot join #dev: invite only (+i)");
    }),
});

Deno.test({
  name: "an invitation is the connection's: after it leaves, a newcomer of the same name has none",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers: Peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = peers as Peer[] as [Peer, Peer];
      await alice.send("/join #dev\n/mode +i\n/invite bob\n");
      await alice.readUntil("* You invited bob to #dev");
      await bob.readUntil("* alice invited you to #dev");
      await bob.send("/quit\n");
      await bob.expectClosed();
      await using again = await Peer.join(port, "bob");
      await join(again, "! Cannot join #dev: invite only (+i)");
    }),
});

Deno.test({
  name: "any member may invite to a room that is not invite-only",
  ...LEAK_CHECKS,
  fn: () =>
    inDev(["alice", "bob", "carol"], async ([alice, bob, carol]) => {
      await join(bob!, null);
      await alice!.readUntil("* bob joined #dev");
      await bob!.send("/invite carol\n");
      await bob!.expect("* You invited carol to #dev");
      await carol!.readUntil("* bob invited you to #dev");
      await carol!.send("/invite alice #dev\n/invite\n");
      await carol!.expect("! You are not in #dev");
      await carol!.expect("! Usage: /invite NAME [#room]");
    }),
});

Deno.test({
  name: "a full room refuses newcomers, an invitation passes the limit, and bad limits are refused",
  ...LEAK_CHECKS,
  fn: () =>
    inDev(["alice", "bob", "carol"], async ([alice, bob, carol]) => {
      await alice!.send("/mode +l 0\n/mode +l -1\n/mode +l abc\n/mode +l\n/mode +l 1\n");
      for (let i = 0; i < 4; i++) await alice!.expect("! Invalid limit");
      await alice!.expect("* alice set mode +l 1 on #dev");
      await join(bob!, "! Cannot join #dev: room is full (+l)");
      await alice!.send("/invite bob\n");
      await alice!.expect("* You invited bob to #dev");
      await join(bob!, null);
      await join(carol!, "! Cannot join #dev: room is full (+l)");
      await alice!.send("/mode -l\n");
      await alice!.readUntil("* alice set mode -l on #dev");
      await join(carol!, null);
    }),
});

Deno.test({
  name: "a moderated room hears only its operators",
  ...LEAK_CHECKS,
  fn: () =>
    inDev(["alice", "bob"], async ([alice, bob]) => {
      await join(bob!, null);
      await alice!.readUntil("* bob joined #dev");
      await alice!.send("/mode +m\n");
      await alice!.expect("* alice set mode +m on #dev");
      await bob!.expect("* alice set mode +m on #dev");
      await bob!.send("hello\n/me waves\n/upload\n");
      await bob!.readUntil("! Cannot send to #dev: moderated (+m)");
      await bob!.readUntil("! Cannot send to #dev: moderated (+m)");
      await bob!.readUntil("! Cannot send to #dev: moderated (+m)");
      await alice!.send("still here\n/mode #dev +o bob\n");
      await alice!.expect("alice: still here");
      await alice!.expect("* bob was made an operator of #dev by alice");
      await bob!.readUntil("* bob was made an operator of #dev by alice");
      await bob!.send("now I may\n");
      await bob!.expect("bob: now I may");
      await alice!.expect("bob: now I may");
    }),
});

Deno.test({
  name: "a secret room is neither listed nor shown to those outside it",
  ...LEAK_CHECKS,
  fn: () =>
    inDev(["alice", "bob"], async ([alice, bob]) => {
      await alice!.send("/mode +s\n/rooms\n");
      await alice!.expect("* alice set mode +s on #dev");
      await alice!.expect("* 2 rooms: #lobby (1), #dev (1, +s)");
      await bob!.send("/rooms\n/who #dev\n/mode #dev\n/invite alice #dev\n");
      await bob!.expect("* 1 room: #lobby (1)");
      await bob!.expect("! No such room: #dev");
      await bob!.expect("! No such room: #dev");
      await bob!.expect("! No such room: #dev");
      // It can still be entered by name.
      await join(bob!, null);
      await bob!.expect(/^\* Modes of #dev: \+nst \(made \S+\)$/);
      await bob!.send("/who #dev\n");
      await bob!.expect("* 2 in #dev: @alice, bob");
    }),
});

Deno.test({
  name: "a ban mask keeps a member out, silences one inside, and is listed and lifted",
  ...LEAK_CHECKS,
  fn: () =>
    inDev(["alice", "bob", "carol"], async ([alice, bob, carol]) => {
      await join(carol!, null);
      await alice!.readUntil("* carol joined #dev");
      await alice!.send("/mode +b\n/mode +b BOB\n/mode +b car*!*@chat\n/mode +b\n");
      await alice!.expect("* No bans in #dev");
      await alice!.expect("* alice set mode +b BOB!*@* on #dev");
      await alice!.expect("* alice set mode +b car*!*@chat on #dev");
      await alice!.expect("* Bans of #dev: BOB!*@* (set by alice), car*!*@chat (set by alice)");
      await join(bob!, "! Cannot join #dev: banned (+b)");
      await carol!.readUntil("* alice set mode +b car*!*@chat on #dev");
      await carol!.send("hello\n");
      await carol!.expect("! Cannot send to #dev: banned (+b)");
      // Another name would slip past the mask: none is taken while it is on her.
      await carol!.send("/nick dora\nstill\n");
      await carol!.expect("! Cannot change your name to dora: banned in #dev (+b)");
      await carol!.expect("! Cannot send to #dev: banned (+b)");
      await alice!.send("/mode -b nobody\n/mode -bb bob car*!*@chat\n");
      await alice!.expect("! No such ban in #dev: nobody!*@*");
      await alice!.expect("* alice set mode -bb BOB!*@* car*!*@chat on #dev");
      await carol!.readUntil("* alice set mode -bb BOB!*@* car*!*@chat on #dev");
      await carol!.send("hello\n");
      await carol!.expect("carol: hello");
      await join(bob!, null);
    }),
});

Deno.test({
  name: "only operators change modes; -t lets members set the topic; unknown modes are named",
  ...LEAK_CHECKS,
  fn: () =>
    inDev(["alice", "bob"], async ([alice, bob]) => {
      await join(bob!, null);
      await alice!.readUntil("* bob joined #dev");
      await bob!.send("/mode +i\n/mode\n");
      await bob!.expect("! Only operators can /mode");
      await bob!.expect(/^\* Modes of #dev: \+nt \(made \S+\)$/);
      await alice!.send("/mode +nt\n/mode -t\n/mode +x\n/mode #lobby +i\n");
      await alice!.expect("* alice set mode -t on #dev");
      await alice!.expect("! Unknown mode: x");
      await alice!.expect("! Only operators can /mode");
      await bob!.readUntil("* alice set mode -t on #dev");
      await bob!.send("/topic anyone may\n");
      await alice!.expect("* bob set the topic: anyone may");
      // Several changes: one line, in order, arguments taken in order.
      await alice!.send("/mode +ikl-i sesame 5\n/mode\n/rooms\n");
      await alice!.expect("* alice set mode +ikl-i sesame 5 on #dev");
      await bob!.readUntil("* alice set mode +ikl-i sesame 5 on #dev");
      await alice!.expect(/^\* Modes of #dev: \+kln sesame 5 \(made \S+\)$/);
      await alice!.expect("* 2 rooms: #dev (2, +kl), #lobby (0)");
      // +v lets a member speak in a moderated room.
      await alice!.send("/mode +mv bob\n");
      await alice!.expect("* alice set mode +mv bob on #dev");
      await bob!.readUntil("* alice set mode +mv bob on #dev");
      await bob!.send("voiced\n");
      await alice!.expect("bob: voiced");
    }),
});

Deno.test("keys, limits and masks are read as IRC reads them", () => {
  assert.ok(validKey("beer"));
  for (const key of [undefined, "", " ", "two words", "a,b", "long".repeat(6)]) {
    assert.ok(!validKey(key), String(key));
  }
  assert.equal(parseLimit("10"), 10);
  for (const limit of [undefined, "", "0", "-1", "abc", "1.5", "99999999"]) {
    assert.equal(parseLimit(limit), null, String(limit));
  }
  assert.equal(banMask("bob"), "bob!*@*");
  assert.equal(banMask("bob!x"), "bob!x@*");
  assert.equal(banMask("x@chat"), "*!x@chat");
  for (const mask of ["", "a b", "a!b!c@d", "!x@y", "a,b"]) assert.equal(banMask(mask), null, mask);
  assert.ok(maskMatches("BOB!*@*", "bob"));
  assert.ok(maskMatches("b?b!*@chat", "bob"));
  assert.ok(maskMatches("*!*@*", "anyone"));
  assert.ok(!maskMatches("bob!*@*", "bobby"));
  assert.ok(!maskMatches("bob!*@elsewhere", "bob"));
  assert.ok(maskMatches("bob!bob@chat", "bob"));
});

Deno.test({
  name: "a server operator passes every mode and sees secret rooms, but #lobby stays open",
  ...LEAK_CHECKS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "chat-modes-" });
    await Deno.writeTextFile(`${dir}/oper`, "correct horse\n");
    try {
      await withServer(["--oper-password-file", `${dir}/oper`], async (port) => {
        await using peers: Peers = await joinAll(port, ["alice", "bob"]);
        const [alice, bob] = peers as Peer[] as [Peer, Peer];
        await alice.send("/join #dev\n/mode +iklsb sesame 1 bob\n");
        await alice.readUntil("* alice set mode +iklsb sesame 1 bob!*@* on #dev");
        await bob.send("/oper correct horse\n");
        await bob.readUntil("* You are now a server operator");
        await bob.send("/rooms\n/mode #lobby +ik-s x\n");
        await bob.expect("* 2 rooms: #lobby (1), #dev (1, +ikls)");
        await bob.expect("! Cannot change mode i on #lobby");
        await bob.expect("! Cannot change mode k on #lobby");
        await join(bob, null);
      }, ["--allow-net", `--allow-read=${dir}`]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "in a cluster a room's modes hold for the members of the process that set them",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const server = new ChatServer({ hostname: "127.0.0.1", port: 0, redisUrl: redis.url() });
    try {
      const { port } = await server.start();
      await using alice = await Peer.join(port, "alice");
      await alice.send("/join #dev\n");
      await alice.readUntil("* You are now in #dev (1 here)");
      await alice.send("/mode +k sesame\n");
      // The room's lines come back through Redis.
      await alice.readUntil("* alice set mode +k sesame on #dev");
      await using bob = await Peer.join(port, "bob");
      await join(bob, "! Cannot join #dev: wrong key (+k)");
      await join(bob, null, "sesame");
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "-n lets /msg #room post from outside; +v shows in /who and lets a member speak under +m",
  ...LEAK_CHECKS,
  fn: () =>
    inDev(["alice", "bob", "carol"], async ([alice, bob, carol]) => {
      await bob!.send("/msg #dev from outside\n");
      await bob!.expect("! Cannot send to #dev: no messages from outside (+n)");
      await alice!.send("/mode -n\n");
      await alice!.expect("* alice set mode -n on #dev");
      await bob!.send("/msg #dev from outside\n/msg #nowhere hello\n");
      await alice!.expect("bob: from outside");
      await bob!.expect("! No such room: #nowhere");
      await join(carol!, null);
      await alice!.readUntil("* carol joined #dev");
      await alice!.send("/mode +mv carol\n/who\n");
      await alice!.expect("* alice set mode +mv carol on #dev");
      await alice!.expect("* 2 in #dev: @alice, +carol");
      // Moderated: bob, outside, may not post even with -n; carol, voiced, may.
      await bob!.send("/msg #dev again\n");
      await bob!.readUntil("! Cannot send to #dev: moderated (+m)");
      await carol!.send("voiced\n");
      await alice!.expect("carol: voiced");
      // A voice ends with the stay: carol back in #dev is not voiced.
      await carol!.send("/part\n/join #dev\n");
      await alice!.readUntil("* carol joined #dev");
      await carol!.send("silenced\n");
      await carol!.readUntil("! Cannot send to #dev: moderated (+m)");
    }),
});
