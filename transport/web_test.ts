import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { LINE_TOO_LONG, LineFramer } from "../protocol.ts";
import { LEAK_CHECKS, WAIT_MS, withDeadline } from "../test/test_helpers.ts";
import {
  type Asset,
  CONTENT_SECURITY_POLICY,
  MAX_HEAD_BYTES,
  WebServer,
  type WebServerOptions,
} from "./web.ts";
import { encodeFrame, OPCODE, type WebSocketLink } from "./websocket.ts";
import {
  httpRequest,
  type HttpResponse,
  upgradeRequest,
  WsPeer,
} from "../test/websocket_test_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const PAGE = "<!doctype html><title>chat</title><script src=/app.js></script>";
const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["/", { type: "text/html; charset=utf-8", body: encoder.encode(PAGE) }],
  ["/app.js", { type: "text/javascript; charset=utf-8", body: encoder.encode("void 0;\n") }],
]);
/** The echo's longest line, as the core's `--max-line-bytes`. */
const MAX_LINE_BYTES = 4096;

/** What a test's echo room saw. */
interface Echo {
  /** The links open now. */
  readonly links: Set<WebSocketLink>;
  /** The most bytes of an unfinished line its framers held. */
  mostBuffered: number;
  readonly log: string[];
}

/**
 * Echoes each link's lines back as the core would answer them: one write per
 * data event, a line too long answered as the core does; ends a link that
 * ends.
 */
function echoLinks(echo: Echo): (link: WebSocketLink) => void {
  return (link) => {
    echo.links.add(link);
    const framer = new LineFramer(MAX_LINE_BYTES);
    link.on("data", (chunk: Uint8Array) => {
      framer.feed(chunk);
      const lines: string[] = [];
      for (let line = framer.next(); line !== null; line = framer.next()) {
        lines.push(
          line === LINE_TOO_LONG
            ? `! Line too long (max ${MAX_LINE_BYTES} bytes); message dropped.`
            : decoder.decode(line),
        );
      }
      echo.mostBuffered = Math.max(echo.mostBuffered, framer.bufferedBytes);
      if (lines.length > 0) link.write(lines.join("\n") + "\n");
    });
    link.on("end", () => link.end(() => link.destroy()));
    link.on("error", () => {});
    link.once("close", () => echo.links.delete(link));
  };
}

/** Runs `fn` against a web server on 127.0.0.1 with an echo room, then closes it all. */
async function withWeb(
  fn: (port: number, echo: Echo) => Promise<void>,
  options: Partial<WebServerOptions> = {},
): Promise<void> {
  const echo: Echo = { links: new Set(), mostBuffered: 0, log: [] };
  const web = new WebServer({
    hostname: "127.0.0.1",
    port: 0,
    assets: ASSETS,
    onLink: echoLinks(echo),
    log: (event) => echo.log.push(event),
    ...options,
  });
  const { port } = await web.start();
  try {
    await fn(port, echo);
  } finally {
    for (const link of echo.links) link.destroy();
    await web.close();
  }
}

const SECURITY_HEADERS: [string, string][] = [
  ["content-security-policy", CONTENT_SECURITY_POLICY],
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
  ["referrer-policy", "no-referrer"],
  ["cache-control", "no-cache"],
];

Deno.test({
  name: "GET / is the page, with the security headers, and HEAD has its headers only",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port) => {
      const page = await httpRequest(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      assert.equal(page.status, 200);
      assert.equal(page.body, PAGE);
      assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(page.headers.get("content-length"), String(encoder.encode(PAGE).length));
      assert.equal(page.headers.get("connection"), "close");
      for (const [name, value] of SECURITY_HEADERS) assert.equal(page.headers.get(name), value);
      const script = await httpRequest(port, "GET /app.js?v=2 HTTP/1.0\r\n\r\n");
      assert.equal(script.status, 200);
      assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
      const head = await httpRequest(port, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), page.headers.get("content-length"));
      assert.equal(head.body, "");
    }),
});

Deno.test({
  name: "any other path is 404 and any other method 405, with the same headers",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port) => {
      for (const path of ["/index.html", "/ws/", "/app.js/", "//", "/%2F"]) {
        const response = await httpRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        assert.equal(response.status, 404, path);
        for (const [name, value] of SECURITY_HEADERS) {
          assert.equal(response.headers.get(name), value);
        }
      }
      for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "CONNECT"]) {
        const response = await httpRequest(
          port,
          `${method} / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`,
        );
        assert.equal(response.status, 405, method);
        assert.equal(response.headers.get("allow"), "GET, HEAD");
      }
    }),
});

Deno.test({
  name: "a malformed request is 400, an oversized head 431, and a slow one 408",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port, echo) => {
      for (
        const bad of [
          "hello\r\n\r\n",
          "GET / HTTP/1.1\r\n\r\n",
          "GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n",
          "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
          "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
          "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n",
        ]
      ) {
        assert.equal((await httpRequest(port, bad)).status, 400, JSON.stringify(bad));
      }
      const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
      assert.equal((await httpRequest(port, big)).status, 431);
      // Never ending, in small pieces: the limit holds without a blank line.
      const endless = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        const piece = encoder.encode("X-More: " + "m".repeat(1000) + "\r\n");
        await endless.write(encoder.encode("GET / HTTP/1.1\r\n"));
        let status = "";
        const buffer = new Uint8Array(4096);
        for (let i = 0; i < 20 && status === ""; i++) {
          await endless.write(piece).catch(() => 0);
          if (i >= 8) {
            const n = await withDeadline(endless.read(buffer), WAIT_MS, "a response");
            status = decoder.decode(buffer.subarray(0, n ?? 0)).split("\r\n")[0] ?? "";
          }
        }
        assert.equal(status, "HTTP/1.1 431 Request Header Fields Too Large");
      } finally {
        endless.close();
      }
      const slow = await httpRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n");
      assert.equal(slow.status, 408);
      assert.ok(echo.log.some((line) => / 408$/.test(line)), echo.log.join("\n"));
    }, { headTimeoutMs: 200 }),
});

Deno.test({
  name: "GET /ws without an upgrade is 426, a wrong version 426, and a bad key 400",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port) => {
      const plain = await httpRequest(port, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal(plain.status, 426);
      assert.equal(plain.headers.get("upgrade"), "websocket");
      const version = await httpRequest(
        port,
        upgradeRequest("/ws", { "Sec-WebSocket-Version": "8" }),
      );
      assert.equal(version.status, 426);
      assert.equal(version.headers.get("sec-websocket-version"), "13");
      const broken: Record<string, string | null>[] = [
        { "Sec-WebSocket-Key": "short==" },
        { "Sec-WebSocket-Key": null },
        { Connection: "keep-alive" },
      ];
      for (const headers of broken) {
        const response = await httpRequest(port, upgradeRequest("/ws", headers));
        assert.equal(response.status, 400, JSON.stringify(headers));
      }
      const old = upgradeRequest().replace("HTTP/1.1", "HTTP/1.0");
      assert.equal((await httpRequest(port, old)).status, 400);
    }),
});

Deno.test({
  name: "an upgrade from a page elsewhere is refused with 403, and the page's own is let in",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port, echo) => {
      const host = `127.0.0.1:${port}`;
      for (const origin of ["http://evil.example", `http://127.0.0.1:${port + 1}`, "null"]) {
        const response = await httpRequest(
          port,
          upgradeRequest("/ws", { Host: host, Origin: origin }),
        );
        assert.equal(response.status, 403, origin);
        for (const [name, value] of SECURITY_HEADERS) {
          assert.equal(response.headers.get(name), value);
        }
      }
      assert.ok(echo.log.some((line) => line.includes("evil.example") && line.endsWith(" 403")));
      // What a request carries reaches the log without its control characters.
      await httpRequest(
        port,
        upgradeRequest("/ws", { Host: host, Origin: "http://\x1b[2J.example" }),
      );
      assert.ok(echo.log.every((line) => !line.includes("\x1b")));
      assert.ok(echo.log.some((line) => line.includes("http://\\x1b[2J.example")));
      for (const origin of [`http://${host}`, "https://chat.example.org"]) {
        await using peer = await WsPeer.open(port, {
          request: upgradeRequest("/ws", { Host: host, Origin: origin }),
        });
        await peer.sendText("hi");
        assert.equal(await peer.readText(), "hi\n");
      }
    }, { allowedOrigins: ["https://chat.example.org"] }),
});

Deno.test({
  name: "the handshake answers the key, and frames sent right behind the request are read",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        const request = encoder.encode(upgradeRequest());
        const frame = encodeFrame(OPCODE.text, encoder.encode("eager"), { mask: true });
        const both = new Uint8Array(request.length + frame.length);
        both.set(request);
        both.set(frame, request.length);
        await conn.write(both);
        let text = "";
        const buffer = new Uint8Array(4096);
        let last = new Uint8Array(0);
        while (!text.includes("eager")) {
          const n = await withDeadline(conn.read(buffer), WAIT_MS, "the echo");
          if (n === null) break;
          last = buffer.slice(0, n);
          text += decoder.decode(last);
        }
        assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
        assert.match(text, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
        // One unmasked text frame: FIN and opcode 1, 6 bytes.
        assert.deepEqual([...last.subarray(-8)], [0x81, 6, ...encoder.encode("eager\n")]);
      } finally {
        conn.close();
      }
    }),
});

Deno.test({
  name: "a message of several lines is several lines, and their answer is one frame",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port) => {
      await using peer = await WsPeer.open(port);
      await peer.sendText("one\ntwo\r\nthree");
      assert.equal(await peer.readText(), "one\ntwo\nthree\n");
      await peer.sendText("frag", { fin: false });
      await peer.sendFrame(OPCODE.continuation, encoder.encode("ment\n"));
      assert.equal(await peer.readText(), "fragment\n");
    }),
});

Deno.test({
  name: "a message over the line limit is answered as too long, and the connection stays",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port) => {
      await using peer = await WsPeer.open(port);
      await peer.sendText("x".repeat(MAX_LINE_BYTES + 1));
      assert.equal(
        await peer.readText(),
        `! Line too long (max ${MAX_LINE_BYTES} bytes); message dropped.\n`,
      );
      await peer.sendText("x".repeat(MAX_LINE_BYTES));
      assert.equal(await peer.readText(), "x".repeat(MAX_LINE_BYTES) + "\n");
    }),
});

/** A client frame header announcing `length` bytes, with a zero mask key (payload as it is). */
function zeroMaskHeader(opcode: number, length: number, fin = true): Uint8Array {
  const header = new Uint8Array(14);
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = 0x80 | 127;
  new DataView(header.buffer).setBigUint64(2, BigInt(length));
  return header;
}

Deno.test({
  name: "a 100 MB message, in one frame or in fragments, streams through holding at most a line",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port, echo) => {
      await using peer = await WsPeer.open(port);
      const block = new Uint8Array(1024 * 1024).fill(0x78);
      const blocks = 100;
      // One frame.
      await peer.send(zeroMaskHeader(OPCODE.text, blocks * block.length));
      for (let i = 0; i < blocks; i++) await peer.send(block);
      assert.match(await peer.readText(), /^! Line too long/);
      // Fragments: the first two fragments' bytes are one line, each later one's another.
      await peer.send(zeroMaskHeader(OPCODE.text, block.length, false));
      await peer.send(block);
      for (let i = 1; i < blocks; i++) {
        await peer.send(zeroMaskHeader(OPCODE.continuation, block.length + 1, false));
        await peer.send(block);
        await peer.send("\n");
      }
      await peer.send(zeroMaskHeader(OPCODE.continuation, 0));
      let answers = 0;
      while (answers < blocks - 1) {
        answers += (await peer.readText()).split("\n").filter((line) => line !== "").length;
      }
      assert.equal(answers, blocks - 1);
      await peer.sendText("still here");
      assert.equal(await peer.readText(), "still here\n");
      assert.ok(echo.mostBuffered <= MAX_LINE_BYTES + 1, `${echo.mostBuffered}`);
    }),
});

Deno.test({
  name: "bad frames are closed with their code, and the server goes on serving",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port, echo) => {
      const cases: [Uint8Array, number][] = [
        [encodeFrame(OPCODE.text, encoder.encode("unmasked")), 1002],
        [encodeFrame(OPCODE.text, new Uint8Array([0x68, 0xff]), { mask: true }), 1007],
        [encodeFrame(OPCODE.binary, new Uint8Array([1, 2]), { mask: true }), 1003],
        [encodeFrame(0x5, new Uint8Array(0), { mask: true }), 1002],
      ];
      for (const [frame, code] of cases) {
        await using peer = await WsPeer.open(port);
        await peer.send(frame);
        assert.equal((await peer.expectClose()).code, code);
      }
      await using peer = await WsPeer.open(port);
      await peer.sendText("fine");
      assert.equal(await peer.readText(), "fine\n");
      assert.equal(echo.links.size, 1);
    }),
});

Deno.test({
  name: "Deno's own WebSocket works end to end, and sends no Origin",
  ...LEAK_CHECKS,
  fn: async () => {
    // What it sends, seen by a plain listener.
    const heard = Promise.withResolvers<string>();
    const listener = net.createServer((socket) => {
      socket.once("data", (chunk: Uint8Array) => {
        heard.resolve(decoder.decode(chunk));
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const probe = new WebSocket(
      `ws://127.0.0.1:${(listener.address() as net.AddressInfo).port}/ws`,
    );
    const probeClosed = new Promise((resolve) => probe.onclose = resolve);
    probe.onerror = () => {};
    const head = await withDeadline(heard.promise, WAIT_MS, "a handshake");
    await probeClosed;
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    assert.doesNotMatch(head, /^origin:/im);

    await withWeb(async (port) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      const messages: string[] = [];
      const got = { wake: () => {} };
      socket.onmessage = (event) => {
        messages.push(event.data);
        got.wake();
      };
      const closed = new Promise<CloseEvent>((resolve) => socket.onclose = resolve);
      await withDeadline(
        new Promise((resolve, reject) => {
          socket.onopen = resolve;
          socket.onerror = reject;
        }),
        WAIT_MS,
        "the socket to open",
      );
      socket.send("hello");
      socket.send("two\nlines");
      await withDeadline(
        new Promise<void>((resolve) => {
          got.wake = () => messages.length === 2 && resolve();
        }),
        WAIT_MS,
        "two answers",
      );
      assert.deepEqual(messages, ["hello\n", "two\nlines\n"]);
      socket.close(1000, "done");
      const event = await withDeadline(closed, WAIT_MS, "the close");
      assert.equal(event.code, 1000);
      assert.ok(event.wasClean);
    });
  },
});

Deno.test({
  name: "a silent socket is pinged and cut, while Deno's WebSocket answers and stays",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port, echo) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      const closed = new Promise((resolve) => socket.onclose = resolve);
      await withDeadline(
        new Promise((resolve) => socket.onopen = resolve),
        WAIT_MS,
        "the socket to open",
      );
      const silent = await WsPeer.open(port);
      const ping = await silent.readFrame();
      assert.equal(ping?.opcode, OPCODE.ping);
      assert.ok(await silent.closedWithin(WAIT_MS));
      await silent.close();
      // Several intervals later, the answering one is still there.
      assert.equal(echo.links.size, 1);
      const answer = new Promise<MessageEvent>((resolve) => socket.onmessage = resolve);
      socket.send("alive");
      assert.equal((await withDeadline(answer, WAIT_MS, "the answer")).data, "alive\n");
      socket.close();
      await closed;
    }, { pingIntervalMs: 50 }),
});

Deno.test({
  name: "with TLS the page is served over HTTPS and the socket works over it",
  ...LEAK_CHECKS,
  fn: async () => {
    const cert = await Deno.readTextFile("test/testdata/localhost.crt");
    const key = await Deno.readTextFile("test/testdata/localhost.key");
    const caCerts = [await Deno.readTextFile("test/testdata/ca.crt")];
    const secure = tls.createSecureContext({ cert, key });
    await withWeb(async (port, echo) => {
      const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts });
      try {
        await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        let text = "";
        const buffer = new Uint8Array(4096);
        while (true) {
          const n = await withDeadline(conn.read(buffer), WAIT_MS, "the page").catch(() => null);
          if (n === null) break;
          text += decoder.decode(buffer.subarray(0, n));
        }
        assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
        assert.ok(text.endsWith(PAGE));
      } finally {
        conn.close();
      }
      const host = `localhost:${port}`;
      await using peer = await WsPeer.open(port, {
        tls: { caCerts },
        request: upgradeRequest("/ws", { Host: host, Origin: `https://${host}` }),
      });
      await peer.sendText("secret");
      assert.equal(await peer.readText(), "secret\n");
      // Plain HTTP at the HTTPS port is told so in words.
      const plain = await httpRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal(plain.status, 400);
      assert.match(plain.body, /https:\/\//);
      assert.ok(echo.log.some((line) => line.includes("plain HTTP at the HTTPS port")));
    }, { tls: secure });
  },
});

Deno.test({
  name: "past the limit of requests under way, a connection is turned away with 503",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port) => {
      const waiting: Deno.Conn[] = [];
      try {
        for (let i = 0; i < 2; i++) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          waiting.push(conn);
          await conn.write(encoder.encode("GET / HTTP/1.1\r\n"));
        }
        // Both count once the server has read from them; a third is one too many.
        let refusal: HttpResponse | null = null;
        for (let i = 0; i < 20 && refusal?.status !== 503; i++) {
          refusal = await httpRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        }
        assert.equal(refusal?.status, 503);
        assert.equal(refusal?.headers.get("retry-after"), "1");
        assert.equal(
          refusal?.body,
          "The server has too many requests under way; try again in a moment.\n",
        );
      } finally {
        for (const conn of waiting) conn.close();
      }
    }, { maxPending: 2 }),
});

Deno.test({
  name: "a refused connection takes no place: when the request under way ends, the next is served",
  ...LEAK_CHECKS,
  fn: () =>
    withWeb(async (port) => {
      const held = await Deno.connect({ hostname: "127.0.0.1", port });
      // Refused ones that never close, each kept until the server's linger (2 s) cuts it.
      const refused: Deno.Conn[] = [];
      try {
        await held.write(encoder.encode("GET / HTTP/1.1\r\n"));
        const buffer = new Uint8Array(4096);
        for (let i = 0; i < 3; i++) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          refused.push(conn);
          await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
          const n = await withDeadline(conn.read(buffer), WAIT_MS, "a refusal");
          const status = decoder.decode(buffer.subarray(0, n ?? 0)).split("\r\n")[0];
          assert.equal(status, "HTTP/1.1 503 Service Unavailable");
        }
        await held.write(encoder.encode("Host: x\r\n\r\n"));
        const n = await withDeadline(held.read(buffer), WAIT_MS, "the response");
        assert.match(decoder.decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1\.1 200 OK\r\n/);
        held.close();
        // The server hears of the close a moment later: a few tries, all well inside the
        // refusals' linger, while they are still open.
        const deadline = Date.now() + 1000;
        let status = 0;
        for (let i = 0; i < 20 && status !== 200 && Date.now() < deadline; i++) {
          status = (await httpRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")).status;
        }
        assert.equal(status, 200);
      } finally {
        try {
          held.close();
        } catch {
          // Closed already.
        }
        for (const conn of refused) conn.close();
      }
    }, { maxPending: 1 }),
});

Deno.test({
  name: "close() closes the connections still sending their request",
  ...LEAK_CHECKS,
  fn: async () => {
    const web = new WebServer({ hostname: "127.0.0.1", port: 0, assets: ASSETS, onLink() {} });
    const { port } = await web.start();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(encoder.encode("GET / HTTP/1.1\r\n"));
      await withDeadline(web.close(), WAIT_MS, "the server to close");
      const n = await withDeadline(
        conn.read(new Uint8Array(10)).catch(() => null),
        WAIT_MS,
        "the end",
      );
      assert.equal(n, null);
    } finally {
      conn.close();
    }
  },
});
