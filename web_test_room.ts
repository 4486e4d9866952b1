/**
 * The room a browser test talks to: a page URL, a TCP port for raw members,
 * and a way to restart the chat server under the page.
 *
 * Until `server.ts` serves the page itself, {@linkcode startStandIn} stands
 * in for it: the real `server.ts` as a subprocess for the chat, and beside it
 * a small HTTP server on 127.0.0.1 that serves {@linkcode WEB_ASSETS} with the
 * page's Content-Security-Policy and bridges each `/ws` WebSocket to its own
 * TCP connection to the chat (each message from the browser becomes a line,
 * the chat's output goes back as messages of whole lines). Once `server.ts`
 * takes `--web-port`, {@linkcode startWebRoom} switches to
 * {@linkcode startServerRoom} and the tests run against the real thing.
 *
 * @module
 */

import { WEB_ASSETS } from "./web_assets.ts";
import { type ServerProcess, startServer, WAIT_MS, withDeadline } from "./test_helpers.ts";

/** The Content-Security-Policy the page is served with. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A chat room with its page, for one test. */
export interface WebRoom {
  /** The page's address, such as `http://127.0.0.1:41234/`. */
  pageUrl: string;
  /** The chat server's TCP port, for `Peer` members. */
  tcpPort: number;
  /**
   * Stops the chat server (members get `* Server is shutting down` and are
   * cut off) and starts it again on the same ports, with nobody in it.
   */
  restart(): Promise<void>;
  /** Stops everything this room started; safe to call again. */
  stop(): Promise<void>;
  /** Stops the room, as `stop()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** How a room's chat server runs. */
export interface WebRoomOptions {
  /** More `server.ts` flags, such as `["--password-file", "testdata/password.txt"]`. */
  args?: string[];
  /** Deno permissions for `server.ts`. @default {["--allow-net"]} */
  permissions?: string[];
}

/** The room the browser tests use: the stand-in until `server.ts` serves the page. */
export function startWebRoom(options: WebRoomOptions = {}): Promise<WebRoom> {
  return startStandIn(options);
}

/**
 * The page's answer to an HTTP request, as the real server should give it:
 * `GET /`, `/app.js`, ... from {@linkcode WEB_ASSETS} with the CSP and
 * `nosniff`, 404 for any other path, 405 for other methods.
 */
export function serveWebAsset(request: Request): Response {
  const asset = WEB_ASSETS.get(new URL(request.url).pathname);
  if (asset === undefined) return new Response("Not found\n", { status: 404 });
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  return new Response(request.method === "HEAD" ? null : asset.body, {
    headers: {
      "content-type": asset.type,
      "content-security-policy": PAGE_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    },
  });
}

const encoder = new TextEncoder();

/** One browser's WebSocket and its TCP connection to the chat. */
interface Bridge {
  socket: WebSocket;
  done: Promise<void>;
}

/**
 * Starts the stand-in: `server.ts` on 127.0.0.1 and a free TCP port, and an
 * HTTP server on another free port serving the page and bridging `/ws` to
 * the chat. A bridge opens its TCP connection when the browser connects, so
 * after `restart()` the page is back only when it reconnects by itself; while
 * the chat is down, `/ws` answers 502 and the browser's attempt fails.
 */
export async function startStandIn(options: WebRoomOptions = {}): Promise<WebRoom> {
  const args = ["--quiet", ...(options.args ?? [])];
  const permissions = options.permissions ?? ["--allow-net"];
  let chat: ServerProcess | null = await startServer(args, permissions);
  const tcpPort = chat.port;
  const bridges = new Set<Bridge>();

  const handler = async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname !== "/ws") return serveWebAsset(request);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("WebSocket only\n", { status: 426 });
    }
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port: tcpPort });
    } catch {
      return new Response("The chat server is down\n", { status: 502 });
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    const bridge: Bridge = { socket, done: pipe(socket, conn) };
    bridges.add(bridge);
    bridge.done.finally(() => bridges.delete(bridge));
    return response;
  };
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const http = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => listening.resolve(addr),
  }, handler);
  const { port: webPort } = await listening.promise;

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const { socket } of bridges) closeSocket(socket);
      await withDeadline(
        Promise.all([...bridges].map((bridge) => bridge.done)),
        WAIT_MS,
        "the stand-in's WebSockets to close",
      );
      await http.shutdown();
      await chat?.stop();
      chat = null;
    })();
    return stopping;
  };
  return {
    pageUrl: `http://127.0.0.1:${webPort}/`,
    tcpPort,
    async restart() {
      await chat?.stop();
      chat = null;
      chat = await startServer([...args, "--port", String(tcpPort)], permissions);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Closes a WebSocket unless it is closing already. */
function closeSocket(socket: WebSocket): void {
  if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) {
    socket.close(1001, "going away");
  }
}

/**
 * Pipes a browser's WebSocket to a TCP connection both ways until either
 * ends; resolves when both are closed.
 */
async function pipe(socket: WebSocket, conn: Deno.TcpConn): Promise<void> {
  let writes = Promise.resolve();
  const closed = new Promise<void>((resolve) => {
    socket.addEventListener("close", () => resolve(), { once: true });
  });
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    const line = encoder.encode(`${event.data}\n`);
    writes = writes.then(() => writeAll(conn, line)).catch(() => {});
  });
  // An upgraded socket can send only once open; the chat's greeting is often quicker.
  const opened = new Promise<boolean>((resolve) => {
    if (socket.readyState === WebSocket.OPEN) resolve(true);
    socket.addEventListener("open", () => resolve(true), { once: true });
    socket.addEventListener("close", () => resolve(false), { once: true });
  });
  const reading = (async () => {
    if (!(await opened)) return;
    const decoder = new TextDecoder();
    let partial = "";
    try {
      for await (const chunk of conn.readable) {
        const text = partial + decoder.decode(chunk, { stream: true });
        const end = text.lastIndexOf("\n") + 1;
        partial = text.slice(end);
        if (end > 0 && socket.readyState === WebSocket.OPEN) socket.send(text.slice(0, end));
      }
    } catch {
      // Closed from our side because the browser left.
    }
    // The chat closed the connection: so does the page's socket.
    closeSocket(socket);
  })();
  await closed;
  await writes;
  try {
    conn.close();
  } catch {
    // The readable closed it when the chat hung up.
  }
  await reading;
}

async function writeAll(conn: Deno.TcpConn, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length;) offset += await conn.write(data.subarray(offset));
}

/**
 * The real thing, for when `server.ts` serves the page: it runs
 * `server.ts --host 127.0.0.1 --port 0 --web-port 0` and reads
 * `Chat server listening on HOST:PORT` and `Open http://HOST:PORT/ in a browser`
 * from its output. Not used yet: `server.ts` on this branch has no `--web-port`.
 */
export async function startServerRoom(options: WebRoomOptions = {}): Promise<WebRoom> {
  const args = ["--quiet", ...(options.args ?? [])];
  const permissions = options.permissions ?? ["--allow-net"];
  const start = async (tcpPort: number, webPort: number) => {
    const server = await startServer(
      [...args, "--port", String(tcpPort), "--web-port", String(webPort)],
      permissions,
    );
    try {
      const open = await server.stdout.waitFor((line) => /^Open https?:\/\//.test(line));
      const pageUrl = open.split(" ")[1] as string;
      return { server, pageUrl, webPort: Number(new URL(pageUrl).port) };
    } catch (error) {
      await server.stop();
      throw error;
    }
  };
  let current: Awaited<ReturnType<typeof start>> | null = await start(0, 0);
  const { pageUrl, webPort } = current;
  const tcpPort = current.server.port;
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await current?.server.stop();
      current = null;
    })();
    return stopping;
  };
  return {
    pageUrl,
    tcpPort,
    async restart() {
      await current?.server.stop();
      current = null;
      current = await start(tcpPort, webPort);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
