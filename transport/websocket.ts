/**
 * WebSocket (RFC 6455) links, the server's side, for the chat's browser
 * members: {@linkcode WebSocketLink}, a {@linkcode Link} over an upgraded
 * socket, so that a browser member is an ordinary member of the room, and
 * {@linkcode KeepAlive}, which pings quiet links and drops dead ones. The
 * frames themselves (accept key, encoders, reader) are in
 * `websocket_frames.ts`, re-exported here.
 *
 * @module
 */

import { EventEmitter } from "node:events";
import type net from "node:net";
import type { Link } from "../core/link.ts";
import {
  CLOSE_CODE,
  encodeCloseFrame,
  encodeFrame,
  encodePingFrame,
  encodeTextFrame,
  FrameReader,
  OPCODE,
  WebSocketError,
} from "./websocket_frames.ts";

export {
  acceptKey,
  CLOSE_CODE,
  type CloseFrame,
  encodeCloseFrame,
  encodeFrame,
  encodePingFrame,
  encodeTextFrame,
  type FrameChunk,
  type FrameOptions,
  FrameReader,
  MAX_CONTROL_PAYLOAD_BYTES,
  MAX_HEADER_BYTES,
  OPCODE,
  WebSocketError,
} from "./websocket_frames.ts";

/**
 * How often a quiet link is pinged, and how long it has to answer. A link
 * that sends nothing for 30 to 60 s gets a ping, then one every 30 s while
 * it stays quiet, so a proxy or NAT that drops connections quiet for 60 s
 * (nginx's default) sees traffic; a vanished browser is found within 90 s.
 */
export const PING_INTERVAL_MS = 30_000;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/** Where a keep-alive's link is: it sent something since the last tick. */
const HEARD = 0;
/** It sent nothing since the last tick but a pong: it is alive, and quiet. */
const QUIET = 1;
/** It was pinged at the last tick and has not answered. */
const PINGED = 2;

/**
 * Finds dead links for many at once, under one timer: idle connections are
 * many. Every `intervalMs` it pings each link that sent nothing but pongs
 * since the last tick, and destroys each link that was pinged at the last
 * tick and has sent nothing since. A paused link counts as heard: it is not
 * being read.
 */
export class KeepAlive {
  /** Milliseconds between ticks. */
  readonly intervalMs: number;
  readonly #links = new Map<WebSocketLink, number>();
  #timer: ReturnType<typeof setInterval> | undefined = undefined;

  /** A keep-alive that ticks every `intervalMs`; its timer runs only while it has links. */
  constructor(intervalMs: number = PING_INTERVAL_MS) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) {
      throw new RangeError(
        `Cannot create keep-alive: intervalMs must be a positive integer, got ${intervalMs}`,
      );
    }
    this.intervalMs = intervalMs;
  }

  /** How many links it watches. */
  get size(): number {
    return this.#links.size;
  }

  /** Starts watching a link. */
  add(link: WebSocketLink): void {
    this.#links.set(link, HEARD);
    this.#timer ??= setInterval(this.tick, this.intervalMs);
  }

  /** Notes that a link sent something. */
  heard(link: WebSocketLink): void {
    if (this.#links.has(link)) this.#links.set(link, HEARD);
  }

  /** Notes that a link answered a ping, and nothing else: it is alive, and still quiet. */
  answered(link: WebSocketLink): void {
    if (this.#links.get(link) === PINGED) this.#links.set(link, QUIET);
  }

  /** Stops watching a link: it is closed. */
  delete(link: WebSocketLink): void {
    if (this.#links.delete(link)) this.#stopIfIdle();
  }

  /** Checks every link now, as the timer does every `intervalMs`. */
  tick = (): void => {
    for (const [link, state] of this.#links) {
      if (state === HEARD || link.isPaused()) {
        this.#links.set(link, QUIET);
      } else if (state === QUIET) {
        this.#links.set(link, PINGED);
        link.ping();
      } else {
        // Its close event takes it out.
        this.#links.delete(link);
        link.destroy();
      }
    }
    this.#stopIfIdle();
  };

  #stopIfIdle(): void {
    if (this.#links.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The keep-alive of links made without one. */
const sharedKeepAlive = new KeepAlive();

/**
 * The frame of the last payload written: a turn's broadcast is one buffer
 * written to every member, so it is framed once for all of them. The core
 * never changes a buffer it has written.
 */
let lastPayload: Uint8Array | null = null;
let lastFrame: Uint8Array = EMPTY;

function textFrameOf(payload: Uint8Array): Uint8Array {
  if (payload !== lastPayload) {
    lastFrame = encodeTextFrame(payload);
    lastPayload = payload;
  }
  return lastFrame;
}

/** Settings of a {@linkcode WebSocketLink}. */
export interface WebSocketLinkOptions {
  /** What pings the link when it is quiet. @default {a keep-alive shared by such links, every 30 s} */
  keepAlive?: KeepAlive;
}

/** Where a raw socket keeps its link, for the handlers that all raw sockets share. */
const LINK = Symbol("websocket link");

/** A raw socket that carries a link. */
type LinkSocket = net.Socket & { [LINK]: WebSocketLink };

/**
 * A {@linkcode Link} over a socket that was upgraded to WebSocket: `data`
 * carries the text of the client's messages and how many raw bytes it
 * stands for, frame headers and control frames included (one event per raw
 * chunk, the text perhaps empty, so that every byte is paced and pausing
 * works as it does on the raw socket, to which it is delegated), and each
 * `write` sends one text frame. A ping is answered with a pong; at most one
 * pong waits to be written, a newer ping replacing it (RFC 6455 lets an
 * endpoint answer only the latest), so a peer that pings and never reads
 * cannot make the server queue pongs. The client's close
 * frame is answered and ends the stream; a broken rule is answered with a
 * close frame (1002, 1003 or 1007), reported as a {@linkcode WebSocketError}
 * and ends the stream too. Listeners must be added in the turn the link is
 * made: it starts reading at once.
 */
export class WebSocketLink extends EventEmitter implements Link {
  readonly #socket: net.Socket;
  readonly #reader = new FrameReader();
  readonly #keepAlive: KeepAlive;
  #closeSent = false;
  #readEnded = false;
  /** The payload of the latest ping not answered yet, while a pong is being written. */
  #pingWaiting: Uint8Array | null = null;
  /** Whether a pong is written and not yet taken by the kernel. */
  #pongInFlight = false;
  /** Writes the waiting pong once the one in flight is taken; made at the first ping. */
  #pongTaken: (() => void) | null = null;

  /** Handlers that every raw socket shares, finding the link through the socket. */
  static readonly #events = {
    data(this: net.Socket, chunk: Uint8Array): void {
      const link = (this as LinkSocket)[LINK];
      try {
        link.#received(chunk);
      } catch (error) {
        // A failure here or in a listener ends this connection only.
        link.#error(error instanceof Error ? error : new Error(String(error)));
        link.destroy();
      }
    },
    end(this: net.Socket): void {
      (this as LinkSocket)[LINK].#readDone();
    },
    close(this: net.Socket): void {
      const link = (this as LinkSocket)[LINK];
      link.#keepAlive.delete(link);
      link.#readEnded = true;
      link.emit("close");
    },
    error(this: net.Socket, error: Error): void {
      (this as LinkSocket)[LINK].#error(error);
    },
  };

  /** Takes over `socket`, whose handshake is done (the 101 response written), and reads it. */
  constructor(socket: net.Socket, options: WebSocketLinkOptions = {}) {
    super();
    this.#socket = socket;
    this.#keepAlive = options.keepAlive ?? sharedKeepAlive;
    (socket as LinkSocket)[LINK] = this;
    const events = WebSocketLink.#events;
    socket.on("data", events.data);
    socket.on("end", events.end);
    socket.on("close", events.close);
    socket.on("error", events.error);
    if (socket.destroyed) {
      this.#readEnded = true;
      queueMicrotask(() => this.emit("close"));
      return;
    }
    // Frames go out at once (a turn's lines are one write already); dead peers are found.
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    this.#keepAlive.add(this);
    socket.resume();
  }

  /** The peer's address; undefined once it is gone. */
  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  /** The peer's port. */
  get remotePort(): number | undefined {
    return this.#socket.remotePort;
  }

  /** Bytes written that the raw socket has not handed to the kernel, frame headers included. */
  get writableLength(): number {
    return this.#socket.writableLength;
  }

  /** Whether the link is ending: `end()` was called or the close handshake began. */
  get writableEnded(): boolean {
    return this.#socket.writableEnded;
  }

  /** Whether the client will send nothing more: it closed, broke a rule, or its stream ended. */
  get readableEnded(): boolean {
    return this.#readEnded;
  }

  /** Whether the raw socket is closed. */
  get destroyed(): boolean {
    return this.#socket.destroyed;
  }

  /** Sends `data`, complete lines, as one text frame; false when the raw socket's buffer is full. */
  write(data: Uint8Array | string): boolean {
    const socket = this.#socket;
    if (this.#closeSent || socket.writableEnded || socket.destroyed) return false;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length === 0) return true;
    return socket.write(textFrameOf(bytes));
  }

  /** Stops reading the raw socket, so TCP pushes back on the client. */
  pause(): this {
    this.#socket.pause();
    return this;
  }

  /** Reads the raw socket again. */
  resume(): this {
    this.#socket.resume();
    return this;
  }

  /** Whether reading is stopped. */
  isPaused(): boolean {
    return this.#socket.isPaused();
  }

  /** Sends a ping, unless the link is closing; the client answers with a pong. */
  ping(): void {
    if (!this.#closeSent && !this.#socket.writableEnded && !this.#socket.destroyed) {
      this.#socket.write(encodePingFrame());
    }
  }

  /** Sends what is queued and a close frame (1000), then ends the raw socket; `callback` runs once all is sent. */
  end(callback?: () => void): this {
    this.#sendClose(CLOSE_CODE.normal, "");
    this.#socket.end(callback);
    return this;
  }

  /** Closes the raw socket at once; queued output is lost. */
  destroy(): this {
    this.#socket.destroy();
    return this;
  }

  #received(chunk: Uint8Array): void {
    const { text, ping, close, failure, pong } = this.#reader.read(chunk);
    if (pong && text.length === 0 && ping === null && close === null && failure === null) {
      this.#keepAlive.answered(this);
    } else {
      this.#keepAlive.heard(this);
    }
    // Every chunk is reported, text or not, so that the core paces every byte.
    this.emit("data", text, chunk.length);
    if (this.#socket.destroyed) return;
    if (ping !== null) {
      this.#pingWaiting = ping;
      this.#pong();
    }
    if (close !== null) {
      // Echo its status code, as RFC 6455 asks, and close the connection from this side.
      if (close.code === CLOSE_CODE.noStatus) this.#sendClose(null, "");
      else this.#sendClose(close.code, "");
      this.#socket.end();
      this.#readDone();
    } else if (failure !== null) {
      this.#sendClose(failure.code, failure.reason);
      this.#socket.end();
      this.#error(new WebSocketError(failure.code, failure.reason));
      this.#readDone();
    }
  }

  /** Answers the waiting ping, unless a pong is still in flight (it answers once that is taken). */
  #pong(): void {
    const socket = this.#socket;
    const payload = this.#pingWaiting;
    if (payload === null || this.#pongInFlight) return;
    this.#pingWaiting = null;
    if (this.#closeSent || socket.writableEnded || socket.destroyed) return;
    this.#pongInFlight = true;
    this.#pongTaken ??= () => {
      this.#pongInFlight = false;
      this.#pong();
    };
    socket.write(encodeFrame(OPCODE.pong, payload), this.#pongTaken);
  }

  /** Sends a close frame once, if the raw socket can still send; `code` null sends none. */
  #sendClose(code: number | null, reason: string): void {
    const socket = this.#socket;
    if (this.#closeSent || socket.writableEnded || socket.destroyed) return;
    this.#closeSent = true;
    socket.write(code === null ? encodeFrame(OPCODE.close, EMPTY) : encodeCloseFrame(code, reason));
  }

  #readDone(): void {
    if (this.#readEnded) return;
    this.#readEnded = true;
    this.emit("end");
  }

  /** Reports an error to the listeners, if there are any (without one, it would be thrown). */
  #error(error: Error): void {
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }
}
