/**
 * Shared files where they outlive one process, end to end: real `server.ts`
 * processes, a TCP member asking for the upload address, the file sent over
 * HTTP as `curl -T` would, and the link fetched. With `--data` the file is
 * still served after a restart; with `--redis` it is served by a process that
 * never saw the upload.
 */

import assert from "node:assert/strict";
import { startRedis } from "../test/redis_test_helpers.ts";
import {
  LEAK_CHECKS,
  Peer,
  type ServerProcess,
  startServer,
  WAIT_MS,
  withDeadline,
} from "../test/test_helpers.ts";

/** What `--data` needs besides the network: the data file and the files beside it. */
const DATA_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write"];

/** Every byte value, 300 KB of them: a file no text decoding would keep. */
const BYTES = new Uint8Array(300_000).map((_, i) => (i * 131 + 7) & 0xff);

/** The port of the page a server prints. */
async function webPortOf(server: ServerProcess): Promise<number> {
  const open = await server.stdout.waitFor((line) => line.startsWith("Open http://"));
  return Number(/:(\d+)\//.exec(open)?.[1]);
}

/** An HTTP client of its own, closed after `fn`, so that no pooled connection outlives a test. */
async function withHttp<T>(fn: (http: Deno.HttpClient) => Promise<T>): Promise<T> {
  const http = Deno.createHttpClient({});
  try {
    return await fn(http);
  } finally {
    http.close();
  }
}

/**
 * `member` asks for an upload address and sends `bytes` to it as `name`; resolves with the link
 * once the room is told of it.
 */
async function upload(
  member: Peer,
  name: string,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<string> {
  await member.send("/upload\n");
  const [offer] = (await member.readUntil(/^\* Upload within 10 minutes: /)).slice(-1);
  const address = /curl -T FILE (\S+)$/.exec(offer!)?.[1];
  assert.ok(address !== undefined, offer);
  const answer = await withHttp(async (client) => {
    const response = await withDeadline(
      fetch(`${address}/${name}`, { method: "PUT", body: bytes, client }),
      WAIT_MS,
      "the upload's answer",
    );
    return { status: response.status, text: await response.text() };
  });
  assert.equal(answer.status, 201, answer.text);
  const link = answer.text.trim();
  const [shared] = (await member.readUntil(/ shared /)).slice(-1);
  assert.match(shared!, /^\* alice shared data\.bin \(300 KB\): /);
  assert.equal(shared, `* alice shared ${name} (300 KB): ${link}`);
  return link;
}

/** GETs the link's path from the page at `webPort`: its status and bytes. */
function download(webPort: number, link: string): Promise<{ status: number; bytes: Uint8Array }> {
  return withHttp(async (client) => {
    const response = await withDeadline(
      fetch(`http://127.0.0.1:${webPort}${new URL(link).pathname}`, { client }),
      WAIT_MS,
      "the download",
    );
    return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) };
  });
}

Deno.test({
  name: "with --data, a shared file is kept in FILE.files and served the same after a restart",
  ...LEAK_CHECKS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "files_stores_test_" });
    const data = `${dir}/chat.db`;
    try {
      let link: string;
      {
        await using server = await startServer(["--quiet", "--data", data], DATA_PERMISSIONS);
        await using alice = await Peer.join(server.port, "alice");
        link = await upload(alice, "data.bin", BYTES);
        const id = /\/files\/([0-9a-f]{32})\//.exec(link)?.[1];
        const kept = [];
        for await (const entry of Deno.readDir(`${data}.files`)) kept.push(entry.name);
        assert.deepEqual(kept.sort(), [id, `${id}.json`]);
        assert.equal((await Deno.stat(`${data}.files`)).mode! & 0o777, 0o700);
      }
      await using server = await startServer(["--quiet", "--data", data], DATA_PERMISSIONS);
      const got = await download(await webPortOf(server), link);
      assert.equal(got.status, 200);
      assert.deepEqual(got.bytes, BYTES);
      await using bob = await Peer.join(server.port, "bob");
      await bob.send("/files\n");
      await bob.readUntil(/^\* 1 file in #lobby: data\.bin \(300 KB, alice, \d\d:\d\d\)$/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "with --redis, a file uploaded through one process is served and listed by another",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using one = await startServer(["--quiet", "--redis", redis.url()]);
    await using two = await startServer(["--quiet", "--redis", redis.url()]);
    await using alice = await Peer.join(one.port, "alice");
    await using bob = await Peer.join(two.port, "bob");
    await alice.readUntil("* bob joined the chat");
    const link = await upload(alice, "data.bin", BYTES);
    // The link is posted in the room's one order, so bob, on the other process, has it too.
    await bob.readUntil(`* alice shared data.bin (300 KB): ${link}`);
    assert.ok(link.startsWith(`http://127.0.0.1:${await webPortOf(one)}/files/`));
    const got = await download(await webPortOf(two), link);
    assert.equal(got.status, 200);
    assert.deepEqual(got.bytes, BYTES);
    await bob.send("/files\n");
    await bob.readUntil(/^\* 1 file in #lobby: data\.bin \(300 KB, alice, \d\d:\d\d\)$/);
    // Removed through the other process: gone for both.
    await bob.send(`/unshare ${link}\n`);
    await bob.readUntil(/^! Only alice or an operator can remove data\.bin$/);
    await alice.send(`/unshare ${link}\n`);
    await alice.readUntil("* alice removed data.bin");
    assert.equal((await download(await webPortOf(two), link)).status, 404);
  },
});
