/**
 * Sharing files end to end: a TCP member asks for an upload address, `curl`
 * uploads to it on the page's port, the room gets the link, and the link
 * serves the same bytes, so that no browser runs them; each limit with its
 * HTTP status and its line; expiry, `/unshare`, stalled and broken uploads.
 */

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { ChatServer, type ChatServerOptions } from "../server.ts";
import { LEAK_CHECKS, Peer, WAIT_MS } from "../test/test_helpers.ts";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5]);
const SHARED = /^\* (\S+) shared (.+) \((.+)\): (http:\/\/\S+)$/;
const TOKEN_LINE =
  /^\* Upload within 10 minutes: curl -T FILE (http:\/\/\S+\/upload\/[0-9a-f]{32})$/;

/** Runs `body` against an in-process server with a web port, then closes it. */
async function withFiles(
  options: ChatServerOptions,
  body: (port: number, server: ChatServer) => Promise<void>,
): Promise<void> {
  const server = new ChatServer({
    hostname: "127.0.0.1",
    port: 0,
    webPort: 0,
    rate: 0,
    consoleOutput: () => {},
    ...options,
  });
  try {
    const { port } = await server.start();
    await body(port, server);
  } finally {
    await server.close();
  }
}

/** Asks for an upload address as `peer` and returns it. */
async function uploadAddress(peer: Peer, command = "/upload"): Promise<string> {
  await peer.send(`${command}\n`);
  const line = (await peer.readUntil(TOKEN_LINE)).at(-1) as string;
  return (TOKEN_LINE.exec(line) as RegExpExecArray)[1] as string;
}

/** Runs curl with `args`; resolves with its exit code and output. */
async function curl(args: string[], input?: Uint8Array): Promise<{ code: number; out: string }> {
  const child = new Deno.Command("curl", {
    args: ["-sS", "--max-time", String(WAIT_MS / 1000), ...args],
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(input).catch(() => {});
    await writer.close().catch(() => {});
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, out: decoder.decode(stdout) + decoder.decode(stderr) };
}

/** Writes `bytes` to a temporary file named `name` and returns its path. */
async function tempFile(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeFile(path, bytes);
  return path;
}

/** curl's `-w` that prints the status after the body. */
const STATUS = ["-w", "\\n%{http_code}"];

Deno.test({
  name: "curl uploads with an address from /upload; the room gets the link, which serves the " +
    "same bytes, a picture inline and anything else as an attachment",
  ...LEAK_CHECKS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "chat-files-" });
    try {
      await withFiles({}, async (port) => {
        await using alice = await Peer.join(port, "alice");
        await using bob = await Peer.join(port, "bob");
        await alice.expect("* bob joined the chat");
        const address = await uploadAddress(alice);
        const picture = await tempFile(dir, "cat.png", PNG);
        const upload = await curl(["-T", picture, address]);
        assert.equal(upload.code, 0, upload.out);
        // No name was sent: a picture is `file` with its type's extension.
        const link = upload.out.trim();
        assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/files\/[0-9a-f]{32}\/file\.png$/);
        assert.equal(await bob.expect(SHARED), `* alice shared file.png (13 bytes): ${link}`);
        assert.equal(await alice.expect(SHARED), `* alice shared file.png (13 bytes): ${link}`);
        const got = await fetch(link);
        assert.equal(got.status, 200);
        assert.deepEqual(new Uint8Array(await got.arrayBuffer()), PNG);
        assert.equal(got.headers.get("content-type"), "image/png");
        assert.match(got.headers.get("content-disposition") ?? "", /^inline; /);
        assert.equal(got.headers.get("content-security-policy"), "sandbox; default-src 'none'");
        assert.equal(got.headers.get("x-content-type-options"), "nosniff");
        assert.match(got.headers.get("cache-control") ?? "", /max-age=\d{5}, immutable/);
        // The address was good for one file.
        const again = await curl([...STATUS, "-T", picture, address]);
        assert.match(again.out, /\n404$/);
        // HEAD, a range, a range past the end.
        const head = await fetch(link, { method: "HEAD" });
        assert.equal(head.headers.get("content-length"), String(PNG.length));
        assert.equal((await head.arrayBuffer()).byteLength, 0);
        const part = await fetch(link, { headers: { range: "bytes=8-" } });
        assert.equal(part.status, 206);
        assert.equal(part.headers.get("content-range"), `bytes 8-12/${PNG.length}`);
        assert.deepEqual(new Uint8Array(await part.arrayBuffer()), PNG.subarray(8));
        const past = await fetch(link, { headers: { range: "bytes=99-" } });
        assert.equal(past.status, 416);
        await past.body?.cancel();
        // A page, named with a trailing slash as curl does, and a picture in disguise.
        const html = await tempFile(
          dir,
          "page.html",
          new TextEncoder().encode("<script>alert(1)</script>"),
        );
        const pageLink = (await curl(["-T", html, `${await uploadAddress(alice)}/`])).out.trim();
        assert.match(pageLink, /\/page\.html$/);
        const page = await fetch(pageLink);
        assert.equal(page.headers.get("content-type"), "application/octet-stream");
        assert.match(
          page.headers.get("content-disposition") ?? "",
          /^attachment; filename="page\.html"/,
        );
        assert.equal(page.headers.get("content-security-policy"), "sandbox; default-src 'none'");
        await page.body?.cancel();
        await bob.readUntil(`* alice shared page.html (25 bytes): ${pageLink}`);
        const svg = await tempFile(dir, "x.png", new TextEncoder().encode("<svg onload=alert(1)>"));
        const svgLink = (await curl(["-T", svg, `${await uploadAddress(alice)}/`])).out.trim();
        const disguised = await fetch(svgLink);
        assert.equal(disguised.headers.get("content-type"), "application/octet-stream");
        assert.match(disguised.headers.get("content-disposition") ?? "", /^attachment; /);
        await disguised.body?.cancel();
        await alice.readUntil(/^\* alice shared x\.png/);
        await alice.send("/files\n");
        assert.match(
          await alice.expect(/^\* 3 files in #lobby: /),
          /^\* 3 files in #lobby: file\.png \(13 bytes, alice, \d\d:\d\d\), page\.html \(25 bytes, alice, \d\d:\d\d\), x\.png \(21 bytes, alice, \d\d:\d\d\)$/,
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "/upload NAME shares privately: the two members see it, nobody else",
  ...LEAK_CHECKS,
  async fn() {
    await withFiles({}, async (port) => {
      await using alice = await Peer.join(port, "alice");
      await using bob = await Peer.join(port, "bob");
      await using carol = await Peer.join(port, "carol");
      await alice.readUntil("* carol joined the chat");
      await bob.readUntil("* carol joined the chat");
      await alice.send("/upload nobody\n");
      await alice.expect("! No such user: nobody");
      const address = await uploadAddress(alice, "/upload bob");
      const put = await fetch(`${address}/notes.txt`, { method: "PUT", body: "private notes" });
      const link = (await put.text()).trim();
      assert.equal(put.status, 201);
      assert.equal(
        await bob.expect(/^\(private\)/),
        `(private) * alice shared notes.txt (13 bytes): ${link}`,
      );
      assert.equal(
        await alice.expect(/^\(private to/),
        `(private to bob) * alice shared notes.txt (13 bytes): ${link}`,
      );
      // Carol's next line is her own: she heard nothing of it.
      await carol.send("still here\n");
      await carol.expect("carol: still here");
      await carol.send("/files\n");
      await carol.expect("* No files in #lobby");
    });
  },
});

Deno.test({
  name: "limits: too large by its length or the moment it passes (413), no room (507), too " +
    "many addresses, sharing off, muted: each with its line",
  ...LEAK_CHECKS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "chat-files-" });
    try {
      await withFiles({ operatorPassword: "swordfish" }, async (port, server) => {
        await using alice = await Peer.join(port, "alice");
        const big = await tempFile(dir, "big.bin", new Uint8Array(10 * 1024 * 1024 + 1));
        const declared = await curl([...STATUS, "-T", big, await uploadAddress(alice)]);
        assert.match(declared.out, /File too large \(max 10 MiB\)\n+413$/, declared.out);
        await alice.expect("! File too large (max 10 MiB)");
        // Chunked (from standard input): cut the moment it passes.
        const streamed = await curl(
          [...STATUS, "-T", "-", await uploadAddress(alice)],
          new Uint8Array(10 * 1024 * 1024 + 1),
        );
        assert.match(streamed.out, /413$/);
        await alice.expect("! File too large (max 10 MiB)");
        // Two uploads under way at once at most: a third is refused (429) while they last.
        const webPort = (server.webAddr as Deno.NetAddr).port;
        const slow: Socket[] = [];
        for (let i = 0; i < 2; i++) {
          slow.push(await slowUpload(webPort, new URL(await uploadAddress(alice)).pathname));
        }
        const small = await tempFile(dir, "small.txt", new TextEncoder().encode("hi"));
        const third = await curl([...STATUS, "-T", small, await uploadAddress(alice)]);
        assert.match(third.out, /Too many uploads; try again later\n+429$/, third.out);
        await alice.expect("! Too many uploads; try again later");
        for (const socket of slow) socket.destroy();
        await alice.expect(/^! Upload of slow\.bin stopped \(the connection broke\)/);
        await alice.expect(/^! Upload of slow\.bin stopped \(the connection broke\)/);
        // And 20 addresses an hour: 5 were given above.
        for (let i = 5; i < 20; i++) await uploadAddress(alice);
        await alice.send("/upload\n");
        await alice.expect("! Too many uploads; try again later");
        server.runConsole("/mute alice 10m");
        await alice.readUntil(/^\* alice was muted/);
        await alice.send("/upload\n");
        await alice.expect(/^! You are muted \(until \d\d:\d\d\)$/);
      });
      await withFiles({ filesQuota: 100 }, async (port) => {
        await using alice = await Peer.join(port, "alice");
        const file = await tempFile(dir, "a.bin", new Uint8Array(101));
        const full = await curl([...STATUS, "-T", file, await uploadAddress(alice)]);
        assert.match(full.out, /507$/);
        await alice.expect("! No room for files right now; try again later");
        // Within the quota it goes, and the next one finds no room: nothing is evicted early.
        const fits = await tempFile(dir, "b.bin", new Uint8Array(60));
        assert.equal((await curl(["-T", fits, await uploadAddress(alice)])).code, 0);
        await alice.expect(SHARED);
        const next = await curl([...STATUS, "-T", fits, await uploadAddress(alice)]);
        assert.match(next.out, /507$/);
        await alice.expect("! No room for files right now; try again later");
      });
      await withFiles({ files: false }, async (port) => {
        await using alice = await Peer.join(port, "alice");
        await alice.send("/upload\n");
        await alice.expect("! File sharing is off on this server");
        await alice.send("/files\n");
        await alice.expect("! File sharing is off on this server");
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a file expires and its link answers 404; /unshare by its sharer removes it, by " +
    "another member not",
  ...LEAK_CHECKS,
  async fn() {
    await withFiles({ fileTtlMs: 1500 }, async (port) => {
      await using alice = await Peer.join(port, "alice");
      const put = await fetch(`${await uploadAddress(alice)}/soon.txt`, {
        method: "PUT",
        body: "gone soon",
      });
      const link = (await put.text()).trim();
      const first = await fetch(link);
      assert.equal(first.status, 200);
      await first.body?.cancel();
      // Asked until it answers 404, within the deadline.
      const deadline = Date.now() + WAIT_MS;
      let status = 200;
      while (status !== 404 && Date.now() < deadline) {
        const response = await fetch(link);
        status = response.status;
        await response.body?.cancel();
      }
      assert.equal(status, 404);
      await alice.send("/files\n");
      await alice.readUntil("* No files in #lobby");
    });
    await withFiles({}, async (port) => {
      await using alice = await Peer.join(port, "alice");
      await using bob = await Peer.join(port, "bob");
      await alice.expect("* bob joined the chat");
      const put = await fetch(`${await uploadAddress(alice)}/notes.txt`, {
        method: "PUT",
        body: "notes",
      });
      const link = (await put.text()).trim();
      const id = (/\/files\/([0-9a-f]{32})\//.exec(link) as RegExpExecArray)[1] as string;
      await bob.readUntil(/shared notes\.txt/);
      await bob.send(`/unshare ${id}\n`);
      await bob.expect("! Only alice or an operator can remove notes.txt");
      await bob.send("/unshare nothing\n");
      await bob.expect("! No such file: nothing");
      await alice.send(`/unshare ${link}\n`);
      await alice.readUntil("* alice removed notes.txt");
      await bob.expect("* alice removed notes.txt");
      const gone = await fetch(link);
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
    });
  },
});

/**
 * Starts an upload to `path` on `port` that sends its head and a few bytes
 * of a body of 100,000, and then waits; resolves once the server took it
 * (its 100 Continue).
 */
function slowUpload(port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("error", () => {});
    socket.once("data", () => resolve(socket));
    socket.once("close", () => reject(new Error("the server closed a slow upload")));
    socket.write(
      `PUT ${path}/slow.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n` +
        "Expect: 100-continue\r\n\r\n",
    );
  });
}

/** Opens a raw connection to `port`, sends `text`, and resolves with what comes back until it closes. */
function rawExchange(port: number, text: string, end: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let got = "";
    socket.on("data", (chunk) => got += chunk.toString("latin1"));
    socket.on("error", reject);
    socket.on("close", () => resolve(got));
    socket.write(text, () => {
      if (end) socket.destroy();
    });
  });
}

Deno.test({
  name: "an upload that stalls is cut (408), one whose connection breaks too, and nothing of " +
    "either is kept",
  ...LEAK_CHECKS,
  async fn() {
    await withFiles({ uploadStallMs: 300 }, async (port, server) => {
      const webPort = (server.webAddr as Deno.NetAddr).port;
      await using alice = await Peer.join(port, "alice");
      const path = new URL(await uploadAddress(alice)).pathname;
      const stalled = await rawExchange(
        webPort,
        `PUT ${path}/slow.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789`,
        false,
      );
      assert.match(stalled, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      await alice.expect(
        "! Upload of slow.bin stopped (too slow: less than 16 KiB in 0.3 s); nothing was shared",
      );
      const broken = new URL(await uploadAddress(alice)).pathname;
      await rawExchange(
        webPort,
        `PUT ${broken}/cut.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789`,
        true,
      );
      await alice.expect(
        "! Upload of cut.bin stopped (the connection broke); nothing was shared",
      );
      await alice.send("/files\n");
      await alice.expect("* No files in #lobby");
    });
  },
});
