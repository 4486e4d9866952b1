/**
 * A terminal chat client: prints every line the server sends while you type.
 * It works with any line-based TCP server, not only `server.ts`.
 *
 * Try it:
 *
 * ```sh
 * deno run --allow-net client.ts 127.0.0.1 2003 --name alice
 * printf 'bob\nhello\n' | deno run --allow-net client.ts   # post one line and leave
 * deno run --allow-net --allow-sys client.ts --serve        # host a room and join it
 * ```
 *
 * This file is the entry point; the client's parts are in modules of their
 * own: `chat_client.ts` (the connection: {@linkcode ChatClient}),
 * `client_cli.ts` (the command line and `main`), `client_session.ts` (the
 * session and its reconnections), `line_format.ts` (how a received line is
 * shown), `terminal_console.ts` and `plain_console.ts` (the line editor on a
 * terminal, plain lines otherwise).
 *
 * @module
 */

import { main } from "./client/client_cli.ts";

export {
  ChatClient,
  type ChatClientOptions,
  CLIENT_MAX_LINE_BYTES,
  ConnectError,
  QUIT_WAIT_MS,
} from "./client/chat_client.ts";
export { type ClientArgs, parseClientArgs, parsePort } from "./client/client_cli.ts";
export {
  PASSWORD_VARIABLE,
  RECONNECT_MAX_MS,
  RECONNECT_MIN_MS,
  reconnectDelay,
} from "./client/client_session.ts";
export { type DisplayOptions, formatLine, printable } from "./client/line_format.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
