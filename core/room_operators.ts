/**
 * Room operators: `/op` and `/deop`, which make a member an operator of its
 * room or not, and `/kick`, which sends a member back to `#lobby` (or off the
 * server, from `#lobby`); the member may be on another process of the
 * cluster. Whether a member is an operator of a room (for `/topic` and the
 * `@` of `/who`) is answered here too.
 *
 * @module
 */

import { because, firstWord, type OperatorActing } from "./operator_acting.ts";
import type { OperatorsHost, RemoteMember, Subject } from "./operator_host.ts";
import { sameName } from "../protocol.ts";
import type { Room } from "./room.ts";
import type { Member } from "./session.ts";

/** `/op`, `/deop` and `/kick`, and who is an operator of a room. */
export class RoomOperators {
  readonly #acting: OperatorActing;
  readonly #host: OperatorsHost;

  /** Room operators acting through `acting`. */
  constructor(acting: OperatorActing) {
    this.#acting = acting;
    this.#host = acting.host;
  }

  /** Whether `member` is an operator of `room`: its own, or a server operator. */
  isOperator(member: Member, room: Room<Member>): boolean {
    return member.serverOperator || room.operators.has(member);
  }

  /**
   * `/op NAME`: makes NAME an operator of the room it is in. `elsewhere`,
   * here and below: the members of the cluster's other processes.
   */
  op(actor: Member, typed: string, elsewhere: readonly RemoteMember[] = []): void {
    const target = this.#roomTarget(actor, typed, "op", elsewhere);
    if (target === null) return;
    if (target.serverOperator || target.roomOperator) {
      const what = target.serverOperator ? "a server operator" : `an operator of #${target.room}`;
      this.#host.tell(actor, `! ${target.name} is already ${what}`);
      return;
    }
    this.#setRoomOperator(actor, target, true);
    this.#acting.notify(
      actor,
      target.room,
      `* ${target.name} was made an operator of #${target.room} by ${actor.name}`,
    );
    this.#acting.log(actor, `made ${target.name} an operator of #${target.room}`);
  }

  /** `/deop NAME`: NAME is no longer an operator of the room it is in. */
  deop(actor: Member, typed: string, elsewhere: readonly RemoteMember[] = []): void {
    const target = this.#roomTarget(actor, typed, "deop", elsewhere);
    if (target === null) return;
    if (target.serverOperator) {
      this.#host.tell(actor, `! You cannot /deop a server operator`);
      return;
    }
    if (!target.roomOperator) {
      this.#host.tell(actor, `! ${target.name} is not an operator of #${target.room}`);
      return;
    }
    this.#setRoomOperator(actor, target, false);
    this.#acting.notify(
      actor,
      target.room,
      `* ${target.name} was removed as an operator of #${target.room} by ${actor.name}`,
    );
    this.#acting.log(actor, `removed ${target.name} as an operator of #${target.room}`);
  }

  /** Makes a member an operator of its room, or not, here or on its own process. */
  #setRoomOperator(actor: Member, target: Subject, operator: boolean): void {
    const member = target.here;
    if (member === null) {
      this.#host.actElsewhere(target, operator ? "op" : "deop", actor);
      return;
    }
    const room = member.room as Room<Member>;
    if (operator) room.operators.add(member);
    else room.operators.delete(member);
    this.#host.changed(member);
  }

  /**
   * `/kick NAME [reason]`: out of the room and back to `#lobby`; out of the
   * server when it is in `#lobby` (server operators only).
   */
  kick(actor: Member, rest: string, elsewhere: readonly RemoteMember[] = []): void {
    const [typed, reason] = firstWord(rest);
    const target = this.#roomTarget(actor, typed, "kick", elsewhere);
    if (target === null) return;
    const room = target.room;
    const lobby = sameName(room, this.#host.rooms.lobby.name);
    if (lobby && !actor.serverOperator) {
      this.#host.tell(actor, `! Only server operators can /kick from #${room}`);
      return;
    }
    if (this.#acting.silenced(actor, reason)) return;
    const notice = `* ${target.name} was kicked by ${actor.name}${because(reason)}`;
    this.#acting.log(actor, `kicked ${target.name} from #${room}${because(reason)}`);
    const member = target.here;
    if (member === null) {
      // Its process hears the notice, then the kick, in the cluster's order.
      this.#acting.notify(actor, room, notice);
      this.#host.actElsewhere(target, lobby ? "disconnect" : "kick", actor);
      return;
    }
    // Told first, as the room's copy may come back through the cluster after it has gone.
    this.#host.tell(member, notice);
    if (lobby) {
      this.#host.disconnect(member, "kicked");
      this.#acting.notify(actor, room, notice);
    } else {
      this.#acting.notify(actor, room, notice, member);
      this.#host.sendHome(member);
    }
  }

  /**
   * The member a room command (`/op`, `/deop`, `/kick`) is about: one in the
   * actor's room, the actor being its operator; anyone, for a server
   * operator. Null (and the actor told why) when there is none or it may not.
   */
  #roomTarget(
    actor: Member,
    typed: string,
    command: string,
    elsewhere: readonly RemoteMember[],
  ): Subject | null {
    const host = this.#host;
    const room = actor.room;
    if (!actor.serverOperator && (room === null || !room.operators.has(actor))) {
      host.tell(actor, `! Only operators can /${command}`);
      return null;
    }
    if (typed === "") {
      host.tell(actor, `! Usage: /${command} NAME${command === "kick" ? " [reason]" : ""}`);
      return null;
    }
    const target = this.#acting.find(typed, elsewhere, room ?? undefined);
    if (target === undefined) {
      host.tell(actor, `! No such user: ${typed}`);
      return null;
    }
    if (!actor.serverOperator && !sameName(target.room, (room as Room<Member>).name)) {
      host.tell(actor, `! ${target.name} is not in #${(room as Room<Member>).name}`);
      return null;
    }
    if (command === "kick" && !this.#acting.mayActOn(actor, target, command)) return null;
    return target;
  }
}
