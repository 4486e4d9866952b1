/**
 * A client of a chat room, or of any server that speaks UTF-8 lines over
 * TCP: {@linkcode ChatClient} connects (over TLS when asked), yields the
 * lines the server sends and sends yours; {@linkcode ConnectError} says why a
 * connection could not be opened. It needs `--allow-net`.
 *
 * The terminal client, with its line editor, is `client.ts`:
 * `deno run --allow-net client.ts HOST PORT`.
 *
 * @example Connect, with a timeout, and tell a refused connection apart
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatServer } from "jsr:@chat/room";
 * import { ChatClient, ConnectError } from "jsr:@chat/room/client";
 *
 * const server = new ChatServer({ hostname: "127.0.0.1", port: 0 });
 * const { port } = await server.start();
 * await server.close(); // nothing listens on that port now
 *
 * try {
 *   await ChatClient.connect({ hostname: "127.0.0.1", port, timeoutMs: 2000 });
 *   assert.fail("connected to a closed port");
 * } catch (error) {
 *   assert.ok(error instanceof ConnectError);
 *   assert.equal(error.message, `Cannot connect to 127.0.0.1:${port}: connection refused`);
 * }
 * ```
 *
 * @module
 */

export { ChatClient, type ChatClientOptions, ConnectError } from "./client/chat_client.ts";
