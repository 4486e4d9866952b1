/**
 * The terminal client's session: prints the server's lines while sending
 * what is typed, answers the server's questions (the nickname from --name,
 * a locked room's password from the environment or typed without echo) and,
 * with --reconnect, connects again when the connection drops and goes back
 * to the room it was in. {@linkcode runSession} runs it; `client_cli.ts`
 * starts it from the command line.
 *
 * @module
 */

import { type ChatClient, CLIENT_MAX_LINE_BYTES } from "./chat_client.ts";
import { FileSender, isUploadCommand, sendArguments } from "./file_sender.ts";
import { type DisplayOptions, formatLine } from "./line_format.ts";
import { PlainConsole } from "./plain_console.ts";
import { asksForPassword, isQuitWord, LINE_TOO_LONG } from "../protocol.ts";
import type { ChatConsole } from "./terminal_console.ts";
import { registeredName } from "../web/lines.js";

/** First and longest wait between reconnection attempts. */
export const RECONNECT_MIN_MS = 1000;
/** The longest wait between reconnection attempts. */
export const RECONNECT_MAX_MS = 30_000;
/** Environment variable the client reads the room's password from (with --allow-env). */
export const PASSWORD_VARIABLE = "CHAT_PASSWORD";

/**
 * Whether a received line says the server speaks TLS: a TLS record (an
 * alert), or this project's server saying so in words.
 */
function looksLikeTls(line: string): boolean {
  return line.startsWith("\x15\x03") || line.startsWith("\x16\x03") ||
    line.startsWith("! This port speaks TLS");
}

/** The wait before reconnection attempt `attempt` (0 first): doubling from 1 s to 30 s, ±20 %. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** The room's password from the environment, when the client may read it. */
function passwordFromEnvironment(): string | null {
  const permission = Deno.permissions.querySync({ name: "env", variable: PASSWORD_VARIABLE });
  if (permission.state !== "granted") return null;
  return Deno.env.get(PASSWORD_VARIABLE) ?? null;
}

/**
 * When typed lines may go to the server. They wait while the client itself has
 * an answer to give (the password from the environment, the nickname from
 * --name); a question the person answers first lets one line through.
 */
class Gate {
  #open = false;
  #passes = 0;
  #waiters: (() => void)[] = [];

  /** Lets every line through from now on. */
  open(): void {
    this.#open = true;
    this.#wake();
  }

  /** Lets one line through: the person's answer to the question just asked. */
  passOne(): void {
    this.#passes++;
    this.#wake();
  }

  /** Resolves when the next line may go. */
  async pass(): Promise<void> {
    while (!this.#open) {
      if (this.#passes > 0) {
        this.#passes--;
        return;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** Everything a terminal session needs to know, across reconnections. */
export interface Session {
  /** Opens a new connection, for a reconnection. */
  connect: () => Promise<ChatClient>;
  /** How long connecting may take, in milliseconds; a server as long silent gets a hint. */
  timeoutMs: number;
  /** The nickname to answer the server's question with (--name), if any. */
  name: string | undefined;
  /** The account to log in to after each welcome (--login): `/login NAME PASSWORD`. */
  login?: { name: string; password: string };
  /** Connect again when the connection drops. */
  reconnect: boolean;
  /** How received lines are shown. */
  display: DisplayOptions;
  /** The line editor, on a terminal; plain input and output otherwise. */
  console?: ChatConsole;
  /** The server's host, where `/send` uploads when the server's address names loopback. */
  hostname?: string;
  /** Certificates to trust besides the system's (`--ca`), for an https upload address too. */
  caCerts?: string[];
}

/** What a move to another room says: `* You are now in #dev (3 here)`. */
const MOVED = /^\* You are now in #(\S+) \(\d+ here\)$/;

/** How one connection ended. */
type Ending = "quit" | "closed";

/**
 * Runs the terminal session: prints the server's lines while sending what is
 * typed, across reconnections when asked; returns the exit code.
 */
export async function runSession(session: Session, first: ChatClient): Promise<number> {
  const input: ChatConsole = session.console ?? new PlainConsole();
  const quit = Promise.withResolvers<"quit">();
  const onInterrupt = () => quit.resolve("quit");
  input.onInterrupt = onInterrupt;
  Deno.addSignalListener("SIGINT", onInterrupt);
  let client: ChatClient | null = first;
  let name = session.name ?? null;
  /** The room the server last put us in, to go back to after a reconnection. */
  let room = "lobby";
  const password = passwordFromEnvironment();
  // Typed lines wait until the client's own answers (password, name) are sent.
  let gate = new Gate();
  let tlsSpoken = false;
  /** Whether the current connection was welcomed, and who waits for it: `/send` does. */
  let welcomedNow = false;
  const onWelcome: (() => void)[] = [];
  const files = new FileSender({
    console: input,
    chatHost: session.hostname,
    caCerts: session.caCerts,
  });

  const sendInput = async () => {
    for (let line = await input.next(); line !== null; line = await input.next()) {
      if (line === LINE_TOO_LONG) {
        input.note(`[line over ${CLIENT_MAX_LINE_BYTES} bytes not sent]`);
        continue;
      }
      if (isQuitWord(line.trim())) return;
      await gate.pass();
      if (client === null) {
        input.note("[not connected; line not sent]");
        continue;
      }
      const sending = sendArguments(line);
      if (sending !== null) {
        // Its /upload is a command: it goes once the server has welcomed us.
        while (!welcomedNow) await new Promise<void>((resolve) => onWelcome.push(resolve));
        const current = client as ChatClient;
        // Lines typed meanwhile wait for the server's answer to its /upload, not for the file.
        await files.command(sending, (command) => current.send(command));
        continue;
      }
      if (welcomedNow && isUploadCommand(line)) files.typedUpload();
      await client.send(line).catch(() => input.note("[connection lost; line not sent]"));
    }
    // Leaving waits for the files being sent, as it waits for piped lines.
    if (files.sending > 0) {
      const what = files.sending === 1 ? "the file" : `${files.sending} files`;
      input.note(`[waiting for ${what} being sent; Ctrl+C leaves now]`);
      await files.finish();
    }
  };

  /** Reads one connection's lines to their end, answering the server's questions. */
  const receive = async (current: ChatClient): Promise<Ending> => {
    let welcomed = false;
    let nameSent = false;
    gate = new Gate();
    if (name === null && password === null) gate.open();
    // A server silent for as long as connecting may take is worth a word:
    // a TLS server waits for a handshake that a plain client never starts.
    const silence = setTimeout(() => {
      input.note(
        `[the server has said nothing for ${session.timeoutMs / 1000} s; ` +
          "if it uses TLS, add --tls]",
      );
      if (!nameSent && name !== null) {
        nameSent = true;
        void current.send(name).catch(() => {});
      }
      gate.open();
    }, session.timeoutMs);
    for await (const line of current.lines()) {
      clearTimeout(silence);
      if (looksLikeTls(line)) {
        tlsSpoken = true;
        continue;
      }
      if (!welcomed) {
        const welcome = /^Welcome, (.+?)! /.exec(line);
        if (welcome) {
          welcomed = true;
          name = welcome[1] as string;
          // Everyone starts in #lobby, after a reconnection too: then we go back.
          input.where(name, "lobby");
          // Before anything else, so that the room sees the account's name.
          if (session.login !== undefined) {
            const { name: account, password } = session.login;
            void current.send(`/login ${account} ${password}`).catch(() => {});
          }
          if (current !== first && room !== "lobby") {
            void current.send(`/join #${room}`).catch(() => {});
          }
          room = "lobby";
          welcomedNow = true;
          for (const wake of onWelcome.splice(0)) wake();
          gate.open();
        } else if (registeredName(line) !== null) {
          // "* alice is registered; /login alice PASSWORD to use it" says the
          // word, but asks for no password: the welcome follows.
        } else if (asksForPassword(line)) {
          if (password !== null) void current.send(password).catch(() => {});
          else input.startSecretLine();
          // With a nickname of our own to send, only the typed password may
          // go before the nickname question; without one, the person answers both.
          if (name === null) gate.open();
          else if (password === null) gate.passOne();
        } else if (
          !nameSent && name !== null && (session.name !== undefined || current !== first)
        ) {
          // The nickname question: --name answers it, and after a reconnection
          // the name the server last welcomed us by does.
          nameSent = true;
          void current.send(name).catch(() => {});
          gate.open();
        }
      } else if (name !== null && line.startsWith(`* ${name} is now known as `)) {
        name = line.slice(`* ${name} is now known as `.length);
        input.where(name, null);
      } else if (files.take(line)) {
        // The answer to /send's own /upload: not shown.
        continue;
      } else {
        const moved = MOVED.exec(line);
        if (moved !== null) {
          room = moved[1] as string;
          input.where(name, room);
        }
      }
      await input.show(formatLine(line, session.display, welcomed ? name : null), line, name);
    }
    clearTimeout(silence);
    welcomedNow = false;
    files.connectionLost();
    gate.open();
    return "closed";
  };

  void sendInput().then(() => quit.resolve("quit"), () => quit.resolve("quit"));
  try {
    for (let attempt = 0;;) {
      if (client !== null) {
        const ending = await Promise.race([receive(client), quit.promise]);
        if (ending === "quit") {
          input.restore();
          await client.quit();
          return 0;
        }
        const heard = client.receivedLines > 0;
        client.close();
        client = null;
        if (!session.reconnect) {
          input.note(
            tlsSpoken
              ? "Connection closed by server: it speaks TLS (add --tls)."
              : heard
              ? "Connection closed by server."
              : "Connection closed by server before it said anything (if it uses TLS, add --tls).",
          );
          return 1;
        }
        attempt = 0;
      }
      const delay = reconnectDelay(attempt++);
      input.note(`Connection lost; reconnecting in ${(delay / 1000).toFixed(1)} s...`);
      const stop = await Promise.race([pauseFor(delay), quit.promise]);
      if (stop === "quit") return 0;
      try {
        client = await session.connect();
        input.note("Reconnected.");
      } catch (error) {
        input.note((error as Error).message);
      }
    }
  } catch (error) {
    input.note(`Connection failed: ${(error as Error).message}`);
    return 1;
  } finally {
    files.stop();
    input.restore();
    Deno.removeSignalListener("SIGINT", onInterrupt);
    (client as ChatClient | null)?.close();
  }
}

function pauseFor(ms: number): Promise<"waited"> {
  return new Promise((resolve) => setTimeout(() => resolve("waited"), ms));
}
