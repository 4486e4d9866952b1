/**
 * Runs an operator's command (commands.ts's {@linkcode ModerationCommand}):
 * on a cluster, one about a member who may be on another process first asks
 * the cluster who is where, when the actor may give it at all (else the
 * rules refuse it here, at no cost to Redis).
 *
 * @module
 */

import type { ClusterPeer } from "./cluster_port.ts";
import type { ModerationCommand } from "./commands.ts";
import { type Hub, UNAVAILABLE_TRY } from "./hub.ts";
import type { Member } from "./session.ts";

/**
 * Operators' commands about a member, who may be on another process of the
 * cluster, each with whether a room's operator may give it (else only a
 * server operator may).
 */
const REACHES_ELSEWHERE: ReadonlyMap<string, boolean> = new Map([
  ["op", true],
  ["deop", true],
  ["kick", true],
  ["ban", false],
  ["mute", false],
  ["unmute", false],
]);

/** Runs `command` of `member`'s with `rest`: see the module's description. */
export function moderate(hub: Hub, member: Member, command: ModerationCommand, rest: string): void {
  const operators = hub.operators;
  const cluster = hub.cluster;
  const byRoomOperators = REACHES_ELSEWHERE.get(command);
  const may = member.serverOperator ||
    (byRoomOperators === true && (member.room?.operators.has(member) ?? false));
  if (cluster !== null && byRoomOperators !== undefined && may) {
    const act = command as "op" | "deop" | "kick" | "ban" | "mute" | "unmute";
    member.busy = cluster.members().then((everyone) => {
      if (member.closed || member.leaving !== null) return;
      const elsewhere: ClusterPeer[] = everyone.filter((other) =>
        other.processId !== cluster.processId
      );
      operators[act](member, rest, elsewhere);
    }, () => hub.tell(member, UNAVAILABLE_TRY));
    return;
  }
  switch (command) {
    case "oper":
      member.busy = operators.oper(member, rest);
      return;
    case "bans":
    case "mutes":
      return operators.list(member, command);
    case "motd":
      return operators.setMotd(member, rest);
    default:
      return operators[command](member, rest);
  }
}
