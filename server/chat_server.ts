/**
 * The chat server, put together: {@linkcode ChatServer} joins the core (the
 * rooms and their members) to its doors (the TCP listener, the web
 * server and the IRC listener), and, when asked, to a data file or a Redis cluster;
 * {@linkcode runServer} runs one until it is stopped, as `server.ts` does
 * from the command line (its flags are read in `server_cli.ts`).
 *
 * @module
 */

import { Chat } from "../core/chat.ts";
import { readConsole } from "./console.ts";
import {
  ANNOUNCE_LIMIT,
  DEFAULT_PORT,
  DEFAULT_SERVER_HOST,
  HISTORY_LINES,
  MAX_CLIENTS,
  MAX_HISTORY_LINES,
  MAX_LINE_BYTES,
  MAX_PER_IP,
  MAX_QUEUE_BYTES,
  NAME_TIMEOUT_MS,
  RATE_BURST,
  RATE_LINES_PER_S,
  TLS_HANDSHAKE_TIMEOUT_MS,
} from "../protocol.ts";
import { checkInteger } from "../transport/net_helpers.ts";
import { MAX_ROOMS } from "../core/rooms.ts";
import { MAX_ACCOUNTS } from "../core/accounts.ts";
import { type FileStore, MemoryFiles } from "../core/file_store.ts";
import { FILE_TTL_MS, FILES_QUOTA_BYTES, MAX_FILE_BYTES } from "../core/files.ts";
import { ChatStore, StoreError } from "../store/store.ts";
import { DiskFiles, filesFolder } from "../store/files.ts";
import { Cluster } from "../cluster/cluster.ts";
import { RedisFiles } from "../cluster/cluster_files.ts";
import { TcpListener, tlsContext } from "../transport/tcp.ts";
import { WEB_ASSETS } from "../generated/web_assets.ts";
import { MAX_PENDING, WebServer } from "../transport/web.ts";
import type { WebSocketLink } from "../transport/websocket.ts";
import { IrcListener } from "../transport/irc/listener.ts";

/** Settings of a {@linkcode ChatServer}; each has the default the CLI uses. */
export interface ChatServerOptions {
  /** Address to listen on. @default {"0.0.0.0"} */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. @default {2003} */
  port?: number;
  /**
   * Port to serve the browser page and its WebSocket on, on `hostname` too;
   * 0 picks a free one. Without it there is no web listener (the command
   * line's default is 8080).
   */
  webPort?: number;
  /** Origins besides the page's own whose pages may open the WebSocket. */
  webOrigins?: string[];
  /**
   * Port for IRC clients, on `hostname` too, with TLS there when `cert` is
   * given; 0 picks a free one. Without it there is no IRC listener (the
   * command line's default is 6667).
   */
  ircPort?: number;
  /**
   * The name the IRC listener calls itself in prefixes and numerics.
   * @default {the machine's host name with --allow-sys, else `hostname` (or "localhost" for a wildcard address)}
   */
  ircServerName?: string;
  /**
   * Whether an IRC client is shown `#lobby` (JOIN, names) right after it
   * registers; without it, it is in `#lobby` unseen until it joins a channel,
   * as on other IRC servers. @default {true}
   */
  ircAutoJoin?: boolean;
  /** PEM certificate chain; with `key`, the server speaks TLS. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /**
   * Connections held at once; the next one is told the room is full. The web
   * listener lets this many requests, and 256 more, be under way at once.
   * @default {1000}
   */
  maxClients?: number;
  /**
   * Connections from one address, and web requests under way from one
   * address; loopback is exempt unless `limitLoopback`. @default {16}
   */
  maxPerIp?: number;
  /**
   * Holds loopback addresses to the per-address limits too (`maxPerIp` and
   * the others), which they are otherwise exempt from: for tests, or to try
   * the limits from one machine. @default {false}
   */
  limitLoopback?: boolean;
  /** Milliseconds a connection has to send its nickname (and password). @default {60000} */
  nameTimeoutMs?: number;
  /** Longest accepted line in bytes. @default {4096} */
  maxLineBytes?: number;
  /** Output that may wait for one member before it is dropped as too slow. @default {262144} */
  maxQueueBytes?: number;
  /** Public lines kept for newcomers; 0 keeps none. @default {20} */
  history?: number;
  /** Lines per second a member may send over time; 0 turns pacing off. @default {10} */
  rate?: number;
  /** Lines a member may send at once before pacing starts. @default {50} */
  burst?: number;
  /** When set, the room is locked: a connection must send this first. */
  password?: string;
  /** When set, `/oper` with it makes a member a server operator. */
  operatorPassword?: string;
  /**
   * Where the answers to {@linkcode ChatServer.runConsole} go, and the data
   * file's alerts (writes failing, and working again). @default {console.log}
   */
  consoleOutput?: (text: string) => void;
  /** Joins and leaves are announced while the room has at most this many members. @default {100} */
  announceLimit?: number;
  /** Rooms that may exist at once, `#lobby` included; `/join` past it is refused. @default {100} */
  maxRooms?: number;
  /** Accounts at most; `/register` past it is refused. @default {10000} */
  maxAccounts?: number;
  /**
   * Members may share files over the page's port (`/upload`); off without a
   * web listener. @default {true}
   */
  files?: boolean;
  /** The largest file a member may share, in bytes. @default {10485760} */
  maxFileBytes?: number;
  /** Bytes of shared files kept at once. @default {268435456} */
  filesQuota?: number;
  /** Milliseconds a shared file is kept. @default {86400000} */
  fileTtlMs?: number;
  /** Milliseconds an upload has to bring each 16 KiB before it is cut. @default {30000} */
  uploadStallMs?: number;
  /**
   * SQLite file that keeps rooms, topics, history, bans, mutes and the
   * message of the day across restarts; created when missing. Without it
   * everything lives in memory.
   */
  dataFile?: string;
  /**
   * `redis://[user:password@]host:port[/db]` (or `rediss://`): this process
   * is one of a cluster that shares rooms and names through that Redis.
   */
  redisUrl?: string;
  /** Prefix of the cluster's keys, so one Redis can hold several. @default {"chat"} */
  clusterName?: string;
  /** Share the ports with other processes that ask the same (SO_REUSEPORT). @default {false} */
  reusePort?: boolean;
  /** Stops the server when the last member leaves. @default {false} */
  exitWhenEmpty?: boolean;
  /** Milliseconds shutdown waits for queued output to reach members. @default {2000} */
  shutdownFlushMs?: number;
  /** Receives one line for every connect, nickname, quit and drop. */
  log?: (event: string) => void;
}

/** How long a leaving member's last lines may take to be written. */
const GOODBYE_FLUSH_MS = 2000;

/**
 * The chat server: listens, greets, names and serves members, and shuts down
 * cleanly. Nothing a client sends can stop it or reach another client.
 *
 * @example A room on a free loopback port, and one member in it
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
 * const lines = client.lines();
 * assert.equal((await lines.next()).value, "Welcome to the chat! Please enter your nickname:");
 * assert.equal((await lines.next()).value, "Welcome, alice! Type <quit> to leave.");
 * assert.equal((await lines.next()).value, "alice: hello");
 *
 * await server.close();
 * assert.equal((await lines.next()).value, "* Server is shutting down");
 * ```
 */
export class ChatServer {
  readonly #chat: Chat;
  readonly #tcp: TcpListener;
  /** The data file, when there is one. */
  readonly #store: ChatStore | null;
  /** Where the cluster is, when this process is part of one. */
  readonly #redis: { url: string; cluster: string; history: number } | null;
  #cluster: Cluster | null = null;
  /** With a cluster and file sharing: the quota of the files the cluster keeps in Redis. */
  readonly #clusterFilesQuota: number | null;
  /** The browser page and its WebSocket, when asked for. */
  readonly #web: WebServer | null;
  readonly #shutdownFlushMs: number;
  readonly #log: ((event: string) => void) | undefined;
  #starting: Promise<Deno.NetAddr> | null = null;
  /** Whether the listeners speak TLS. */
  readonly #secure: boolean;
  readonly #hostname: string;
  readonly #webPort: number | undefined;
  /** IRC clients, when asked for. */
  readonly #irc: IrcListener | null;
  readonly #ircPort: number | undefined;
  readonly #finished = Promise.withResolvers<void>();
  #closing: Promise<void> | null = null;

  /**
   * Checks the options and opens the data file, if any (a
   * {@linkcode StoreError} says why it cannot be used); nothing listens
   * before {@linkcode ChatServer.start}.
   */
  constructor(options: ChatServerOptions = {}) {
    const hostname = options.hostname ?? DEFAULT_SERVER_HOST;
    const port = checkInteger("port", options.port ?? DEFAULT_PORT, 0, 65535);
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError("Invalid TLS settings: cert and key go together");
    }
    const secureContext = options.cert !== undefined && options.key !== undefined
      ? tlsContext(options.cert, options.key)
      : null;
    this.#secure = secureContext !== null;
    this.#hostname = hostname;
    this.#webPort = options.webPort;
    const nameTimeoutMs = checkInteger(
      "nameTimeoutMs",
      options.nameTimeoutMs ?? NAME_TIMEOUT_MS,
      1,
    );
    const password = options.password ?? null;
    if (password === "") throw new TypeError("Invalid password: it is empty");
    const operatorPassword = options.operatorPassword ?? null;
    if (operatorPassword === "") throw new TypeError("Invalid operator password: it is empty");
    this.#shutdownFlushMs = checkInteger(
      "shutdownFlushMs",
      options.shutdownFlushMs ?? GOODBYE_FLUSH_MS,
      0,
    );
    this.#log = options.log;
    const history = checkInteger("history", options.history ?? HISTORY_LINES, 0, MAX_HISTORY_LINES);
    const settings = {
      maxClients: checkInteger("maxClients", options.maxClients ?? MAX_CLIENTS, 1),
      maxPerIp: checkInteger("maxPerIp", options.maxPerIp ?? MAX_PER_IP, 1),
      limitLoopback: options.limitLoopback ?? false,
      nameTimeoutMs,
      maxLineBytes: checkInteger("maxLineBytes", options.maxLineBytes ?? MAX_LINE_BYTES, 1),
      maxQueueBytes: checkInteger("maxQueueBytes", options.maxQueueBytes ?? MAX_QUEUE_BYTES, 1),
      history,
      rate: checkNumber("rate", options.rate ?? RATE_LINES_PER_S),
      burst: checkInteger("burst", options.burst ?? RATE_BURST, 1),
      password,
      operatorPassword,
      consoleOutput: options.consoleOutput ??
        ((text) => console.log(text.endsWith("\n") ? text.slice(0, -1) : text)),
      announceLimit: checkInteger("announceLimit", options.announceLimit ?? ANNOUNCE_LIMIT, 0),
      maxRooms: checkInteger("maxRooms", options.maxRooms ?? MAX_ROOMS, 1),
      maxAccounts: checkInteger("maxAccounts", options.maxAccounts ?? MAX_ACCOUNTS, 0),
      log: options.log,
      onEmpty: options.exitWhenEmpty ? () => void this.close() : undefined,
    };
    if (options.redisUrl !== undefined && options.dataFile !== undefined) {
      throw new TypeError(
        "Invalid settings: with a Redis cluster, Redis is the store (no dataFile)",
      );
    }
    this.#redis = options.redisUrl === undefined
      ? null
      : { url: options.redisUrl, cluster: options.clusterName ?? "chat", history };
    const webPort = options.webPort === undefined
      ? undefined
      : checkInteger("webPort", options.webPort, 0, 65535);
    const sharing = options.files === false || webPort === undefined ? null : {
      quota: checkInteger("filesQuota", options.filesQuota ?? FILES_QUOTA_BYTES, 0),
      maxFileBytes: checkInteger("maxFileBytes", options.maxFileBytes ?? MAX_FILE_BYTES, 1),
      ttlMs: checkInteger("fileTtlMs", options.fileTtlMs ?? FILE_TTL_MS, 1),
    };
    // Every setting is checked before the data file is opened (and locked).
    this.#store = options.dataFile === undefined ? null : ChatStore.open(options.dataFile, {
      historyLines: history,
      log: options.log,
      // The operator hears when saving starts failing (a full disk) and when it works again.
      alert: (text) => settings.consoleOutput(`* ${text}\n`),
    });
    const saved = this.#store?.load() ?? null;
    if (saved !== null) {
      this.#log?.(
        `data file ${options.dataFile}: ${saved.rooms.length} rooms, ${saved.bans.length} bans, ` +
          `${saved.mutes.length} mutes`,
      );
    }
    const accounts = this.#store?.accounts() ?? null;
    if (accounts !== null) this.#log?.(`data file ${options.dataFile}: ${accounts.count} accounts`);
    // Files live beside the data file, in Redis once the cluster is joined, or else in memory.
    this.#clusterFilesQuota = sharing !== null && this.#redis !== null ? sharing.quota : null;
    const files = sharing === null ? null : {
      store: localFiles(options.dataFile, this.#store, sharing.quota, options.log),
      maxFileBytes: sharing.maxFileBytes,
      ttlMs: sharing.ttlMs,
    };
    this.#chat = new Chat({ ...settings, recorder: this.#store, saved, accounts, files });
    this.#tcp = new TcpListener(this.#chat, {
      hostname,
      port,
      tls: secureContext,
      handshakeMs: Math.min(TLS_HANDSHAKE_TIMEOUT_MS, nameTimeoutMs),
      reusePort: options.reusePort,
      log: options.log,
    });
    this.#web = webPort === undefined ? null : new WebServer({
      hostname,
      port: webPort,
      reusePort: options.reusePort,
      tls: secureContext ?? undefined,
      assets: WEB_ASSETS,
      allowedOrigins: options.webOrigins,
      onLink: (link) => this.#admitWeb(link),
      files: files === null ? null : this.#chat.files,
      uploadStallMs: options.uploadStallMs,
      log: options.log,
      // Everyone who may still join can be on the way in at once, with page loads beside them.
      maxPending: settings.maxClients + MAX_PENDING,
      maxPerIp: settings.maxPerIp,
      limitLoopback: settings.limitLoopback,
    });
    const ircPort = options.ircPort === undefined
      ? undefined
      : checkInteger("ircPort", options.ircPort, 0, 65535);
    this.#ircPort = ircPort;
    this.#irc = ircPort === undefined ? null : new IrcListener(this.#chat, {
      hostname,
      port: ircPort,
      tls: secureContext,
      handshakeMs: Math.min(TLS_HANDSHAKE_TIMEOUT_MS, nameTimeoutMs),
      serverName: checkServerName(options.ircServerName ?? defaultIrcServerName(hostname)),
      joinLobby: options.ircAutoJoin ?? true,
      reusePort: options.reusePort,
      acceptGuard: () => this.#tcp.acceptGuard,
      log: options.log,
    });
  }

  /** A browser member: admitted, counted and greeted as a TCP one is. */
  #admitWeb(link: WebSocketLink): void {
    const ip = link.remoteAddress;
    const port = link.remotePort;
    if (this.#closing !== null || ip === undefined || port === undefined) {
      link.destroy();
      return;
    }
    const member = this.#chat.admit(link, ip, port, () => link, " over WebSocket");
    if (member === null) return;
    // Its bytes are text from the start: no TLS to look for.
    member.heard = true;
    this.#chat.greet(member);
  }

  /** Starts listening and accepting; resolves with the bound address. */
  start(): Promise<Deno.NetAddr> {
    if (this.#closing) {
      return Promise.reject(
        new Deno.errors.BadResource("Cannot start chat server: it was closed"),
      );
    }
    this.#starting ??= this.#listen().catch((error) => {
      this.#starting = null;
      throw error;
    });
    return this.#starting;
  }

  async #listen(): Promise<Deno.NetAddr> {
    if (this.#redis !== null && this.#cluster === null) {
      const chat = this.#chat;
      const cluster = await Cluster.connect({
        url: this.#redis.url,
        cluster: this.#redis.cluster,
        historyLines: this.#redis.history,
        onEvent: (event) => chat.clusterEvent(event),
        onDown: () => chat.clusterStatus(true),
        onUp: () => chat.clusterStatus(false),
        onLost: (name) => this.#log?.(`cluster: another process took the name ${name}`),
        log: this.#log,
      }).catch((error) => {
        throw new ClusterJoinError(redactedUrl(this.#redis?.url ?? ""), error);
      });
      this.#cluster = cluster;
      if (this.#clusterFilesQuota !== null) {
        // No upload address is given before this: the page's listener starts below.
        chat.files.useStore(
          new RedisFiles(cluster.redis, {
            cluster: this.#redis.cluster,
            quota: this.#clusterFilesQuota,
            processId: cluster.processId,
          }),
        );
      }
      await chat.joinCluster(cluster);
    }
    const addr = await this.#tcp.start();
    try {
      await this.#web?.start();
    } catch (error) {
      await this.#tcp.stop();
      throw new ListenError(`${this.#hostname}:${this.#webPort}`, error);
    }
    try {
      await this.#irc?.start();
    } catch (error) {
      await Promise.all([this.#tcp.stop(), this.#web?.close()]);
      throw new ListenError(`${this.#hostname}:${this.#ircPort}`, error);
    }
    const page = this.pageUrl;
    // Upload addresses and links are the page's, as it is printed at start.
    if (page !== null) this.#chat.files.baseUrl = page;
    return addr;
  }

  /** The address the browser page is served on, or null without one. */
  get webAddr(): Deno.NetAddr | null {
    return this.#web?.addr ?? null;
  }

  /** The address to open the page at (`http://HOST:PORT/`), or null without one. */
  get pageUrl(): string | null {
    const web = this.webAddr;
    return web === null ? null : pageAddress(this.#hostname, web, this.webSecure);
  }

  /** The address the IRC listener is bound to, or null without one. */
  get ircAddr(): Deno.NetAddr | null {
    return this.#irc?.addr ?? null;
  }

  /** The address IRC clients connect to (`irc://HOST:PORT`, `ircs://` with TLS), or null without one. */
  get ircUrl(): string | null {
    if (this.#irc === null) return null;
    const shown = pageAddress(this.#hostname, this.#irc.addr, this.#secure);
    return shown.replace(/^http(s?):/, (_, s: string) => `irc${s}:`).replace(/\/$/, "");
  }

  /** Whether the page is served over HTTPS. */
  get webSecure(): boolean {
    return this.#web !== null && this.#secure;
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#tcp.addr;
  }

  /** How many connections are open, named or not. */
  get connectionCount(): number {
    return this.#chat.connectionCount;
  }

  /**
   * Runs a line typed at the server's console as a server operator's command
   * (`/kick`, `/ban`, `/who`...); the answer goes to `consoleOutput`.
   */
  runConsole(line: string): void {
    if (this.#closing === null) this.#chat.runConsole(line);
  }

  /** Resolves when the server has shut down and every connection is closed. */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /**
   * Shuts down: stops accepting, tells every member, lets queued output drain
   * for at most `shutdownFlushMs`, then closes every connection.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Shuts the server down, as {@linkcode ChatServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(): Promise<void> {
    // A start under way finishes first, so that its listener is closed too.
    await this.#starting?.catch(() => {});
    const stopped = [this.#tcp.stop(), this.#web?.close(), this.#irc?.stop()];
    await this.#chat.shutdown(this.#shutdownFlushMs);
    await Promise.all(stopped);
    this.#store?.close();
    await this.#cluster?.close().catch(() => {});
    this.#log?.("server stopped");
    this.#finished.resolve();
  }
}

/**
 * Where files live without a cluster: in a folder beside the data file (which is closed again
 * when the folder cannot be used), or in memory.
 */
function localFiles(
  dataFile: string | undefined,
  store: ChatStore | null,
  quota: number,
  log: ((event: string) => void) | undefined,
): FileStore {
  if (dataFile === undefined) return new MemoryFiles(quota);
  try {
    return DiskFiles.open(filesFolder(dataFile), { quota, log });
  } catch (error) {
    store?.close();
    throw error;
  }
}

/**
 * The IRC listener's name when none is given: the machine's host name when
 * the server may read it (--allow-sys), else the address it listens on, or
 * `localhost` for a wildcard or IPv6 address (a colon cannot be in a prefix).
 */
function defaultIrcServerName(hostname: string): string {
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state === "granted") {
      return Deno.hostname();
    }
  } catch {
    // No permission API here: the address will do.
  }
  return hostname === "0.0.0.0" || hostname.includes(":") ? "localhost" : hostname;
}

/** An IRC server name: one word without a colon. */
function checkServerName(name: string): string {
  if (!/^[^\s:!@*,]+$/.test(name)) {
    throw new TypeError(
      `Invalid ircServerName: expected one word without ':', '!', '@', '*' or ',', got "${name}"`,
    );
  }
  return name;
}

/** A Redis URL with its password left out, for messages. */
function redactedUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//");
}

function checkNumber(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Invalid ${name}: expected a number from 0 up, got ${value}`);
  }
  return value;
}

/** The cluster's Redis could not be reached at start: the message names it. */
class ClusterJoinError extends Error {
  constructor(url: string, cause: unknown) {
    super(`Cannot join the cluster on Redis at ${url}: ${(cause as Error).message}`, { cause });
  }
}

/** A listener that could not listen, and where it tried. */
class ListenError extends Error {
  /** The address it tried, `HOST:PORT`. */
  readonly where: string;

  constructor(where: string, cause: unknown) {
    super((cause as Error).message, { cause });
    this.where = where;
  }
}

/**
 * The address to open the page at: the listening host, or `localhost` when
 * it listens on every interface.
 */
function pageAddress(hostname: string, web: Deno.NetAddr, secure: boolean): string {
  const host = hostname === "0.0.0.0" || hostname === "::" ? "localhost" : hostname;
  const shown = host.includes(":") ? `[${host}]` : host;
  return `${secure ? "https" : "http"}://${shown}:${web.port}/`;
}

/**
 * Runs a server until it is stopped, calling `onListen` once it listens
 * (with the page's address too, when it serves one), and reading
 * `consoleInput`'s lines as operator commands; returns the exit code. The
 * end of `consoleInput` does not stop the server.
 *
 * A bad option prints its reason on standard error and returns 2; a server
 * that cannot listen, open its data file or reach its cluster returns 1.
 * While it runs, SIGINT stops it, and so does SIGTERM except on Windows.
 *
 * @example A server that stops when its only member leaves
 * ```ts
 * import assert from "node:assert/strict";
 * import { runServer } from "jsr:@chat/room";
 * import { ChatClient } from "jsr:@chat/room/client";
 *
 * let visit: Promise<void> | undefined;
 * const code = await runServer(
 *   { hostname: "127.0.0.1", port: 0, exitWhenEmpty: true },
 *   (addr, page) => {
 *     assert.equal(page, null); // no webPort, no page
 *     visit = (async () => {
 *       await using client = await ChatClient.connect({ hostname: "127.0.0.1", port: addr.port });
 *       await client.send("alice");
 *       await client.send("<quit>");
 *       for await (const _ of client.lines()); // until the server closes the connection
 *     })();
 *   },
 * );
 * await visit;
 * assert.equal(code, 0);
 * ```
 */
export async function runServer(
  options: ChatServerOptions,
  onListen: (addr: Deno.NetAddr, page: string | null, irc: string | null) => void,
  consoleInput?: ReadableStream<Uint8Array>,
): Promise<number> {
  let server: ChatServer;
  try {
    server = new ChatServer(options);
  } catch (error) {
    console.error((error as Error).message);
    // A bad setting is a usage error; a data file that cannot be used is not.
    return error instanceof StoreError ? 1 : 2;
  }
  let addr: Deno.NetAddr;
  try {
    addr = await server.start();
  } catch (error) {
    if (error instanceof ClusterJoinError) {
      console.error(error.message);
      return 1;
    }
    const where = error instanceof ListenError
      ? error.where
      : `${options.hostname ?? DEFAULT_SERVER_HOST}:${options.port ?? DEFAULT_PORT}`;
    console.error(`Cannot listen on ${where}: ${(error as Error).message}`);
    return 1;
  }
  onListen(addr, server.pageUrl, server.ircUrl);
  const stop = () => void server.close();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  const consoleDone = new AbortController();
  if (consoleInput !== undefined) {
    void readConsole(consoleInput, (line) => server.runConsole(line), consoleDone.signal);
  }
  try {
    await server.finished;
  } finally {
    consoleDone.abort();
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
  return 0;
}
