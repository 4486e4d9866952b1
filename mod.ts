/**
 * A multi-user chat room over TCP: every line a member types reaches every
 * member of the room, in one order that is the same for all. Plain `nc` is a
 * complete client; the server can also serve a page for browsers.
 *
 * {@linkcode ChatServer} runs a room inside your program (start it, close it,
 * `await using` it); {@linkcode runServer} runs one until SIGINT, as
 * `deno run --allow-net server.ts` does. It needs `--allow-net`, and
 * `--allow-read --allow-write` for a `dataFile`. `@chat/room/client` connects
 * to a room and `@chat/room/protocol` holds the rules both sides share.
 *
 * @example A room, a member, a message
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatServer } from "jsr:@chat/room";
 * import { ChatClient } from "jsr:@chat/room/client";
 *
 * await using server = new ChatServer({ hostname: "127.0.0.1", port: 0 });
 * const { port } = await server.start();
 *
 * await using client = await ChatClient.connect({ hostname: "127.0.0.1", port });
 * await client.send("alice");
 * await client.send("hello");
 * for await (const line of client.lines()) {
 *   if (line === "alice: hello") break;
 * }
 * assert.equal(server.connectionCount, 1);
 * await server.close(); // members get "* Server is shutting down"
 * ```
 *
 * @module
 */

export { ChatServer, type ChatServerOptions, runServer } from "./server.ts";
export { StoreError } from "./store/store.ts";
