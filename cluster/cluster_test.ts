import assert from "node:assert/strict";
import {
  Cluster,
  type ClusterEvent,
  type ClusterPresence,
  decodePresence,
  encodePresence,
} from "./cluster.ts";
import { MAX_SEATS } from "../core/seats.ts";
import { connectRedis } from "./redis.ts";
import { startRedis } from "../test/redis_test_helpers.ts";
import { LEAK_CHECKS, WAIT_MS, withDeadline } from "../test/test_helpers.ts";

/** A cluster process as far as the tests care: its link and the events it got. */
interface Process {
  cluster: Cluster;
  events: ClusterEvent[];
  /** Resolves once `count` events have arrived. */
  received(count: number): Promise<void>;
}

/** Joins the cluster on `url` as a new process, keeping `historyLines` per room. */
async function join(url: string, historyLines = 5): Promise<Process> {
  const events: ClusterEvent[] = [];
  let waiter: (() => void) | null = null;
  const cluster = await Cluster.connect({
    url,
    cluster: "test",
    historyLines,
    onEvent: (event) => {
      events.push(event);
      waiter?.();
    },
  });
  const received = async (count: number) => {
    const deadline = Date.now() + WAIT_MS;
    while (events.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${events.length} of ${count} events arrived`);
      await withDeadline(new Promise<void>((resolve) => waiter = resolve), left, "events");
    }
  };
  return { cluster, events, received };
}

Deno.test({
  name: "room lines published by two processes reach both in one order, own lines included",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const [a, b] = [await join(redis.url()), await join(redis.url())] as [Process, Process];
    try {
      await Promise.all([
        ...Array.from({ length: 50 }, (_, i) => a.cluster.publishLine("lobby", `a${i}`)),
        ...Array.from({ length: 50 }, (_, i) => b.cluster.publishLine("dev", `b${i}`)),
      ]);
      await a.received(100);
      await b.received(100);
      assert.deepEqual(a.events, b.events);
      const texts = (events: ClusterEvent[], room: string) =>
        events.flatMap((event) => event.type === "line" && event.room === room ? [event.text] : []);
      assert.deepEqual(texts(a.events, "lobby"), Array.from({ length: 50 }, (_, i) => `a${i}`));
      assert.deepEqual(texts(b.events, "dev"), Array.from({ length: 50 }, (_, i) => `b${i}`));
    } finally {
      await a.cluster.close();
      await b.cluster.close();
    }
  },
});

Deno.test({
  name: "public lines make each room's history in Redis, in the stream's order, trimmed",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const a = await join(redis.url(), 3);
    try {
      for (let i = 1; i <= 5; i++) {
        await a.cluster.publishLine("lobby", `line ${i}`, { public: true });
      }
      await a.cluster.publishLine("lobby", "* carol joined the chat", { except: "carol" });
      await a.received(6);
      const notice = a.events.at(-1);
      assert.deepEqual(notice?.type === "line" && [notice.public, notice.except], [false, "carol"]);
      // A process that joins later reads the same history.
      const b = await join(redis.url(), 3);
      try {
        const history = await b.cluster.history("lobby");
        assert.deepEqual(history.map((entry) => entry.text), ["line 3", "line 4", "line 5"]);
        // Each with its place in the stream: the ids of the events delivered.
        const ids = a.events.slice(2, 5).map((event) => event.id);
        assert.deepEqual(history.map((entry) => entry.id), ids);
        assert.deepEqual(await b.cluster.history("dev"), []);
      } finally {
        await b.cluster.close();
      }
    } finally {
      await a.cluster.close();
    }
  },
});

/** A plain member's presence in `room`. */
function at(room: string): ClusterPresence {
  return {
    room,
    roomOperator: false,
    serverOperator: false,
    address: "127.0.0.1",
    loggedIn: false,
  };
}

Deno.test({
  name: "a presence keeps its seats' rooms and rights; a seats' line is read defensively",
  fn() {
    const seated: ClusterPresence = {
      ...at("lobby"),
      voiced: true,
      seats: [
        { room: "dev", roomOperator: true },
        { room: "qa", roomOperator: false, voiced: true },
      ],
    };
    assert.deepEqual(decodePresence(encodePresence(seated)), seated);
    // No seats: the line is not written, and an older process's three lines read as before.
    assert.equal(encodePresence(at("dev")), "dev\n\n127.0.0.1");
    assert.deepEqual(decodePresence("dev"), { ...at("dev"), address: "" });
    // Entries without a room, and any past the most a member may have, are left out.
    const many = Array.from({ length: MAX_SEATS + 3 }, (_, i) => `r${i}/o`).join(" ");
    const read = decodePresence(`lobby\n\n127.0.0.1\n/o  noslash ${many}`);
    assert.equal(read.seats?.length, MAX_SEATS);
    assert.deepEqual(read.seats?.[0], { room: "r0", roomOperator: true });
    assert.deepEqual(decodePresence("lobby\n\n127.0.0.1\n"), at("lobby"));
  },
});

Deno.test({
  name: "private messages and names go across processes; a closed process frees its names",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const [a, b] = [await join(redis.url()), await join(redis.url())] as [Process, Process];
    try {
      assert.equal(await a.cluster.claimName("alice", at("lobby")), "alice");
      assert.equal(await b.cluster.claimName("ALICE", at("dev")), "ALICE2");
      await a.cluster.publishPrivate("alice", "ALICE2", "psst");
      await b.received(1);
      assert.deepEqual(b.events[0] && { ...b.events[0], id: "" }, {
        type: "private",
        id: "",
        from: "alice",
        to: "ALICE2",
        text: "psst",
      });
      const names = (await a.cluster.members()).map((m) => `${m.name}@${m.room}`).sort();
      assert.deepEqual(names, ["ALICE2@dev", "alice@lobby"]);
      // What operators elsewhere need: room operator, server operator, address; and logged in.
      await b.cluster.setPresence("ALICE2", {
        room: "dev",
        roomOperator: true,
        serverOperator: true,
        address: "192.0.2.7",
        loggedIn: true,
      });
      const seen = (await a.cluster.members()).find((m) => m.name === "ALICE2");
      assert.deepEqual(seen && { ...seen, processId: "" }, {
        name: "ALICE2",
        processId: "",
        room: "dev",
        roomOperator: true,
        serverOperator: true,
        address: "192.0.2.7",
        loggedIn: true,
      });
      // A voice (+v) of the room, for /who on every process.
      await b.cluster.setPresence("ALICE2", {
        room: "dev",
        roomOperator: false,
        serverOperator: false,
        address: "",
        loggedIn: false,
        voiced: true,
      });
      const voiced = (await a.cluster.members()).find((m) => m.name === "ALICE2");
      assert.equal(voiced?.voiced, true);
      await a.cluster.publishAct("kick", "ALICE2", "dev", b.cluster.processId);
      await b.received(2);
      assert.deepEqual(b.events[1] && { ...b.events[1], id: "" }, {
        type: "act",
        id: "",
        action: "kick",
        name: "ALICE2",
        room: "dev",
        process: b.cluster.processId,
      });
      assert.equal(await b.cluster.renameName("ALICE2", "bob"), true);
      await a.cluster.close();
      assert.equal(await b.cluster.claimName("alice", at("dev")), "alice");
    } finally {
      await a.cluster.close().catch(() => {});
      await b.cluster.close();
    }
  },
});

Deno.test({
  name:
    "a gone entry is its members once for each room they were in; one of another shape is skipped",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const a = await join(redis.url());
    try {
      await using raw = await connectRedis(redis.url());
      const presence = encodePresence({ ...at("dev"), roomOperator: true });
      // Dave is in #lobby and, through seats, in #ops and #qa (#ops twice: it counts once).
      const seated = encodePresence({
        ...at("lobby"),
        seats: [
          { room: "ops", roomOperator: true },
          { room: "qa", roomOperator: false },
          { room: "OPS", roomOperator: false },
        ],
      });
      const members = JSON.stringify([
        ["bob", presence],
        ["carol", encodePresence(at(""))],
        ["dave", seated],
      ]);
      for (
        const bad of ["not json", "{}", '[["dave"]]', '[["erin", 7]]', '[["ok", "lobby"], "x"]']
      ) {
        await raw.xadd("test:events", { t: "gone", members: bad });
      }
      await raw.xadd("test:events", { t: "gone" });
      await raw.xadd("test:events", { t: "gone", members });
      await a.cluster.publishLine("lobby", "after");
      await a.received(2);
      assert.deepEqual(a.events.map((event) => ({ ...event, id: "" })), [
        {
          type: "gone",
          id: "",
          members: [
            { name: "bob", room: "dev" },
            { name: "carol", room: "" },
            { name: "dave", room: "lobby" },
            { name: "dave", room: "ops" },
            { name: "dave", room: "qa" },
          ],
        },
        { type: "line", id: "", room: "lobby", text: "after", public: false, except: null },
      ]);
    } finally {
      await a.cluster.close();
    }
  },
});

Deno.test({
  name: "accounts are every process's, and their mailboxes keep to the limits whoever keeps",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const a = await join(redis.url());
    const b = await join(redis.url());
    try {
      const alice = { name: "alice", hash: "scrypt$h", registeredAt: 1_000 };
      await a.cluster.saveAccount("alice", alice);
      await b.received(1);
      assert.deepEqual(b.events[0] && { ...b.events[0], id: "" }, {
        type: "account",
        id: "",
        name: "alice",
        account: alice,
      });
      // A process that starts later reads them all.
      const c = await join(redis.url());
      try {
        assert.deepEqual(await c.cluster.loadAccounts(), [alice]);
      } finally {
        await c.cluster.close();
      }
      const limits = { max: 5, perSender: 2, since: 0, lifeMs: 60_000 };
      const keep = (from: string, text: string, at = 10) =>
        (at % 2 === 0 ? a : b).cluster.keepMessage("alice", { from, text, at }, limits);
      assert.equal(await keep("bob", "one"), true);
      assert.equal(await keep("bob", "two", 11), true);
      // A lookalike of a sender is that sender.
      assert.equal(await keep("BOB", "three"), false);
      assert.equal(await keep("carol", "four"), true);
      assert.equal(await keep("dave", "five"), true);
      assert.equal(await keep("erin", "six"), true);
      assert.equal(await keep("frank", "seven"), false);
      // Messages from before `since` are forgotten, and make room.
      const later = { ...limits, since: 11 };
      assert.equal(
        await a.cluster.keepMessage("alice", { from: "frank", text: "eight", at: 12 }, later),
        true,
      );
      const taken = await b.cluster.takeKept("alice", 0);
      assert.deepEqual(taken.map((m) => `${m.from}: ${m.text}`), ["bob: two", "frank: eight"]);
      assert.deepEqual(await a.cluster.takeKept("alice", 0), []);
      // Deleting the account deletes its mailbox, for every process.
      await b.cluster.keepMessage("alice", { from: "bob", text: "bye", at: 20 }, limits);
      await b.cluster.saveAccount("alice", null);
      await a.received(2);
      assert.deepEqual(a.events[1] && { ...a.events[1], id: "" }, {
        type: "account",
        id: "",
        name: "alice",
        account: null,
      });
      assert.deepEqual(await a.cluster.loadAccounts(), []);
      assert.deepEqual(await a.cluster.takeKept("alice", 0), []);
    } finally {
      await a.cluster.close();
      await b.cluster.close();
    }
  },
});
