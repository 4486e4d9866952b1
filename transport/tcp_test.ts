import assert from "node:assert/strict";
import type net from "node:net";
import type { Chat } from "../core/chat.ts";
import { TcpReader } from "./tcp.ts";
import {
  LEAK_CHECKS,
  memoryChat,
  MemoryLink,
  WAIT_MS,
  withDeadline,
} from "../test/test_helpers.ts";

const IAC = 255;
const IP = 244;
const WILL = 251;
const WONT = 252;
const DO = 253;
const TIMING_MARK = 6;

const encoder = new TextEncoder();

/** A core with no cluster, no password, no flood control and no log. */
function chat(): Chat {
  return memoryChat({
    nameTimeoutMs: WAIT_MS,
    maxLineBytes: 100,
    maxQueueBytes: 65536,
    history: 0,
  });
}

/**
 * A socket in memory, admitted to `core` and read through `reader` as
 * TcpListener does, once its greeting is written (as it is before a real
 * socket's first bytes are read).
 */
async function admitted(core: Chat, reader: TcpReader): Promise<MemoryLink & net.Socket> {
  const socket = new MemoryLink() as MemoryLink & net.Socket;
  const member = core.accept(socket, socket.remoteAddress, socket.remotePort, () => socket);
  assert.ok(member !== null);
  core.listenTo(socket, member, reader.events);
  core.greet(member);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(socket.writes.length, 1, "the greeting");
  return socket;
}

/** The symbols a socket carries, by description. */
function symbols(socket: object): (string | undefined)[] {
  return Object.getOwnPropertySymbols(socket).map((symbol) => symbol.description);
}

Deno.test({
  name: "a TCP connection's telnet commands are answered once each and never reach the core",
  ...LEAK_CHECKS,
  fn: async () => {
    const core = chat();
    const socket = await admitted(core, new TcpReader(core.events));
    // DO ECHO, twice, around the name.
    socket.emit("data", new Uint8Array([IAC, DO, 1, ...encoder.encode("alice\n"), IAC, DO, 1]));
    await new Promise((resolve) => setTimeout(resolve, 0));
    const writes = socket.writes.map((write) => [...write]);
    assert.deepEqual(writes[1], [IAC, WONT, 1], "the answer, once, before the welcome");
    assert.equal(writes.filter((write) => write[0] === IAC).length, 1);
    assert.match(socket.text, /Welcome, alice! Type <quit> to leave\.\n$/);
    await core.shutdown(0);
  },
});

Deno.test({
  name:
    "telnet's Ctrl+C over TCP ends the session as the quit word does, after the lines before it",
  ...LEAK_CHECKS,
  fn: async () => {
    const core = chat();
    const socket = await admitted(core, new TcpReader(core.events));
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.emit(
      "data",
      new Uint8Array([...encoder.encode("alice\nhi\n"), IAC, IP, 120, IAC, DO, TIMING_MARK]),
    );
    await withDeadline(closed, WAIT_MS, "the goodbye");
    assert.deepEqual(socket.text.split("\n").slice(1), [
      "\uFFFD\uFFFD\u0006Welcome, alice! Type <quit> to leave.",
      "alice: hi",
      "* Goodbye, alice!",
      "",
    ]);
    assert.deepEqual([...(socket.writes[1] as Uint8Array)], [IAC, WILL, TIMING_MARK]);
    await core.shutdown(0);
  },
});

Deno.test({
  name: "a TCP connection carries telnet's state only once its peer speaks telnet",
  ...LEAK_CHECKS,
  fn: async () => {
    const core = chat();
    const socket = await admitted(core, new TcpReader(core.events));
    socket.emit("data", encoder.encode("alice\nhello\n"));
    assert.ok(!symbols(socket).includes("telnet"), "an idle connection gained telnet's state");
    socket.emit("data", new Uint8Array([IAC, DO, 1]));
    assert.ok(symbols(socket).includes("telnet"), "a telnet peer's answers were not remembered");
    await core.shutdown(0);
  },
});

Deno.test({
  name:
    "a TCP connection's first bytes are looked at whole, before telnet's commands are taken out",
  ...LEAK_CHECKS,
  fn: async () => {
    const core = chat();
    const seen: number[][] = [];
    const reader = new TcpReader(core.events, (_member, _socket, chunk) => {
      seen.push([...chunk]);
      return false;
    });
    const socket = await admitted(core, reader);
    // A TLS hello may hold byte 255: it is neither answered nor read as text.
    socket.emit("data", new Uint8Array([0x16, 0x03, IAC, DO, 1]));
    socket.emit("data", new Uint8Array([IAC, DO, 1]));
    assert.deepEqual(seen, [[0x16, 0x03, IAC, DO, 1]]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(socket.writes.slice(1).map((write) => [...write]), [[IAC, WONT, 1]]);
    await core.shutdown(0);
  },
});
