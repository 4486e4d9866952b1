/**
 * A real terminal for the client's tests: a program runs in a tmux pane on a
 * private tmux server; the test sends it keys, pastes, resizes it, reads the
 * screen back and sees how it exited.
 *
 * ```ts ignore
 * await using term = await TmuxTerminal.start(
 *   [Deno.execPath(), "run", "--allow-net", "client.ts", "127.0.0.1", "2003"],
 *   { columns: 80, rows: 24 },
 * );
 * await term.waitForText("nickname");
 * await term.type("alice");
 * await term.sendKeys("Enter");
 * await term.waitForText("Welcome, alice!");
 * await term.sendKeys("C-c");
 * assert.equal(await term.exitCode(), 0);
 * ```
 *
 * Each terminal has its own tmux server on a socket in a fresh temporary
 * directory (`tmux -S`), started with `-f /dev/null` so that no
 * `/etc/tmux.conf` or `~/.tmux.conf` applies, and `close()` kills that server
 * only and removes the directory: a developer's own tmux sessions, on the
 * default socket, are never seen nor touched.
 *
 * The server is set up, in the same tmux invocation that starts the program:
 *
 * - `remain-on-exit on`, so that the pane outlives the program and
 *   `#{pane_dead_status}` tells its exit code; `remain-on-exit-format ""`,
 *   because tmux 3.3 otherwise scrolls the screen up one line and writes
 *   "Pane is dead (status N, date)" at the bottom when the program ends.
 * - `status off`, so that a developer who attaches (`tmux -S SOCKET attach`,
 *   the path is in `socket`) sees the same rows the test does.
 * - `default-terminal tmux-256color`, so the program sees `TERM=tmux-256color`:
 *   that is what it really talks to (tmux's man page says TERM must be `screen`,
 *   `tmux` or a derivative), its terminfo comes with Debian's essential
 *   `ncurses-base`, and it describes the keys tmux sends (Home is `ESC [1~` and
 *   End `ESC [4~`, which `xterm-256color`'s terminfo spells `ESC OH`, `ESC OF`).
 * - `window-size manual`, set after the session exists (tmux 3.3a's server
 *   crashes when it is set before there is any session): the window keeps the
 *   size the test gave it, attached clients or not. `resize-window` on a
 *   detached session works in 3.3a even without it (it switches the window to
 *   manual itself).
 *
 * The program runs without a shell (see {@linkcode TmuxTerminal.start}), in
 * the test's environment plus `TERM`, `NO_COLOR=` (empty: colors allowed, also
 * under `.ci/run`, which exports `NO_COLOR=1`) and the `env` given.
 *
 * @module
 */

import { WAIT_MS } from "./test_helpers.ts";

/** The tmux binary, looked up on `PATH` (Debian's package puts it in /usr/bin). */
export const TMUX = "tmux";
/** The terminal type programs in the pane see as `TERM`. */
export const TERMINAL_TYPE = "tmux-256color";
/** How often the waits look at the pane again. */
const POLL_MS = 30;
/**
 * Most UTF-8 bytes sent in one `send-keys -l`: tmux refuses a command over
 * about 16 KB ("command too long"), so longer text goes in several.
 */
const TYPE_CHUNK_BYTES = 4096;
/** How long the program has to end after its terminal goes away before it is killed. */
const HANGUP_MS = 1000;
/** Longest Unix socket path (`sun_path` is 108 bytes on Linux, 104 on macOS). */
const MAX_SOCKET_PATH = 103;
/** The paste buffer's name on the private server. */
const PASTE_BUFFER = "test-paste";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How {@linkcode TmuxTerminal.start} sets up the terminal. */
export interface TerminalOptions {
  /** Width in cells. */
  columns: number;
  /** Height in rows. */
  rows: number;
  /** Environment variables for the program, over the test's own. */
  env?: Record<string, string>;
  /** Directory the program starts in. @default {Deno.cwd()} */
  cwd?: string;
}

/** A cell position on the screen. */
export interface CursorPosition {
  /** The row, from 0 at the top. */
  row: number;
  /** The column in cells, from 0 at the left. */
  column: number;
}

/** A terminal's size in cells. */
export interface TerminalSize {
  /** Width in cells. */
  columns: number;
  /** Height in rows. */
  rows: number;
}

/**
 * Escapes one argument for tmux's command line: tmux takes an argument that
 * ends in `;` for the end of a command (so `send-keys -l "a;"` sends "a" and
 * starts an empty command), unless the `;` is written `\;`.
 */
function arg(text: string): string {
  return text.endsWith(";") ? `${text.slice(0, -1)}\\;` : text;
}

/** Splits `text` into pieces of at most `max` UTF-8 bytes, never inside a character. */
function chunks(text: string, max: number): string[] {
  const pieces: string[] = [];
  let piece = "";
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > max && piece !== "") {
      pieces.push(piece);
      piece = "";
      bytes = 0;
    }
    piece += char;
    bytes += size;
  }
  if (piece !== "") pieces.push(piece);
  return pieces;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether process `pid` still runs (a zombie does not). */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // The state follows the command name, which is in parentheses and may hold spaces.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    // No /proc (not Linux): ask the kernel with a harmless signal.
    try {
      Deno.kill(pid, "SIGCONT");
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Runs tmux on the server at `socket` with `args` (a command, or several
 * joined by ";"); returns its standard output, or throws naming `subcommand`.
 */
async function runTmux(
  socket: string,
  args: string[],
  subcommand: string = args[0] ?? "",
): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(TMUX, {
      args: ["-S", socket, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `${TMUX} is not installed (apt-get install tmux); the terminal tests need it`,
      );
    }
    throw error;
  }
  if (!output.success) {
    const stderr = decoder.decode(output.stderr).trim();
    throw new Error(`tmux ${subcommand} failed (exit ${output.code}): ${stderr || "no message"}`);
  }
  return decoder.decode(output.stdout);
}

/**
 * One program in one tmux pane on a private tmux server. Start it with
 * {@linkcode TmuxTerminal.start}; `close()` (or `await using`) ends it all.
 */
export class TmuxTerminal {
  /** The tmux server's socket: `tmux -S SOCKET attach` to watch a test. */
  readonly socket: string;
  /** The process id of the program in the pane. */
  readonly pid: number;
  readonly #dir: string;
  readonly #pane: string;
  readonly #serverPid: number;
  #closing: Promise<void> | null = null;

  private constructor(dir: string, socket: string, pane: string, pid: number, serverPid: number) {
    this.#dir = dir;
    this.socket = socket;
    this.#pane = pane;
    this.pid = pid;
    this.#serverPid = serverPid;
  }

  /**
   * Starts `command` (program, then its arguments) in a new detached tmux
   * session of `columns` by `rows`, on a tmux server of its own.
   *
   * The program runs directly, without a shell: tmux hands two or more words
   * to `execvp`, but runs a single word with `sh -c`, so a one-word command is
   * started through `env`.
   *
   * @throws {RangeError} when the size is not whole cells from 1 to 10000.
   * @throws {Error} when `cwd` is not a directory (tmux would quietly start
   * the program elsewhere), or tmux is missing or fails.
   */
  static async start(command: string[], options: TerminalOptions): Promise<TmuxTerminal> {
    if (command.length === 0) throw new TypeError("The command is empty");
    checkSize(options.columns, options.rows);
    const cwd = options.cwd ?? Deno.cwd();
    if (!(await Deno.stat(cwd).catch(() => null))?.isDirectory) {
      throw new Error(`Cannot start ${command[0]} in ${cwd}: not a directory`);
    }
    const dir = await Deno.makeTempDir({ prefix: "chat-tmux-" });
    const socket = `${dir}/socket`;
    try {
      if (encoder.encode(socket).length > MAX_SOCKET_PATH) {
        throw new Error(`The tmux socket path ${socket} is too long; set TMPDIR to a shorter one`);
      }
      const env = { NO_COLOR: "", ...options.env };
      const program = command.length === 1 ? ["env", "--", ...command] : command;
      const printed = await runTmux(socket, [
        // No /etc/tmux.conf, no ~/.tmux.conf: only the settings below.
        ...["-f", "/dev/null"],
        ...["set-option", "-g", "remain-on-exit", "on", ";"],
        // -q: tmux before 3.3 has no such option.
        ...["set-option", "-gq", "remain-on-exit-format", "", ";"],
        ...["set-option", "-g", "status", "off", ";"],
        ...["set-option", "-g", "default-terminal", TERMINAL_TYPE, ";"],
        "new-session",
        "-d",
        ...["-x", String(options.columns), "-y", String(options.rows)],
        // -c is expanded as a format: a # in the path is written ##.
        ...["-c", arg(cwd.replaceAll("#", "##"))],
        ...Object.entries(env).flatMap(([name, value]) => ["-e", arg(`${name}=${value}`)]),
        ...["-P", "-F", "#{pane_id} #{pane_pid} #{pid}"],
        "--",
        ...program.map(arg),
        ";",
        ...["set-option", "-g", "window-size", "manual"],
      ], "new-session");
      const [pane, pid, serverPid] = printed.trim().split(" ");
      if (
        pane === undefined || !pane.startsWith("%") || !(Number(pid) > 0 && Number(serverPid) > 0)
      ) {
        throw new Error(`tmux new-session printed ${JSON.stringify(printed)}, not a pane and pids`);
      }
      return new TmuxTerminal(dir, socket, pane, Number(pid), Number(serverPid));
    } catch (error) {
      await runTmux(socket, ["kill-server"]).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** Runs a tmux subcommand on this terminal's server; returns what it prints. */
  #tmux(...args: string[]): Promise<string> {
    return runTmux(this.socket, args);
  }

  /**
   * Presses keys, by tmux's names: `Enter`, `BSpace`, `Tab`, `Escape`, `Left`,
   * `Up`, `Home`, `End`, `DC` (Delete), `C-a`, `M-b`... A word tmux does not
   * know is typed as text. Enter sends CR, BSpace DEL (0x7f), M-b `ESC b`.
   */
  async sendKeys(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#tmux("send-keys", "-t", this.#pane, "--", ...keys.map(arg));
  }

  /**
   * Types `text` literally (`send-keys -l`): every character as itself, none
   * taken for a key name. A `\n` in it is sent as LF (Ctrl+J), not as Enter
   * (CR): use `sendKeys("Enter")` to press Enter.
   */
  async type(text: string): Promise<void> {
    for (const piece of chunks(text, TYPE_CHUNK_BYTES)) {
      await this.#tmux("send-keys", "-t", this.#pane, "-l", "--", arg(piece));
    }
  }

  /**
   * Pastes `text` as a terminal does when the user pastes: each LF becomes CR,
   * and when the program has turned on bracketed paste (`ESC [?2004h`) the
   * whole is wrapped in `ESC [200~` ... `ESC [201~`. Any size: the text goes
   * to tmux through a file, not on its command line.
   */
  async paste(text: string): Promise<void> {
    const file = `${this.#dir}/paste`;
    await Deno.writeTextFile(file, text);
    await this.#tmux(
      "load-buffer",
      ...["-b", PASTE_BUFFER, file, ";"],
      ...["paste-buffer", "-p", "-d", "-b", PASTE_BUFFER, "-t", this.#pane],
    );
  }

  /**
   * The visible rows, top to bottom, trailing spaces trimmed. A wide
   * character (日, most emoji) is one string character but two cells, so
   * compare columns with {@linkcode TmuxTerminal.cursor}, not string lengths.
   */
  async screen(): Promise<string[]> {
    return rowsOf(await this.#tmux("capture-pane", "-p", "-t", this.#pane));
  }

  /** The visible rows with their colors and attributes as SGR escapes (`capture-pane -e`). */
  async screenWithColors(): Promise<string[]> {
    return rowsOf(await this.#tmux("capture-pane", "-p", "-e", "-t", this.#pane));
  }

  /** Where the cursor is, counted in cells from 0. */
  async cursor(): Promise<CursorPosition> {
    const [row, column] = (await this.display("#{cursor_y} #{cursor_x}")).split(" ").map(Number);
    return { row: row as number, column: column as number };
  }

  /** The pane's size, which is what the program sees (`Deno.consoleSize()`). */
  async size(): Promise<TerminalSize> {
    const [columns, rows] = (await this.display("#{pane_width} #{pane_height}")).split(" ")
      .map(Number);
    return { columns: columns as number, rows: rows as number };
  }

  /** Expands a tmux format for the pane, as `display-message -p`: `#{pane_width}`... */
  async display(format: string): Promise<string> {
    return (await this.#tmux("display-message", "-p", "-t", this.#pane, arg(format))).trimEnd();
  }

  /**
   * Resizes the terminal; the program gets SIGWINCH. What was on the screen
   * is rewrapped by tmux, as a terminal emulator does.
   */
  async resize(columns: number, rows: number): Promise<void> {
    checkSize(columns, rows);
    await this.#tmux(
      "resize-window",
      ...["-t", this.#pane, "-x", String(columns), "-y", String(rows)],
    );
  }

  /**
   * Waits until the screen passes `test`, looking every 30 ms for up to `ms`;
   * returns the rows that passed. Fails, showing the screen, when time runs
   * out or when the program has ended and the screen can no longer change.
   */
  async waitForScreen(
    test: (rows: string[]) => boolean,
    what: string,
    ms: number = WAIT_MS,
  ): Promise<string[]> {
    const deadline = Date.now() + ms;
    let rows: string[] = [];
    // Bounded twice: by the clock, and by a count in case the clock misleads.
    for (let look = 0; look <= Math.ceil(ms / POLL_MS); look++) {
      // The screen and whether the program still runs, in one tmux call.
      const output = await this.#tmux(
        "capture-pane",
        ...["-p", "-t", this.#pane, ";"],
        ...["display-message", "-p", "-t", this.#pane, "#{pane_dead}"],
      );
      const dead = output.endsWith("1\n");
      rows = rowsOf(output.slice(0, output.lastIndexOf("\n", output.length - 2) + 1));
      if (test(rows)) return rows;
      if (dead) {
        throw new Error(
          `The program ended (${await this.#ending()}) before ${what}; the screen:\n${frame(rows)}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(POLL_MS, left));
    }
    throw new Error(`Timed out after ${ms} ms waiting for ${what}; the screen:\n${frame(rows)}`);
  }

  /** Waits until some row contains `text` (a row, not text wrapped across rows). */
  waitForText(text: string, ms: number = WAIT_MS): Promise<string[]> {
    return this.waitForScreen((rows) => rows.some((row) => row.includes(text)), `"${text}"`, ms);
  }

  /**
   * How the program ended, or `null` while it runs. The pane is dead
   * (`#{pane_dead}`) as soon as the terminal's other end closes; the exit
   * status comes when tmux reaps the process on SIGCHLD. Debian's tmux is
   * built with libutempter, which sets SIGCHLD to SIG_DFL while it runs its
   * helper as the pane closes, so a program that ends at that moment is never
   * reaped (tmux issues #311, #4559; the maintainer's workaround is to send
   * tmux a SIGCHLD): a dead pane without a status gets this server a SIGCHLD.
   */
  async #ended(): Promise<{ code: number | null; signal: number | null } | null> {
    const [dead, code, signal] = (await this.display(
      "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}",
    )).split("|");
    if (code) return { code: Number(code), signal: null };
    if (signal) return { code: null, signal: Number(signal) };
    if (dead === "1") {
      try {
        Deno.kill(this.#serverPid, "SIGCHLD");
      } catch {
        // The server is gone; the next look says so.
      }
    }
    return null;
  }

  /** How the program ended, in words, for an error message. */
  async #ending(): Promise<string> {
    for (let look = 0; look <= Math.ceil(HANGUP_MS / POLL_MS); look++) {
      const ended = await this.#ended();
      if (ended !== null) {
        return ended.code !== null ? `exit code ${ended.code}` : `signal ${ended.signal}`;
      }
      await sleep(POLL_MS);
    }
    return "its end of the terminal closed";
  }

  /**
   * Waits up to `ms` for the program to end and returns its exit code, or
   * `null` when a signal ended it.
   */
  async exitCode(ms: number = WAIT_MS): Promise<number | null> {
    const deadline = Date.now() + ms;
    for (let look = 0; look <= Math.ceil(ms / POLL_MS); look++) {
      const ended = await this.#ended();
      if (ended !== null) return ended.code;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(POLL_MS, left));
    }
    throw new Error(
      `Timed out after ${ms} ms waiting for the program to exit; the screen:\n${
        frame(await this.screen())
      }`,
    );
  }

  /**
   * Ends the terminal: kills this tmux server (the program gets SIGHUP, as
   * when a terminal window closes, and SIGKILL if it is still there a second
   * later) and removes the temporary directory. Safe to call again.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#tmux("kill-server").catch((error: Error) => {
          // Already gone, or gone before it could answer: either way, ended.
          if (
            !/no server running|server exited unexpectedly|error connecting/.test(error.message)
          ) {
            throw error;
          }
        });
        const deadline = Date.now() + HANGUP_MS;
        while (await isRunning(this.pid)) {
          if (Date.now() >= deadline) {
            try {
              Deno.kill(this.pid, "SIGKILL");
            } catch {
              // Ended meanwhile.
            }
            break;
          }
          await sleep(10);
        }
      } finally {
        await Deno.remove(this.#dir, { recursive: true });
      }
    })();
    return this.#closing;
  }

  /** Closes the terminal, as {@linkcode TmuxTerminal.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Throws a `RangeError` unless the size is whole cells tmux accepts. */
function checkSize(columns: number, rows: number): void {
  for (const [name, value] of [["columns", columns], ["rows", rows]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 10_000) {
      throw new RangeError(`Invalid terminal ${name}: expected 1 to 10000, got ${value}`);
    }
  }
}

/** `capture-pane -p` output as rows: one per line, trailing spaces trimmed. */
function rowsOf(output: string): string[] {
  const rows = output.split("\n");
  if (rows.at(-1) === "") rows.pop();
  return rows.map((row) => row.replace(/ +$/, ""));
}

/** The rows between rules, for an error message. */
function frame(rows: string[]): string {
  const width = Math.max(20, ...rows.map((row) => row.length));
  const rule = "-".repeat(width);
  return [rule, ...rows, rule].join("\n");
}
