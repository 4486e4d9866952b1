/**
 * `/send [NAME] PATH` in the terminal client: shares a file of this machine
 * with the room, or privately with NAME. The client asks the server for an
 * upload address itself (`/upload`, or `/upload NAME`), keeps that answer off
 * the screen, and PUTs the file to the address over HTTP as it reads it,
 * showing how far it got on the console's status line
 * (`Sending cat.png: 45% (540 KB of 1.2 MB)`). The room's
 * `* alice shared cat.png (1.2 MB): LINK` then arrives as any line does; a
 * refusal is the server's `! ` line, or its HTTP answer, printed.
 *
 * {@linkcode parseSend} reads the command's words, {@linkcode FileSender}
 * does the rest. Reading the file is the one thing the client needs
 * `--allow-read` for, and for that file only: without the flag Deno asks on
 * a terminal, and otherwise the client says which flag is missing.
 *
 * @module
 */

import { printable } from "./line_format.ts";
import type { ChatConsole } from "./terminal_console.ts";
import { sizeText } from "../core/file_kinds.ts";
import { UPLOADS_AT_ONCE } from "../core/files.ts";
import { parseCommand } from "../protocol.ts";

/** How long the client waits for the server to answer its own `/upload`. */
export const UPLOAD_ANSWER_MS = 15_000;
/** The least time between two updates of a file's progress on the status line. */
const PROGRESS_MS = 100;

/** The server's answer to `/upload`: the address to PUT the file to. */
const UPLOAD_ADDRESS = /^\* Upload within \d+ minutes?: curl -T FILE (\S+)$/;
/** The server's refusals of `/upload` (and an older server's word for not knowing it). */
const UPLOAD_REFUSAL =
  /^! (?:File sharing is off|No such user: |Too many uploads|You are muted|Unknown command: \/upload\b)/;

/** What `/send` was asked: share `path` with the room, or privately with `to`. */
export interface SendRequest {
  /** The member to share with privately; null for the room. */
  to: string | null;
  /** The file, as typed (relative to the client's working directory). */
  path: string;
  /** Whether `to` was told from the path by the rule for unquoted words, not by quotes. */
  guessed: boolean;
}

/**
 * Splits `text` into words at spaces, a word in double or single quotes
 * holding spaces; null when a quote does not close.
 */
function quotedWords(text: string): string[] | null {
  const words: string[] = [];
  for (let at = 0; at < text.length;) {
    const char = text[at] as string;
    if (/\s/.test(char)) {
      at++;
    } else if (char === '"' || char === "'") {
      const end = text.indexOf(char, at + 1);
      if (end === -1) return null;
      words.push(text.slice(at + 1, end));
      at = end + 1;
    } else {
      const end = text.slice(at).search(/\s/);
      words.push(end === -1 ? text.slice(at) : text.slice(at, at + end));
      at = end === -1 ? text.length : at + end;
    }
  }
  return words;
}

/**
 * Reads what follows `/send`: `PATH` or `NAME PATH`. A word that starts with
 * a quote runs to the same quote (`/send "my file.png"`,
 * `/send bob 'my file.png'`). Without quotes, one word is a path, and several
 * are a path when `isFile` says the whole names a file; otherwise the first
 * is a NAME and the rest the path (`/send bob notes.txt`). Null when nothing
 * is named, a quote does not close, or quoted words are more than two.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const none = () => false;
 * assert.deepEqual(parseSend("cat.png", none), { to: null, path: "cat.png", guessed: false });
 * assert.deepEqual(parseSend("bob notes.txt", none), { to: "bob", path: "notes.txt", guessed: true });
 * assert.deepEqual(parseSend("my file.png", (path) => path === "my file.png"), {
 *   to: null,
 *   path: "my file.png",
 *   guessed: false,
 * });
 * assert.deepEqual(parseSend('bob "my file.png"', none), {
 *   to: "bob",
 *   path: "my file.png",
 *   guessed: false,
 * });
 * ```
 */
export function parseSend(text: string, isFile: (path: string) => boolean): SendRequest | null {
  const rest = text.trim();
  if (rest === "") return null;
  if (/(?:^|\s)["']/.test(rest)) {
    const words = quotedWords(rest);
    if (words === null || words.length === 0 || words.length > 2) return null;
    if (words.some((word) => word === "")) return null;
    const [first, second] = words as [string, string?];
    return second === undefined
      ? { to: null, path: first, guessed: false }
      : { to: first, path: second, guessed: false };
  }
  const space = rest.search(/\s/);
  if (space === -1 || isFile(rest)) return { to: null, path: rest, guessed: false };
  return { to: rest.slice(0, space), path: rest.slice(space).trim(), guessed: true };
}

/** What follows `/send` in a typed line, or null when the line is no `/send`. */
export function sendArguments(line: string): string | null {
  const command = parseCommand(line.trim());
  return command?.name === "send" ? command.rest : null;
}

/** Whether a typed line is an `/upload` of the person's own, whose answer they see. */
export function isUploadCommand(line: string): boolean {
  return parseCommand(line.trim())?.name === "upload";
}

/** A file's name without its folders, as it is shared. */
export function baseName(path: string): string {
  return path.replace(/[\\/]+$/, "").split(/[\\/]/).pop() || path;
}

/**
 * What the status line says of a file being sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(progressText("cat.png", 540_000, 1_200_000), "Sending cat.png: 45% (540 KB of 1.2 MB)");
 * ```
 */
export function progressText(name: string, sent: number, size: number): string {
  const percent = size === 0 ? 100 : Math.floor((Math.min(sent, size) / size) * 100);
  return `Sending ${name}: ${percent}% (${sizeText(sent)} of ${sizeText(size)})`;
}

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/**
 * Where the file goes: the upload address the server gave, then `/` and the
 * file's name, URL-encoded. A server listening on every address names itself
 * `localhost`; when the chat is on another host, the upload goes there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const address = "http://localhost:8080/upload/0123";
 * assert.equal(uploadUrl(address, "my cat.png").href, "http://localhost:8080/upload/0123/my%20cat.png");
 * assert.equal(uploadUrl(address, "a.txt", "chat.example").href, "http://chat.example:8080/upload/0123/a.txt");
 * ```
 */
export function uploadUrl(address: string, name: string, chatHost?: string): URL {
  const url = new URL(address);
  if (chatHost !== undefined && isLoopback(url.hostname) && !isLoopback(chatHost)) {
    url.hostname = chatHost.includes(":") ? `[${chatHost}]` : chatHost;
  }
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${encodeURIComponent(name)}`;
  return url;
}

/** Whether the client may read `path` without asking, and it is a file. */
function readableFile(path: string): boolean {
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return false;
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** How an `/upload` of the client's own ended: its address, refused (null), or no answer. */
type Answer = string | null | "lost" | "silent";

/** An `/upload` sent and not answered yet: the person's, or the client's own for a `/send`. */
interface Asked {
  /** Called with the answer; undefined for the person's own. */
  answer?: (answer: Answer) => void;
}

/** A file being sent, for the status line. */
interface Sending {
  name: string;
  sent: number;
  size: number;
}

/** What a {@linkcode FileSender} works with. */
export interface FileSenderOptions {
  /** Where notes, progress and Deno's permission prompt go. */
  console: ChatConsole;
  /** The chat server's host: an upload address that names loopback means this host. */
  chatHost?: string;
  /** Certificates to trust for an `https` upload address besides the system's (`--ca`). */
  caCerts?: string[];
  /** How long to wait for the server's answer to `/upload`. @default {15000} */
  answerMs?: number;
}

/** `/send` for one session: see the module's description. */
export class FileSender {
  readonly #console: ChatConsole;
  readonly #chatHost: string | undefined;
  readonly #caCerts: string[] | undefined;
  readonly #answerMs: number;
  /** The `/upload`s sent and not answered, oldest first: the server answers in order. */
  readonly #asked: Asked[] = [];
  readonly #sending = new Map<number, Sending>();
  /** Every file's turn, from its `/send` until it is sent or failed. */
  readonly #jobs = new Set<Promise<void>>();
  /** Files asking for an address or being sent: at most the server's {@linkcode UPLOADS_AT_ONCE}. */
  #active = 0;
  /** Files waiting their turn. */
  readonly #turns: (() => void)[] = [];
  readonly #stop = new AbortController();
  #nextId = 0;
  #shownAt = -Infinity;

  /** `/send` that notes, asks and shows progress on `options.console`. */
  constructor(options: FileSenderOptions) {
    this.#console = options.console;
    this.#chatHost = options.chatHost;
    this.#caCerts = options.caCerts;
    this.#answerMs = options.answerMs ?? UPLOAD_ANSWER_MS;
  }

  /** How many files are being sent, or waiting their turn. */
  get sending(): number {
    return this.#jobs.size;
  }

  /** The person sent an `/upload` of their own: its answer is theirs, shown as usual. */
  typedUpload(): void {
    this.#asked.push({});
  }

  /**
   * Looks at a line from the server: true when it is the answer to the
   * client's own `/upload`, which is not shown. A refusal is shown, and ends
   * that `/send`.
   */
  take(line: string): boolean {
    const address = UPLOAD_ADDRESS.exec(line)?.[1];
    if (address === undefined && !UPLOAD_REFUSAL.test(line)) return false;
    const asked = this.#asked.shift();
    if (asked?.answer === undefined) return false;
    asked.answer(address ?? null);
    return address !== undefined;
  }

  /** The connection is gone: the `/send`s waiting for an address end, the uploads go on. */
  connectionLost(): void {
    for (const asked of this.#asked.splice(0)) asked.answer?.("lost");
  }

  /**
   * Runs `/send` with `text`, the words after it: checks the file, sends
   * `/upload` with `send` and waits for the answer, then leaves the file
   * uploading (see {@linkcode FileSender.finish}). With as many files being
   * sent as the server takes at once, the file waits its turn instead, and
   * this returns at once. Every failure is one line.
   */
  async command(text: string, send: (line: string) => Promise<void>): Promise<void> {
    const request = parseSend(text, readableFile);
    if (request === null) {
      return this.#console.note(
        '! Usage: /send PATH, or /send NAME PATH to NAME alone (quote a path with spaces: /send "my file.png")',
      );
    }
    const { path, to } = request;
    const shown = printable(path);
    if (!await this.#mayRead(path)) {
      return this.#console.note(
        `! /send needs --allow-read to read ${shown} (run with --allow-read)`,
      );
    }
    let file: Deno.FsFile;
    let size: number;
    try {
      file = await Deno.open(path);
    } catch (error) {
      return this.#console.note(this.#openFailure(request, error));
    }
    try {
      const info = await file.stat();
      if (!info.isFile) throw new TypeError(`${shown} is not a file`);
      size = info.size;
    } catch (error) {
      file.close();
      return this.#console.note(this.#openFailure(request, error));
    }
    const name = baseName(path);
    const waits = this.#active >= UPLOADS_AT_ONCE;
    if (waits) {
      this.#console.note(
        `[${printable(name)} waits its turn: ${this.#active} files are being sent]`,
      );
    }
    const answered = Promise.withResolvers<void>();
    const job: Promise<void> = this.#send(file, size, name, to, send, answered.resolve)
      .finally(() => this.#jobs.delete(job));
    this.#jobs.add(job);
    // Lines typed after a /send go after its /upload's answer, which is then told apart for sure.
    if (!waits) await answered.promise;
  }

  /** Waits until every file being sent (or waiting its turn) is sent, or has failed. */
  async finish(): Promise<void> {
    while (this.#jobs.size > 0) await Promise.all(this.#jobs);
  }

  /** Stops every upload under way, and every wait for an address; they say nothing more. */
  stop(): void {
    this.#stop.abort();
    this.connectionLost();
    for (const wake of this.#turns.splice(0)) wake();
  }

  /** One file's turn: an address, then the upload; `answered` once the address came or not. */
  async #send(
    file: Deno.FsFile,
    size: number,
    name: string,
    to: string | null,
    send: (line: string) => Promise<void>,
    answered: () => void,
  ): Promise<void> {
    while (this.#active >= UPLOADS_AT_ONCE && !this.#stop.signal.aborted) {
      await new Promise<void>((resolve) => this.#turns.push(resolve));
    }
    this.#active++;
    try {
      const address = this.#stop.signal.aborted
        ? null
        : await this.#askAddress(to, printable(name), send);
      answered();
      if (address === null) return file.close();
      await this.#put(file, size, printable(name), uploadUrl(address, name, this.#chatHost));
    } finally {
      answered();
      this.#active--;
      this.#turns.shift()?.();
    }
  }

  /** Whether the client may read `path`: granted, or Deno asked and the person said yes. */
  async #mayRead(path: string): Promise<boolean> {
    const descriptor = { name: "read", path } as const;
    const { state } = await Deno.permissions.query(descriptor);
    if (state !== "prompt") return state === "granted";
    const asked = await this.#console.lendTerminal(() => Deno.permissions.request(descriptor));
    return asked?.state === "granted";
  }

  #openFailure(request: SendRequest, error: unknown): string {
    const shown = printable(request.path);
    if (error instanceof Deno.errors.NotFound) {
      // `/send my file.png` without quotes, when no "my file.png" could be seen.
      const whole = `${request.to} ${request.path}`;
      return request.guessed
        ? `! No such file: ${shown} (a path with spaces goes in quotes: /send "${
          printable(whole)
        }")`
        : `! No such file: ${shown}`;
    }
    if (error instanceof TypeError) return `! ${error.message}`;
    const reason = (error as Error).message.replace(/ \(os error \d+\)$/, "");
    return `! Cannot read ${shown}: ${printable(reason)}`;
  }

  /** Sends `/upload` (to `to`, if given) and waits for its address; null when there is none. */
  async #askAddress(
    to: string | null,
    name: string,
    send: (line: string) => Promise<void>,
  ): Promise<string | null> {
    const answered = Promise.withResolvers<Answer>();
    const asked: Asked = { answer: answered.resolve };
    this.#asked.push(asked);
    const timer = setTimeout(() => answered.resolve("silent"), this.#answerMs);
    send(to === null ? "/upload" : `/upload ${to}`).catch(() => answered.resolve("lost"));
    const answer = await answered.promise;
    clearTimeout(timer);
    const at = this.#asked.indexOf(asked);
    if (at !== -1) this.#asked.splice(at, 1);
    if (this.#stop.signal.aborted) return null;
    if (answer === "silent") {
      this.#console.note(
        `! ${name} not sent: the server gave no upload address in ${this.#answerMs / 1000} s ` +
          "(does it share files?)",
      );
    } else if (answer === "lost") {
      this.#console.note(`[connection lost; ${name} not sent]`);
    }
    // A refusal (null) was the server's `! ` line, shown as it came.
    return answer === "silent" || answer === "lost" ? null : answer;
  }

  /** PUTs the file as it reads it, counting what leaves for the status line. */
  async #put(file: Deno.FsFile, size: number, name: string, url: URL): Promise<void> {
    const id = this.#nextId++;
    const progress: Sending = { name, sent: 0, size };
    this.#sending.set(id, progress);
    this.#showProgress(true);
    const body = file.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => {
          progress.sent += chunk.length;
          this.#showProgress(false);
          controller.enqueue(chunk);
        },
      }),
    );
    // An https page with a certificate of its own (--ca) is trusted as the chat is.
    const client = url.protocol === "https:" && this.#caCerts !== undefined
      ? Deno.createHttpClient({ caCerts: this.#caCerts })
      : undefined;
    try {
      // Deno sends a streamed body chunked: the server counts it as it comes.
      const response = await fetch(url, {
        method: "PUT",
        body,
        signal: this.#stop.signal,
        client,
      });
      const text = await response.text();
      if (!response.ok) {
        const said = printable(text.split(/\r?\n/, 1)[0] ?? "").trim();
        this.#console.note(
          `! Sending ${name} failed: ${said === "" ? `HTTP ${response.status}` : said}`,
        );
      }
    } catch (error) {
      if (!this.#stop.signal.aborted) {
        this.#console.note(`! Sending ${name} failed: ${printable((error as Error).message)}`);
      }
    } finally {
      client?.close();
      try {
        file.close();
      } catch {
        // Closed with its stream already.
      }
      this.#sending.delete(id);
      this.#showProgress(true);
    }
  }

  /** Shows every file's progress on the status line, at most every {@linkcode PROGRESS_MS}. */
  #showProgress(now: boolean): void {
    const time = performance.now();
    if (!now && time - this.#shownAt < PROGRESS_MS) return;
    this.#shownAt = time;
    const shown = [...this.#sending.values()].map((one) =>
      progressText(one.name, one.sent, one.size)
    );
    this.#console.progress(shown.join(", "));
  }
}
