import assert from "node:assert/strict";
import net from "node:net";
import { startRedis } from "../test/redis_test_helpers.ts";
import { NEW_ROOMS_PER_ADDRESS } from "./room_quota.ts";
import { ChatServer, type ChatServerOptions, parseServerArgs } from "../server.ts";
import { ChatStore } from "../store/store.ts";
import {
  joinAll,
  LEAK_CHECKS,
  Peer,
  WAIT_MS,
  withDeadline,
  withServer,
} from "../test/test_helpers.ts";

Deno.test({
  name: "/join moves a member to a new room, told to both rooms, and /part brings it back",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await alice.send("/join #dev\n");
      await alice.expect("* You are now in #dev (1 here)");
      await bob.expect("* alice left for #dev");
      await carol.expect("* alice left for #dev");
      await bob.send("/join DEV\n");
      await bob.expect("* You are now in #dev (2 here)");
      await alice.expect("* bob joined #dev");
      await carol.expect("* bob left for #dev");
      await alice.send("in dev\n");
      await alice.expect("alice: in dev");
      await bob.expect("alice: in dev");
      await carol.send("in lobby\n");
      await carol.expect("carol: in lobby");
      await bob.send("/part\n");
      await bob.expect("* You are now in #lobby (2 here)");
      await alice.expect("* bob left for #lobby");
      await carol.expect("* bob joined #lobby");
      // Alice heard nothing of the lobby meanwhile.
      await alice.send("/who\n");
      await alice.expect("* 1 in #dev: @alice");
    }),
});

Deno.test({
  name: "/rooms lists the rooms busiest first and /who #name another room, @ for its operator",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol", "dave"]);
      const [alice, bob, carol, dave] = [...peers] as [Peer, Peer, Peer, Peer];
      await alice.send("/join random\n");
      await alice.expect("* You are now in #random (1 here)");
      await bob.send("/join dev\n");
      await bob.readUntil("* You are now in #dev (1 here)");
      await carol.send("/join dev\n");
      await carol.readUntil("* You are now in #dev (2 here)");
      await dave.send("/rooms\n/list\n/who #dev\n/who\n/who #nowhere\n/who #no where\n");
      await dave.readUntil("* 3 rooms: #dev (2), #lobby (1), #random (1)");
      await dave.expect("* 3 rooms: #dev (2), #lobby (1), #random (1)");
      await dave.expect("* 2 in #dev: @bob, carol");
      await dave.expect("* 1 online: dave");
      await dave.expect("! No such room: #nowhere");
      await dave.expect("! Invalid room name: #no where");
    }),
});

Deno.test({
  name: "the topic is set by the room's operator only and shown to whoever joins",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await alice.send("/topic hello\n");
      await alice.expect("! Only operators can /topic");
      await alice.send("/join dev\n/topic\n/topic builds and releases\n");
      await alice.expect("* You are now in #dev (1 here)");
      await alice.expect("* No topic in #dev");
      await alice.expect("* alice set the topic: builds and releases");
      await bob.send("/join dev\n/topic\n/topic mine now\n");
      await bob.readUntil("* You are now in #dev (2 here)");
      await bob.expect("* Topic: builds and releases");
      await bob.expect("* Topic: builds and releases");
      await bob.expect("! Only operators can /topic");
      // A room with a topic outlives its members; a newcomer is not its operator.
      await alice.send("/part\n");
      await bob.send("/part\n");
      await bob.readUntil("* You are now in #lobby (3 here)");
      await carol.send("/join dev\n/who\n/topic taken\n");
      await carol.readUntil("* You are now in #dev (1 here)");
      await carol.expect("* Topic: builds and releases");
      await carol.expect("* 1 in #dev: carol");
      await carol.expect("! Only operators can /topic");
    }),
});

Deno.test({
  name: "names are unique across rooms and /msg, /reply and /nick work between them",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      await alice.send("/join dev\n");
      await alice.expect("* You are now in #dev (1 here)");
      await using carol = await Peer.connect(port);
      await carol.expect(/nickname/);
      await carol.send("ALICE\n");
      await carol.expect("Welcome, ALICE2! Type <quit> to leave.");
      await bob.send("/nick alice\n/msg alice psst\n");
      await bob.readUntil("! Name taken: alice");
      await bob.expect("(private to alice) bob: psst");
      await alice.expect("(private) bob: psst");
      await alice.send("/reply got it\n");
      await alice.expect("(private to bob) alice: got it");
      await bob.expect("(private) alice: got it");
    }),
});

Deno.test({
  name: "bad room names and the room cap are refused, and the member stays where it was",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--max-rooms", "2"], async (port) => {
      await using alice = await Peer.join(port, "alice");
      await alice.send(`/join my/room\n/join ${"x".repeat(33)}\n/join pаypal\n/join lobby\n`);
      await alice.expect("! Invalid room name: my/room");
      await alice.expect(`! Invalid room name: ${"x".repeat(33)}`);
      await alice.expect("! Invalid room name: pаypal");
      await alice.expect("! You are already in #lobby");
      await alice.send("/join dev\n/join random\n/who\n");
      await alice.expect("* You are now in #dev (1 here)");
      await alice.expect("! Too many rooms");
      await alice.expect("* 1 in #dev: @alice");
    }),
});

Deno.test({
  name: "joining and leaving the server is told to the member's current room only",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob"]);
      const [alice, bob] = [...peers] as [Peer, Peer];
      await alice.send("/join dev\n");
      await alice.expect("* You are now in #dev (1 here)");
      await bob.expect("* alice left for #dev");
      await using carol = await Peer.join(port, "carol");
      await bob.expect("* carol joined the chat");
      await carol.send("/join dev\n");
      await alice.expect("* carol joined #dev");
      await carol.send("/quit\n");
      await alice.expect("* carol left the chat");
      // Bob got nothing of carol since she left the lobby.
      await bob.expect("* carol left for #dev");
      await bob.send("/who\n");
      await bob.expect("* 1 online: bob");
    }),
});

Deno.test({
  name: "a busy room's order is unaffected by another room's traffic",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--rate", "0"], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol", "dave"]);
      const [alice, bob, carol, dave] = [...peers] as [Peer, Peer, Peer, Peer];
      for (const peer of [carol, dave]) {
        await peer.send("/join dev\n");
        await peer.readUntil(/^\* You are now in #dev/);
      }
      await alice.readUntil("* dave left for #dev");
      await bob.readUntil("* dave left for #dev");
      await carol.readUntil("* dave joined #dev");
      const sends = [];
      for (let i = 0; i < 50; i++) {
        sends.push(alice.send(`a${i}\n`), bob.send(`b${i}\n`));
        sends.push(carol.send(`c${i}\n`), dave.send(`d${i}\n`));
      }
      await Promise.all(sends);
      const seen: string[][] = [];
      for (const peer of [alice, bob, carol, dave]) {
        const lines: string[] = [];
        for (let i = 0; i < 100; i++) lines.push((await peer.readLine()) ?? "<closed>");
        seen.push(lines);
      }
      assert.deepEqual(seen[1], seen[0]);
      assert.deepEqual(seen[3], seen[2]);
      assert.ok(seen[0]!.every((line) => /^(alice: a|bob: b)\d+$/.test(line)));
      assert.ok(seen[2]!.every((line) => /^(carol: c|dave: d)\d+$/.test(line)));
      const own = seen[2]!.filter((line) => line.startsWith("carol: "));
      assert.deepEqual(own, Array.from({ length: 50 }, (_, i) => `carol: c${i}`));
    }),
});

Deno.test("--max-rooms sets how many rooms may exist", () => {
  assert.equal(parseServerArgs(["--max-rooms", "5"]).options.maxRooms, 5);
  assert.equal(parseServerArgs([]).options.maxRooms, undefined);
  assert.throws(() => parseServerArgs(["--max-rooms", "0"]));
});

// A stranger is anyone not on a loopback address: a server started with
// limitLoopback holds 127.0.0.2 and the rest of 127/8 to the per-address
// limits, and node:net connects from any of them (Deno.connect cannot choose).

/** A member connected from a loopback address of the test's choosing, read line by line. */
class AddressedPeer {
  readonly #socket: net.Socket;
  readonly #lines: string[] = [];
  #partial = "";
  #ended = false;
  #wake: (() => void) | null = null;
  readonly #closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      const parts = (this.#partial + text).split("\n");
      this.#partial = parts.pop() ?? "";
      this.#lines.push(...parts);
      this.#wake?.();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake?.();
    });
    // A reset shows as the end of the lines; the test fails on what it then lacks.
    socket.on("error", () => {});
  }

  /** Connects to 127.0.0.1 at `port` from `from`, and joins as `name`. */
  static async join(port: number, name: string, from: string): Promise<AddressedPeer> {
    const peer = new AddressedPeer(net.connect({ host: "127.0.0.1", port, localAddress: from }));
    try {
      await peer.expect(/nickname/);
      peer.send(`${name}\n`);
      await peer.expect(/^Welcome, /);
    } catch (error) {
      await peer.close();
      throw error;
    }
    return peer;
  }

  /** Sends raw text (add the `\n` yourself). */
  send(text: string): void {
    this.#socket.write(text);
  }

  /** The next line, or null once the connection is closed and every line read. */
  async readLine(): Promise<string | null> {
    const deadline = Date.now() + WAIT_MS;
    while (this.#lines.length === 0) {
      if (this.#ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No line within ${WAIT_MS} ms`);
      await withDeadline(new Promise<void>((resolve) => this.#wake = resolve), left, "a line");
    }
    return this.#lines.shift() as string;
  }

  /** Reads the next line and fails unless it matches (a string must match exactly). */
  async expect(wanted: string | RegExp): Promise<string> {
    const line = await this.readLine();
    const matches = line !== null &&
      (typeof wanted === "string" ? line === wanted : wanted.test(line));
    if (!matches) throw new Error(`Expected ${wanted}, got ${JSON.stringify(line)}`);
    return line as string;
  }

  /** Reads lines until one is `wanted`; returns all read, the match last. */
  async readUntil(wanted: string): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const line = await this.readLine();
      if (line === null) throw new Error(`Closed before ${wanted}; got:\n${seen.join("\n")}`);
      seen.push(line);
      if (line === wanted) return seen;
    }
    throw new Error(`No ${wanted} in 1000 lines`);
  }

  /** Closes the connection and waits until it is; safe to call again. */
  async close(): Promise<void> {
    this.#socket.destroy();
    await this.#closed;
  }

  /** Closes the connection, as {@linkcode AddressedPeer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const OPER_PASSWORD = "room keeper";

/** Runs `body` against an in-process server that holds loopback to the per-address limits. */
async function withStrictServer(
  options: ChatServerOptions,
  body: (port: number, log: string[]) => Promise<void>,
): Promise<void> {
  const log: string[] = [];
  const server = new ChatServer({
    hostname: "127.0.0.1",
    port: 0,
    limitLoopback: true,
    rate: 0,
    operatorPassword: OPER_PASSWORD,
    log: (event) => log.push(event),
    ...options,
  });
  try {
    const { port } = await server.start();
    await body(port, log);
  } finally {
    await server.close();
  }
}

/** Makes `#name` from its own address with a topic and a line, and leaves the server. */
async function keptRoom(port: number, name: string, from: string): Promise<void> {
  await using owner = await AddressedPeer.join(port, `${name}-owner`, from);
  // One at a time: in a cluster a room's lines come back through Redis, after what is told at once.
  owner.send(`/join ${name}\n`);
  await owner.readUntil(`* You are now in #${name} (1 here)`);
  owner.send(`/topic about ${name}\n`);
  await owner.expect(`* ${name}-owner set the topic: about ${name}`);
  owner.send(`first in ${name}\n`);
  await owner.expect(`${name}-owner: first in ${name}`);
  owner.send("<quit>\n");
  await owner.expect(`* Goodbye, ${name}-owner!`);
}

/** Joins `#name` and checks its topic and the line its owner left are there. */
async function expectKept(peer: AddressedPeer | Peer, name: string): Promise<void> {
  await peer.send(`/join ${name}\n`);
  await peer.readUntil(`* You are now in #${name} (1 here)`);
  await peer.expect(`* Topic: about ${name}`);
  await peer.expect("* Recent messages:");
  await peer.expect(`${name}-owner: first in ${name}`);
  await peer.expect("* End of recent messages");
}

Deno.test({
  name: "at --max-rooms a stranger cannot erase kept rooms, on disk or off; an operator still can",
  ...LEAK_CHECKS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "chat-rooms-" });
    const dataFile = `${dir}/chat.db`;
    try {
      // #lobby, three kept rooms and one place left.
      await withStrictServer({ maxRooms: 5, dataFile }, async (port, log) => {
        for (const [i, name] of ["first", "second", "third"].entries()) {
          await keptRoom(port, name, `127.0.0.${10 + i}`);
        }
        await using stranger = await AddressedPeer.join(port, "stranger", "127.0.0.2");
        stranger.send("/join junk0\n/topic mine now\n/part\n");
        await stranger.expect("* You are now in #junk0 (1 here)");
        await stranger.expect("* stranger set the topic: mine now");
        await stranger.expect("* You are now in #lobby (1 here)");
        for (let i = 1; i <= 4; i++) {
          stranger.send(`/join junk${i}\n`);
          await stranger.expect("! Too many rooms");
        }
        stranger.send("/rooms\n");
        await stranger.expect(
          "* 5 rooms: #lobby (1), #first (0), #second (0), #third (0), #junk0 (0)",
        );
        for (const name of ["first", "second", "third"]) await expectKept(stranger, name);
        stranger.send("/part\n");
        await stranger.expect("* You are now in #lobby (1 here)");
        // A server operator makes room: the oldest kept room gives way, and the log says so.
        await using operator = await AddressedPeer.join(port, "keeper", "127.0.0.20");
        await stranger.expect("* keeper joined the chat");
        operator.send(`/oper ${OPER_PASSWORD}\n/join fresh\n`);
        await operator.expect("* You are now a server operator");
        await operator.expect("* You are now in #fresh (1 here)");
        await stranger.expect("* keeper left for #fresh");
        assert.ok(
          log.includes(
            "#first was removed at --max-rooms to make a new room (it held a topic or history)",
          ),
          log.join("\n"),
        );
        assert.equal(log.filter((line) => line.includes("was removed at --max-rooms")).length, 1);
      });
      // On disk: the stranger left the others' rooms as they were (#fresh, bare, went at shutdown).
      const store = ChatStore.open(dataFile, { historyLines: 20 });
      const saved = store.load().rooms;
      store.close();
      assert.deepEqual(saved.map((room) => [room.name, room.topic, room.history]), [
        ["lobby", null, []],
        ["second", "about second", ["second-owner: first in second"]],
        ["third", "about third", ["third-owner: first in third"]],
        ["junk0", "mine now", []],
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "one address makes at most ten new rooms an hour; loopback and server operators are exempt",
  ...LEAK_CHECKS,
  fn: () =>
    withStrictServer({}, async (port, log) => {
      await using owner = await AddressedPeer.join(port, "owner", "127.0.0.3");
      owner.send("/join dev\n");
      await owner.expect("* You are now in #dev (1 here)");
      await using stranger = await AddressedPeer.join(port, "stranger", "127.0.0.2");
      for (let i = 0; i < NEW_ROOMS_PER_ADDRESS; i++) {
        stranger.send(`/join new${i}\n`);
        await stranger.readUntil(`* You are now in #new${i} (1 here)`);
      }
      stranger.send(`/join new${NEW_ROOMS_PER_ADDRESS}\n/who\n`);
      await stranger.expect("! Too many new rooms from your address; try again later");
      await stranger.expect(`* 1 in #new${NEW_ROOMS_PER_ADDRESS - 1}: @stranger`);
      // Another connection from that address is the same address.
      await using again = await AddressedPeer.join(port, "again", "127.0.0.2");
      again.send("/join another\n");
      await again.expect("! Too many new rooms from your address; try again later");
      // Rooms that exist are open to it, and other addresses are not affected.
      stranger.send("/join dev\n/part\n");
      await stranger.expect("* You are now in #dev (2 here)");
      await stranger.expect("* You are now in #lobby (2 here)");
      owner.send("/join mine\n");
      await owner.readUntil("* You are now in #mine (1 here)");
      // A server operator on that same address is not held to it.
      stranger.send(`/oper ${OPER_PASSWORD}\n/join opsroom\n`);
      await stranger.expect("* You are now a server operator");
      await stranger.expect("* You are now in #opsroom (1 here)");
      assert.ok(
        log.some((line) =>
          line.endsWith(
            ` again refused #another: ${NEW_ROOMS_PER_ADDRESS} new rooms from 127.0.0.2` +
              " within the hour already",
          )
        ),
        log.join("\n"),
      );
    }),
});

Deno.test({
  name: "loopback addresses make new rooms without the per-address limit by default",
  ...LEAK_CHECKS,
  fn: () =>
    withServer(["--rate", "0"], async (port) => {
      await using alice = await Peer.join(port, "alice");
      for (let i = 0; i <= NEW_ROOMS_PER_ADDRESS; i++) {
        await alice.send(`/join new${i}\n`);
        await alice.readUntil(`* You are now in #new${i} (1 here)`);
      }
    }),
});

Deno.test({
  name: "in a cluster too, a stranger gets the per-address limit and cannot erase a kept room",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    // #lobby, one kept room, the stranger's ten and one place left.
    const maxRooms = NEW_ROOMS_PER_ADDRESS + 3;
    await withStrictServer({ maxRooms, redisUrl: redis.url() }, async (port, log) => {
      await keptRoom(port, "first", "127.0.0.10");
      await using stranger = await AddressedPeer.join(port, "stranger", "127.0.0.2");
      for (let i = 0; i < NEW_ROOMS_PER_ADDRESS; i++) {
        stranger.send(`/join junk${i}\n/topic mine\n`);
        await stranger.readUntil(`* You are now in #junk${i} (1 here)`);
        await stranger.expect("* stranger set the topic: mine");
      }
      stranger.send("/join junk-over\n");
      await stranger.expect("! Too many new rooms from your address; try again later");
      await using other = await AddressedPeer.join(port, "other", "127.0.0.3");
      other.send("/join last\n");
      await other.expect("* You are now in #last (1 here)");
      other.send("/topic mine too\n");
      await other.expect("* other set the topic: mine too");
      other.send("/part\n/join over\n");
      await other.expect("* You are now in #lobby (1 here)");
      await other.expect("! Too many rooms");
      await expectKept(other, "first");
      other.send("/part\n");
      await other.expect("* You are now in #lobby (1 here)");
      await using operator = await AddressedPeer.join(port, "keeper", "127.0.0.20");
      operator.send(`/oper ${OPER_PASSWORD}\n/join fresh\n`);
      await operator.expect("* You are now a server operator");
      await operator.expect("* You are now in #fresh (1 here)");
      assert.ok(
        log.includes(
          "#first was removed at --max-rooms to make a new room (it held a topic or history)",
        ),
        log.join("\n"),
      );
    });
  },
});

Deno.test({
  name: "/part REASON, /quit MESSAGE and /notice are told to the room",
  ...LEAK_CHECKS,
  fn: () =>
    withServer([], async (port) => {
      await using peers = await joinAll(port, ["alice", "bob", "carol"]);
      const [alice, bob, carol] = [...peers] as [Peer, Peer, Peer];
      await alice.send("/join #dev\n");
      await alice.expect("* You are now in #dev (1 here)");
      await bob.send("/join #dev\n");
      await bob.readUntil("* You are now in #dev (2 here)");
      await alice.expect("* bob joined #dev");
      await bob.send("/notice back at 3\n");
      await alice.expect("-bob- back at 3");
      await bob.readUntil("-bob- back at 3");
      await bob.send("/part see you\n");
      await alice.expect("* bob left #dev (see you)");
      await bob.readUntil("* You are now in #lobby (2 here)");
      await carol.readUntil("* bob joined #lobby");
      await bob.send("/quit gone fishing\n");
      await carol.readUntil("* bob left the chat (gone fishing)");
      await carol.send("/part\n");
      await carol.readUntil("! You are already in #lobby");
      await carol.send("/quit\n");
      await carol.expect("* Goodbye, carol!");
    }),
});
