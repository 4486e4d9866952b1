/**
 * The browser page in a real headless Chromium, against the real chat room
 * (`server.ts`, started by `web_test_room.ts`), with raw TCP members beside
 * it. Each test starts its own room and browser and closes both.
 */

import assert from "node:assert/strict";
import {
  Browser,
  describeViolations,
  type Page,
  type Viewport,
  type WebSocketFrame,
} from "../test/browser_test_helpers.ts";
import { startWebRoom, type WebRoom } from "../test/web_test_room.ts";
import { LEAK_CHECKS, Peer, WAIT_MS } from "../test/test_helpers.ts";
import { nameHue } from "./lines.js";

/** The room's lines on the page (not the page's own words about the connection). */
const LINES = `[...document.querySelectorAll("#lines > li:not(.local) .text")]
  .map((text) => text.textContent)`;
/** The members the list shows. */
const MEMBERS = `[...document.querySelectorAll("#members .name")].map((name) => name.textContent)`;
/** The rooms the list shows, as `#name (count)`, the one you are in followed by ` here`. */
const ROOMS = `[...document.querySelectorAll("#rooms button")].map((button) =>
  button.querySelector(".room-name").textContent +
  " (" + button.querySelector(".room-size").textContent + ")" +
  (button.querySelector(".room-lock") === null ? "" : " locked") +
  (button.getAttribute("aria-current") === "true" ? " here" : ""))`;
/** A `/rooms` answer. */
const ROOMS_ANSWER = /^\* \d+ rooms?: /;

/** How a page of the room is opened. */
interface OpenOptions {
  /** The window's size. */
  viewport?: Viewport;
  /** Record the page's WebSocket messages in {@linkcode ChatPage.frames}. */
  recordFrames?: boolean;
}

/** A page of the room, with what the tests ask of it. */
class ChatPage {
  constructor(readonly page: Page, readonly frames: WebSocketFrame[] = []) {}

  /** Opens the room's page and waits for the server's greeting. */
  static async open(browser: Browser, room: WebRoom, options: OpenOptions = {}): Promise<ChatPage> {
    const page = await browser.newPage(options.viewport);
    const frames = options.recordFrames ? await page.recordWebSocketFrames() : [];
    await page.goto(room.pageUrl);
    const chat = new ChatPage(page, frames);
    await page.waitFor(`${LINES}.length > 0`, "the greeting");
    return chat;
  }

  lines(): Promise<string[]> {
    return this.page.evaluate<string[]>(LINES);
  }

  members(): Promise<string[]> {
    return this.page.evaluate<string[]>(MEMBERS);
  }

  /** Waits until the page shows `line` (exactly) `times` times. */
  async waitForLine(line: string, times = 1, ms = WAIT_MS): Promise<void> {
    await this.page.waitFor(
      `${LINES}.filter((text) => text === ${JSON.stringify(line)}).length >= ${times}`,
      `the line ${JSON.stringify(line)}${times > 1 ? ` ${times} times` : ""}`,
      ms,
    );
  }

  /** Waits until the member list is exactly `names`. */
  async waitForMembers(names: string[]): Promise<void> {
    await this.page.waitFor(
      `JSON.stringify(${MEMBERS}) === ${JSON.stringify(JSON.stringify(names))}`,
      `the members ${names.join(", ")}`,
    );
  }

  rooms(): Promise<string[]> {
    return this.page.evaluate<string[]>(ROOMS);
  }

  /** Waits until the list of rooms is exactly `rooms`, each `#name (count)`, ` here` after one. */
  async waitForRooms(rooms: string[]): Promise<void> {
    await this.page.waitFor(
      `JSON.stringify(${ROOMS}) === ${JSON.stringify(JSON.stringify(rooms))}`,
      `the rooms ${rooms.join(", ")}`,
    );
  }

  /** The lines the page has sent on its WebSocket so far (with `recordFrames`). */
  sent(): string[] {
    return this.frames.filter((frame) => frame.direction === "sent").map((frame) => frame.data);
  }

  /** Waits until the page has sent `line` on its WebSocket `times` times (with `recordFrames`). */
  async waitForSent(line: string, times: number, ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.sent().filter((sent) => sent === line).length < times) {
      if (Date.now() >= deadline) {
        throw new Error(
          `Timed out after ${ms} ms waiting for the page to send ${line} ${times} times`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Types a line and presses Enter. */
  say(text: string): Promise<void> {
    return this.page.typeLine(text);
  }

  /** Answers the greeting with `name` and waits for the welcome and the member list. */
  async join(name: string, others: string[] = []): Promise<void> {
    await this.say(name);
    await this.waitForLine(`Welcome, ${name}! Type <quit> to leave.`);
    await this.waitForMembers([...others, name]);
  }

  /** The classes of the last list item showing `line`. */
  classesOf(line: string): Promise<string[]> {
    return this.page.evaluate<string[]>(`(() => {
      const items = [...document.querySelectorAll("#lines > li")]
        .filter((item) => item.querySelector(".text").textContent === ${JSON.stringify(line)});
      return [...(items.at(-1)?.classList ?? [])];
    })()`);
  }

  /** A computed style property of the text of the last item showing `line`. */
  styleOf(line: string, property: string): Promise<string> {
    return this.page.evaluate<string>(`(() => {
      const text = [...document.querySelectorAll("#lines > li .text")]
        .filter((text) => text.textContent === ${JSON.stringify(line)}).at(-1);
      return getComputedStyle(text).getPropertyValue(${JSON.stringify(property)});
    })()`);
  }

  /** The status bar's text. */
  status(): Promise<string> {
    return this.page.evaluate<string>(`document.getElementById("status").textContent`);
  }

  /** The `type` of the input `id`: `text`, or `password` while it hides what is typed. */
  fieldType(id: string): Promise<string> {
    return this.page.evaluate<string>(`document.getElementById(${JSON.stringify(id)}).type`);
  }

  /** Whether the login form is shown. */
  loginShown(): Promise<boolean> {
    return this.page.evaluate<boolean>(`!document.getElementById("login").hidden`);
  }

  /**
   * Takes the page's network down, or brings it back (and with it the
   * browser's `online` event), as DevTools emulates it: no socket opens while
   * it is down.
   */
  async setOffline(offline: boolean): Promise<void> {
    await this.page.send("Network.enable");
    await this.page.send("Network.emulateNetworkConditions", {
      offline,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
  }

  /** Fails if anything went wrong in the page: an exception, a CSP violation, a failed load. */
  assertNoProblems(): void {
    assert.deepEqual(this.page.problems, []);
  }
}

/** Runs `body` with a fresh room (`server.ts` flags `args`) and a fresh browser, then closes both. */
function withRoom(
  options: { args?: string[]; permissions?: string[] },
  body: (room: WebRoom, browser: Browser) => Promise<void>,
): () => Promise<void> {
  return async () => {
    await using room = await startWebRoom(options);
    await using browser = await Browser.launch();
    await body(room, browser);
  };
}

Deno.test({
  name: "a browser member and a TCP member chat both ways, and both see one order",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room);
    assert.equal(await alice.page.evaluate("document.activeElement?.id"), "input", "focus on load");
    assert.deepEqual(await alice.lines(), ["Welcome to the chat! Please enter your nickname:"]);

    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    // The page's own /who filled the member list; its answer is not shown.
    assert.ok(!(await alice.lines()).some((line) => line.includes("online:")));

    // Both talk at once; the page shows each line once, as the room sent it.
    for (let i = 1; i <= 5; i++) {
      await alice.say(`page ${i}`);
      await bob.send(`nc ${i}\n`);
    }
    const heard = (await bob.readUntil(/^alice: page 5$|^bob: nc 5$/)).filter((l) => l !== "");
    while (heard.filter((line) => / (page|nc) \d$/.test(line)).length < 10) {
      heard.push((await bob.readLine()) as string);
    }
    const said = heard.filter((line) => / (page|nc) \d$/.test(line));
    await alice.waitForLine(said.at(-1) as string);
    const shown = (await alice.lines()).filter((line) => / (page|nc) \d$/.test(line));
    assert.deepEqual(shown, said);

    // Own lines bold, others' not; every line has its time; names keep their colour.
    assert.ok((await alice.classesOf("alice: page 1")).includes("own"));
    assert.equal(await alice.styleOf("alice: page 1", "font-weight"), "700");
    assert.ok(!(await alice.classesOf("bob: nc 1")).includes("own"));
    assert.equal(await alice.styleOf("bob: nc 1", "font-weight"), "400");
    const times = await alice.page.evaluate<string[]>(
      `[...document.querySelectorAll("#lines > li time")].map((time) => time.textContent)`,
    );
    assert.ok(times.length > 10 && times.every((time) => /^\d\d:\d\d$/.test(time)), `${times}`);
    const hues = await alice.page.evaluate<Record<string, string[]>>(`(() => {
      const hues = {};
      for (const name of document.querySelectorAll(".name")) {
        (hues[name.textContent] ??= []).push(name.style.getPropertyValue("--hue"));
      }
      return hues;
    })()`);
    for (const [name, values] of Object.entries(hues)) {
      assert.deepEqual(new Set(values), new Set([String(nameHue(name))]), name);
    }
    assert.ok((hues.bob?.length ?? 0) >= 6, "bob's lines and his entry in the list");

    // Notices are dimmed, and the member list follows joins and leaves.
    await using carol = await Peer.join(room.tcpPort, "carol");
    await alice.waitForLine("* carol joined the chat");
    assert.ok((await alice.classesOf("* carol joined the chat")).includes("notice"));
    assert.notEqual(
      await alice.styleOf("* carol joined the chat", "color"),
      await alice.styleOf("bob: nc 1", "color"),
    );
    await alice.waitForMembers(["bob", "alice", "carol"]);
    await carol.send("<quit>\n");
    await alice.waitForLine("* carol left the chat");
    await alice.waitForMembers(["bob", "alice"]);
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "commands work as typed: private messages set apart, errors in red, /nick, /me, /quit",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");

    await bob.send("/msg alice psst\n");
    await bob.expect("(private to alice) bob: psst");
    await alice.waitForLine("(private) bob: psst");
    assert.ok((await alice.classesOf("(private) bob: psst")).includes("private"));
    await alice.say("/msg bob hi there");
    await bob.expect("(private) alice: hi there");
    await alice.waitForLine("(private to bob) alice: hi there");
    const sent = await alice.classesOf("(private to bob) alice: hi there");
    assert.ok(sent.includes("private") && sent.includes("own"), `${sent}`);

    await alice.say("/nosuch");
    await alice.waitForLine("! Unknown command: /nosuch (type /help)");
    assert.ok((await alice.classesOf("! Unknown command: /nosuch (type /help)")).includes("error"));
    const red = await alice.styleOf("! Unknown command: /nosuch (type /help)", "color");
    const [r, g, b] = red.match(/\d+/g)?.map(Number) ?? [];
    assert.ok(r! > 150 && g! < 80 && b! < 80, `errors are red, not ${red}`);

    // A /who of one's own is shown.
    await alice.say("/who");
    await alice.waitForLine("* 2 online: bob, alice");

    await alice.say("/nick alicia");
    await bob.expect("* alice is now known as alicia");
    await alice.waitForMembers(["bob", "alicia"]);
    await alice.page.waitFor(
      `document.getElementById("status").textContent === "Connected as alicia"`,
      "the status with the new name",
    );
    await alice.say("/me waves");
    await bob.expect("** alicia waves");
    await alice.waitForLine("** alicia waves");
    const action = await alice.classesOf("** alicia waves");
    assert.ok(action.includes("action") && action.includes("own"), `${action}`);
    await bob.send("look, alicia\n");
    await alice.waitForLine("bob: look, alicia");
    assert.ok((await alice.classesOf("bob: look, alicia")).includes("mention"));

    // A quit the person asked for is not undone by reconnecting.
    await alice.say("/quit");
    await alice.waitForLine("* Goodbye, alicia!");
    await bob.readUntil("* alicia left the chat");
    await alice.page.waitFor(
      `document.getElementById("status").textContent === "You left the chat."`,
      "the status",
    );
    await new Promise((resolve) => setTimeout(resolve, 1500)); // longer than the first backoff
    assert.equal((await alice.lines()).filter((line) => line.includes("nickname")).length, 1);
    // Until asked to join again, under the same name.
    await alice.page.evaluate(`document.getElementById("retry").click()`);
    await bob.expect("* alicia joined the chat");
    await alice.waitForLine("Welcome, alicia! Type <quit> to leave.");
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "markup from a member is shown as text and runs nothing",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice", ["bob"]);
    const attacks = [
      `<img src=x onerror="document.title='pwned'">`,
      `<script>document.title='pwned'</script>`,
      `<b>bold</b> &amp; <a href="javascript:alert(1)">link</a>`,
    ];
    for (const attack of attacks) await bob.send(`${attack}\n`);
    await alice.say("<i>mine</i>");
    for (const attack of attacks) await alice.waitForLine(`bob: ${attack}`);
    await alice.waitForLine("alice: <i>mine</i>");
    const made = await alice.page.evaluate<number>(
      `document.querySelectorAll("#lines img, #lines script, #lines b, #lines a, #lines i").length`,
    );
    assert.equal(made, 0, "no element from a line");
    assert.equal(await alice.page.evaluate("document.title"), "Chat room");
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "a dropped connection is rejoined under the same name, the history filling the gap once",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    await bob.send("before the drop\n");
    await bob.expect("bob: before the drop");
    await alice.waitForLine("bob: before the drop");

    assert.equal(await alice.page.closeWebSockets(), 1);
    await bob.expect(/^\* alice left the chat/);
    await bob.send("said while away\n");
    await bob.send("and this\n");
    await bob.readUntil("* alice joined the chat", WAIT_MS * 2);
    await alice.waitForLine("Welcome, alice! Type <quit> to leave.", 2);
    await alice.waitForLine("* End of recent messages");
    const lines = await alice.lines();
    const second = lines.lastIndexOf("Welcome, alice! Type <quit> to leave.");
    assert.deepEqual(lines.slice(second), [
      "Welcome, alice! Type <quit> to leave.",
      "* Recent messages:",
      "bob: said while away",
      "bob: and this",
      "* End of recent messages",
    ]);
    assert.equal(lines.filter((line) => line === "bob: before the drop").length, 1);
    const local = await alice.page.evaluate<string[]>(
      `[...document.querySelectorAll("#lines > li.local")].map((item) => item.textContent)`,
    );
    assert.equal(local.length, 1);
    assert.match(local[0] as string, /Connection lost; reconnecting in \d\.\d s/);
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "after the chat server restarts the page reconnects by itself with the name kept",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice");
    await alice.say("see you");
    await alice.waitForLine("alice: see you");

    await room.restart();
    await alice.waitForLine("* Server is shutting down");
    await alice.waitForLine("Welcome, alice! Type <quit> to leave.", 2, WAIT_MS * 2);
    await using bob = await Peer.join(room.tcpPort, "bob");
    await alice.waitForLine("* bob joined the chat");
    await alice.waitForMembers(["alice", "bob"]);
    await alice.say("back again");
    await bob.readUntil("alice: back again");
    assert.match(
      await alice.page.evaluate<string>(`document.getElementById("status").textContent`),
      /^Connected as alice$/,
    );
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "a locked room asks for the password without echo, and the page rejoins it after a restart",
  ...LEAK_CHECKS,
  fn: withRoom({
    args: ["--password-file", "test/testdata/password.txt"],
    permissions: ["--allow-net", "--allow-read"],
  }, async (room, browser) => {
    const dora = await ChatPage.open(browser, room);
    assert.deepEqual(await dora.lines(), ["This room is locked. Please enter the password:"]);
    await dora.page.waitFor(
      `document.getElementById("input").type === "password"`,
      "a password field",
    );
    await dora.say("open sesame");
    await dora.waitForLine("Welcome to the chat! Please enter your nickname:");
    assert.equal(await dora.page.evaluate(`document.getElementById("input").type`), "text");
    await dora.join("dora");
    assert.ok(
      !(await dora.lines()).some((line) => line.includes("sesame")),
      "the password is not shown",
    );

    // The password typed this session opens the room again.
    await room.restart();
    await dora.waitForLine("Welcome, dora! Type <quit> to leave.", 2, WAIT_MS * 2);
    assert.equal(await dora.page.evaluate(`document.getElementById("input").type`), "text");
    dora.assertNoProblems();
  }),
});

Deno.test({
  name: "on a phone the page fits 375 px with the field in view, in light or dark mode",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room, {
      viewport: { width: 375, height: 667, mobile: true },
    });
    await alice.join("alice", ["bob"]);
    await bob.send(`${"x".repeat(300)}\n`);
    await bob.send("https://example.org/a/very/long/address/that/does/not/break/anywhere/at/all\n");
    await alice.waitForLine(`bob: ${"x".repeat(300)}`);
    const fits = `(() => {
      const inView = (id) => {
        const box = document.getElementById(id).getBoundingClientRect();
        return box.width > 0 && box.top >= 0 && box.left >= 0 &&
          box.bottom <= innerHeight && box.right <= innerWidth;
      };
      return {
        width: document.documentElement.scrollWidth,
        field: inView("input"),
        send: inView("send"),
        membersOpen: document.getElementById("people").open,
        roomsOpen: document.getElementById("room-panel").open,
      };
    })()`;
    assert.deepEqual(await alice.page.evaluate(fits), {
      width: 375,
      field: true,
      send: true,
      membersOpen: false,
      roomsOpen: false,
    });
    // The on-screen keyboard leaves less height: the field stays in view.
    await alice.page.setViewport({ width: 375, height: 300, mobile: true });
    // (app.js sizes the page to the visual viewport on its resize event, a frame later.)
    await alice.page.waitFor(
      `innerHeight === 300 && ${fits}.field`,
      "the field in the smaller window",
    );
    assert.deepEqual(await alice.page.evaluate(fits), {
      width: 375,
      field: true,
      send: true,
      membersOpen: false,
      roomsOpen: false,
    });

    // The system's dark mode is followed.
    const background = `getComputedStyle(document.body).backgroundColor`;
    assert.equal(await alice.page.evaluate(background), "rgb(255, 255, 255)");
    await alice.page.emulateMedia([{ name: "prefers-color-scheme", value: "dark" }]);
    assert.equal(await alice.page.evaluate(background), "rgb(22, 23, 28)");

    // Usable by keyboard and screen reader: labels, a live list, a language.
    const a11y = await alice.page.evaluate(`(() => {
      const log = document.getElementById("log");
      const input = document.getElementById("input");
      return {
        lang: document.documentElement.lang,
        role: log.getAttribute("role"),
        live: log.getAttribute("aria-live"),
        label: input.labels[0]?.textContent,
        button: document.getElementById("send").textContent,
      };
    })()`);
    assert.deepEqual(a11y, {
      lang: "en",
      role: "log",
      live: "polite",
      label: "Message",
      button: "Send",
    });
    await alice.page.press("Tab");
    assert.equal(await alice.page.evaluate("document.activeElement?.id"), "send");
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "a reader scrolled back stays put, and the new-messages button takes them down",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room, { viewport: { width: 900, height: 400 } });
    await alice.join("alice", ["bob"]);
    await bob.send(Array.from({ length: 40 }, (_, i) => `line ${i}\n`).join(""));
    await alice.waitForLine("bob: line 39");
    const position = `(() => {
      const log = document.getElementById("log");
      return {
        top: log.scrollTop,
        atBottom: log.scrollHeight - log.scrollTop - log.clientHeight < 2,
        jump: document.getElementById("jump").hidden ? null : document.getElementById("jump").textContent,
      };
    })()`;
    assert.deepEqual(await alice.page.evaluate(position), {
      top: await alice.page.evaluate(`document.getElementById("log").scrollTop`),
      atBottom: true,
      jump: null,
    });

    await alice.page.evaluate(`document.getElementById("log").scrollTop = 0`);
    await bob.send("while you read\n");
    await bob.send("and more\n");
    await alice.waitForLine("bob: and more");
    assert.deepEqual(await alice.page.evaluate(position), {
      top: 0,
      atBottom: false,
      jump: "2 new messages ↓",
    });

    await alice.page.evaluate(`document.getElementById("jump").focus()`);
    await alice.page.press("Enter");
    const after = await alice.page.evaluate<{ atBottom: boolean; jump: string | null }>(position);
    assert.deepEqual([after.atBottom, after.jump], [true, null]);
    assert.equal(await alice.page.evaluate("document.activeElement?.id"), "input");
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "a hidden page counts unread lines in its title and notifies when someone says the name",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const page = await browser.newPage();
    // Headless Chromium shows no notifications; record them instead.
    await page.send("Page.addScriptToEvaluateOnNewDocument", {
      source: `
        globalThis.notified = [];
        globalThis.Notification = class {
          static permission = "default";
          static requestPermission() {
            this.permission = "granted";
            return Promise.resolve("granted");
          }
          constructor(title, options) { globalThis.notified.push([title, options.body]); }
          addEventListener() {}
          close() {}
        };`,
    });
    await page.goto(room.pageUrl);
    const alice = new ChatPage(page);
    await page.waitFor(`${LINES}.length > 0`, "the greeting");
    await alice.join("alice", ["bob"]);
    await page.evaluate(`document.getElementById("notify").click()`);
    await page.waitFor(`document.getElementById("notify").checked`, "notifications on");

    await bob.send("a line before hiding alice\n");
    await alice.waitForLine("bob: a line before hiding alice");
    await page.hide();
    await page.waitFor("document.hidden", "the page to be hidden");
    await bob.send("nothing for you\n");
    await bob.send("hey ALICE, are you there?\n");
    await bob.send("/msg alice psst\n");
    await bob.readUntil("(private to alice) bob: psst");
    await alice.waitForLine("(private) bob: psst");
    assert.equal(await page.evaluate("document.title"), "(3) Chat room");
    assert.deepEqual(await page.evaluate("globalThis.notified"), [
      ["bob mentioned you", "bob: hey ALICE, are you there?"],
      ["bob mentioned you", "(private) bob: psst"],
    ]);

    await page.show();
    await page.waitFor(`document.title === "Chat room"`, "the title without a count");
    await bob.send("alice, welcome back\n");
    await alice.waitForLine("bob: alice, welcome back");
    assert.equal(
      (await page.evaluate<unknown[]>("globalThis.notified")).length,
      2,
      "not while shown",
    );
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "in another room the member list is that room's, and follows who comes and goes",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    await using carol = await Peer.join(room.tcpPort, "carol");
    await bob.expect("* carol joined the chat");
    await bob.send("/join #dev\n");
    await bob.expect("* You are now in #dev (1 here)");
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice", ["carol"]);
    await alice.say("/join #dev");
    await alice.waitForLine("* You are now in #dev (2 here)");
    await alice.waitForMembers(["bob", "alice"]);
    await bob.expect("* alice joined #dev");
    // A look at another room is shown, and the list stays this room's.
    await alice.say("/who #lobby");
    await alice.waitForLine("* 1 in #lobby: carol");
    await alice.waitForMembers(["bob", "alice"]);
    await carol.send("/join dev\n");
    await alice.waitForMembers(["bob", "alice", "carol"]);
    await bob.send("/part\n");
    await alice.waitForMembers(["alice", "carol"]);
    alice.assertNoProblems();
  }),
});

/**
 * The most of the page's own `/rooms` that were on their way at once: every
 * `/rooms` it sent against every answer it got, in the order DevTools saw them.
 */
function mostRoomsOnTheirWay(frames: WebSocketFrame[]): number {
  let waiting = 0;
  let most = 0;
  for (const frame of frames) {
    if (frame.direction === "sent" && frame.data === "/rooms") most = Math.max(most, ++waiting);
    if (frame.direction === "received") {
      waiting -= frame.data.split("\n").filter((line) => ROOMS_ANSWER.test(line)).length;
    }
  }
  return most;
}

Deno.test({
  name: "the rooms list shows each room and its count, and follows rooms made elsewhere",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await alice.join("alice", ["bob"]);
    await alice.waitForRooms(["#lobby (2) here"]);
    assert.equal(
      await alice.page.evaluate(`document.getElementById("room-count").textContent`),
      "1",
    );

    // bob makes #dev: the page hears him leave for it, and asks for the rooms again.
    await bob.send("/join #dev\n");
    await bob.readUntil("* You are now in #dev (1 here)");
    await alice.waitForLine("* bob left for #dev");
    await alice.waitForRooms(["#lobby (1) here", "#dev (1)"]);

    // A burst of moves asks for the rooms once or twice, never faster than once a second.
    await bob.send("/part\n/join #b\n/part\n/join #c\n");
    await bob.readUntil("* You are now in #c (1 here)");
    await alice.waitForLine("* bob left for #c");
    await alice.waitForRooms(["#lobby (1) here", "#c (1)"]);
    const asked = alice.frames.filter((frame) =>
      frame.direction === "sent" && frame.data === "/rooms"
    );
    assert.ok(asked.length >= 3 && asked.length <= 4, `${asked.length} /rooms`);
    for (let i = 1; i < asked.length; i++) {
      const gap = (asked[i] as WebSocketFrame).time - (asked[i - 1] as WebSocketFrame).time;
      assert.ok(gap > 0.9, `/rooms ${i} came ${gap.toFixed(3)} s after the one before`);
    }
    assert.equal(mostRoomsOnTheirWay(alice.frames), 1);
    assert.ok(!(await alice.lines()).some((line) => ROOMS_ANSWER.test(line)), "none shown");
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "a room with a key or for the invited only shows a lock in the rooms list, and says so",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    await using carol = await Peer.join(room.tcpPort, "carol");
    await bob.readUntil("* carol joined the chat");
    await bob.send("/join #dev\n");
    await bob.readUntil("* You are now in #dev (1 here)");
    await bob.send("/mode +k sesame\n");
    await bob.readUntil("* bob set mode +k sesame on #dev");
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice", ["carol"]);
    await alice.waitForRooms(["#lobby (2) here", "#dev (1) locked"]);
    assert.equal(
      await alice.page.evaluate(`document.querySelector('#rooms [data-room="dev"]').title`),
      "Go to #dev (1 here; it needs a key or an invitation)",
    );
    // Open again, and invite-only elsewhere: the list follows once the page asks again.
    await bob.send("/mode -k\n");
    await bob.readUntil("* bob set mode -k on #dev");
    await carol.send("/join #ops\n/mode +i\n");
    await carol.readUntil("* carol set mode +i on #ops");
    await alice.waitForLine("* carol left for #ops");
    await alice.waitForRooms(["#lobby (1) here", "#dev (1)", "#ops (1) locked"]);
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "clicking a room moves the page there and marks it; the current one does nothing",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    await using carol = await Peer.join(room.tcpPort, "carol");
    await bob.readUntil("* carol joined the chat");
    await carol.send("/join #dev\n");
    await carol.readUntil("* You are now in #dev (1 here)");
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await alice.join("alice", ["bob"]);
    await alice.waitForRooms(["#lobby (2) here", "#dev (1)"]);

    // A click with the mouse.
    await alice.page.click(`#rooms button[data-room="dev"]`);
    await alice.waitForLine("* You are now in #dev (2 here)");
    await carol.readUntil("* alice joined #dev");
    await bob.readUntil("* alice left for #dev");
    await alice.waitForMembers(["carol", "alice"]);
    await alice.waitForRooms(["#dev (2) here", "#lobby (1)"]);
    assert.equal(await alice.page.evaluate("document.activeElement?.id"), "input");
    const looks = await alice.page.evaluate<Record<string, string[]>>(`(() => {
      const looks = {};
      for (const button of document.querySelectorAll("#rooms button")) {
        const style = getComputedStyle(button);
        looks[button.dataset.room] = [
          button.getAttribute("aria-current"), style.fontWeight, style.backgroundColor,
        ];
      }
      return looks;
    })()`);
    assert.deepEqual(looks.dev?.slice(0, 2), ["true", "700"]);
    assert.deepEqual(looks.lobby?.slice(0, 2), [null, "400"]);
    assert.notEqual(looks.dev?.[2], looks.lobby?.[2], "the current room is on a band of its own");

    // The count of the room you are in follows the member list, with no /rooms asked for.
    const before = alice.sent().length;
    await carol.send("<quit>\n");
    await alice.waitForLine("* carol left the chat");
    await alice.waitForMembers(["alice"]);
    await alice.waitForRooms(["#dev (1) here", "#lobby (1)"]);
    assert.deepEqual(alice.sent().slice(before), []);

    // The room you are in is a button that sends nothing; the keyboard takes you back.
    await alice.page.click(`#rooms button[data-room="dev"]`);
    await alice.page.evaluate(`document.querySelector('#rooms button[data-room="lobby"]').focus()`);
    await alice.page.press("Enter");
    await alice.waitForLine("* You are now in #lobby (2 here)");
    await bob.readUntil("* alice joined #lobby");
    await alice.waitForMembers(["bob", "alice"]);
    await alice.waitForRooms(["#lobby (2) here"]);
    assert.deepEqual(alice.sent().filter((line) => line.startsWith("/join")), [
      "/join #dev",
      "/join #lobby",
    ]);
    assert.ok(!(await alice.lines()).some((line) => line.startsWith("! ")), "no error");
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "the page's own /rooms is never shown, but a /rooms typed is, and the list follows it",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await alice.join("alice", ["bob"]);
    await alice.waitForRooms(["#lobby (2) here"]);
    await bob.send("/join #dev\n");
    await alice.waitForLine("* bob left for #dev");
    await alice.waitForRooms(["#lobby (1) here", "#dev (1)"]);

    await alice.say("/rooms");
    await alice.waitForLine("* 2 rooms: #lobby (1), #dev (1)");
    // A move the page cannot hear (bob is in #dev) shows in a /list typed.
    await bob.send("/join #qa\n");
    await bob.readUntil("* You are now in #qa (1 here)");
    await alice.say("/list");
    await alice.waitForLine("* 2 rooms: #lobby (1), #qa (1)");
    await alice.waitForRooms(["#lobby (1) here", "#qa (1)"]);

    const shown = (await alice.lines()).filter((line) => ROOMS_ANSWER.test(line));
    assert.deepEqual(shown, ["* 2 rooms: #lobby (1), #dev (1)", "* 2 rooms: #lobby (1), #qa (1)"]);
    const own = alice.sent().filter((line) => line === "/rooms").length - 1; // less the typed one
    assert.ok(own >= 2, `the page asked ${own} times`);
    const answers = alice.frames.filter((frame) => frame.direction === "received")
      .flatMap((frame) => frame.data.split("\n")).filter((line) => ROOMS_ANSWER.test(line));
    assert.equal(answers.length, own + 2, "every /rooms was answered; only the typed ones shown");
    alice.assertNoProblems();
  }),
});

Deno.test({
  name:
    "a slow answer to the page's /rooms is waited for, and a move heard meanwhile asks after it",
  ...LEAK_CHECKS,
  // Two lines a second: the page's /rooms waits behind what alice typed.
  fn: withRoom({ args: ["--rate", "2", "--burst", "3"] }, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    await using carol = await Peer.join(room.tcpPort, "carol");
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await alice.join("alice", ["bob", "carol"]);
    await alice.waitForRooms(["#lobby (3) here"]);
    for (let i = 1; i <= 6; i++) await alice.say(`line ${i}`);

    await bob.send("/join #dev\n");
    await alice.waitForLine("* bob left for #dev");
    await alice.waitForSent("/rooms", 2);
    // Heard while that /rooms waits its turn: the page asks once more, after its answer.
    await carol.send("/join #qa\n");
    await alice.waitForLine("* carol left for #qa");
    await alice.waitForSent("/rooms", 3, WAIT_MS * 2);
    await alice.waitForRooms(["#lobby (1) here", "#dev (1)", "#qa (1)"]);
    await alice.waitForLine("alice: line 6");
    assert.equal(mostRoomsOnTheirWay(alice.frames), 1);
    assert.ok(!(await alice.lines()).some((line) => ROOMS_ANSWER.test(line)), "none shown");
    alice.assertNoProblems();
  }),
});

/** A registered name's notice, as a member asking for `name` gets it. */
function reservedNotice(name: string): string {
  return `* ${name} is registered; /login ${name} PASSWORD to use it`;
}

/** What `/register` answers on a server without `--data`. */
const REGISTERED_FOR_NOW =
  "* Registered alice: only you can use this name until the server restarts (it keeps no data)";

/** Connects a TCP member that asks for `name`, and reads up to its welcome. */
async function askForName(port: number, name: string): Promise<Peer> {
  const peer = await Peer.connect(port);
  await peer.expect(/nickname/);
  await peer.send(`${name}\n`);
  await peer.readUntil(/^Welcome, /);
  return peer;
}

/** Reads until every line of `wanted` has come, in any order. */
async function expectAll(peer: Peer, wanted: string[]): Promise<void> {
  const missing = new Set(wanted);
  const deadline = Date.now() + WAIT_MS;
  while (missing.size > 0) {
    const line = await peer.readLine(Math.max(deadline - Date.now(), 1));
    if (line === null) throw new Error(`Connection closed before ${[...missing].join(", ")}`);
    missing.delete(line);
  }
}

/**
 * Fails if `peer` gets a line within `ms`. Something that must not happen
 * has no event to wait for: a deadline past when it would have happened is
 * all there is.
 */
async function expectNothing(peer: Peer, ms: number): Promise<void> {
  const line = await peer.readLine(ms).catch((error: Error) => {
    if (error.message.startsWith("Timed out")) return undefined;
    throw error;
  });
  assert.equal(line, undefined, `nothing was to come, but ${JSON.stringify(line)} came`);
}

Deno.test({
  name: "a name registered on the page is kept while away: asked for again it is alice2 with " +
    "the notice, and the login form of another page makes it alice with the right password",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const first = await ChatPage.open(browser, room);
    await first.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    // Typed, the password is hidden once the command is followed by a space.
    await first.page.insertText("/register");
    assert.equal(await first.fieldType("input"), "text");
    await first.page.insertText(" correct-horse");
    await first.page.waitFor(`document.getElementById("input").type === "password"`, "hiding");
    assert.equal(
      await first.page.evaluate(`document.getElementById("secret-note").textContent`),
      "/register … (the password is hidden)",
    );
    await first.page.press("Enter");
    await first.waitForLine(REGISTERED_FOR_NOW);
    assert.equal(await first.fieldType("input"), "text");
    assert.equal(await first.page.evaluate(`document.getElementById("input").value`), "");
    assert.equal(await first.loginShown(), false);
    first.assertNoProblems();
    await first.page.close();
    await bob.expect(/^\* alice left the chat/);

    // Held for its owner: a TCP member asking for it gets the next name and the notice.
    await using tcp = await askForName(room.tcpPort, "alice");
    await tcp.readUntil(reservedNotice("alice"));
    await bob.expect("* alice2 joined the chat");
    await tcp.send("<quit>\n");
    await bob.expect("* alice2 left the chat");

    // Another page gets alice2 too, and the login form.
    const second = await ChatPage.open(browser, room);
    await second.say("alice");
    await second.waitForLine("Welcome, alice2! Type <quit> to leave.");
    await second.waitForLine(reservedNotice("alice"));
    await bob.expect("* alice2 joined the chat");
    await second.page.waitFor(`!document.getElementById("login").hidden`, "the login form");
    // The notice says "password" but asks for none: the message field stays a text field.
    assert.equal(await second.fieldType("input"), "text");
    assert.equal(await second.fieldType("login-password"), "password");
    assert.equal(
      await second.page.evaluate(`document.getElementById("login-password").labels[0].textContent`),
      "Password",
    );
    assert.match(
      await second.page.evaluate<string>(`document.getElementById("login-title").textContent`),
      /^\s*alice is registered: log in to use it\s*$/,
    );
    assert.equal(await second.page.evaluate("document.activeElement?.id"), "login-password");

    await second.page.insertText("wrong-horse");
    await second.page.press("Enter");
    await second.waitForLine("! Wrong password for alice");
    assert.equal(await second.loginShown(), true);
    await second.page.waitFor(`document.activeElement?.id === "login-password"`, "the focus back");
    await second.page.insertText("correct-horse");
    await second.page.click("#login-send");
    await second.waitForLine("* Logged in as alice");
    await bob.expect("* alice2 is now known as alice");
    await second.page.waitFor(`document.getElementById("login").hidden`, "the form put away");
    await second.waitForMembers(["bob", "alice"]);
    assert.equal(await second.page.evaluate(`document.getElementById("login-password").value`), "");

    // Typed in the field, /login hides its password once the name is followed by a space.
    await second.page.click("#input");
    await second.page.insertText("/login alice");
    assert.equal(await second.fieldType("input"), "text");
    await second.page.insertText(" correct-horse");
    await second.page.waitFor(`document.getElementById("input").type === "password"`, "hiding");
    assert.equal(
      await second.page.evaluate(`document.getElementById("secret-note").textContent`),
      "/login alice … (the password is hidden)",
    );
    await second.page.press("Enter");
    await second.waitForLine("* Logged in as alice", 2);
    assert.equal(await second.fieldType("input"), "text");
    assert.equal(await second.page.evaluate(`document.getElementById("secret-note").hidden`), true);

    // No password was shown anywhere.
    const text = await second.page.evaluate<string>("document.body.innerText");
    assert.ok(!text.includes("horse"), text);
    second.assertNoProblems();
  }),
});

Deno.test({
  name: "a login elsewhere closes the page's connection, and the page does not come back by " +
    "itself to take the name back",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    await alice.say("/register correct-horse");
    await alice.waitForLine(REGISTERED_FOR_NOW);

    await using phone = await askForName(room.tcpPort, "alice");
    await phone.readUntil(reservedNotice("alice"));
    await bob.expect("* alice2 joined the chat");
    await phone.send("/login alice correct-horse\n");
    await alice.waitForLine("* You logged in from elsewhere; closing this connection");
    await expectAll(phone, [
      "* Logged in as alice",
      "* alice left the chat (logged in elsewhere)",
      "* alice2 is now known as alice",
    ]);
    await expectAll(bob, [
      "* alice left the chat (logged in elsewhere)",
      "* alice2 is now known as alice",
    ]);
    await alice.page.waitFor(
      `document.getElementById("status").textContent ===
        "Logged in elsewhere: this page does not reconnect by itself."`,
      "the status saying it stays out",
    );
    assert.equal(
      await alice.page.evaluate(`document.getElementById("retry").textContent`),
      "Join again",
    );

    // Neither the backoff nor a network coming back reconnects it (which would log in and
    // take the name back, and the phone again, in turns).
    await alice.page.evaluate(`dispatchEvent(new Event("online"))`);
    await expectNothing(phone, 2000); // longer than the first backoff, 1.2 s at most
    await expectNothing(bob, 0);
    assert.equal((await alice.lines()).filter((line) => line.startsWith("Welcome, ")).length, 1);

    // Joining again is the person's choice, and it takes nothing: alice2, with the login form.
    await alice.page.click("#retry");
    await alice.waitForLine("Welcome, alice2! Type <quit> to leave.");
    await alice.waitForLine(reservedNotice("alice"));
    await phone.expect("* alice2 joined the chat");
    await alice.page.waitFor(`!document.getElementById("login").hidden`, "the login form");
    await phone.send("/whois alice\n");
    await phone.expect(/^\* alice: logged in, /);
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "after the server restarts with its data file, the page logs in again by itself",
  ...LEAK_CHECKS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "chat-page-" });
    try {
      await withRoom({
        args: ["--data", `${dir}/chat.db`],
        permissions: ["--allow-net", `--allow-read=${dir}`, `--allow-write=${dir}`],
      }, async (room, browser) => {
        const alice = await ChatPage.open(browser, room, { recordFrames: true });
        await alice.join("alice");
        await alice.say("/register correct-horse");
        await alice.waitForLine("* Registered alice: only you can use this name from now on");

        await room.restart();
        await alice.waitForLine("* Server is shutting down");
        // The name is held for its owner, so the page comes back as alice2, and logs in.
        await alice.waitForLine("Welcome, alice2! Type <quit> to leave.", 1, WAIT_MS * 2);
        await alice.waitForLine(reservedNotice("alice"));
        await alice.waitForLine("* Logged in as alice");
        await alice.waitForLine("* alice2 is now known as alice");
        await alice.page.waitFor(
          `document.getElementById("status").textContent === "Connected as alice"`,
          "the status with the account's name",
        );
        assert.equal(await alice.loginShown(), false);
        assert.deepEqual(alice.sent().filter((line) => line.startsWith("/login")), [
          "/login alice correct-horse",
        ]);
        await using bob = await Peer.join(room.tcpPort, "bob");
        await bob.send("/whois alice\n");
        await bob.expect(/^\* alice: logged in, registered \d{4}-\d\d-\d\d, in #lobby$/);
        await alice.waitForMembers(["alice", "bob"]);
        const text = await alice.page.evaluate<string>("document.body.innerText");
        assert.ok(!text.includes("horse"), text);
        alice.assertNoProblems();
      })();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the kept password follows /password, and /unregister forgets it",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    await alice.say("/register correct-horse");
    await alice.waitForLine(REGISTERED_FOR_NOW);
    await alice.say("/password correct-horse battery-staple");
    await alice.waitForLine("* Password changed");

    // A dropped connection: the page rejoins as alice2 and logs in with the new password.
    assert.equal(await alice.page.closeWebSockets(), 1);
    await bob.expect(/^\* alice left the chat/);
    await bob.readUntil("* alice2 is now known as alice", WAIT_MS * 2);
    await alice.waitForLine("* Logged in as alice");
    assert.deepEqual(alice.sent().filter((line) => line.startsWith("/login")), [
      "/login alice battery-staple",
    ]);

    await alice.say("/unregister battery-staple");
    await alice.waitForLine("* alice is no longer registered");
    assert.equal(await alice.page.closeWebSockets(), 1);
    await bob.expect(/^\* alice left the chat/);
    await bob.readUntil("* alice joined the chat", WAIT_MS * 2);
    await alice.waitForLine("Welcome, alice! Type <quit> to leave.", 2);
    await alice.waitForMembers(["bob", "alice"]);
    assert.equal(alice.sent().filter((line) => line.startsWith("/login")).length, 1);
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "after a restart that lost the accounts, the page's login again is refused once and " +
    "forgotten",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await alice.join("alice");
    await alice.say("/register correct-horse");
    await alice.waitForLine(REGISTERED_FOR_NOW);

    await room.restart();
    await alice.waitForLine("Welcome, alice! Type <quit> to leave.", 2, WAIT_MS * 2);
    await alice.waitForLine("! No such account: alice");
    assert.equal(await alice.loginShown(), false);

    assert.equal(await alice.page.closeWebSockets(), 1);
    await alice.waitForLine("Welcome, alice! Type <quit> to leave.", 3, WAIT_MS * 2);
    await alice.waitForMembers(["alice"]);
    assert.equal(alice.sent().filter((line) => line.startsWith("/login")).length, 1);
    assert.equal((await alice.lines()).filter((line) => line.startsWith("! ")).length, 1);
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "a kept password changed elsewhere meanwhile is refused and forgotten, the login form " +
    "comes up, and the password that works there is kept instead",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    await alice.say("/register correct-horse");
    await alice.waitForLine(REGISTERED_FOR_NOW);

    // The page is kept away, its network down, while the password is changed from elsewhere.
    await alice.setOffline(true);
    assert.equal(await alice.page.closeWebSockets(), 1);
    await bob.expect(/^\* alice left the chat/);
    await using other = await askForName(room.tcpPort, "alice");
    await other.readUntil(reservedNotice("alice"));
    await other.send("/login alice correct-horse\n/password correct-horse battery-staple\n");
    await other.readUntil("* Password changed");
    await other.send("<quit>\n");
    await bob.readUntil("* alice left the chat");

    await alice.setOffline(false);
    await alice.waitForLine("Welcome, alice2! Type <quit> to leave.", 1, WAIT_MS * 2);
    await alice.waitForLine("! Wrong password for alice");
    await alice.page.waitFor(`!document.getElementById("login").hidden`, "the login form");
    assert.equal(await alice.page.evaluate("document.activeElement?.id"), "login-password");

    // Forgotten: rejoining now sends no /login (the page's /who follows where it would be).
    const whos = alice.sent().filter((line) => line === "/who").length;
    assert.equal(await alice.page.closeWebSockets(), 1);
    await alice.waitForSent("/who", whos + 1, WAIT_MS * 2);
    await alice.waitForLine("Welcome, alice2! Type <quit> to leave.", 2);
    assert.equal(alice.sent().filter((line) => line.startsWith("/login")).length, 1);
    assert.equal(await alice.loginShown(), true);

    await alice.page.click("#login-password");
    await alice.page.insertText("battery-staple");
    await alice.page.press("Enter");
    await alice.waitForLine("* Logged in as alice");
    await bob.readUntil("* alice2 is now known as alice");

    // The password that worked in the form is the one kept now.
    assert.equal(await alice.page.closeWebSockets(), 1);
    await bob.readUntil("* alice2 is now known as alice", WAIT_MS * 2);
    await alice.waitForLine("* Logged in as alice", 2);
    assert.deepEqual(alice.sent().filter((line) => line.startsWith("/login")), [
      "/login alice correct-horse",
      "/login alice battery-staple",
      "/login alice battery-staple",
    ]);
    assert.equal(await alice.loginShown(), false);
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "axe finds nothing wrong with the page in use, nor with the login form up",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice", ["bob"]);
    await bob.send("hello alice\n");
    await alice.waitForLine("bob: hello alice");
    assert.deepEqual(describeViolations(await alice.page.runAxe()), []);
    await alice.say("/register correct-horse");
    await alice.waitForLine(REGISTERED_FOR_NOW);
    const other = await ChatPage.open(browser, room);
    await other.say("alice");
    await other.page.waitFor(`!document.getElementById("login").hidden`, "the login form");
    assert.deepEqual(describeViolations(await other.page.runAxe()), []);
    alice.assertNoProblems();
    other.assertNoProblems();
  }),
});

Deno.test({
  name: "every name's colour keeps a contrast of 4.5:1 on every band, in light and dark mode",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    const page = await browser.newPage();
    await page.goto(room.pageUrl);
    // axe checks the names on screen; this checks every hue a name can have.
    const worst = `(() => {
      const canvas = new OffscreenCanvas(1, 1).getContext("2d", { willReadFrequently: true });
      const rgb = (css) => {
        canvas.clearRect(0, 0, 1, 1);
        canvas.fillStyle = css;
        canvas.fillRect(0, 0, 1, 1);
        return [...canvas.getImageData(0, 0, 1, 1).data].slice(0, 3);
      };
      const luminance = (color) => {
        const [r, g, b] = color.map((v) => {
          v /= 255;
          return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const root = getComputedStyle(document.documentElement);
      const bands = ["--bg", "--panel", "--mention-bg", "--private-bg"]
        .map((name) => luminance(rgb(root.getPropertyValue(name))));
      const probe = document.createElement("span");
      probe.className = "name";
      document.body.append(probe);
      let least = Infinity;
      for (let hue = 0; hue < 360; hue++) {
        probe.style.setProperty("--hue", String(hue));
        const name = luminance(rgb(getComputedStyle(probe).color));
        for (const band of bands) {
          const [light, dark] = name > band ? [name, band] : [band, name];
          least = Math.min(least, (light + 0.05) / (dark + 0.05));
        }
      }
      probe.remove();
      return least;
    })()`;
    for (const scheme of ["light", "dark"]) {
      await page.emulateMedia([{ name: "prefers-color-scheme", value: scheme }]);
      const least = await page.evaluate<number>(worst);
      assert.ok(least >= 4.5, `${scheme}: a name's colour has a contrast of ${least.toFixed(2)}`);
    }
  }),
});

// ---------------------------------------------------------------------------
// Sharing files

/** A shared file's notice, as the room gets it: who, the name, and the address. */
function sharedPattern(from: string, name: string | RegExp): RegExp {
  const file = typeof name === "string" ? name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") : name.source;
  return new RegExp(
    `^\\* ${from} shared (${file}) \\(\\d+(?:\\.\\d)? (?:bytes?|KB|MB)\\): ` +
      `(http://127\\.0\\.0\\.1:\\d+/files/[0-9a-f]{32}/\\S+)$`,
  );
}

/**
 * Defines `makePicture(name, width, height)` in the page: a PNG `File` drawn
 * on a canvas there, as a picture from the clipboard or a drag would be.
 */
async function definePictureMaker(page: Page): Promise<void> {
  await page.evaluate(`globalThis.makePicture = async (name, width, height) => {
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d");
    context.fillStyle = "#3a7";
    context.fillRect(0, 0, width, height);
    context.fillStyle = "#fc3";
    context.fillRect(width / 4, height / 4, width / 2, height / 2);
    const blob = await canvas.convertToBlob({ type: "image/png" });
    return new File([blob], name, { type: "image/png" });
  }; true`);
}

/** A PNG's bytes, drawn in the page (with {@linkcode definePictureMaker}). */
async function pictureBytes(
  page: Page,
  width: number,
  height: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const base64 = await page.evaluate<string>(`(async () => {
    const bytes = new Uint8Array(await (await makePicture("x.png", ${width}, ${height})).arrayBuffer());
    return btoa(String.fromCharCode(...bytes));
  })()`);
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

/**
 * Records in the page, as they happen, each time the upload bar is shown or
 * hidden (`globalThis.barChanges`), so that a bar shown for a moment is seen.
 */
async function recordUploadBar(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    const bar = document.getElementById("upload");
    globalThis.barChanges = [];
    new MutationObserver(() => globalThis.barChanges.push(bar.hidden ? "hidden" : "shown"))
      .observe(bar, { attributes: true, attributeFilter: ["hidden"] });
    return true;
  })()`);
}

/** The picture shown for the line that shares `name`: its alt, link, and whether it loaded. */
const PICTURE_OF = (name: string) =>
  `(() => {
  const item = [...document.querySelectorAll("#lines > li")].findLast((item) =>
    item.querySelector(".text").textContent.includes(" shared " + ${JSON.stringify(name)} + " ("));
  const image = item?.querySelector("img");
  if (!image) return null;
  return {
    alt: image.alt,
    loading: image.loading,
    link: image.closest("a")?.href ?? null,
    target: image.closest("a")?.target ?? null,
    src: image.src,
    loaded: image.complete && image.naturalWidth > 0,
    fits: image.getBoundingClientRect().width <= document.getElementById("lines").clientWidth,
  };
})()`;

/** Waits for the picture of the line sharing `name` to be loaded, and returns what it is. */
async function waitForPicture(
  chat: ChatPage,
  name: string,
): Promise<{ alt: string; loading: string; link: string; target: string; src: string }> {
  return await chat.page.waitFor(
    `(() => { const picture = ${PICTURE_OF(name)}; return picture?.loaded ? picture : null; })()`,
    `the picture ${name}, loaded`,
  );
}

/** Dispatches a drag of `makePicture(name)`'s file over the page: `type` at `selector`. */
function dragEvent(type: string, selector: string, file: string): string {
  return `(async () => {
    const transfer = new DataTransfer();
    transfer.items.add(await ${file});
    const event = new DragEvent(${JSON.stringify(type)}, {
      dataTransfer: transfer, bubbles: true, cancelable: true,
    });
    document.querySelector(${JSON.stringify(selector)}).dispatchEvent(event);
    return event.defaultPrevented;
  })()`;
}

/** Whether the upload bar is shown. */
const BAR_SHOWN = `!document.getElementById("upload").hidden`;

/** Asks the room for an upload address as `peer`, and sends `body` there as `name` with PUT. */
async function shareAs(peer: Peer, target: string, name: string, body: BodyInit): Promise<string> {
  await peer.send(`/upload${target === "" ? "" : ` ${target}`}\n`);
  const [line] = (await peer.readUntil(/^\* Upload within /)).slice(-1);
  const address = (line as string).split(" ").at(-1) as string;
  const response = await fetch(`${address}/${encodeURIComponent(name)}`, { method: "PUT", body });
  assert.equal(response.status, 201, await response.text());
  return address;
}

Deno.test({
  name: "a picture chosen with the Share button goes up with a progress bar, the room hears " +
    "of it, and the page shows it in place with its link",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    await definePictureMaker(alice.page);
    const dir = await Deno.makeTempDir({ prefix: "chat-share-" });
    try {
      const path = `${dir}/pic.png`;
      await Deno.writeFile(path, await pictureBytes(alice.page, 320, 200));
      await recordUploadBar(alice.page);

      // The keyboard: from the field, Tab past Send to the button, and Enter opens the chooser.
      await alice.page.send("Page.setInterceptFileChooserDialog", { enabled: true });
      const chooser = alice.page.waitForEvent<{ backendNodeId: number; mode: string }>(
        "Page.fileChooserOpened",
      );
      await alice.page.press("Tab");
      await alice.page.press("Tab");
      assert.equal(await alice.page.evaluate("document.activeElement?.id"), "share");
      assert.equal(
        await alice.page.evaluate(`document.activeElement.matches(":focus-visible")`),
        true,
        "the focus shows on the button",
      );
      await alice.page.press("Enter");
      const { backendNodeId, mode } = await chooser;
      assert.equal(mode, "selectSingle");
      await alice.page.send("DOM.setFileInputFiles", { files: [path], backendNodeId });

      const [shared, name, url] = sharedPattern("alice", "pic.png").exec(
        (await bob.readUntil(sharedPattern("alice", "pic.png"))).at(-1) as string,
      ) as RegExpExecArray;
      assert.equal(name, "pic.png");
      await alice.waitForLine(shared);
      await alice.page.waitFor(`${BAR_SHOWN} === false`, "the bar to go");
      assert.deepEqual(await alice.page.evaluate("globalThis.barChanges"), ["shown", "hidden"]);
      assert.equal(await alice.page.evaluate("document.getElementById('upload').hidden"), true);

      // In place, scaled to fit, named for screen readers; a click opens the file.
      const picture = await waitForPicture(alice, "pic.png");
      assert.deepEqual(picture, {
        alt: "pic.png",
        loading: "lazy",
        link: url,
        target: "_blank",
        src: url,
        loaded: true,
        fits: true,
      });
      // The page asked for the address itself and did not show it.
      assert.deepEqual(alice.sent().filter((line) => line.startsWith("/upload")), ["/upload"]);
      assert.ok(!(await alice.lines()).some((line) => line.includes("Upload within")));
      // The file is the one chosen.
      const response = await fetch(url as string);
      assert.equal(response.headers.get("content-type"), "image/png");
      assert.deepEqual(new Uint8Array(await response.arrayBuffer()), await Deno.readFile(path));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "a file dragged onto the page shows where to drop it and is shared, and so is a " +
    "picture pasted into the field",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    await definePictureMaker(alice.page);
    const dropShown = `getComputedStyle(document.getElementById("drop")).display !== "none"`;

    // A drag of files brings up the drop target; one that leaves the window takes it away.
    assert.equal(await alice.page.evaluate(dropShown), false);
    const made = `makePicture("drop.png", 200, 300)`;
    assert.equal(await alice.page.evaluate(dragEvent("dragenter", "#lines", made)), true);
    assert.equal(await alice.page.evaluate(dropShown), true);
    const target = await alice.page.evaluate<{ covers: boolean; text: string }>(`(() => {
      const box = document.getElementById("drop").getBoundingClientRect();
      return {
        covers: box.width > innerWidth * 0.9 && box.height > innerHeight * 0.9,
        text: document.getElementById("drop").textContent.trim(),
      };
    })()`);
    assert.deepEqual(target, { covers: true, text: "Drop the file to share it with the room" });
    await alice.page.evaluate(dragEvent("dragleave", "#drop", made));
    assert.equal(await alice.page.evaluate(dropShown), false);
    // A drag of text (not files) is left alone.
    assert.equal(
      await alice.page.evaluate(`(() => {
        const transfer = new DataTransfer();
        transfer.setData("text/plain", "words");
        const event = new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true });
        document.getElementById("lines").dispatchEvent(event);
        return event.defaultPrevented;
      })()`),
      false,
    );
    assert.equal(await alice.page.evaluate(dropShown), false);

    // Enough lines to scroll: the picture, when it loads, keeps the reader at the newest lines.
    await bob.send(Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join(""));
    await alice.waitForLine("bob: line 29");
    await alice.page.evaluate(dragEvent("dragenter", "#lines", made));
    assert.equal(await alice.page.evaluate(dragEvent("drop", "#drop", made)), true);
    assert.equal(await alice.page.evaluate(dropShown), false);
    const dropped = (await bob.readUntil(sharedPattern("alice", "drop.png"))).at(-1) as string;
    await alice.waitForLine(dropped);
    await waitForPicture(alice, "drop.png");
    await alice.page.waitFor(
      `(() => {
        const log = document.getElementById("log");
        return log.scrollHeight > log.clientHeight && document.getElementById("jump").hidden &&
          log.scrollHeight - log.scrollTop - log.clientHeight < 2;
      })()`,
      "the list scrolled to the bottom of the picture",
    );
    await alice.page.waitFor(`${BAR_SHOWN} === false`, "the bar to go");

    // A picture pasted into the field: shared under a name by the time, the field untouched.
    await alice.page.insertText("half a line");
    const pasted = await alice.page.evaluate<boolean>(`(async () => {
      const transfer = new DataTransfer();
      transfer.items.add(await makePicture("image.png", 40, 30));
      const event = new ClipboardEvent("paste", {
        clipboardData: transfer, bubbles: true, cancelable: true,
      });
      document.getElementById("input").dispatchEvent(event);
      return event.defaultPrevented;
    })()`);
    assert.equal(pasted, true);
    const pastedLine = (await bob.readUntil(sharedPattern("alice", /pasted-\d{8}-\d{6}\.png/)))
      .at(-1) as string;
    const pastedName = sharedPattern("alice", /pasted-\d{8}-\d{6}\.png/).exec(pastedLine)?.[1];
    await alice.waitForLine(pastedLine);
    await waitForPicture(alice, pastedName as string);
    assert.equal(
      await alice.page.evaluate(`document.getElementById("input").value`),
      "half a line",
    );
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "a file that is no picture shows as a link and downloads as an attachment; a typed " +
    "/upload is shown; a picture shared privately shows on a private band",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    await definePictureMaker(alice.page);

    // HTML, even named like a picture, is never drawn in the page.
    const markup = `<script>document.title = "pwned"</script><img src=x onerror=alert(1)>`;
    await shareAs(bob, "", "evil.html", markup);
    const [line, , url] = sharedPattern("bob", "evil.html")
      .exec((await bob.readUntil(sharedPattern("bob", "evil.html"))).at(-1) as string) ?? [];
    await alice.waitForLine(line as string);
    await shareAs(bob, "", "fake.png", markup);
    const fake = (await bob.readUntil(sharedPattern("bob", "fake.png"))).at(-1) as string;
    await alice.waitForLine(fake);
    const shown = await alice.page.evaluate(`(() => {
      const item = [...document.querySelectorAll("#lines > li")].find((item) =>
        item.querySelector(".text").textContent === ${JSON.stringify(line)});
      const links = [...item.querySelectorAll("a")];
      return {
        links: links.map((link) => [link.textContent, link.href, link.target, link.rel]),
        images: item.querySelectorAll("img").length,
      };
    })()`);
    assert.deepEqual(shown, {
      links: [[url, url, "_blank", "noopener noreferrer"]],
      images: 0,
    });
    // fake.png's bytes are no picture: its image goes, its link stays.
    await alice.page.waitFor(`${PICTURE_OF("fake.png")} === null`, "no picture for fake.png");
    assert.equal(await alice.page.evaluate("document.title"), "Chat room");
    const download = await fetch(url as string);
    assert.match(download.headers.get("content-disposition") ?? "", /^attachment; /);
    assert.equal(download.headers.get("content-security-policy"), "sandbox; default-src 'none'");
    assert.equal(await download.text(), markup);

    // A /upload typed is the person's: its answer is shown.
    await alice.say("/upload");
    await alice.page.waitFor(
      `${LINES}.some((line) => line.startsWith("* Upload within 10 minutes: curl -T FILE http://"))`,
      "the address, shown",
    );

    // Privately: to alice alone, on the band of private messages.
    await shareAs(bob, "alice", "secret.png", await pictureBytes(alice.page, 30, 20));
    const toAlice = (await bob.readUntil(/^\(private to alice\) \* bob shared secret\.png /))
      .at(-1) as string;
    const received = toAlice.replace(/^\(private to alice\) /, "(private) ");
    await alice.waitForLine(received);
    assert.ok((await alice.classesOf(received)).includes("private"));
    await waitForPicture(alice, "secret.png");
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "Cancel stops an upload under way: nothing is shared, the server says so, and the next " +
    "file goes to the same address",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    await definePictureMaker(alice.page);

    // 4 MB at 64 KB a second: a minute, were it not cancelled.
    await alice.page.send("Network.enable");
    await alice.page.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 64 * 1024,
    });
    const big = `new File([new Uint8Array(4_000_000).fill(7)], "big.bin")`;
    await alice.page.evaluate(dragEvent("drop", "#lines", `Promise.resolve(${big})`));
    await alice.page.waitFor(
      `(() => {
        const bar = document.getElementById("upload-progress");
        return bar.hasAttribute("value") && bar.value > 0 && bar.value < 0.5;
      })()`,
      "the upload under way",
    );
    assert.match(
      await alice.page.evaluate<string>(`document.getElementById("upload-label").textContent`),
      /^Sharing big\.bin \(4 MB\)$/,
    );
    await alice.page.click("#upload-cancel");
    await alice.waitForLine(
      "! Upload of big.bin stopped (the connection broke); nothing was shared",
    );
    await alice.page.waitFor(`${BAR_SHOWN} === false`, "the bar to go");
    await alice.page.waitFor(
      `[...document.querySelectorAll("#lines > li.local")].some((item) =>
        item.textContent.includes("You cancelled sharing big.bin."))`,
      "the page's word that it was cancelled",
    );
    assert.equal(await alice.page.evaluate("document.activeElement?.id"), "input");

    // The next file goes to the address the cancelled one left: no second /upload, and the
    // room hears of it alone.
    await alice.page.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    await alice.page.evaluate(dragEvent("drop", "#lines", `makePicture("small.png", 20, 20)`));
    assert.match(await bob.readLine() as string, sharedPattern("alice", "small.png"));
    assert.deepEqual(alice.sent().filter((line) => line.startsWith("/upload")), ["/upload"]);
    alice.assertNoProblems();
  }),
});

Deno.test({
  name: "axe finds nothing wrong with the page, with the file controls under way and a shared " +
    "picture on screen, in light and dark mode",
  ...LEAK_CHECKS,
  fn: withRoom({}, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room);
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    await definePictureMaker(alice.page);
    await bob.send("hello alice, have a look\n");
    await shareAs(bob, "", "cat.png", await pictureBytes(alice.page, 400, 300));
    await shareAs(bob, "", "notes.txt", "just words\n");
    await alice.waitForLine("bob: hello alice, have a look");
    await waitForPicture(alice, "cat.png");
    await alice.page.waitFor(`${LINES}.some((line) => line.includes(" shared notes.txt "))`, "txt");

    // An upload kept under way by a slow network: the bar, its label and Cancel are on screen.
    await alice.page.send("Network.enable");
    await alice.page.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 32 * 1024,
    });
    const big = `new File([new Uint8Array(2_000_000)], "slow.bin")`;
    await alice.page.evaluate(dragEvent("drop", "#lines", `Promise.resolve(${big})`));
    await alice.page.waitFor(
      `document.getElementById("upload-progress").value > 0`,
      "the upload under way",
    );
    const controls = await alice.page.evaluate(`(() => {
      const named = (id) => {
        const element = document.getElementById(id);
        return element.labels?.[0]?.textContent.trim() || element.textContent.trim();
      };
      return [named("share"), named("upload-progress").replace(/\\(.*/, ""), named("upload-cancel")];
    })()`);
    assert.deepEqual(controls, ["Share a file", "Sharing slow.bin ", "Cancel"]);

    for (const scheme of ["light", "dark"]) {
      await alice.page.emulateMedia([{ name: "prefers-color-scheme", value: scheme }]);
      const violations = await alice.page.runAxe();
      assert.deepEqual(
        describeViolations(violations),
        [],
        `${scheme}: ${JSON.stringify(violations)}`,
      );
    }
    await alice.page.click("#upload-cancel");
    await alice.page.waitFor(`${BAR_SHOWN} === false`, "the bar to go");
    alice.assertNoProblems();
  }),
});

/** The page's own words in the list (not the room's lines). */
const LOCAL_LINES = `[...document.querySelectorAll("#lines > li.local .text")]
  .map((text) => text.textContent)`;

Deno.test({
  name: "a file too large is refused in a line of the server's, and the address is kept for " +
    "the next file",
  ...LEAK_CHECKS,
  fn: withRoom({ args: ["--max-file-bytes", "4KiB"] }, async (room, browser) => {
    await using bob = await Peer.join(room.tcpPort, "bob");
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await alice.join("alice", ["bob"]);
    await bob.expect("* alice joined the chat");
    await definePictureMaker(alice.page);
    const big = `Promise.resolve(new File([new Uint8Array(5000)], "big.bin"))`;
    await alice.page.evaluate(dragEvent("drop", "#lines", big));
    await alice.waitForLine("! File too large (max 4 KiB)");
    await alice.page.waitFor(`${BAR_SHOWN} === false`, "the bar to go");
    assert.deepEqual(await alice.page.evaluate(LOCAL_LINES), [], "the server's line says it all");

    await alice.page.evaluate(dragEvent("drop", "#lines", `makePicture("ok.png", 8, 8)`));
    assert.match(await bob.readLine() as string, sharedPattern("alice", "ok.png"));
    assert.deepEqual(alice.sent().filter((line) => line.startsWith("/upload")), ["/upload"]);
    // Chromium logs every answer over 400 to the console; the refusal is the only problem.
    assert.equal(alice.page.problems.length, 1, `${alice.page.problems}`);
    assert.match(
      alice.page.problems[0] as string,
      /^network: .* status of 413 \(Content Too Large\).*\/big\.bin\)$/,
    );
  }),
});

Deno.test({
  name: "on a server without file sharing the page shows why, and puts the bar away",
  ...LEAK_CHECKS,
  fn: withRoom({ args: ["--no-files"] }, async (room, browser) => {
    const alice = await ChatPage.open(browser, room, { recordFrames: true });
    await definePictureMaker(alice.page);
    // Before joining there is no one to share as: the page says so and asks nothing.
    await alice.page.evaluate(dragEvent("drop", "#lines", `makePicture("a.png", 8, 8)`));
    assert.deepEqual(await alice.page.evaluate(LOCAL_LINES), [
      "Join the chat first, then share a.png.",
    ]);
    assert.equal(await alice.page.evaluate(BAR_SHOWN), false);
    await alice.join("alice");
    await alice.page.evaluate(dragEvent("drop", "#lines", `makePicture("a.png", 8, 8)`));
    await alice.waitForLine("! File sharing is off on this server");
    await alice.page.waitFor(`${BAR_SHOWN} === false`, "the bar to go");
    assert.equal((await alice.page.evaluate<string[]>(LOCAL_LINES)).length, 1);
    assert.deepEqual(alice.sent().filter((line) => line.startsWith("/upload")), ["/upload"]);
    alice.assertNoProblems();
  }),
});
