/**
 * Accounts end to end over TCP: registering, the name kept while its owner
 * is away, logging in (with the rename, a wrong password, a takeover),
 * changing and giving up the password, the limits, the operators' commands,
 * and private messages kept while away, across a restart with `--data`.
 */

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { DatabaseSync } from "node:sqlite";
import { hashPassword } from "../core/passwords.ts";
import { ChatServer, type ChatServerOptions } from "../server.ts";
import { LEAK_CHECKS, Peer, WAIT_MS, withDeadline } from "../test/test_helpers.ts";

const PASSWORD = "correct-horse";
const OPER_PASSWORD = "swordfish";

/** Lines the console answered, to wait on. */
class Heard {
  readonly lines: string[] = [];
  #waiters: (() => void)[] = [];

  /** Takes text, one line or several. */
  readonly take = (text: string): void => {
    this.lines.push(...text.replace(/\n$/, "").split("\n"));
    for (const waiter of this.#waiters.splice(0)) waiter();
  };

  /** Waits for the line `wanted`; fails after WAIT_MS. */
  async waitFor(wanted: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!this.lines.includes(wanted)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`No ${wanted} within ${WAIT_MS} ms:\n${this.lines.join("\n")}`);
      }
      await withDeadline(new Promise<void>((resolve) => this.#waiters.push(resolve)), left, wanted);
    }
  }
}

/** Runs `body` against an in-process server on a free port, then closes it. */
async function withChat(
  options: ChatServerOptions,
  body: (port: number, server: ChatServer, console: Heard) => Promise<void>,
): Promise<void> {
  const console = new Heard();
  const server = new ChatServer({
    hostname: "127.0.0.1",
    port: 0,
    rate: 0,
    operatorPassword: OPER_PASSWORD,
    consoleOutput: console.take,
    ...options,
  });
  try {
    const { port } = await server.start();
    await body(port, server, console);
  } finally {
    await server.close();
  }
}

/** Joins as `name`, registers it with `password`, and leaves. */
async function registered(port: number, name: string, password = PASSWORD): Promise<void> {
  await using peer = await Peer.join(port, name);
  await peer.send(`/register ${password}\n`);
  await peer.expect(new RegExp(`^\\* Registered ${name}: only you can use this name`));
  await peer.send("/quit\n");
  await peer.expectClosed();
}

Deno.test({
  name: "a registered name is kept while its owner is away, and /login gives it back",
  ...LEAK_CHECKS,
  fn: () =>
    withChat({}, async (port) => {
      await using alice = await Peer.join(port, "alice");
      await alice.send(`/register ${PASSWORD}\n`);
      await alice.expect(
        "* Registered alice: only you can use this name until the server restarts (it keeps no data)",
      );
      await alice.send("/who\n");
      await alice.expect("* 1 online: alice+");
      await alice.send("/quit\n");
      await alice.expectClosed();

      await using bob = await Peer.join(port, "bob");
      await using other = await Peer.connect(port);
      await other.expect(/nickname/);
      await other.send("alice\n");
      await other.expect("Welcome, alice2! Type <quit> to leave.");
      await other.expect("* alice is registered; /login alice PASSWORD to use it");
      await bob.expect("* alice2 joined the chat");
      // Lookalikes count as the name.
      await bob.send("/nick ALICE\n");
      await bob.expect("* alice is registered; /login alice PASSWORD to use it");
      await other.send("/whois alice\n");
      await other.expect(/^\* alice: not logged in, registered \d{4}-\d\d-\d\d$/);

      await other.send(`/login alice ${PASSWORD}\n`);
      await other.expect("* Logged in as alice");
      await other.expect("* alice2 is now known as alice");
      await bob.expect("* alice2 is now known as alice");
      await bob.send("/who\n");
      await bob.expect("* 2 online: bob, alice+");
      await bob.send("/whois alice\n");
      await bob.expect(/^\* alice: logged in, registered \d{4}-\d\d-\d\d, in #lobby$/);
      await bob.send("/whois bob\n");
      await bob.expect("* bob: not registered, in #lobby");
      await bob.send("/whois nobody\n");
      await bob.expect("! No such user: nobody");
    }),
});

Deno.test({
  name: "a wrong password is answered after a second, and an unknown account at once",
  ...LEAK_CHECKS,
  fn: () =>
    withChat({}, async (port) => {
      await registered(port, "alice");
      await using bob = await Peer.join(port, "bob");
      await bob.send("/login zed whatever1\n");
      await bob.expect("! No such account: zed");
      const started = performance.now();
      await bob.send("/login alice not-the-one\n");
      await bob.expect("! Wrong password for alice");
      assert.ok(performance.now() - started >= 950, "answered before the second was up");
      // The line after it waited for the answer: still bob.
      await bob.send("/who\n");
      await bob.expect("* 1 online: bob");
    }),
});

Deno.test({
  name: "a login from elsewhere takes the name over and closes the older connection",
  ...LEAK_CHECKS,
  fn: () =>
    withChat({}, async (port) => {
      await using alice = await Peer.join(port, "alice");
      await alice.send(`/register ${PASSWORD}\n`);
      await alice.expect(/^\* Registered alice/);
      await using carol = await Peer.join(port, "carol");
      await alice.expect("* carol joined the chat");
      await using newer = await Peer.join(port, "phone");
      await carol.expect("* phone joined the chat");
      await newer.send(`/login alice ${PASSWORD}\n`);
      const last = await alice.expectClosed();
      assert.ok(
        last.includes("* You logged in from elsewhere; closing this connection"),
        last.join("\n"),
      );
      await newer.expect("* alice left the chat (logged in elsewhere)");
      await newer.expect("* Logged in as alice");
      await newer.expect("* phone is now known as alice");
      await carol.expect("* alice left the chat (logged in elsewhere)");
      await carol.expect("* phone is now known as alice");
    }),
});

Deno.test({
  name: "/password changes the password, and /unregister gives the name up",
  ...LEAK_CHECKS,
  fn: () =>
    withChat({}, async (port) => {
      await using alice = await Peer.join(port, "alice");
      await alice.send("/password whatever1 whatever2\n");
      await alice.expect("! You are not logged in (/login NAME PASSWORD)");
      await alice.send(`/register ${PASSWORD}\n`);
      await alice.expect(/^\* Registered alice/);
      await alice.send(`/register ${PASSWORD}\n`);
      await alice.expect("! alice is already registered");
      await alice.send(`/password ${PASSWORD} short\n`);
      await alice.expect("! Password too short (at least 8 characters)");
      await alice.send(`/password ${PASSWORD} new-password\n`);
      await alice.expect("* Password changed");
      await alice.send(`/unregister ${PASSWORD}\n`);
      await alice.expect("! Wrong password for alice");
      await alice.send("/unregister new-password\n");
      await alice.expect("* alice is no longer registered");
      await alice.send("/who\n");
      await alice.expect("* 1 online: alice");
      await alice.send("/quit\n");
      await alice.expectClosed();
      // The name is anyone's again.
      await using next = await Peer.join(port, "alice");
      await next.send("/who\n");
      await next.expect("* 1 online: alice");
    }),
});

Deno.test({
  name: "passwords out of bounds and guest names get one clear line, never the password",
  ...LEAK_CHECKS,
  fn: () =>
    withChat({}, async (port) => {
      await using guest = await Peer.connect(port);
      await guest.expect(/nickname/);
      await guest.send("\n");
      await guest.expect(/^Welcome, guest/);
      await guest.send(`/register ${PASSWORD}\n`);
      await guest.expect("! Choose a name with /nick before you register");
      await guest.send("/nick alice\n");
      await guest.expect(/is now known as alice/);
      await guest.send("/register short\n");
      await guest.expect("! Password too short (at least 8 characters)");
      await guest.send(`/register ${"x".repeat(257)}\n`);
      await guest.expect("! Password too long (at most 256 characters)");
      await guest.send("/register two words\n");
      await guest.expect("! A password cannot contain spaces");
      await guest.send(`/register ${"y".repeat(10_000)}\n`);
      const line = await guest.expect(/^! /);
      assert.ok(!line.includes("yyyyyyyy"), line);
      await guest.send("/who\n");
      await guest.expect("* 1 online: alice");
    }),
});

/** Joins as `name` from `localAddress` through node:net, and registers; resolves to the answer. */
async function registerFrom(port: number, localAddress: string, name: string): Promise<string> {
  const socket: Socket = connect({ host: "127.0.0.1", port, localAddress });
  try {
    const lines: string[] = [];
    let buffer = "";
    let wake = () => {};
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop() as string;
      lines.push(...parts);
      wake();
    });
    const next = async (test: (line: string) => boolean): Promise<string> => {
      const deadline = Date.now() + WAIT_MS;
      while (true) {
        const index = lines.findIndex(test);
        if (index !== -1) return lines.splice(0, index + 1).pop() as string;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`No line wanted from ${localAddress}: ${lines.join("\n")}`);
        await withDeadline(new Promise<void>((resolve) => wake = resolve), left, "a line");
      }
    };
    await next((line) => line.includes("nickname"));
    socket.write(`${name}\n`);
    await next((line) => line.startsWith("Welcome, "));
    socket.write(`/register ${PASSWORD}\n`);
    return await next((line) => line.startsWith("* Registered") || line.startsWith("! "));
  } finally {
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.destroy();
    await closed;
  }
}

Deno.test({
  name: "an address registers at most 3 names a day, and --max-accounts caps them all",
  ...LEAK_CHECKS,
  fn: async () => {
    await withChat({ limitLoopback: true }, async (port) => {
      for (const name of ["ann", "ben", "cid"]) {
        assert.match(await registerFrom(port, "127.0.0.1", name), /^\* Registered /);
      }
      assert.equal(
        await registerFrom(port, "127.0.0.1", "dan"),
        "! Too many registrations from your address; try again later",
      );
      // Another address is counted apart.
      assert.match(await registerFrom(port, "127.0.0.2", "dan"), /^\* Registered dan/);
    });
    await withChat({ maxAccounts: 1 }, async (port) => {
      await registered(port, "ann");
      await using ben = await Peer.join(port, "ben");
      await ben.send(`/register ${PASSWORD}\n`);
      await ben.expect("! This server takes no more registrations");
    });
  },
});

Deno.test({
  name: "operators list and drop accounts, from /oper and from the console",
  ...LEAK_CHECKS,
  fn: () =>
    withChat({}, async (port, server, console) => {
      await registered(port, "alice");
      await registered(port, "bob");
      await using op = await Peer.join(port, "op");
      await op.send("/accounts\n");
      await op.expect("! Only server operators can /accounts");
      await op.send(`/oper ${OPER_PASSWORD}\n`);
      await op.expect(/operator/);
      await op.send("/accounts\n");
      await op.expect("* 2 accounts: alice, bob");
      await op.send("/drop alice\n");
      await op.expect("* Account alice dropped");
      await op.send("/drop alice\n");
      await op.expect("! No such account: alice");
      server.runConsole("/accounts");
      await console.waitFor("* 1 account: bob");
      server.runConsole("/drop BOB");
      await console.waitFor("* Account bob dropped");
      server.runConsole("/accounts");
      await console.waitFor("* 0 accounts");
      await using alice = await Peer.join(port, "alice");
      await alice.send("/who\n");
      await alice.expect("* 2 online: @op, alice");
    }),
});

Deno.test({
  name: "private messages to an owner who is away are kept, within limits, for the next login",
  ...LEAK_CHECKS,
  fn: () =>
    withChat({}, async (port) => {
      await registered(port, "alice");
      await using bob = await Peer.join(port, "bob");
      await bob.send("/msg alice first\n");
      await bob.expect("* alice is away; your message will be delivered when they log in");
      for (let i = 2; i <= 20; i++) {
        await bob.send(`/msg alice note ${i}\n`);
        await bob.expect("* alice is away; your message will be delivered when they log in");
      }
      await bob.send("/msg alice one too many\n");
      await bob.expect("! alice's mailbox is full");
      await bob.send("/msg nobody hello\n");
      await bob.expect("! No such user: nobody");
      await using alice = await Peer.join(port, "carol");
      await bob.expect("* carol joined the chat");
      await alice.send(`/login alice ${PASSWORD}\n`);
      await alice.expect("* Logged in as alice");
      await alice.expect("* carol is now known as alice");
      await alice.expect("* 20 messages while you were away:");
      await alice.expect(/^\[\d\d-\d\d \d\d:\d\d\] \(private\) bob: first$/);
      for (let i = 2; i <= 20; i++) {
        await alice.expect(
          new RegExp(`^\\[\\d\\d-\\d\\d \\d\\d:\\d\\d\\] \\(private\\) bob: note ${i}$`),
        );
      }
      await alice.expect("* End of messages while you were away");
      // Delivered once: a second login has none.
      await alice.send(`/login alice ${PASSWORD}\n`);
      await alice.expect("* Logged in as alice");
      await alice.send("/who\n");
      await alice.expect("* 2 online: bob, alice+");
    }),
});

Deno.test({
  name: "with --data, accounts and kept messages survive a restart",
  ...LEAK_CHECKS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "chat-accounts-" });
    try {
      const dataFile = `${dir}/chat.db`;
      await withChat({ dataFile }, async (port) => {
        await using alice = await Peer.join(port, "alice");
        await alice.send(`/register ${PASSWORD}\n`);
        await alice.expect("* Registered alice: only you can use this name from now on");
        await alice.send("/quit\n");
        await alice.expectClosed();
        await using bob = await Peer.join(port, "bob");
        await bob.send("/msg alice kept over a restart\n");
        await bob.expect("* alice is away; your message will be delivered when they log in");
      });
      await withChat({ dataFile }, async (port) => {
        await using other = await Peer.connect(port);
        await other.expect(/nickname/);
        await other.send("alice\n");
        await other.expect("Welcome, alice2! Type <quit> to leave.");
        await other.expect("* alice is registered; /login alice PASSWORD to use it");
        await other.send(`/login alice ${PASSWORD}\n`);
        await other.expect("* Logged in as alice");
        await other.expect("* alice2 is now known as alice");
        await other.expect("* 1 message while you were away:");
        await other.expect(/^\[\d\d-\d\d \d\d:\d\d\] \(private\) bob: kept over a restart$/);
        await other.expect("* End of messages while you were away");
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a hash stored with weaker parameters is made again at the owner's next login",
  ...LEAK_CHECKS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "chat-accounts-" });
    try {
      const dataFile = `${dir}/chat.db`;
      await withChat({ dataFile }, (port) => registered(port, "alice"));
      // As an older version would have stored it: scrypt with N = 2^10.
      const weak = await hashPassword(PASSWORD, { cost: 2 ** 10 });
      const storedHash = () => {
        const db = new DatabaseSync(dataFile);
        try {
          return String(db.prepare("SELECT hash FROM accounts WHERE name = 'alice'").get()?.hash);
        } finally {
          db.close();
        }
      };
      {
        const db = new DatabaseSync(dataFile);
        db.prepare("UPDATE accounts SET hash = ? WHERE name = 'alice'").run(weak);
        db.close();
      }
      const log = new Heard();
      await withChat({ dataFile, log: log.take }, async (port) => {
        await using alice = await Peer.join(port, "alice2");
        await alice.send(`/login alice ${PASSWORD}\n`);
        await alice.expect("* Logged in as alice");
        await log.waitFor("alice's password hash was made again with today's parameters");
        // The same password opens it, now by the new hash.
        await using again = await Peer.join(port, "carol");
        await again.send(`/login alice ${PASSWORD}\n`);
        await again.readUntil("* Logged in as alice");
      });
      assert.match(storedHash(), /^scrypt\$32768\$8\$1\$/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
