/**
 * The IRC door's listener: a `node:net` server whose connections become
 * {@linkcode IrcConnection}s, admitted by the core as any member is (the
 * same --max-clients, --max-per-ip, bans, flood control and slow-reader cut).
 * With a certificate, a connection whose first bytes are a TLS ClientHello
 * speaks TLS on the same port; a TLS client at a port without one is closed.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import { setImmediate } from "node:timers";
import type { Chat } from "../../core/chat.ts";
import { tellAccountChange } from "./account_notify.ts";
import {
  addressOf,
  closeListener,
  describe,
  ignore,
  isTlsHello,
  listenOn,
  peerLabel,
} from "../net_helpers.ts";
import type { AcceptGuard } from "../accept_guard.ts";
import { IrcConnection } from "./connection.ts";
import { SharedOutput } from "./shared_output.ts";
import { Peers } from "./session_state.ts";

/** Where and how an {@linkcode IrcListener} listens. */
export interface IrcListenerOptions {
  hostname: string;
  port: number;
  /** With it, a client that opens with a ClientHello speaks TLS. */
  tls: tls.SecureContext | null;
  /** Time a client has to send its first bytes, and to finish the TLS handshake. */
  handshakeMs: number;
  /** The name in prefixes and numerics. */
  serverName: string;
  /** Whether newcomers are shown #lobby after registration. @default {true} */
  joinLobby?: boolean;
  /** Quiet time before a client is pinged. @default {60000} */
  pingIdleMs?: number;
  /** Time a client has to answer a PING. @default {120000} */
  pingTimeoutMs?: number;
  /** Shares the port with other processes that ask the same (SO_REUSEPORT). */
  reusePort?: boolean;
  /** The line port's watch for a shortage of descriptors, which keeps this listener accepting too. */
  acceptGuard?: () => AcceptGuard | null;
  log: ((event: string) => void) | undefined;
}

/** Accepts IRC clients for the chat; see the module's description. */
export class IrcListener {
  readonly #chat: Chat;
  readonly #options: IrcListenerOptions;
  #listener: net.Server | null = null;
  /** The sessions of the connections open, which tell each other's user names (WHO, WHOIS). */
  readonly #peers = new Peers();
  /** A room's broadcast said once for the clients of a channel who see it alike. */
  readonly #shared = new SharedOutput();
  /** Who set each room's topic and when, as the door's clients heard it (333). */
  readonly #topics = new Map<string, { by: string; at: number; text: string }>();
  #stopped = false;
  /** Stops telling the door's clients of logins and logouts. */
  #unwatch: (() => void) | null = null;

  /** A listener for `chat`; nothing is opened before {@linkcode IrcListener.start}. */
  constructor(chat: Chat, options: IrcListenerOptions) {
    this.#chat = chat;
    this.#options = options;
  }

  /** Listens; resolves with the bound address. */
  async start(): Promise<Deno.NetAddr> {
    const listener = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.#listener = listener;
    try {
      await listenOn(listener, this.#options.hostname, this.#options.port, this.#options.reusePort);
    } catch (error) {
      this.#listener = null;
      throw error;
    }
    // After the turn's broadcasts are written: a login's rename reaches clients before its ACCOUNT.
    this.#unwatch = this.#chat.watchAccounts((change) =>
      setImmediate(() => tellAccountChange(this.#peers, change))
    );
    listener.on("error", (error) => this.#options.log?.(`IRC accept failed: ${describe(error)}`));
    this.#options.acceptGuard?.()?.watch(listener);
    return this.addr;
  }

  /** The address the IRC door listens on. */
  get addr(): Deno.NetAddr {
    return addressOf(this.#listener, "IRC listener");
  }

  /** Stops accepting; resolves once the listener and its connections are closed. */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#unwatch?.();
    this.#unwatch = null;
    return closeListener(this.#listener);
  }

  /** Waits for the first bytes, to see whether the client speaks TLS. */
  #accept(raw: net.Socket): void {
    const ip = raw.remoteAddress;
    const port = raw.remotePort;
    if (this.#stopped || ip === undefined || port === undefined) {
      raw.destroy();
      return;
    }
    raw.setNoDelay(true);
    raw.setKeepAlive(true);
    raw.on("error", ignore);
    const log = this.#options.log;
    const guard = this.#options.acceptGuard?.();
    if (guard?.short) {
      log?.(`${peerLabel(ip, port)} IRC refused: out of file descriptors`);
      // Its descriptor, once free, takes the next connection waiting.
      raw.once("close", () => guard.rearm());
      raw.end("ERROR :Closing Link: Server is busy; try again later\r\n", () => raw.destroy());
      return;
    }
    const timer = setTimeout(() => {
      log?.(`${peerLabel(ip, port)} IRC: nothing sent within ${this.#options.handshakeMs} ms`);
      raw.destroy();
    }, this.#options.handshakeMs);
    raw.once("close", () => clearTimeout(timer));
    raw.once("data", (chunk: Uint8Array) => {
      raw.pause();
      raw.unshift(chunk);
      if (!isTlsHello(chunk)) {
        clearTimeout(timer);
        this.#admit(raw, ip, port);
        return;
      }
      const context = this.#options.tls;
      if (context === null) {
        clearTimeout(timer);
        log?.(`${peerLabel(ip, port)} refused: it speaks TLS, and the IRC port does not`);
        raw.destroy();
        return;
      }
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
      secure.on("error", (error) => {
        log?.(`${peerLabel(ip, port)} IRC TLS handshake failed: ${describe(error)}`);
        secure.destroy();
      });
      secure.once("secure", () => {
        clearTimeout(timer);
        secure.removeAllListeners("error");
        this.#admit(secure, ip, port);
      });
    });
  }

  #admit(socket: net.Socket, ip: string, port: number): void {
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    const chat = this.#chat;
    const link = new IrcConnection(socket, {
      serverName: this.#options.serverName,
      joinLobby: this.#options.joinLobby,
      pingIdleMs: this.#options.pingIdleMs,
      pingTimeoutMs: this.#options.pingTimeoutMs,
      log: this.#options.log,
      nameTaken: (name) => chat.nameTaken(name),
      memberNamed: (name) => chat.memberNamed(name),
      connectionCount: () => chat.connectionCount,
      memberCount: () => chat.memberCount,
      members: () => chat.members(),
      peers: this.#peers,
      shared: this.#shared,
      topics: this.#topics,
      openSeat: (seatLink, room, key) => {
        if (member !== null) chat.seats.open(member, seatLink, room, key);
      },
      closeSeat: (seatLink, reason) => chat.seats.partOver(seatLink, reason),
      accountOf: (name) => chat.accountOf(name),
      history: (room) => chat.history(room),
      logInBeforeName: async (name, password) => {
        if (member === null || !await chat.logInBeforeName(member, name, password)) return null;
        return member.account;
      },
    });
    const member = chat.admit(link, ip, port, () => link, " over IRC");
    if (member === null) return;
    // Nothing to look for in its bytes now: it is IRC, in clear or TLS.
    member.heard = true;
    chat.greet(member);
    socket.resume();
  }
}
