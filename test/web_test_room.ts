/**
 * The room a browser test talks to: a page URL, a TCP port for raw members,
 * and a way to restart the chat server under the page.
 *
 * It is the real `server.ts`, serving the page and its WebSocket itself.
 *
 * @module
 */

import { startServer } from "./test_helpers.ts";

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
  /** More `server.ts` flags, such as `["--password-file", "test/testdata/password.txt"]`. */
  args?: string[];
  /** Deno permissions for `server.ts`. @default {["--allow-net"]} */
  permissions?: string[];
}

/**
 * The room: it runs `server.ts --host 127.0.0.1 --port 0 --web-port 0` and
 * reads `Chat server listening on HOST:PORT` and
 * `Open http://HOST:PORT/ in a browser` from its output.
 */
export async function startWebRoom(options: WebRoomOptions = {}): Promise<WebRoom> {
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
