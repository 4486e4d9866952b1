/**
 * Accounts on a cluster end to end: real `server.ts` processes sharing one
 * real `redis-server`, with raw TCP members on each. An account registered
 * on one process is every process's; a login takes its name over from
 * another process; kept messages wait in Redis for whichever process the
 * owner logs in to, after every process has stopped too.
 */

import { startRedis } from "../test/redis_test_helpers.ts";
import {
  LEAK_CHECKS,
  Peer,
  type ServerProcess,
  startServer,
  WAIT_MS,
} from "../test/test_helpers.ts";

const PASSWORD = "correct-horse";

/** Starts a process of the cluster on `redisUrl`. */
function startProcess(redisUrl: string): Promise<ServerProcess> {
  return startServer(["--quiet", "--rate", "0", "--redis", redisUrl]);
}

/**
 * Sends `command` as `peer` until it is answered with `wanted`, within
 * WAIT_MS: for what another process learns from the cluster a moment later.
 */
async function askUntil(peer: Peer, command: string, wanted: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  const heard: string[] = [];
  for (let tries = 0; tries < 50 && Date.now() < deadline; tries++) {
    await peer.send(`${command}\n`);
    const line = await peer.expect(/^[*!] /);
    if (line === wanted) return;
    heard.push(line);
  }
  throw new Error(`${command} never answered ${wanted}; it said:\n${heard.join("\n")}`);
}

/** Joins `port` as alice, registers the name, and leaves. */
async function registerAlice(port: number): Promise<void> {
  await using alice = await Peer.join(port, "alice");
  await alice.send(`/register ${PASSWORD}\n`);
  await alice.expect("* Registered alice: only you can use this name from now on");
  await alice.send("/quit\n");
  await alice.expectClosed();
}

Deno.test({
  name: "an account registered on one process is kept on another, and a login there " +
    "takes the name over from the first",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    await using one = await startProcess(redis.url());
    await using two = await startProcess(redis.url());
    await registerAlice(one.port);
    await using bob = await Peer.join(two.port, "bob");
    await askUntil(bob, "/whois alice", `* alice: not logged in, registered ${today()}`);
    // Asking for the name on the other process gives the next one, and how to log in.
    await using carol = await Peer.connect(two.port);
    await carol.expect(/nickname/);
    await carol.send("alice\n");
    await carol.expect("Welcome, alice2! Type <quit> to leave.");
    await carol.readUntil("* alice is registered; /login alice PASSWORD to use it");
    await carol.send("/nick ALICE\n");
    await carol.expect("* alice is registered; /login alice PASSWORD to use it");
    await carol.send("/login alice wrong-horse\n");
    await carol.expect("! Wrong password for alice");
    await carol.send(`/login alice ${PASSWORD}\n`);
    await carol.expect("* Logged in as alice");
    await bob.readUntil("* alice2 is now known as alice");
    await bob.send("/who\n");
    await bob.readUntil(/^\* 2 online: (alice\+, bob|bob, alice\+)$/);
    // The owner logs in on the first process: the connection on the second is closed.
    await using dave = await Peer.join(one.port, "dave");
    await dave.send(`/login alice ${PASSWORD}\n`);
    // Everyone, dave too, hears the old connection leave before dave takes the name.
    await dave.expect("* alice left the chat (logged in elsewhere)");
    await dave.expect("* Logged in as alice");
    await carol.readUntil("* You logged in from elsewhere; closing this connection");
    await carol.expectClosed();
    await bob.readUntil("* alice left the chat (logged in elsewhere)");
    await bob.expect("* dave is now known as alice");
    await bob.send("/msg alice still there?\n");
    await bob.readUntil("(private to alice) bob: still there?");
    await dave.readUntil("(private) bob: still there?");
    // The name is the first process's now: nobody on the second may take it.
    await using eve = await Peer.connect(two.port);
    await eve.expect(/nickname/);
    await eve.send("alice\n");
    await eve.expect("Welcome, alice2! Type <quit> to leave.");
    await bob.send("/whois alice\n");
    await bob.readUntil(`* alice: logged in, registered ${today()}, in #lobby`);
    // Giving it up on the first process frees it on the second.
    await dave.send(`/unregister ${PASSWORD}\n`);
    await dave.readUntil("* alice is no longer registered");
    await askUntil(bob, "/whois alice", "* alice: not registered, in #lobby");
  },
});

Deno.test({
  name: "a message kept on one process is delivered at a login on another, " +
    "after every process has stopped, once",
  ...LEAK_CHECKS,
  async fn() {
    await using redis = await startRedis();
    {
      await using one = await startProcess(redis.url());
      await using two = await startProcess(redis.url());
      await registerAlice(one.port);
      await using bob = await Peer.join(two.port, "bob");
      await askUntil(bob, "/whois alice", `* alice: not logged in, registered ${today()}`);
      await bob.send("/msg alice see you tomorrow\n");
      await bob.expect("* alice is away; your message will be delivered when they log in");
      await bob.send("/msg nobody hello\n");
      await bob.expect("! No such user: nobody");
    }
    await using three = await startProcess(redis.url());
    await using alice = await Peer.join(three.port, "alice");
    await alice.readUntil("* alice is registered; /login alice PASSWORD to use it");
    await alice.send(`/login alice ${PASSWORD}\n`);
    await alice.expect("* Logged in as alice");
    await alice.expect("* 1 message while you were away:");
    await alice.expect(/^\[\d\d-\d\d \d\d:\d\d\] \(private\) bob: see you tomorrow$/);
    await alice.expect("* End of messages while you were away");
    // The room hears of the rename through Redis, after what was told to alice alone.
    await alice.expect("* alice2 is now known as alice");
    // Taken once: a second login has nothing waiting.
    await alice.send(`/login alice ${PASSWORD}\n`);
    await alice.expect("* Logged in as alice");
    await alice.send("/whois alice\n");
    await alice.expect(`* alice: logged in, registered ${today()}, in #lobby`);
  },
});

/** Today's date as `/whois` shows when an account was registered. */
function today(): string {
  return new Date().toISOString().slice(0, 10);
}
