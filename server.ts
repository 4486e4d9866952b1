/**
 * A multi-user chat room over TCP: every line a member types reaches every
 * member, in one order that is the same for all.
 *
 * Try it:
 *
 * ```sh
 * deno run --allow-net server.ts --port 2003
 * nc 127.0.0.1 2003        # the first line you type is your nickname; /help lists commands
 * ```
 *
 * `deno run --allow-net server.ts --help` lists the flags. This file is the
 * entry point only: the server is {@linkcode ChatServer} (in `chat_server.ts`),
 * the flags are read in `server_cli.ts`.
 *
 * @module
 */

import { main } from "./server/server_cli.ts";

export { ChatServer, type ChatServerOptions, runServer } from "./server/chat_server.ts";
export { parseServerArgs, type ServerArgs } from "./server/server_cli.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
