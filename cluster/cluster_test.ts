import assert from "node:assert/strict";
import { Cluster, type ClusterEvent, type ClusterPresence, encodePresence } from "./cluster.ts";
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
  return { room, roomOperator: false, serverOperator: false, address: "127.0.0.1" };
}

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
      // What operators elsewhere need: room operator, server operator, address.
      await b.cluster.setPresence("ALICE2", {
        room: "dev",
        roomOperator: true,
        serverOperator: true,
        address: "192.0.2.7",
      });
      const seen = (await a.cluster.members()).find((m) => m.name === "ALICE2");
      assert.deepEqual(seen && { ...seen, processId: "" }, {
        name: "ALICE2",
        processId: "",
        room: "dev",
        roomOperator: true,
        serverOperator: true,
        address: "192.0.2.7",
      });
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
  name: "a gone entry is its members with their rooms; one of another shape is skipped",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const a = await join(redis.url());
    try {
      await using raw = await connectRedis(redis.url());
      const presence = encodePresence({ ...at("dev"), roomOperator: true });
      const members = JSON.stringify([["bob", presence], ["carol", encodePresence(at(""))]]);
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
          members: [{ name: "bob", room: "dev" }, { name: "carol", room: "" }],
        },
        { type: "line", id: "", room: "lobby", text: "after", public: false, except: null },
      ]);
    } finally {
      await a.cluster.close();
    }
  },
});
