/**
 * An IRC client's channels. The member's own room is the session's state,
 * which channel_commands.ts moves (the first channel it joins); each further
 * channel is a seat of the core's (core/seats.ts) over a {@linkcode SeatLink},
 * with its own view of the session ({@linkcode SessionState.view}), its own
 * commands and its own translation of the room's lines, so that the client
 * hears each line from the channel it was said in. The client's channel
 * commands go to the channel they name; the rest stay the member's own.
 *
 * @module
 */

import { sameName } from "../../protocol.ts";
import { ChannelCommands } from "./channel_commands.ts";
import { CoreReplies } from "./core_replies.ts";
import { formatMessage } from "./message.ts";
import { SeatLink } from "./seat_link.ts";
import type { WhoxQuery } from "./whox.ts";
import { CHANNEL_LENGTH, prefixOf, type SessionState } from "./session_state.ts";

/** A further channel: the seat's view, commands, translation and link. */
interface Seat {
  state: SessionState;
  commands: ChannelCommands;
  replies: CoreReplies;
  link: SeatLink;
}

/** Hands an IRC client's channel commands to the channel they name: see the module's description. */
export class ChannelRouter {
  readonly #seats: Seat[] = [];

  /**
   * Channels over `s`, whose own room `own` moves; `writableLength` is the
   * client's socket's output not yet taken by the kernel.
   */
  constructor(
    readonly s: SessionState,
    readonly own: ChannelCommands,
    readonly writableLength: () => number,
  ) {
    s.seatRooms = () => this.seatRooms;
  }

  /** The state of the channel `channel` names, when the client is in it (or joining it). */
  viewOf(channel: string): SessionState | null {
    if (this.s.isIn(channel)) return this.s;
    return this.#seatOf(channel)?.state ?? null;
  }

  /** JOIN: the member's own room first, then a seat for each further channel. */
  join(params: string[]): void {
    const list = params[0];
    if (list === undefined || list === "") return this.own.join(params);
    if (list === "0") {
      for (const seat of [...this.#seats]) this.#leave(seat, "");
      return this.own.join(params);
    }
    const keys = (params[1] ?? "").split(",");
    list.split(",").forEach((channel, i) => {
      const key = keys[i] || undefined;
      const room = this.s.roomOf(channel);
      if (room === null || channel.length > CHANNEL_LENGTH) return this.own.join([channel]);
      if (this.viewOf(channel) !== null) return;
      if (!this.s.visible && this.s.joining.length === 0) {
        return this.own.join(key === undefined ? [channel] : [channel, key]);
      }
      if (this.#seats.length + 1 >= this.s.channelLimit) {
        return this.s.numeric("405", channel, "You have joined too many channels");
      }
      this.#open(room, key);
    });
  }

  /** PART: a seat leaves its room; the member's own room is left as channel_commands.ts does. */
  part(params: string[]): void {
    const list = params[0];
    if (list === undefined || list === "") return this.own.part(params);
    for (const channel of list.split(",")) {
      const seat = this.#seatOf(channel);
      if (seat === undefined) {
        this.own.part(params[1] === undefined ? [channel] : [channel, params[1]]);
        continue;
      }
      this.#leave(seat, params[1] ?? "");
    }
  }

  topic(params: string[]): void {
    this.#route(params[0]).topic(params);
  }

  names(channel: string | undefined): void {
    this.#route(channel?.split(",")[0]).names(channel);
  }

  who(mask: string | undefined, whox?: WhoxQuery | null): void {
    this.#route(mask).who(mask, whox);
  }

  whois(params: string[]): void {
    this.own.whois(params);
  }

  list(channels: string | undefined): void {
    this.own.list(channels);
  }

  kick(params: string[]): void {
    this.#route(params[0]).kick(params);
  }

  invite(params: string[]): void {
    this.#route(params[1]).invite(params);
  }

  mode(params: string[]): void {
    this.#route(params[0]).mode(params);
  }

  /** Every channel's view: the member's own room's, then each seat's (open or opening). */
  get views(): SessionState[] {
    return [this.s, ...this.#seats.map((seat) => seat.state)];
  }

  /** The channels the client is in through seats, as the core names their rooms. */
  get seatRooms(): string[] {
    return this.#seats.filter((seat) => seat.state.visible).map((seat) => seat.state.room);
  }

  /** The commands of the channel `channel` names: its seat's, or the member's own. */
  #route(channel: string | undefined): ChannelCommands {
    return (channel === undefined ? undefined : this.#seatOf(channel))?.commands ?? this.own;
  }

  #seatOf(channel: string): Seat | undefined {
    const room = this.s.roomOf(channel);
    if (room === null) return undefined;
    return this.#seats.find((seat) => sameName(seat.state.room, room));
  }

  /**
   * Asks the core for a seat in `room`, once the lines sent before have gone
   * to it (a JOIN of several channels joins them in order); the client's
   * lines for it meanwhile wait in its link. Its answers come through the
   * seat's translation.
   */
  #open(room: string, key: string | undefined): void {
    const link: SeatLink = new SeatLink({
      fromCore: (text) => {
        // What the core writes is said within this connection's guard, as its own link's is.
        const say = () => {
          for (const line of text.split("\n")) if (line !== "") seat.replies.fromCore(line);
        };
        if (this.s.sink.guard === undefined) say();
        else this.s.sink.guard(say);
      },
      writableLength: this.writableLength,
      closed: () => {
        const at = this.#seats.indexOf(seat);
        if (at !== -1) this.#seats.splice(at, 1);
        seat.state.abandon();
      },
    });
    const state = this.s.view(room, (line) => link.toCore([line]));
    const seat: Seat = {
      state,
      commands: new ChannelCommands(state),
      replies: new CoreReplies(state),
      link,
    };
    this.#seats.push(seat);
    // The names of the room, for the JOIN the client is shown once the seat is in it: awaited
    // from now, so that what the client asks of this channel meanwhile waits behind it.
    const join = state.expect("join", room);
    const open = () => {
      // A refusal is one `! ...` line, before any answer: said as the core's error, not awaited.
      state.pending.splice(state.pending.indexOf(join), 1);
      this.s.host.openSeat?.(link, room, key);
      // Refused: the seat's translation has said why, and the link is closed.
      if (link.destroyed) return;
      state.pending.unshift(join);
      link.opened(["/who"]);
    };
    if (this.s.sink.afterCore === undefined) open();
    else this.s.sink.afterCore(open);
  }

  /** The client leaves a seat's channel: it is told at once, the room by the core. */
  #leave(seat: Seat, reason: string): void {
    const me = this.s.me as string;
    if (seat.state.visible) {
      this.s.reply(formatMessage(prefixOf(me), "PART", [`#${seat.state.room}`, reason]));
    }
    seat.state.visible = false;
    const at = this.#seats.indexOf(seat);
    if (at !== -1) this.#seats.splice(at, 1);
    this.s.host.closeSeat?.(seat.link, reason);
  }
}
