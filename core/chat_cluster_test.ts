/**
 * The core's side of a cluster whose Redis does not answer: which notice a member gets for a line,
 * a private message or an operator's act Redis did not confirm; and which of a room's shared
 * modes a process takes on. A stand-in cluster fails each publish as it is told to, with no Redis
 * and no sockets; the real thing is in `cluster_server_test.ts` and `cluster_modes_test.ts`.
 */

import assert from "node:assert/strict";
import type { Chat, ChatCluster, Member as CoreMember } from "./chat.ts";
import type { ClusterPeer, ClusterPresence } from "../cluster/cluster.ts";
import { GREETING } from "../protocol.ts";
import { RedisNoReplyError, RedisUnavailableError } from "../cluster/redis.ts";
import {
  LEAK_CHECKS,
  memoryChat,
  MemoryLink,
  WAIT_MS,
  withDeadline,
} from "../test/test_helpers.ts";

const NOT_SENT = "! Chat is unavailable right now; your message was not sent";
const LATE = "! Chat is not answering; your message may arrive late";

const encoder = new TextEncoder();

/** Never written to Redis: the connection was down. */
const refused = (): Error => new RedisUnavailableError("Redis 127.0.0.1:6379 is unavailable");
/** Written to Redis, and no reply in time: Redis may still carry it out. */
const unanswered = (): Error =>
  new RedisNoReplyError("Redis 127.0.0.1:6379: connection lost (no reply within 5000 ms)");

/** A memory link that wakes whoever waits for its next write. */
class WatchedLink extends MemoryLink {
  #waiters: (() => void)[] = [];

  override write(data: Uint8Array | string): boolean {
    const taken = super.write(data);
    for (const waiter of this.#waiters.splice(0)) waiter();
    return taken;
  }

  /** Resolves at the next write. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** A link of the core's, read line by line with a deadline. */
class Lines {
  readonly link = new WatchedLink();
  #read = 0;

  send(text: string): void {
    this.link.emit("data", encoder.encode(text));
  }

  async expect(wanted: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (true) {
      const text = this.link.text;
      const end = text.indexOf("\n", this.#read);
      if (end !== -1) {
        const line = text.slice(this.#read, end);
        this.#read = end + 1;
        assert.equal(line, wanted);
        return;
      }
      await withDeadline(this.link.changed(), Math.max(deadline - Date.now(), 1), wanted);
    }
  }
}

/** A member of the core, read line by line with a deadline. */
class Member extends Lines {
  /** The core's member. */
  readonly core: CoreMember | null;

  constructor(chat: Chat) {
    super();
    this.core = chat.admit(this.link, "192.0.2.1", 4000, () => this.link);
    if (this.core !== null) chat.greet(this.core);
  }
}

/** How the stand-in cluster fails its next publish, and its next question of who is where. */
interface Failures {
  /** The next publish fails with it (then it is null again); null: it succeeds. */
  publish: Error | null;
  /** The next `members()` fails with it (then it is null again). */
  members: Error | null;
  /** While set, `members()` answers once it resolves: the cluster is slow to say who is where. */
  slow?: Promise<void> | null;
}

/** Shared state this process published, in order, held back for the test to deliver; presences. */
type Published = { kind: string; value: string }[] & {
  /** The latest presence this process shared, by name. */
  presences?: Map<string, ClusterPresence>;
};

/**
 * A cluster of this process and `bob` on another: a publish fails as `fail` says, or succeeds,
 * and a room line then comes back as Redis would send it; shared state goes to `published`.
 */
function standIn(chat: () => Chat, fail: Failures, published: Published): ChatCluster {
  let id = 0;
  const next = (): Promise<string> => {
    const error = fail.publish;
    fail.publish = null;
    return error === null ? Promise.resolve(`${++id}-0`) : Promise.reject(error);
  };
  const bob: ClusterPeer = {
    name: "bob",
    processId: "there",
    room: "lobby",
    roomOperator: false,
    serverOperator: false,
    loggedIn: false,
    address: "198.51.100.7",
  };
  const cluster: ChatCluster = {
    processId: "here",
    publishLine: async (room, text, options = {}) => {
      const lineId = await next();
      chat().clusterEvent({
        type: "line",
        id: lineId,
        room,
        text,
        public: options.public ?? false,
        except: options.except ?? null,
      });
      return lineId;
    },
    publishPrivate: () => next(),
    publishAct: () => next(),
    publishState: (kind, value) => {
      published.push({ kind, value });
      return Promise.resolve();
    },
    loadState: () => Promise.resolve({}),
    history: () => Promise.resolve([]),
    claimName: (requested) => Promise.resolve(requested),
    releaseName: () => Promise.resolve(),
    renameName: () => Promise.resolve(true),
    setPresence: (name, presence) => {
      (published.presences ??= new Map()).set(name, presence);
      return Promise.resolve();
    },
    takeName: () => Promise.resolve(),
    saveAccount: async (name, account) => {
      const accountId = await next();
      chat().clusterEvent({ type: "account", id: accountId, name, account });
    },
    loadAccounts: () => Promise.resolve([]),
    keepMessage: () => next().then(() => true),
    takeKept: () => Promise.resolve([]),
    members: async () => {
      const error = fail.members;
      fail.members = null;
      await fail.slow;
      if (error !== null) throw error;
      return [bob];
    },
  };
  return cluster;
}

/**
 * A core in a stand-in cluster, with alice joined; `body` sets how the cluster fails, and may
 * deliver the state published (or any event) to the core itself.
 */
async function withClusterCore(
  body: (alice: Member, fail: Failures, chat: Chat, published: Published) => Promise<void>,
) {
  const chat: Chat = memoryChat();
  const fail: Failures = { publish: null, members: null };
  const published: Published = [];
  await chat.joinCluster(standIn(() => chat, fail, published));
  try {
    const alice = new Member(chat);
    await alice.expect(GREETING);
    alice.send("alice\n");
    await alice.expect("Welcome, alice! Type <quit> to leave.");
    // Her line comes back after her arrival's: that publish is done, the failures are the body's.
    alice.send("hello\n");
    await alice.expect("alice: hello");
    await body(alice, fail, chat, published);
  } finally {
    await chat.shutdown(0);
  }
}

Deno.test({
  name: "a line Redis was sent and did not answer may arrive late; one never sent was not sent",
  ...LEAK_CHECKS,
  fn: () =>
    withClusterCore(async (alice, fail) => {
      fail.publish = unanswered();
      alice.send("first\n");
      await alice.expect(LATE);
      fail.publish = refused();
      alice.send("second\n");
      await alice.expect(NOT_SENT);
      alice.send("third\n");
      await alice.expect("alice: third");
    }),
});

Deno.test({
  name:
    "a private message: not sent when the cluster cannot say where bob is, late when unanswered",
  ...LEAK_CHECKS,
  fn: () =>
    withClusterCore(async (alice, fail) => {
      // Asking who is where is only a read: even unanswered, the message itself was never sent.
      fail.members = unanswered();
      alice.send("/msg bob one\n");
      await alice.expect(NOT_SENT);
      fail.publish = unanswered();
      alice.send("/msg bob two\n");
      await alice.expect(LATE);
      fail.publish = refused();
      alice.send("/msg bob three\n");
      await alice.expect(NOT_SENT);
      alice.send("/msg bob four\n");
      await alice.expect("(private to bob) alice: four");
    }),
});

Deno.test({
  name: "on a cluster, a registration Redis did not take is not made, and the member is told so",
  ...LEAK_CHECKS,
  fn: () =>
    withClusterCore(async (alice, fail) => {
      fail.publish = refused();
      alice.send("/register correct-horse\n");
      await alice.expect("! /register failed; try again later");
      alice.send("/whois alice\n");
      await alice.expect("* alice: not registered, in #lobby");
      alice.send("/register correct-horse\n");
      await alice.expect("* Registered alice: only you can use this name from now on");
      alice.send("/whois alice\n");
      const today = new Date().toISOString().slice(0, 10);
      await alice.expect(`* alice: logged in, registered ${today}, in #lobby`);
    }),
});

Deno.test({
  name: "modes shared here are not undone by their own echo, nor by older ones from elsewhere",
  ...LEAK_CHECKS,
  fn: () =>
    withClusterCore(async (alice, _fail, chat, published) => {
      alice.send("/join dev\n");
      await alice.expect("* You are now in #dev (1 here)");
      alice.send("/mode +k a\n");
      await alice.expect("* alice set mode +k a on #dev");
      alice.send("/mode +i\n");
      await alice.expect("* alice set mode +i on #dev");
      const [first, second] = published;
      assert.ok(first && second, "two changes, two values shared");
      assert.equal(first.kind, second.kind);
      const state = (value: string, id: string) =>
        chat.clusterEvent({ type: "state", id, kind: first.kind, value });
      const elsewhere = JSON.stringify({
        i: false,
        k: null,
        l: null,
        m: true,
        n: true,
        s: false,
        t: true,
        b: [],
      });
      // The stream's order: the first echo, another process's older change, the second echo.
      state(first.value, "1-0");
      state(elsewhere, "2-0");
      alice.send("/rooms\n");
      await alice.expect("* 2 rooms: #lobby (1), #dev (0, +ik)");
      state(second.value, "3-0");
      alice.send("/rooms\n");
      await alice.expect("* 2 rooms: #lobby (1), #dev (0, +ik)");
      // Anything after the last echo is newer: it is taken on.
      state(elsewhere, "4-0");
      alice.send("/rooms\n");
      await alice.expect("* 2 rooms: #lobby (1), #dev (0, +m)");
    }),
});

Deno.test({
  name:
    "a seat on a cluster: its own joining is not sent back to it, its room is in the presence, and acts in its room and a dead process reach it",
  ...LEAK_CHECKS,
  fn: () =>
    withClusterCore(async (alice, _fail, chat, published) => {
      const seat = new Lines();
      chat.seats.open(alice.core as CoreMember, seat.link, "dev");
      // New everywhere (bob, elsewhere, is in #lobby): its first member is its operator.
      await seat.expect("* You are now in #dev (1 here)");
      // Its `* alice joined #dev` came back through the cluster without it: its next line is this.
      seat.send("hi\n");
      await seat.expect("alice: hi");
      const seats = () => published.presences?.get("alice")?.seats;
      assert.deepEqual(seats(), [{ room: "dev", roomOperator: true, voiced: false }]);
      chat.clusterEvent({
        type: "act",
        id: "10-0",
        action: "voice",
        name: "alice",
        room: "dev",
        process: "here",
      });
      assert.deepEqual(seats(), [{ room: "dev", roomOperator: true, voiced: true }]);
      // A deop in #dev is the seat's; a voice in #lobby, her own room, is alice's.
      chat.clusterEvent({
        type: "act",
        id: "10-1",
        action: "deop",
        name: "alice",
        room: "dev",
        process: "here",
      });
      chat.clusterEvent({
        type: "act",
        id: "10-2",
        action: "voice",
        name: "alice",
        room: "lobby",
        process: "here",
      });
      assert.deepEqual(seats(), [{ room: "dev", roomOperator: false, voiced: true }]);
      assert.equal(published.presences?.get("alice")?.voiced, true);
      // Bob's process died: each room hears it once, whatever the list repeats.
      chat.clusterEvent({
        type: "gone",
        id: "11-0",
        members: [
          { name: "bob", room: "lobby" },
          { name: "bob", room: "dev" },
          { name: "bob", room: "DEV" },
        ],
      });
      await alice.expect("* bob left the chat (connection lost)");
      await seat.expect("* bob left the chat (connection lost)");
      seat.send("still here\n");
      await seat.expect("alice: still here");
      // A kick from another process in #dev is the seat's: it closes, alice stays in #lobby.
      chat.clusterEvent({
        type: "act",
        id: "12-0",
        action: "kick",
        name: "alice",
        room: "dev",
        process: "here",
      });
      assert.ok(seat.link.destroyed, "the seat's link is closed");
      assert.equal(seats(), undefined);
      alice.send("in the lobby\n");
      await alice.expect("alice: in the lobby");
    }),
});

Deno.test({
  name:
    "a seat left while the cluster says who is where never enters its room, and neither does one whose owner left",
  ...LEAK_CHECKS,
  fn: () =>
    withClusterCore(async (alice, fail, chat, published) => {
      let answer = () => {};
      fail.slow = new Promise((resolve) => answer = resolve);
      const seat = new Lines();
      chat.seats.open(alice.core as CoreMember, seat.link, "dev");
      // What its transport sends meanwhile waits for it to be in.
      seat.send("/who\n");
      chat.seats.partOver(seat.link);
      assert.ok(seat.link.destroyed, "the seat's link is closed at once");
      answer();
      fail.slow = null;
      // Nobody is in #dev (made here for the answer, as a /join does): not the seat either.
      alice.send("/rooms\n");
      await alice.expect("* 2 rooms: #lobby (1), #dev (0)");
      assert.equal(seat.link.text, "");
      assert.equal(published.presences?.get("alice")?.seats, undefined);
      // Its owner quits while the cluster answers: the seat goes with it, unheard.
      fail.slow = new Promise((resolve) => answer = resolve);
      const late = new Lines();
      chat.seats.open(alice.core as CoreMember, late.link, "ops");
      alice.send("/quit\n");
      await alice.expect("* Goodbye, alice!");
      answer();
      await withDeadline(
        new Promise<void>((resolve) => late.link.once("close", () => resolve())),
        WAIT_MS,
        "the seat's close",
      );
      assert.equal(late.link.text, "");
    }),
});
