/**
 * What accounts tell and how a login reaches across a cluster, apart from
 * the commands that change them (accounts.ts): `/whois` (on any process),
 * the operators' `/accounts`, and a login's takeover of its name from a
 * connection on another process.
 *
 * @module
 */

import type { AccountBook } from "./account_book.ts";
import type { ChatCluster, ClusterPeer } from "./cluster_port.ts";
import { type Hub, UNAVAILABLE_TRY } from "./hub.ts";
import { sameName } from "../protocol.ts";
import type { Member } from "./session.ts";

/** Names `/accounts` lists at most: the count is always whole. */
export const LISTED_ACCOUNTS = 200;
/** How long a login on a cluster waits for another process to let go of the name. */
export const TAKEOVER_WAIT_MS = 3000;
/** How often it asks the cluster meanwhile. */
const TAKEOVER_POLL_MS = 50;

/** `/whois NAME`: logged in or not, registered when, in which room (on any process). */
export function whois(hub: Hub, book: AccountBook, member: Member, typed: string): void {
  if (typed === "") return hub.tell(member, "! Usage: /whois NAME");
  const here = hub.rooms.find(typed);
  const cluster = hub.cluster;
  if (here !== undefined || cluster === null) {
    const online = here?.room == null ? undefined : {
      name: here.name as string,
      loggedIn: here.account !== null,
      room: here.room.name,
    };
    return tellWhois(hub, book, member, typed, online);
  }
  member.busy = cluster.members().then((everyone) => {
    const peer = everyone.find((other) => sameName(other.name, typed));
    tellWhois(hub, book, member, typed, peer);
  }, () => hub.tell(member, UNAVAILABLE_TRY));
}

/** Answers `/whois typed`, where `online` is the member called that, if connected. */
function tellWhois(
  hub: Hub,
  book: AccountBook,
  member: Member,
  typed: string,
  online: { name: string; loggedIn: boolean; room: string } | undefined,
): void {
  const account = book.find(typed);
  if (account === undefined && online === undefined) {
    return hub.tell(member, `! No such user: ${typed}`);
  }
  const parts: string[] = [];
  if (account === undefined) parts.push("not registered");
  else {
    const owner = online !== undefined && online.loggedIn && sameName(online.name, account.name);
    parts.push(owner ? "logged in" : "not logged in");
    parts.push(`registered ${new Date(account.registeredAt).toISOString().slice(0, 10)}`);
  }
  if (online !== undefined && online.room !== "") parts.push(`in #${online.room}`);
  hub.tell(member, `* ${account?.name ?? online?.name}: ${parts.join(", ")}`);
}

/** `/accounts`: how many, and their names in the order registered. */
export function listAccounts(hub: Hub, book: AccountBook, member: Member): void {
  const count = book.count;
  const names = book.names(LISTED_ACCOUNTS);
  const more = count > names.length ? ` (and ${count - names.length} more)` : "";
  const list = names.length > 0 ? `: ${names.join(", ")}${more}` : "";
  hub.tell(member, `* ${count} ${count === 1 ? "account" : "accounts"}${list}`);
}

/**
 * Makes `name` this process's in the cluster (`old` was the member's) and
 * closes whoever holds it on another process: the owner wins there too.
 */
export async function takeOverInCluster(
  cluster: ChatCluster,
  old: string,
  name: string,
): Promise<void> {
  if (!sameName(old, name)) await cluster.takeName(old, name);
  const holders = (peers: ClusterPeer[]) =>
    peers.filter((peer) => peer.processId !== cluster.processId && sameName(peer.name, name));
  const found = holders(await cluster.members());
  if (found.length === 0) return;
  await Promise.all(
    found.map((peer) => cluster.publishAct("elsewhere", peer.name, peer.room, peer.processId)),
  );
  // Their rooms hear them leave before the rename: a process's notice goes out before
  // it frees the name. One that does not answer is not waited for past the deadline.
  const deadline = performance.now() + TAKEOVER_WAIT_MS;
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, TAKEOVER_POLL_MS));
    if (holders(await cluster.members()).length === 0) return;
  }
}
