/**
 * A real browser for the page's tests: Debian's `chromium`, headless, driven
 * over the Chrome DevTools Protocol with Deno's own `WebSocket`, with no
 * package in between.
 *
 * ```ts ignore
 * await using browser = await Browser.launch();
 * const page = await browser.newPage({ width: 375, height: 667, mobile: true });
 * await page.goto("http://127.0.0.1:8080/");
 * await page.typeLine("alice");
 * await page.waitFor(`document.title === "Chat room"`, "the title");
 * ```
 *
 * `page.runAxe()` checks what the page shows with axe-core (committed in
 * `test/generated/axe_source.ts`, written by `tools/gen_axe.ts`): it injects
 * the engine over DevTools and returns what WCAG 2.1 A and AA and axe's best
 * practices find wrong.
 *
 * Chromium is `/usr/bin/chromium` unless `CHROMIUM_PATH` names another. Each
 * browser gets a fresh profile in a temporary directory, and `close()` ends
 * the process, waits for it and removes the directory, so Deno's leak checks
 * pass.
 *
 * @module
 */

import { LineCollector, WAIT_MS, withDeadline } from "./test_helpers.ts";

/** Where Debian's `chromium` package puts the browser. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";
/** The environment variable that names another Chromium or Chrome. */
export const CHROMIUM_VARIABLE = "CHROMIUM_PATH";

/**
 * The flags every test browser gets. The background-networking ones matter:
 * without them Chromium keeps trying to reach Google, which on a closed
 * network means errors and delays.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--remote-debugging-port=0",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
];

/** How long Chromium may take to start and say where DevTools listens. */
const LAUNCH_MS = 15_000;
/** How long Chromium may take to exit after `Browser.close` before it is killed. */
const EXIT_MS = 5000;
/** How often {@linkcode Page.waitFor} looks again. */
const POLL_MS = 25;

/** A DevTools event: its method, parameters, and the session it belongs to. */
export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

/** A DevTools command that failed: the browser's error message, with the method named. */
export class CdpError extends Error {
  /** Names the error. */
  override name = "CdpError";
}

/** Where a command goes and how long it may take. */
export interface SendOptions {
  /** The attached target's session; none for the browser itself. */
  sessionId?: string;
  /** Milliseconds to wait for the answer. @default {5000} */
  ms?: number;
}

/** Which event {@linkcode Cdp.waitForEvent} waits for. */
export interface EventOptions<T> {
  /** Only events of this session. */
  sessionId?: string;
  /** Milliseconds to wait. @default {5000} */
  ms?: number;
  /** Only events whose parameters pass this test. */
  test?: (params: T) => boolean;
}

interface Pending {
  method: string;
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/** One DevTools connection: commands matched to answers by id, events to listeners. */
export class Cdp {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(event: CdpEvent) => void>();
  #nextId = 1;
  /** Resolves when the connection has closed, from either end. */
  readonly closed: Promise<void>;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", () => {
        for (const pending of this.#pending.values()) {
          pending.reject(new CdpError(`${pending.method}: the DevTools connection closed`));
        }
        this.#pending.clear();
        resolve();
      }, { once: true });
    });
    socket.addEventListener("message", (event) => this.#receive(String(event.data)));
  }

  /** Opens the DevTools WebSocket at `url` (the `ws://` address Chromium prints). */
  static async connect(url: string, ms: number = WAIT_MS): Promise<Cdp> {
    const socket = new WebSocket(url);
    const cdp = new Cdp(socket);
    const opened = new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("close", () => reject(new Error(`Cannot open ${url}`)), {
        once: true,
      });
    });
    try {
      await withDeadline(opened, ms, `the DevTools connection ${url}`);
      return cdp;
    } catch (error) {
      await cdp.close();
      throw error;
    }
  }

  #receive(data: string): void {
    const message = JSON.parse(data) as {
      id?: number;
      result?: Record<string, unknown>;
      error?: { message: string; data?: string };
      method?: string;
      params?: Record<string, unknown>;
      sessionId?: string;
    };
    if (message.id !== undefined) {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      if (message.error) {
        const detail = message.error.data ? ` (${message.error.data})` : "";
        pending.reject(new CdpError(`${pending.method}: ${message.error.message}${detail}`));
      } else {
        pending.resolve(message.result ?? {});
      }
      return;
    }
    if (message.method === undefined) return;
    const event: CdpEvent = {
      method: message.method,
      params: message.params ?? {},
      sessionId: message.sessionId,
    };
    for (const listener of this.#listeners) listener(event);
  }

  /** Sends a command and resolves with its result; rejects with the browser's error or after `ms`. */
  async send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
    options: SendOptions = {},
  ): Promise<T> {
    if (this.#socket.readyState !== WebSocket.OPEN) {
      throw new CdpError(`${method}: the DevTools connection is closed`);
    }
    const id = this.#nextId++;
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#pending.set(id, { method, resolve, reject });
    });
    this.#socket.send(JSON.stringify({ id, method, params, sessionId: options.sessionId }));
    try {
      return await withDeadline(answer, options.ms ?? WAIT_MS, `the answer to ${method}`) as T;
    } finally {
      this.#pending.delete(id);
    }
  }

  /** Calls `listener` for every event until the returned function is called. */
  on(listener: (event: CdpEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Waits for the next event `method` (start waiting before causing it). */
  async waitForEvent<T = Record<string, unknown>>(
    method: string,
    options: EventOptions<T> = {},
  ): Promise<T> {
    let off = () => {};
    const event = new Promise<T>((resolve) => {
      off = this.on((event) => {
        if (event.method !== method) return;
        if (options.sessionId !== undefined && event.sessionId !== options.sessionId) return;
        const params = event.params as T;
        if (options.test && !options.test(params)) return;
        resolve(params);
      });
    });
    try {
      return await withDeadline(
        Promise.race([event, this.closed.then(() => Promise.reject(new CdpError("closed")))]),
        options.ms ?? WAIT_MS,
        `the event ${method}`,
      );
    } finally {
      off();
    }
  }

  /** Closes the connection and waits until it is closed; safe to call again. */
  async close(): Promise<void> {
    if (
      this.#socket.readyState === WebSocket.CONNECTING || this.#socket.readyState === WebSocket.OPEN
    ) {
      this.#socket.close();
    }
    await this.closed;
  }
}

/** How {@linkcode Browser.launch} starts Chromium. */
export interface LaunchOptions {
  /** The browser to run. @default {`$CHROMIUM_PATH` or "/usr/bin/chromium"} */
  executable?: string;
  /** More command-line flags. */
  flags?: string[];
}

/** The size of a page's window. */
export interface Viewport {
  /** CSS pixels wide. @default {900} */
  width?: number;
  /** CSS pixels high. @default {600} */
  height?: number;
  /** Emulate a phone: a mobile viewport and touch. @default {false} */
  mobile?: boolean;
}

/** The Chromium to run: `$CHROMIUM_PATH` when set and readable, else Debian's. */
export function chromiumPath(): string {
  try {
    return Deno.env.get(CHROMIUM_VARIABLE) || DEFAULT_CHROMIUM;
  } catch {
    return DEFAULT_CHROMIUM; // no --allow-env
  }
}

/** A headless Chromium with its own temporary profile. */
export class Browser {
  /** The DevTools connection to the browser. */
  readonly cdp: Cdp;
  /** What Chromium writes on standard error (it is chatty: D-Bus, GPU). */
  readonly stderr: LineCollector;
  readonly #child: Deno.ChildProcess;
  readonly #profile: string;
  #closing: Promise<void> | null = null;

  private constructor(child: Deno.ChildProcess, stderr: LineCollector, cdp: Cdp, profile: string) {
    this.#child = child;
    this.stderr = stderr;
    this.cdp = cdp;
    this.#profile = profile;
  }

  /**
   * Starts Chromium with {@linkcode CHROMIUM_FLAGS}, reads the
   * `DevTools listening on ws://...` line from its standard error and connects.
   * @throws {Error} naming the path and the fix when Chromium is not installed
   */
  static async launch(options: LaunchOptions = {}): Promise<Browser> {
    const executable = options.executable ?? chromiumPath();
    try {
      await Deno.stat(executable);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error(
        `No Chromium at ${executable}: the browser tests need one. Install Debian's package ` +
          `(apt-get install chromium) or set ${CHROMIUM_VARIABLE} to a Chromium or Chrome binary.`,
      );
    }
    const profile = await Deno.makeTempDir({ prefix: "chat-chromium-" });
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(executable, {
        args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...(options.flags ?? [])],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      await removeProfile(profile);
      throw new Error(`Cannot start ${executable}: ${(error as Error).message}`);
    }
    const stderr = new LineCollector(child.stderr);
    try {
      const prefix = "DevTools listening on ";
      const line = await stderr.waitFor((l) => l.startsWith(prefix), LAUNCH_MS);
      const cdp = await Cdp.connect(line.slice(prefix.length).trim());
      return new Browser(child, stderr, cdp, profile);
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited already.
      }
      await child.status;
      await stderr.done;
      await removeProfile(profile);
      throw new Error(`${executable} did not start: ${(error as Error).message}`);
    }
  }

  /** Opens a tab of `viewport` size (900 x 600 by default), attached and ready to drive. */
  async newPage(viewport: Viewport = {}): Promise<Page> {
    const { targetId } = await this.cdp.send<{ targetId: string }>("Target.createTarget", {
      url: "about:blank",
    });
    const { sessionId } = await this.cdp.send<{ sessionId: string }>("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    const page = new Page(this, targetId, sessionId);
    await page.start(viewport);
    return page;
  }

  /**
   * Asks Chromium to close, kills it by its PID if it has not exited within
   * 5 s, waits for the process and its output, and removes the profile.
   * Safe to call again.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.cdp.send("Browser.close", {}, { ms: 2000 }).catch(() => {});
      try {
        await withDeadline(this.#child.status, EXIT_MS, "Chromium to exit");
      } catch {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // Exited in the meantime.
        }
        await this.#child.status;
      }
      await this.cdp.close();
      await this.stderr.done;
      await removeProfile(this.#profile);
    })();
    return this.#closing;
  }

  /** Closes the browser, as {@linkcode Browser.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Removes a profile directory; Chromium's helpers may still be writing to it for a moment. */
async function removeProfile(path: string): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      await Deno.remove(path, { recursive: true });
      return;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The axe-core rule tags {@linkcode Page.runAxe} runs: WCAG 2.1 levels A and AA, and best practices. */
export const AXE_TAGS: readonly string[] = [
  "wcag2a",
  "wcag2aa",
  "wcag21a",
  "wcag21aa",
  "best-practice",
];

/** One rule axe-core found broken, and where. */
export interface AxeViolation {
  /** The rule, such as `region` or `color-contrast`. */
  id: string;
  /** How much it matters: `minor`, `moderate`, `serious` or `critical`. */
  impact: string | null;
  /** What the rule asks for, in a sentence. */
  help: string;
  /** Where axe explains the rule. */
  helpUrl: string;
  /** The elements that break it: their CSS selectors, their markup, and what is wrong. */
  nodes: { target: string[]; html: string; failureSummary: string }[];
}

/**
 * Violations as lines a failed assertion prints:
 * `moderate region: All page content should be contained by landmarks: #input, #send`.
 */
export function describeViolations(violations: readonly AxeViolation[]): string[] {
  return violations.map((violation) =>
    `${violation.impact ?? "?"} ${violation.id}: ${violation.help}: ` +
    violation.nodes.map((node) => node.target.join(" ")).join(", ")
  );
}

/** One WebSocket text message of a page, as DevTools saw it go. */
export interface WebSocketFrame {
  /** Which way it went. */
  direction: "sent" | "received";
  /** Its text. */
  data: string;
  /** When, in seconds of the browser's monotonic clock. */
  time: number;
}

/** Keys {@linkcode Page.press} knows. */
export type Key = "Enter" | "Tab" | "Escape";

const KEYS: Record<Key, { code: string; keyCode: number; text?: string }> = {
  Enter: { code: "Enter", keyCode: 13, text: "\r" },
  Tab: { code: "Tab", keyCode: 9 },
  Escape: { code: "Escape", keyCode: 27 },
};

/** One tab, through its flattened DevTools session. */
export class Page {
  /** Its target id. */
  readonly targetId: string;
  /** Its DevTools session. */
  readonly sessionId: string;
  /**
   * What went wrong in the page: uncaught exceptions, Content-Security-Policy
   * violations, console errors and failed loads (a failed WebSocket connection
   * to a server that is down is not one).
   */
  readonly problems: string[] = [];
  readonly #browser: Browser;
  #cover: string | null = null;

  /** Made by {@linkcode Browser.newPage}. */
  constructor(browser: Browser, targetId: string, sessionId: string) {
    this.#browser = browser;
    this.targetId = targetId;
    this.sessionId = sessionId;
    browser.cdp.on((event) => {
      if (event.sessionId !== sessionId) return;
      const problem = describeProblem(event);
      if (problem !== null) this.problems.push(problem);
    });
  }

  /** Turns on the events the page reports and sizes the window. */
  async start(viewport: Viewport): Promise<void> {
    await this.send("Page.enable");
    await this.send("Runtime.enable");
    await this.send("Log.enable");
    await this.setViewport(viewport);
  }

  /** Sends a command to this page. */
  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<T> {
    return this.#browser.cdp.send<T>(method, params, { sessionId: this.sessionId });
  }

  /** Waits for an event of this page (start waiting before causing it). */
  waitForEvent<T = Record<string, unknown>>(
    method: string,
    options: Omit<EventOptions<T>, "sessionId"> = {},
  ): Promise<T> {
    return this.#browser.cdp.waitForEvent<T>(method, { ...options, sessionId: this.sessionId });
  }

  /** Loads `url` and waits for its load event. */
  async goto(url: string): Promise<void> {
    const loaded = this.waitForEvent("Page.loadEventFired", { ms: WAIT_MS * 2 });
    const { errorText } = await this.send<{ errorText?: string }>("Page.navigate", { url });
    if (errorText) {
      loaded.catch(() => {});
      throw new Error(`Cannot load ${url}: ${errorText}`);
    }
    await loaded;
  }

  /** Reloads the page and waits for its load event. */
  async reload(): Promise<void> {
    const loaded = this.waitForEvent("Page.loadEventFired", { ms: WAIT_MS * 2 });
    await this.send("Page.reload");
    await loaded;
  }

  /**
   * The value of `expression` in the page (a promise is awaited), as JSON
   * carries it; an exception in the page rejects with its description.
   */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send<{
      result: { value?: unknown };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    }>("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
    if (exceptionDetails) {
      const why = exceptionDetails.exception?.description ?? exceptionDetails.text;
      throw new Error(`${expression} threw in the page: ${why}`);
    }
    return result.value as T;
  }

  /**
   * Evaluates `expression` every 25 ms until it is truthy and returns that
   * value; after `ms` fails naming `what`, with the last value and the page's
   * text. Polled from here, so it works in a hidden page too.
   */
  async waitFor<T = unknown>(expression: string, what: string, ms: number = WAIT_MS): Promise<T> {
    const deadline = Date.now() + ms;
    let last: unknown;
    while (true) {
      last = await this.evaluate<T>(expression);
      if (last) return last as T;
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const text = await this.evaluate<string>("document.body?.innerText ?? ''").catch(() => "");
    throw new Error(
      `Timed out after ${ms} ms waiting for ${what}\n  ${expression}\n  last value: ` +
        `${JSON.stringify(last)}\n  page text:\n${text.slice(-3000)}`,
    );
  }

  /** Types `text` into the focused element, as an input method would. */
  async insertText(text: string): Promise<void> {
    await this.send("Input.insertText", { text });
  }

  /** Presses and releases `key`. */
  async press(key: Key): Promise<void> {
    const { code, keyCode, text } = KEYS[key];
    const common = { key, code, windowsVirtualKeyCode: keyCode, nativeVirtualKeyCode: keyCode };
    await this.send("Input.dispatchKeyEvent", {
      type: text === undefined ? "rawKeyDown" : "keyDown",
      ...common,
      ...(text === undefined ? {} : { text, unmodifiedText: text }),
    });
    await this.send("Input.dispatchKeyEvent", { type: "keyUp", ...common });
  }

  /**
   * Clicks the middle of the first element `selector` matches with the mouse,
   * as a person would, after scrolling it into view.
   * @throws {Error} when nothing matches
   */
  async click(selector: string): Promise<void> {
    const point = await this.evaluate<{ x: number; y: number } | null>(`(() => {
      const element = document.querySelector(${JSON.stringify(selector)});
      if (element === null) return null;
      element.scrollIntoView({ block: "nearest" });
      const box = element.getBoundingClientRect();
      return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
    })()`);
    if (point === null) throw new Error(`Nothing to click: no ${selector} in the page`);
    await this.send("Input.dispatchMouseEvent", { type: "mouseMoved", ...point });
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", {
        type,
        ...point,
        button: "left",
        clickCount: 1,
      });
    }
  }

  /**
   * Records the page's WebSocket text messages, both ways, into the array it
   * returns, which fills as they go. Start it before the page opens its
   * socket: DevTools reports only the sockets opened after.
   */
  async recordWebSocketFrames(): Promise<WebSocketFrame[]> {
    const frames: WebSocketFrame[] = [];
    const directions: Record<string, WebSocketFrame["direction"]> = {
      "Network.webSocketFrameSent": "sent",
      "Network.webSocketFrameReceived": "received",
    };
    this.#browser.cdp.on((event) => {
      const direction = directions[event.method];
      if (event.sessionId !== this.sessionId || direction === undefined) return;
      const { timestamp, response } = event.params as {
        timestamp: number;
        response: { opcode: number; payloadData: string };
      };
      if (response.opcode === 1) {
        frames.push({ direction, data: response.payloadData, time: timestamp });
      }
    });
    await this.send("Network.enable");
    return frames;
  }

  /** Types `text` and presses Enter. */
  async typeLine(text: string): Promise<void> {
    await this.insertText(text);
    await this.press("Enter");
  }

  /** Resizes the window; `mobile` emulates a phone's viewport and touch. */
  async setViewport({ width = 900, height = 600, mobile = false }: Viewport): Promise<void> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile,
    });
    await this.send("Emulation.setTouchEmulationEnabled", { enabled: mobile });
  }

  /** Emulates media features, such as `[{ name: "prefers-color-scheme", value: "dark" }]`. */
  async emulateMedia(features: { name: string; value: string }[]): Promise<void> {
    await this.send("Emulation.setEmulatedMedia", { features });
  }

  /** Hides the page (`document.hidden`) by opening another tab in front of it. */
  async hide(): Promise<void> {
    if (this.#cover !== null) return;
    const { targetId } = await this.#browser.cdp.send<{ targetId: string }>(
      "Target.createTarget",
      { url: "about:blank" },
    );
    this.#cover = targetId;
  }

  /** Shows the page again, closing the tab {@linkcode Page.hide} opened. */
  async show(): Promise<void> {
    await this.send("Page.bringToFront");
    if (this.#cover === null) return;
    await this.#browser.cdp.send("Target.closeTarget", { targetId: this.#cover });
    this.#cover = null;
  }

  /**
   * Closes every WebSocket the page holds, found on the heap with
   * `Runtime.queryObjects`, as a dropped network would end them (the page
   * needs no hook for it); returns how many were open.
   */
  async closeWebSockets(): Promise<number> {
    const { result: prototype } = await this.send<{ result: { objectId: string } }>(
      "Runtime.evaluate",
      { expression: "WebSocket.prototype" },
    );
    const { objects } = await this.send<{ objects: { objectId: string } }>(
      "Runtime.queryObjects",
      { prototypeObjectId: prototype.objectId },
    );
    const { result } = await this.send<{ result: { value: number } }>("Runtime.callFunctionOn", {
      objectId: objects.objectId,
      functionDeclaration: `function () {
        const open = this.filter((socket) => socket.readyState === WebSocket.OPEN);
        for (const socket of open) socket.close();
        return open.length;
      }`,
      returnByValue: true,
    });
    await this.send("Runtime.releaseObject", { objectId: objects.objectId });
    await this.send("Runtime.releaseObject", { objectId: prototype.objectId });
    return result.value;
  }

  /**
   * Runs axe-core on the page as it is now, with the rules of
   * {@linkcode AXE_TAGS}, and returns what it found wrong (nothing, at best).
   * The engine is evaluated in the page over DevTools (once per document),
   * which the page's Content-Security-Policy does not govern, so the page
   * itself needs to allow nothing more for it.
   */
  async runAxe(): Promise<AxeViolation[]> {
    if (!(await this.evaluate<boolean>(`typeof globalThis.axe?.run === "function"`))) {
      // Loaded when first asked for: 650 KB that the other tests need not read.
      const { AXE_SOURCE } = await import("./generated/axe_source.ts");
      const { exceptionDetails } = await this.send<{ exceptionDetails?: { text: string } }>(
        "Runtime.evaluate",
        { expression: AXE_SOURCE, returnByValue: true },
      );
      if (exceptionDetails) throw new Error(`axe-core did not load: ${exceptionDetails.text}`);
    }
    return await this.evaluate<AxeViolation[]>(`axe.run(document, {
      runOnly: { type: "tag", values: ${JSON.stringify(AXE_TAGS)} },
      resultTypes: ["violations"],
    }).then((results) => results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact ?? null,
      help: violation.help,
      helpUrl: violation.helpUrl,
      nodes: violation.nodes.map((node) => ({
        target: node.target.map(String),
        html: node.html,
        failureSummary: node.failureSummary ?? "",
      })),
    })))`);
  }

  /** A PNG of what the window shows. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.send<{ data: string }>("Page.captureScreenshot", {
      format: "png",
    });
    const binary = atob(data);
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  }

  /** Closes the tab. */
  async close(): Promise<void> {
    await this.#browser.cdp.send("Target.closeTarget", { targetId: this.targetId });
  }
}

/** A page's event as a problem worth failing a test for, or `null`. */
function describeProblem(event: CdpEvent): string | null {
  if (event.method === "Runtime.exceptionThrown") {
    const details = event.params.exceptionDetails as {
      text: string;
      exception?: { description?: string };
    };
    return `uncaught: ${details.exception?.description ?? details.text}`;
  }
  if (event.method === "Runtime.consoleAPICalled" && event.params.type === "error") {
    const args = event.params.args as { value?: unknown; description?: string }[];
    return `console.error: ${args.map((a) => a.description ?? String(a.value)).join(" ")}`;
  }
  if (event.method === "Log.entryAdded") {
    const entry = event.params.entry as {
      source: string;
      level: string;
      text: string;
      url?: string;
    };
    if (entry.level !== "error") return null;
    // A page that reconnects to a server that is down (or while its network is) logs each failed
    // attempt, under the socket's URL or, now and then, under the script's that opened it.
    if (entry.source === "network" && /^wss?:/.test(entry.url ?? "")) return null;
    if (entry.source === "network" && /^WebSocket connection to 'wss?:/.test(entry.text)) {
      return null;
    }
    return `${entry.source}: ${entry.text}${entry.url ? ` (${entry.url})` : ""}`;
  }
  return null;
}
