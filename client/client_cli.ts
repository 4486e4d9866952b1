/**
 * The terminal client's command line: {@linkcode parseClientArgs} reads the
 * arguments, `USAGE` is the help, and {@linkcode main} connects (hosting a
 * room first with --serve) and runs the session on the line editor or on
 * plain input and output. `client.ts` calls `main` with `Deno.args`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ChatClient, CLIENT_MAX_LINE_BYTES } from "./chat_client.ts";
import { PASSWORD_VARIABLE, runSession } from "./client_session.ts";
import { CONNECT_TIMEOUT_S, DEFAULT_CLIENT_HOST, DEFAULT_PORT, QUIT_WORD } from "../protocol.ts";
import { ChatServer } from "../server.ts";
import { type ChatConsole, TerminalConsole } from "./terminal_console.ts";
import { PlainConsole } from "./plain_console.ts";

const USAGE = `Usage: deno run --allow-net client.ts [HOST] [PORT] [options]

Joins a chat server (default ${DEFAULT_CLIENT_HOST} ${DEFAULT_PORT}). Every line you type is sent;
${QUIT_WORD}, end of input (Ctrl+D) or Ctrl+C leaves. Started on a terminal with no
arguments at all, it asks for the host and port.

Options:
  --name NAME          answer the server's nickname question with NAME
  --login              log in to the account NAME after the welcome (needs --name), and
                       again after each reconnection; the password is asked for unseen
  --password-file FILE with --login: read the account's password from the first line of
                       FILE instead (needs --allow-read)
  --port PORT          the server's port (or the second argument)
  --timeout SECONDS    give up connecting after SECONDS, TLS handshake included (default ${CONNECT_TIMEOUT_S})
  --tls                connect with TLS
  --ca FILE            trust the PEM certificate in FILE (needs --allow-read)
  --reconnect          when the connection drops, connect again (1 s to 30 s apart)
  --timestamps         show the time (HH:MM) before each line
  --no-bell            do not ring the terminal's bell for a line that names you
  --serve              host a room on PORT in this process and join it
                       (--allow-sys lets it list this machine's addresses)
  -h, --help           show this help

/send PATH shares a file with your room, /send NAME PATH with NAME alone; reading it
needs --allow-read (on a terminal, Deno asks for that file).

A locked room's password is asked for without echo, or read from $${PASSWORD_VARIABLE}
when run with --allow-env.

Exit codes: 0 you left, 1 the server closed the connection, 2 bad arguments or no connection.`;

/** Settings read from the client's command line. */
export interface ClientArgs {
  /** Host from the command line, if given. */
  hostname?: string;
  /** Port from the command line, if given. */
  port?: number;
  /** Nickname to send, if given. */
  name?: string;
  /** Log in to the account `name` after the welcome (`/login NAME PASSWORD`). */
  login: boolean;
  /** File whose first line is the account's password, for --login. */
  passwordFile?: string;
  /** Connect timeout in milliseconds. */
  timeoutMs: number;
  /** Connect with TLS. */
  tls: boolean;
  /** File with a certificate to trust. */
  caFile?: string;
  /** Connect again when the connection drops. */
  reconnect: boolean;
  /** Show times before lines. */
  timestamps: boolean;
  /** Ring the terminal's bell for a mention or a private message. */
  bell: boolean;
  /** Host a room in this process. */
  serve: boolean;
  /** Whether to print the usage and stop. */
  help: boolean;
}

/** Parses the command line; throws a `TypeError` that names the bad argument. */
export function parseClientArgs(args: string[]): ClientArgs {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      login: { type: "boolean", default: false },
      "password-file": { type: "string" },
      port: { type: "string" },
      timeout: { type: "string" },
      tls: { type: "boolean", default: false },
      ca: { type: "string" },
      reconnect: { type: "boolean", default: false },
      timestamps: { type: "boolean", default: false },
      "no-bell": { type: "boolean", default: false },
      serve: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (positionals.length > 2) throw new TypeError(`Unexpected argument: ${positionals[2]}`);
  const [hostname, portText] = positionals;
  if (portText !== undefined && values.port !== undefined) {
    throw new TypeError("Give the port once: as an argument or with --port");
  }
  const timeout = Number(values.timeout ?? CONNECT_TIMEOUT_S);
  if (!(timeout > 0 && timeout <= 3600)) {
    throw new TypeError(
      `Invalid --timeout: expected seconds from 0 to 3600, got "${values.timeout}"`,
    );
  }
  if (values.ca !== undefined && !values.tls) throw new TypeError("--ca goes with --tls");
  if (values.login && values.name === undefined) {
    throw new TypeError("--login needs --name NAME: the account to log in to");
  }
  // The client's only password file is the account's: a locked room's password
  // comes from $CHAT_PASSWORD or is typed, so a file given without --login is a mistake.
  if (values["password-file"] !== undefined && !values.login) {
    throw new TypeError("--password-file goes with --login (it holds the account's password)");
  }
  const port = portText ?? values.port;
  return {
    hostname: hostname === "" ? undefined : hostname,
    port: port === undefined ? undefined : parsePort(port),
    name: values.name,
    login: values.login,
    passwordFile: values["password-file"],
    timeoutMs: Math.round(timeout * 1000),
    tls: values.tls,
    caFile: values.ca,
    reconnect: values.reconnect,
    timestamps: values.timestamps,
    bell: !values["no-bell"],
    serve: values.serve,
    help: values.help,
  };
}

/** The first line of a file's text, without its line ending. */
function firstLine(text: string): string {
  return text.split(/\r?\n/, 1)[0] ?? "";
}

/** Reads a port number 1-65535; throws a `TypeError` naming the text otherwise. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (text.trim() === "" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`Invalid port "${text}": expected a whole number from 1 to 65535`);
  }
  return port;
}

/** The machine's non-loopback IPv4 addresses, or `null` without --allow-sys. */
function machineAddresses(): string[] | null {
  // Asked first: on a terminal, calling without the permission brings up Deno's prompt.
  const permission = Deno.permissions.querySync({ name: "sys", kind: "networkInterfaces" });
  if (permission.state !== "granted") return null;
  try {
    return Deno.networkInterfaces()
      .filter((iface) => iface.family === "IPv4" && !iface.address.startsWith("127."))
      .map((iface) => iface.address)
      .filter((address, i, all) => all.indexOf(address) === i);
  } catch {
    return null;
  }
}

/** Starts a room in this process for `--serve`; prints where others can join. */
async function host(port: number): Promise<ChatServer> {
  const server = new ChatServer({ hostname: "0.0.0.0", port });
  const { port: bound } = await server.start();
  const addresses = machineAddresses();
  console.log(`Hosting a chat room on port ${bound}.`);
  if (addresses === null) {
    console.log(
      `Others join with this machine's address and port ${bound} ` +
        "(run with --allow-sys to have the addresses listed here).",
    );
  } else if (addresses.length === 0) {
    console.log("This machine has no network address besides loopback; only local users can join.");
  } else {
    console.log("Others join with one of:");
    for (const address of addresses) {
      console.log(`  deno run --allow-net client.ts ${address} ${bound}`);
    }
  }
  return server;
}

/**
 * Runs the terminal client with these command-line arguments, on standard
 * input and output; returns the exit code (0 you left, 1 the server closed
 * the connection, 2 bad arguments or no connection).
 */
export async function main(args: string[]): Promise<number> {
  let options: ClientArgs;
  try {
    options = parseClientArgs(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  let { hostname, port } = options;
  // Questions only for a bare start: given any argument, the command line is
  // the interface, and what it leaves out takes the defaults the help names.
  if (args.length === 0 && Deno.stdin.isTerminal()) {
    hostname = prompt(`Host [${DEFAULT_CLIENT_HOST}]:`)?.trim() || undefined;
    const answer = prompt(`Port [${DEFAULT_PORT}]:`)?.trim();
    try {
      port = answer ? parsePort(answer) : undefined;
    } catch (error) {
      console.error((error as Error).message);
      return 2;
    }
  }
  let caCerts: string[] | undefined;
  if (options.caFile !== undefined) {
    try {
      caCerts = [await Deno.readTextFile(options.caFile)];
    } catch (error) {
      console.error(`Cannot read certificate ${options.caFile}: ${(error as Error).message}`);
      return 2;
    }
  }
  let loginPassword: string | null = null;
  if (options.login && options.passwordFile !== undefined) {
    try {
      loginPassword = firstLine(await Deno.readTextFile(options.passwordFile));
    } catch (error) {
      console.error(
        `Cannot read --password-file ${options.passwordFile}: ${(error as Error).message}`,
      );
      return 2;
    }
    if (loginPassword === "") {
      console.error(
        `Cannot log in: --password-file ${options.passwordFile} starts with an empty line`,
      );
      return 2;
    }
  } else if (options.login && !Deno.stdin.isTerminal()) {
    console.error(
      "Cannot log in: --login asks for the password on a terminal, and input is not one " +
        "(give --password-file FILE)",
    );
    return 2;
  }
  let server: ChatServer | null = null;
  if (options.serve) {
    try {
      server = await host(port ?? DEFAULT_PORT);
    } catch (error) {
      console.error(`Cannot host on port ${port ?? DEFAULT_PORT}: ${(error as Error).message}`);
      return 2;
    }
    hostname = "127.0.0.1";
    port = server.addr.port;
  }
  const color = Deno.stdout.isTerminal() && !Deno.noColor;
  const connect = () =>
    ChatClient.connect({
      hostname,
      port,
      timeoutMs: options.timeoutMs,
      tls: options.tls,
      caCerts,
      onLineTooLong: () =>
        console.error(`[a line over ${CLIENT_MAX_LINE_BYTES} bytes was not shown]`),
    });
  // On a terminal, the line editor; piped, lines as they come, with no escape codes.
  const input: ChatConsole = Deno.stdin.isTerminal() && Deno.stdout.isTerminal()
    ? new TerminalConsole({ bell: options.bell, color })
    : new PlainConsole();
  try {
    if (options.login && loginPassword === null) {
      // Asked before connecting, so that the server does not wait for a name meanwhile.
      input.start();
      loginPassword = await input.askSecret(`Password for ${options.name}: `);
      if (loginPassword === null) return 0;
    }
    let first: ChatClient;
    try {
      first = await connect();
    } catch (error) {
      input.restore();
      console.error((error as Error).message);
      return 2;
    }
    input.start();
    return await runSession({
      connect,
      timeoutMs: options.timeoutMs,
      name: options.name,
      login: loginPassword === null || options.name === undefined
        ? undefined
        : { name: options.name, password: loginPassword },
      reconnect: options.reconnect,
      display: { timestamps: options.timestamps, color },
      console: input,
      hostname: hostname ?? DEFAULT_CLIENT_HOST,
      caCerts,
    }, first);
  } finally {
    input.restore();
    // The host leaving closes the room: everyone gets "* Server is shutting down".
    await server?.close();
  }
}
