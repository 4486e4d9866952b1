/**
 * The TCP transport: a `node:net` listener whose sockets become the chat's
 * links, with TLS when the server has a certificate, and telnet's commands
 * taken out of their bytes ({@linkcode TcpReader}). TLS begins only when a
 * connection's first bytes are a TLS handshake, so that a plain client at a
 * TLS port is told so in words, and a TLS client at a plain port is closed.
 *
 * @module
 */

import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { AcceptGuard, canGuard } from "./accept_guard.ts";
import type { Chat, Member } from "../core/chat.ts";
import {
  addressOf,
  closeListener,
  describe,
  ignore,
  isTlsHello,
  listenOn,
  peerLabel,
} from "./net_helpers.ts";
import { closeConnection, type LinkEvents, memberOf, stopTimer } from "../core/session.ts";
import { IAC, TelnetFilter } from "./telnet.ts";

/** Where and how a {@linkcode TcpListener} listens. */
export interface TcpOptions {
  hostname: string;
  port: number;
  /** With it, connections speak TLS. */
  tls: tls.SecureContext | null;
  /** Time a TLS handshake may take. */
  handshakeMs: number;
  /** Shares the port with other processes that ask the same (SO_REUSEPORT). */
  reusePort?: boolean;
  log: ((event: string) => void) | undefined;
}

/** A TLS context, with the certificate and key checked now rather than at the first handshake. */
export function tlsContext(cert: string, key: string): tls.SecureContext {
  let certificate: X509Certificate;
  let privateKey: KeyObject;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new TypeError(`Invalid TLS certificate: not a PEM certificate (${describe(error)})`);
  }
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TypeError(`Invalid TLS key: not a PEM private key (${describe(error)})`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TypeError("Invalid TLS key: it does not belong to the certificate");
  }
  return tls.createSecureContext({ cert, key });
}

/** Where a socket keeps telnet's state: only a telnet peer's has it (idle connections are many). */
const TELNET = Symbol("telnet");

/** A socket, with telnet's state once its peer has spoken telnet. */
type TelnetSocket = net.Socket & { [TELNET]?: TelnetFilter | null };

/**
 * Looks at a connection's first bytes (for a TLS handshake) before they are
 * read as lines; returns whether they are to be read.
 */
export type Opening = (member: Member, socket: net.Socket, chunk: Uint8Array) => boolean;

/**
 * Hands the core a TCP connection's bytes as a link's `data` event carries
 * them: telnet's commands taken out and answered (each option once at most,
 * so a few hundred bytes per connection in all, however often a peer asks),
 * the rest with how many bytes it stands for, as from a WebSocket link, so
 * that every byte is paced, and telnet's Ctrl+C (Interrupt Process) as
 * `interrupted`, after the bytes before it. The socket itself is
 * the link, listened to with this reader's {@linkcode TcpReader.events} (the
 * core's, its `data` handler in front): one reader serves every socket of a
 * listener, and a socket carries telnet's state only once its peer speaks
 * telnet, so idle connections gain neither a wrapper nor a closure.
 */
export class TcpReader {
  readonly #events: LinkEvents;
  readonly #opening: Opening | null;
  /** The core's handlers for every socket, with this reader's `data` in place of the core's. */
  readonly events: LinkEvents;

  /** A reader that hands what it reads to the core's `events`, each socket's first bytes to `opening` first. */
  constructor(events: LinkEvents, opening: Opening | null = null) {
    this.#events = events;
    this.#opening = opening;
    const read = (socket: net.Socket, chunk: Uint8Array) => this.#read(socket, chunk);
    this.events = {
      ...events,
      data(chunk) {
        read(this as net.Socket, chunk);
      },
    };
  }

  /** Looks at a socket's first bytes, then takes telnet's commands out, answers them, and hands the core the rest. */
  #read(socket: TelnetSocket, chunk: Uint8Array): void {
    if (this.#opening !== null) {
      const member = memberOf(socket);
      if (!member.heard) {
        member.heard = true;
        if (!this.#opening(member, socket, chunk)) return;
      }
    }
    const telnet = socket[TELNET] ?? null;
    if (telnet === null && !chunk.includes(IAC)) {
      this.#events.data.call(socket, chunk);
      return;
    }
    const filter = telnet ?? new TelnetFilter();
    const { data, reply, interrupted } = filter.filter(chunk);
    // Kept only for a telnet peer (mid-command, or answered already): idle connections are many.
    const kept = filter.needed ? filter : null;
    if (kept !== telnet) socket[TELNET] = kept;
    if (reply !== null && !socket.writableEnded && !socket.destroyed) socket.write(reply);
    // Every byte the peer sent is paced, whatever it carried: telnet's commands too.
    this.#events.data.call(socket, data, chunk.length, interrupted);
  }
}

/** Accepts TCP connections for the chat; see the module's description. */
export class TcpListener {
  readonly #chat: Chat;
  readonly #hostname: string;
  readonly #port: number;
  readonly #reusePort: boolean;
  readonly #tls: tls.SecureContext | null;
  readonly #handshakeMs: number;
  readonly #log: ((event: string) => void) | undefined;
  #listener: net.Server | null = null;
  /** Keeps the listener accepting through a shortage of file descriptors. */
  #acceptGuard: AcceptGuard | null = null;
  #stopped = false;
  /** Reads every socket of this listener for the core. */
  readonly #reader: TcpReader;

  /** A listener for `chat`; nothing is opened before {@linkcode TcpListener.start}. */
  constructor(chat: Chat, options: TcpOptions) {
    this.#chat = chat;
    this.#hostname = options.hostname;
    this.#port = options.port;
    this.#reusePort = options.reusePort ?? false;
    this.#tls = options.tls;
    this.#handshakeMs = options.handshakeMs;
    this.#log = options.log;
    this.#reader = new TcpReader(
      chat.events,
      (member, socket, chunk) => this.#opening(member, socket, chunk),
    );
  }

  /** Listens; resolves with the bound address. */
  start(): Promise<Deno.NetAddr> {
    return this.#listen();
  }

  /**
   * Stops accepting; resolves once the listener is closed, which is when its
   * last connection is.
   */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#acceptGuard?.close();
    return closeListener(this.#listener);
  }

  async #listen(): Promise<Deno.NetAddr> {
    // Half-open: a peer that stops sending still gets its goodbye.
    const listener = net.createServer({ allowHalfOpen: true }, (socket) => this.#admit(socket));
    this.#listener = listener;
    try {
      await listenOn(listener, this.#hostname, this.#port, this.#reusePort);
    } catch (error) {
      this.#listener = null;
      throw error;
    }
    listener.on("error", (error) => this.#log?.(`accept failed: ${describe(error)}`));
    if (canGuard()) {
      this.#acceptGuard = new AcceptGuard(listener, this.#log);
    } else {
      this.#log?.("not watching for a shortage of file descriptors: no permission for 127.0.0.1");
    }
    return this.addr;
  }

  /** What keeps this listener (and others given to it) accepting through a shortage of descriptors. */
  get acceptGuard(): AcceptGuard | null {
    return this.#acceptGuard;
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return addressOf(this.#listener, "Chat server");
  }

  #admit(raw: net.Socket): void {
    const ip = raw.remoteAddress;
    const port = raw.remotePort;
    if (this.#stopped || ip === undefined || port === undefined) {
      // Shutting down, or the peer is gone already.
      raw.destroy();
      return;
    }
    // Lines go out at once (writes are coalesced already); dead peers are found.
    raw.setNoDelay(true);
    raw.setKeepAlive(true);
    // A refusal is said over TLS at a TLS port; the TCP socket's errors are no matter then.
    const refusalLink = () => this.#tls === null ? raw : this.#tlsOver(raw.on("error", ignore));
    const guard = this.#acceptGuard;
    if (guard?.short) {
      this.#log?.(`${peerLabel(ip, port)} refused: out of file descriptors`);
      // Its descriptor, once free, takes the next connection waiting.
      raw.once("close", () => guard.rearm());
      this.#chat.refuse(refusalLink(), "! Server is busy; try again later.");
      return;
    }
    const member = this.#chat.accept(raw, ip, port, refusalLink);
    if (member === null) return;
    // Its bytes reach the core through the reader, which takes telnet's commands out.
    this.#chat.listenTo(raw, member, this.#reader.events);
    if (this.#tls === null) {
      this.#chat.greet(member);
    } else {
      // TLS begins once the first bytes show that the peer speaks it.
      member.stage = "handshake";
      const limit = this.#handshakeMs;
      member.timer = setTimeout(() => this.#handshakeFailed(member, "timed out"), limit);
    }
  }

  /** A TLS socket over an accepted TCP one, server side. */
  #tlsOver(raw: net.Socket): tls.TLSSocket {
    return new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: this.#tls as tls.SecureContext,
    });
  }

  /**
   * Looks at a connection's first bytes: a TLS client at a plain port is
   * closed at once, and at a TLS port TLS begins only with a client that
   * speaks it. Returns whether the bytes are to be read as lines.
   */
  #opening(member: Member, raw: net.Socket, chunk: Uint8Array): boolean {
    if (this.#tls === null) {
      if (!isTlsHello(chunk)) return true;
      this.#log?.(`${member.peer} refused: it speaks TLS, and this port does not`);
      member.leaving = "refused";
      closeConnection(member);
      return false;
    }
    if (!isTlsHello(chunk)) {
      this.#plainAtTlsPort(member, "it does not speak TLS");
      return false;
    }
    // The TLS socket over this one reads these bytes again, and all that follow.
    raw.off("data", this.#reader.events.data);
    raw.off("end", this.#reader.events.end);
    raw.pause();
    raw.unshift(chunk);
    const socket = this.#tlsOver(raw);
    member.link = socket;
    this.#chat.listenTo(socket, member, this.#reader.events);
    socket.once("secure", () => {
      if (member.stage !== "handshake") return;
      stopTimer(member);
      this.#chat.greet(member);
    });
    socket.once("error", (error) => this.#handshakeFailed(member, describe(error)));
    socket.once("close", () => this.#handshakeFailed(member, "connection closed"));
    return false;
  }

  /** Tells a plain client at the TLS port so, in words it can read, and closes. */
  #plainAtTlsPort(member: Member, why: string): void {
    this.#log?.(`${member.peer} TLS handshake failed: ${why}`);
    stopTimer(member);
    member.stage = "name";
    member.leaving = "refused";
    this.#chat.tell(member, "! This port speaks TLS; connect with TLS (client.ts --tls).");
    void this.#chat.leave(member);
  }

  /** Ends a connection whose TLS handshake failed or took too long, unless it is done. */
  #handshakeFailed(member: Member, why: string): void {
    if (member.stage !== "handshake") return;
    // Nothing heard at all: perhaps a plain client waiting for the server to speak.
    if (!member.heard) {
      this.#plainAtTlsPort(member, why);
      return;
    }
    this.#log?.(`${member.peer} TLS handshake failed: ${why}`);
    member.stage = "name";
    member.leaving = "refused";
    closeConnection(member);
  }
}
