/**
 * End-to-end tests of browser members: the real `server.ts` with its web
 * listener, and WebSocket clients (Deno's own, and a raw one that writes its
 * own frames) beside TCP members in the same room.
 */
import assert from "node:assert/strict";
import { ChatServer, parseServerArgs } from "../server.ts";
import { LEAK_CHECKS, Peer, startServer, WAIT_MS, withDeadline } from "../test/test_helpers.ts";
import { startRedis } from "../test/redis_test_helpers.ts";
import { upgradeRequest, WsPeer } from "../test/websocket_test_helpers.ts";

const decoder = new TextDecoder();

/** A browser-like member: Deno's WebSocket, read as lines with deadlines. */
class WebMember {
  readonly #socket: WebSocket;
  readonly #lines: string[] = [];
  #waiting: (() => void) | null = null;
  #closed = false;
  readonly #done: Promise<void>;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    const done = Promise.withResolvers<void>();
    this.#done = done.promise;
    socket.onmessage = (event) => {
      const text = typeof event.data === "string" ? event.data : decoder.decode(event.data);
      assert.ok(text.endsWith("\n"), `a message of part of a line: ${JSON.stringify(text)}`);
      this.#lines.push(...text.slice(0, -1).split("\n"));
      this.#waiting?.();
    };
    socket.onclose = () => {
      this.#closed = true;
      this.#waiting?.();
      done.resolve();
    };
  }

  /** Opens `ws://127.0.0.1:PORT/ws`. */
  static async open(port: number): Promise<WebMember> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    // Listening before it opens: the first message may come with the opening.
    const member = new WebMember(socket);
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.onopen = () => resolve();
        socket.onerror = () => reject(new Error("the WebSocket did not open"));
      }),
      WAIT_MS,
      "the WebSocket to open",
    );
    return member;
  }

  /** Opens, answers the greeting with `name` and waits for the welcome. */
  static async join(port: number, name: string): Promise<WebMember> {
    const member = await WebMember.open(port);
    await member.expect(/nickname/);
    member.send(name);
    await member.expect(/^Welcome, /);
    return member;
  }

  /** Sends one message. */
  send(text: string): void {
    this.#socket.send(text);
  }

  /** The next line, or null once the server closed. */
  async readLine(ms: number = WAIT_MS): Promise<string | null> {
    const deadline = Date.now() + ms;
    while (this.#lines.length === 0) {
      if (this.#closed) return null;
      const wait = new Promise<void>((resolve) => this.#waiting = resolve);
      await withDeadline(wait, Math.max(1, deadline - Date.now()), "a line over the WebSocket");
      this.#waiting = null;
    }
    return this.#lines.shift() as string;
  }

  /** Reads the next line and fails unless it matches. */
  async expect(wanted: string | RegExp, ms: number = WAIT_MS): Promise<string> {
    const line = await this.readLine(ms);
    const ok = line !== null && (typeof wanted === "string" ? line === wanted : wanted.test(line));
    if (!ok) throw new Error(`Expected ${wanted}, got ${JSON.stringify(line)}`);
    return line as string;
  }

  /** Closes and waits until it is closed. */
  async close(): Promise<void> {
    if (!this.#closed) this.#socket.close();
    await this.#done;
  }

  /** Closes, as {@linkcode WebMember.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Runs `body` against a quiet `server.ts` with a web port, given both ports. */
async function withWebServer(
  args: string[],
  body: (tcpPort: number, webPort: number) => Promise<void>,
): Promise<void> {
  const server = await startServer(["--quiet", ...args]);
  try {
    const open = await server.stdout.waitFor((line) => line.startsWith("Open http://"));
    assert.match(open, /^Open http:\/\/127\.0\.0\.1:\d+\/ in a browser$/);
    const webPort = Number(/:(\d+)\//.exec(open)?.[1]);
    await body(server.port, webPort);
  } finally {
    await server.stop();
  }
}

Deno.test({
  name: "a browser member and an nc member chat both ways, in one order for both",
  ...LEAK_CHECKS,
  fn: () =>
    withWebServer([], async (tcpPort, webPort) => {
      await using web = await WebMember.join(webPort, "wendy");
      await using tcp = await Peer.join(tcpPort, "nick");
      await web.expect("* nick joined the chat");
      for (let i = 0; i < 10; i++) {
        web.send(`w${i}`);
        await tcp.send(`t${i}\n`);
      }
      const seen: string[][] = [[], []];
      for (let i = 0; i < 20; i++) {
        seen[0]!.push((await web.readLine()) ?? "<closed>");
        seen[1]!.push((await tcp.readLine()) ?? "<closed>");
      }
      assert.deepEqual(seen[0], seen[1]);
      assert.equal(seen[0]!.filter((line) => line.startsWith("wendy: w")).length, 10);
      // A message holding two lines is two lines; markup is only text.
      web.send("one\r\n<b>two</b>\n");
      await tcp.expect("wendy: one");
      await tcp.expect("wendy: <b>two</b>");
      await tcp.send("/who\n");
      await tcp.expect("* 2 online: wendy, nick");
    }),
});

Deno.test({
  name: "in a cluster, a browser member on one process and an nc member on another share the room",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    const web = await startServer(["--quiet", "--redis", redis.url()]);
    const tcp = await startServer(["--quiet", "--redis", redis.url()]);
    try {
      const open = await web.stdout.waitFor((line) => line.startsWith("Open http://"));
      const webPort = Number(/:(\d+)\//.exec(open)?.[1]);
      await using wendy = await WebMember.join(webPort, "wendy");
      await using nick = await Peer.join(tcp.port, "nick");
      await wendy.expect("* nick joined the chat");
      for (let i = 0; i < 5; i++) {
        wendy.send(`w${i}`);
        await nick.send(`t${i}\n`);
      }
      const seen: string[][] = [[], []];
      for (let i = 0; i < 10; i++) {
        seen[0]!.push((await wendy.readLine()) ?? "<closed>");
        seen[1]!.push((await nick.readLine()) ?? "<closed>");
      }
      // One order for both, their own lines included, through Redis.
      assert.deepEqual(seen[0], seen[1]);
      assert.equal(seen[0]!.filter((line) => line.startsWith("wendy: w")).length, 5);
      assert.equal(seen[0]!.filter((line) => line.startsWith("nick: t")).length, 5);
    } finally {
      await Promise.all([web.stop(), tcp.stop()]);
    }
  },
});

Deno.test({
  name: "a browser member gets the limits a TCP member gets: long lines, flood control",
  ...LEAK_CHECKS,
  fn: () =>
    withWebServer(["--max-line-bytes", "100", "--rate", "50", "--burst", "5"], async (_, port) => {
      await using web = await WebMember.join(port, "wendy");
      web.send("x".repeat(101));
      await web.expect("! Line too long (max 100 bytes); message dropped.");
      web.send("still here");
      await web.expect("wendy: still here");
      // Sixty lines at once, five a burst and fifty a second: all, in order, paced.
      const started = performance.now();
      for (let i = 0; i < 60; i++) web.send(`line ${i}`);
      for (let i = 0; i < 60; i++) await web.expect(`wendy: line ${i}`);
      const took = performance.now() - started;
      assert.ok(took >= 900, `sixty lines at fifty a second took ${took} ms`);
    }),
});

Deno.test({
  name: "a message of megabytes in many fragments is never held whole, and the room goes on",
  ...LEAK_CHECKS,
  fn: () =>
    withWebServer(["--rate", "0"], async (tcpPort, webPort) => {
      await using tcp = await Peer.join(tcpPort, "nick");
      await using raw = await WsPeer.open(webPort);
      const greeting = await raw.readFrame();
      assert.match(decoder.decode(greeting?.payload), /nickname/);
      await raw.sendText("mallory\n");
      await tcp.expect("* mallory joined the chat");
      // 2 MiB with no newline, in 64 KiB fragments: the line limit, then the close.
      const block = "z".repeat(64 * 1024);
      await raw.sendText(block, { fin: false });
      for (let i = 0; i < 31; i++) {
        await raw.sendFrame(0x0, new TextEncoder().encode(block), false).catch(() => {});
      }
      const texts: string[] = [];
      for (let frame = await raw.readFrame(); frame !== null; frame = await raw.readFrame()) {
        if (frame.opcode === 0x1) texts.push(decoder.decode(frame.payload));
      }
      assert.ok(
        texts.join("").includes(
          "! Line far too long (over 1048576 bytes); closing the connection.",
        ),
        texts.join(""),
      );
      await tcp.expect("* mallory left the chat (line too long)");
      await tcp.send("fine\n");
      await tcp.expect("nick: fine");
    }),
});

Deno.test({
  name: "a browser member that stops reading is dropped as too slow; the others get everything",
  ...LEAK_CHECKS,
  fn: () =>
    withWebServer(["--rate", "0"], async (tcpPort, webPort) => {
      await using talker = await Peer.join(tcpPort, "talker");
      await using sleeper = await WsPeer.open(webPort);
      await sleeper.readFrame();
      await sleeper.sendText("sleeper");
      await talker.expect("* sleeper joined the chat");
      // 12 MB, far more than the sleeper's socket buffers and its 256 KiB allowance.
      const padding = "p".repeat(3000);
      let dropped = false;
      for (let batch = 0; batch < 200 && !dropped; batch++) {
        let text = "";
        for (let i = 0; i < 20; i++) text += `${batch}.${i} ${padding}\n`;
        await talker.send(text);
        for (let i = 0; i < 20; i++) {
          const line = await talker.readLine();
          if (line === "* sleeper left the chat (too slow)") {
            dropped = true;
            i--;
            continue;
          }
          assert.equal(line, `talker: ${batch}.${i} ${padding}`);
        }
      }
      assert.ok(dropped, "the sleeper was never dropped");
    }),
});

Deno.test({
  name: "browser connections count against --max-per-ip like TCP ones",
  ...LEAK_CHECKS,
  async fn() {
    const server = new ChatServer({
      hostname: "127.0.0.1",
      port: 0,
      webPort: 0,
      maxPerIp: 1,
      limitLoopback: true,
    });
    await server.start();
    try {
      const port = (server.webAddr as Deno.NetAddr).port;
      await using first = await WebMember.join(port, "first");
      await using second = await WebMember.open(port);
      await second.expect("! Too many connections from your address");
      assert.equal(await second.readLine(), null);
      first.send("alone");
      await first.expect("first: alone");
    } finally {
      await server.close();
    }
  },
});

Deno.test("web flags: --web-port, --no-web and --web-origin are read and checked", () => {
  assert.equal(parseServerArgs([]).options.webPort, 8080);
  assert.equal(parseServerArgs(["--web-port", "0"]).options.webPort, 0);
  assert.equal(parseServerArgs(["--no-web"]).options.webPort, undefined);
  assert.deepEqual(
    parseServerArgs(["--web-origin", "http://chat.lan:8080"]).options.webOrigins,
    ["http://chat.lan:8080"],
  );
  assert.throws(() => parseServerArgs(["--web-origin", "chat.lan"]), /--web-origin/);
  assert.throws(() => parseServerArgs(["--no-web", "--web-port", "1"]), /--no-web/);
  assert.throws(() => parseServerArgs(["--web-port", "70000"]), /--web-port/);
});

Deno.test({
  name: "with a certificate the page is https:// and the socket wss://",
  ...LEAK_CHECKS,
  async fn() {
    const server = await startServer(
      ["--quiet", "--cert", "test/testdata/localhost.crt", "--key", "test/testdata/localhost.key"],
      ["--allow-net", "--allow-read"],
    );
    try {
      const open = await server.stdout.waitFor((line) => line.startsWith("Open "));
      assert.match(open, /^Open https:\/\/127\.0\.0\.1:\d+\/ in a browser$/);
      const port = Number(/:(\d+)\//.exec(open)?.[1]);
      const ca = await Deno.readTextFile("test/testdata/ca.crt");
      await using peer = await WsPeer.open(port, {
        request: upgradeRequest("/ws", { Host: `localhost:${port}` }),
        tls: { caCerts: [ca] },
      });
      const greeting = await peer.readFrame();
      assert.match(decoder.decode(greeting?.payload), /nickname/);
    } finally {
      await server.stop();
    }
  },
});
