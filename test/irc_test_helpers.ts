/**
 * Raw IRC clients for the IRC door's tests: a {@linkcode Peer} (a plain TCP
 * connection that reads whole lines, the CR of CR LF dropped) that speaks
 * IRC's registration, and a way to know that every answer to what was sent
 * has come (a PING, whose PONG the door sends after them).
 *
 * @module
 */

import { ChatServer } from "../server.ts";
import assert from "node:assert/strict";
import { Peer, type ServerProcess, startServer } from "./test_helpers.ts";

let syncs = 0;

/** Sends lines ended by CR LF. */
export async function sendIrc(peer: Peer, ...lines: string[]): Promise<void> {
  await peer.send(lines.map((line) => `${line}\r\n`).join(""));
}

/**
 * Sends a PING and returns every line that came before its PONG: the
 * answers to what was sent before it, and what others did meanwhile.
 */
export async function syncIrc(peer: Peer): Promise<string[]> {
  const token = `sync-${++syncs}`;
  await sendIrc(peer, `PING ${token}`);
  const lines = await peer.readUntil(new RegExp(` PONG \\S+ :?${token}$`));
  return lines.slice(0, -1);
}

/**
 * Connects to the IRC port, registers as `nick` and reads until the end of
 * the names of `#lobby`, which the door shows after the welcome; returns the
 * peer and the lines read.
 */
export async function ircJoin(port: number, nick: string): Promise<[Peer, string[]]> {
  const peer = await Peer.connect(port);
  await sendIrc(peer, "CAP LS 302", `NICK ${nick}`, `USER ${nick} 0 * :${nick} the tester`);
  await peer.expect(/ CAP \* LS :/);
  await sendIrc(peer, "CAP END");
  const lines = await peer.readUntil(/ 366 \S+ #lobby /);
  return [peer, lines];
}

/**
 * Runs `body` against an in-process server on 127.0.0.1 that calls itself
 * `irc.test`, with the IRC listener's port and the line port's; closes it after.
 */
export async function withIrc(
  body: (ircPort: number, linePort: number) => Promise<void>,
): Promise<void> {
  const server = new ChatServer({
    hostname: "127.0.0.1",
    port: 0,
    ircPort: 0,
    ircServerName: "irc.test",
  });
  await server.start();
  try {
    await body((server.ircAddr as Deno.NetAddr).port, server.addr.port);
  } finally {
    await server.close();
  }
}

/**
 * Runs `body` against a fresh quiet `server.ts` process (with `args`) whose
 * IRC listener is on a free port; stops it after, whatever happens.
 */
export async function withIrcServer(
  args: string[],
  body: (server: ServerProcess & { ircPort: number }) => Promise<void>,
  options: { console?: boolean } = {},
): Promise<void> {
  const server = await startServer(["--quiet", "--no-web", ...args], ["--allow-net"], options);
  try {
    assert.ok(server.ircPort !== null, "no IRC port printed");
    await body(server as ServerProcess & { ircPort: number });
  } finally {
    await server.stop();
  }
}
