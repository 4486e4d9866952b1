/**
 * The command line of `server.ts`: its flags ({@linkcode parseServerArgs}),
 * its usage text, and {@linkcode main}, which reads the files the flags name,
 * prints the listening lines and runs the server until it is stopped. Only
 * `main` touches `Deno.args`' values, standard input and the files.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import { parseArgs } from "node:util";
import { type ChatServerOptions, runServer } from "./chat_server.ts";
import {
  ANNOUNCE_LIMIT,
  DEFAULT_IRC_PORT,
  DEFAULT_PORT,
  DEFAULT_SERVER_HOST,
  DEFAULT_WEB_PORT,
  HISTORY_LINES,
  MAX_CLIENTS,
  MAX_HISTORY_LINES,
  MAX_LINE_BYTES,
  MAX_PER_IP,
  MAX_QUEUE_BYTES,
  NAME_TIMEOUT_MS,
  RATE_BURST,
  RATE_LINES_PER_S,
} from "../protocol.ts";
import { MAX_ROOMS } from "../core/rooms.ts";
import { MAX_ACCOUNTS } from "../core/accounts.ts";
import { parseDuration } from "../core/moderation.ts";

const USAGE = `Usage: deno run --allow-net server.ts [options]

Runs a chat room. Connect with client.ts, with nc HOST PORT, or in a browser at the
address it prints.

Options:
  --host HOST              address to listen on (default ${DEFAULT_SERVER_HOST})
  --port PORT              port to listen on, 0 for any free one (default ${DEFAULT_PORT})
  --web-port PORT          port of the browser page, on --host too, 0 for any (default ${DEFAULT_WEB_PORT})
  --no-web                 serve no browser page
  --web-origin ORIGIN      also let pages from ORIGIN join over WebSocket (repeatable)
  --irc-port PORT          port for IRC clients (irssi, WeeChat, HexChat), on --host too, TLS
                           there with --cert, 0 for any (default ${DEFAULT_IRC_PORT})
  --no-irc                 no IRC listener
  --irc-server-name NAME   the IRC listener's name (default the host name with --allow-sys,
                           else --host, or localhost)
  --irc-no-autojoin        do not show IRC clients #lobby as soon as they register
  --max-clients N          connections held at once (default ${MAX_CLIENTS})
  --max-per-ip N           connections from one address, and web requests under way from
                           one address; loopback exempt (default ${MAX_PER_IP})
  --trust-loopback false   hold loopback addresses to the per-address limits too (for tests,
                           or to try the limits from one machine; default true)
  --name-timeout SECONDS   time to send a nickname before getting "guest" (default ${
  NAME_TIMEOUT_MS / 1000
})
  --max-line-bytes N       longest accepted line (default ${MAX_LINE_BYTES})
  --max-queue-bytes N      output waiting for one member before it is dropped as too slow (default ${MAX_QUEUE_BYTES})
  --history N              recent public lines shown to newcomers, 0 for none (default ${HISTORY_LINES})
  --rate N                 lines (and as many longest lines of bytes) per second one member
                           may send, 0 for no limit (default ${RATE_LINES_PER_S})
  --burst N                lines one member may send at once (default ${RATE_BURST})
  --password-file PATH     lock the room with the password in PATH (needs --allow-read)
  --oper-password-file PATH
                           /oper with the password in PATH makes a server operator
  --no-console             read no operator commands from standard input (use it to run
                           in the background of an interactive shell)
  --cert FILE --key FILE   speak TLS with this certificate and key (needs --allow-read)
  --announce-limit N       announce joins and leaves while the room has at most N members (default ${ANNOUNCE_LIMIT})
  --max-rooms N            rooms at once, #lobby included (default ${MAX_ROOMS})
  --max-accounts N         accounts at most; /register past it is refused (default ${MAX_ACCOUNTS})
  --max-file-bytes SIZE    the largest file a member may share: bytes, or with KiB,
                           MiB or GiB (default 10MiB)
  --files-quota SIZE       bytes of shared files kept at once (default 256MiB)
  --file-ttl TIME          how long a shared file is kept: 30m, 24h, 7d (default 24h)
  --no-files               no file sharing (/upload says it is off)
  --data FILE              keep rooms, topics, history, bans, mutes, the message of the
                           day and accounts in this SQLite file, and shared files in the
                           folder FILE.files (needs --allow-read --allow-write)
  --redis URL              share rooms and names with the other servers on this Redis
                           (redis://[user:password@]host:port[/db], rediss:// for TLS)
  --cluster NAME           prefix of the cluster's keys in Redis (default chat)
  --reuse-port             share --port and --web-port with other processes (with --redis)
  --exit-when-empty        stop when the last member leaves
  --quiet                  print only the listening lines, no event log
  -h, --help               show this help`;

/** Server settings read from the command line, before any file is read. */
export interface ServerArgs {
  /** The options that go straight to {@linkcode ChatServer}. */
  options: ChatServerOptions;
  /** File holding the room's password. */
  passwordFile?: string;
  /** File holding the operator password. */
  operatorPasswordFile?: string;
  /** Whether standard input is read as the operator console. */
  console: boolean;
  /** File holding the TLS certificate chain. */
  certFile?: string;
  /** File holding the TLS private key. */
  keyFile?: string;
  /** Print no event log. */
  quiet: boolean;
  /** Print the usage and stop. */
  help: boolean;
}

/** Parses the command line; throws a `TypeError` that names the bad flag. */
export function parseServerArgs(args: string[]): ServerArgs {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "web-port": { type: "string" },
      "no-web": { type: "boolean", default: false },
      "web-origin": { type: "string", multiple: true },
      "irc-port": { type: "string" },
      "no-irc": { type: "boolean", default: false },
      "irc-server-name": { type: "string" },
      "irc-no-autojoin": { type: "boolean", default: false },
      "max-clients": { type: "string" },
      "max-per-ip": { type: "string" },
      "trust-loopback": { type: "string" },
      "name-timeout": { type: "string" },
      "max-line-bytes": { type: "string" },
      "max-queue-bytes": { type: "string" },
      history: { type: "string" },
      rate: { type: "string" },
      burst: { type: "string" },
      "password-file": { type: "string" },
      "oper-password-file": { type: "string" },
      "no-console": { type: "boolean", default: false },
      cert: { type: "string" },
      key: { type: "string" },
      "announce-limit": { type: "string" },
      "max-rooms": { type: "string" },
      "max-accounts": { type: "string" },
      "max-file-bytes": { type: "string" },
      "files-quota": { type: "string" },
      "file-ttl": { type: "string" },
      "no-files": { type: "boolean", default: false },
      data: { type: "string" },
      redis: { type: "string" },
      cluster: { type: "string" },
      "reuse-port": { type: "boolean", default: false },
      "exit-when-empty": { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (positionals.length > 0) throw new TypeError(`Unexpected argument: ${positionals[0]}`);
  const number = (
    flag: keyof typeof values,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
    whole = true,
  ): number | undefined => {
    const text = values[flag] as string | undefined;
    if (text === undefined) return undefined;
    const value = Number(text);
    const ok = text.trim() !== "" && Number.isFinite(value) && value >= min && value <= max &&
      (!whole || Number.isInteger(value));
    if (!ok) {
      const kind = whole ? "a whole number" : "a number";
      throw new TypeError(
        `Invalid --${flag}: expected ${kind} from ${min} to ${max}, got "${text}"`,
      );
    }
    return value;
  };
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new TypeError("Invalid TLS flags: --cert and --key go together");
  }
  if (
    values["no-web"] && (values["web-port"] !== undefined || values["web-origin"] !== undefined)
  ) {
    throw new TypeError(
      "Invalid web flags: --no-web goes with neither --web-port nor --web-origin",
    );
  }
  if (values["no-irc"] && values["irc-port"] !== undefined) {
    throw new TypeError("Invalid IRC flags: --no-irc goes with no --irc-port");
  }
  for (const origin of values["web-origin"] ?? []) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new TypeError(
        `Invalid --web-origin: expected scheme://host[:port] such as http://chat.lan:8080, got "${origin}"`,
      );
    }
  }
  if (values.redis !== undefined && values.data !== undefined) {
    throw new TypeError(
      "Invalid flags: --data is for a single server; with --redis, Redis is the store",
    );
  }
  if ((values.cluster !== undefined || values["reuse-port"]) && values.redis === undefined) {
    throw new TypeError("Invalid flags: --cluster and --reuse-port go with --redis");
  }
  if (values.redis !== undefined && !/^rediss?:\/\//.test(values.redis)) {
    throw new TypeError("Invalid --redis: expected redis://host:port or rediss://host:port");
  }
  const trustLoopback = values["trust-loopback"];
  if (trustLoopback !== undefined && trustLoopback !== "true" && trustLoopback !== "false") {
    throw new TypeError(`Invalid --trust-loopback: expected true or false, got "${trustLoopback}"`);
  }
  const nameTimeout = number("name-timeout", 0.001, 86400, false);
  const size = (flag: "max-file-bytes" | "files-quota"): number | undefined => {
    const text = values[flag];
    if (text === undefined) return undefined;
    const bytes = parseSize(text);
    if (bytes === null) {
      throw new TypeError(
        `Invalid --${flag}: expected bytes, or a size such as 512KiB, 10MiB or 1GiB, got "${text}"`,
      );
    }
    return bytes;
  };
  const ttlText = values["file-ttl"];
  const fileTtl = ttlText === undefined ? undefined : parseDuration(ttlText);
  if (fileTtl === null || (ttlText !== undefined && fileTtl === undefined)) {
    throw new TypeError(
      `Invalid --file-ttl: expected a time such as 30m, 24h or 7d, got "${ttlText}"`,
    );
  }
  return {
    options: {
      hostname: values.host,
      port: number("port", 0, 65535),
      webPort: values["no-web"] ? undefined : number("web-port", 0, 65535) ?? DEFAULT_WEB_PORT,
      webOrigins: values["web-origin"],
      ircPort: values["no-irc"] ? undefined : number("irc-port", 0, 65535) ?? DEFAULT_IRC_PORT,
      ircServerName: values["irc-server-name"],
      ircAutoJoin: !values["irc-no-autojoin"],
      maxClients: number("max-clients", 1),
      maxPerIp: number("max-per-ip", 1),
      limitLoopback: trustLoopback === "false",
      nameTimeoutMs: nameTimeout === undefined ? undefined : Math.ceil(nameTimeout * 1000),
      maxLineBytes: number("max-line-bytes", 1),
      maxQueueBytes: number("max-queue-bytes", 1),
      history: number("history", 0, MAX_HISTORY_LINES),
      rate: number("rate", 0, 1e9, false),
      burst: number("burst", 1),
      announceLimit: number("announce-limit", 0),
      maxRooms: number("max-rooms", 1),
      maxAccounts: number("max-accounts", 0),
      files: !values["no-files"],
      maxFileBytes: size("max-file-bytes"),
      filesQuota: size("files-quota"),
      fileTtlMs: fileTtl,
      dataFile: values.data,
      redisUrl: values.redis,
      clusterName: values.cluster,
      reusePort: values["reuse-port"],
      exitWhenEmpty: values["exit-when-empty"],
    },
    passwordFile: values["password-file"],
    operatorPasswordFile: values["oper-password-file"],
    console: !values["no-console"],
    certFile: values.cert,
    keyFile: values.key,
    quiet: values.quiet,
    help: values.help,
  };
}

/** A size typed as bytes (`1048576`) or with a unit (`512KiB`, `10MiB`, `1GiB`, `10M`), or null. */
export function parseSize(text: string): number | null {
  const match = /^(\d{1,12})\s*(k|ki|kib|m|mi|mib|g|gi|gib|b)?$/i.exec(text.trim());
  if (match === null) return null;
  const unit = (match[2] ?? "b").toLowerCase()[0] as string;
  const bytes = Number(match[1]) * ({ b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[unit] as number);
  return bytes >= 1 && Number.isSafeInteger(bytes) ? bytes : null;
}

/** Reads the files the flags name; the message says which file failed. */
async function readFiles(args: ServerArgs): Promise<ChatServerOptions> {
  const read = async (what: string, path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new Error(`Cannot read ${what} ${path}: ${(error as Error).message}`);
    }
  };
  const options = { ...args.options };
  const readPassword = async (what: string, path: string) => {
    // The first line is the password; a trailing newline from an editor is not part of it,
    // nor are spaces around it (a command's words are trimmed, so `/oper` could never match them).
    const password = ((await read(what, path)).split(/\r?\n/)[0] ?? "").trim();
    if (password === "") throw new Error(`Cannot use ${what} ${path}: it is empty`);
    return password;
  };
  if (args.passwordFile !== undefined) {
    options.password = await readPassword("password file", args.passwordFile);
  }
  if (args.operatorPasswordFile !== undefined) {
    options.operatorPassword = await readPassword(
      "operator password file",
      args.operatorPasswordFile,
    );
  }
  if (args.certFile !== undefined && args.keyFile !== undefined) {
    options.cert = await read("certificate", args.certFile);
    options.key = await read("key", args.keyFile);
  }
  return options;
}

function timestamp(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ` +
    `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
}

/**
 * Runs the server as the command line asks; returns the exit code: 0 when it
 * stopped, 1 when it could not start, 2 for a bad flag or a file it could not use.
 */
export async function main(args: string[]): Promise<number> {
  let parsed: ServerArgs;
  let options: ChatServerOptions;
  try {
    parsed = parseServerArgs(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    options = await readFiles(parsed);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const log = parsed.quiet ? undefined : (event: string) => console.log(`${timestamp()} ${event}`);
  const terminal = parsed.console && Deno.stdin.isTerminal();
  const consoleInput = parsed.console ? Deno.stdin.readable : undefined;
  return await runServer({ ...options, log }, (addr, page, irc) => {
    console.log(`Chat server listening on ${addr.hostname}:${addr.port}`);
    if (page !== null) console.log(`Open ${page} in a browser`);
    if (irc !== null) console.log(`IRC clients: ${irc}`);
    if (options.cert !== undefined) console.log("Connections use TLS.");
    if (options.cert !== undefined && new X509Certificate(options.cert).ca) {
      // What `openssl req -x509` makes by default; rustls refuses it (CaUsedAsEndEntity).
      console.error(
        `Warning: the certificate in ${parsed.certFile} is a CA certificate (CA:TRUE), ` +
          "which TLS clients refuse as a server's own; make one with " +
          "basicConstraints=critical,CA:FALSE (README: Encryption).",
      );
    }
    if (options.password !== undefined) console.log("The room is locked with a password.");
    if (terminal) console.log("Type operator commands here (/help lists them); Ctrl+C stops.");
  }, consoleInput);
}
