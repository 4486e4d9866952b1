/**
 * Where the cluster's members are: a member is in its own room and, through
 * seats (seats.ts), in up to `MAX_SEATS` more. Its presence
 * (cluster_port.ts) holds both; these read it one room at a time, each
 * place a {@linkcode ClusterPeer} of its own with the member's rights in that
 * room, so that `/who`, `/rooms`, `+l` and operators count and find a member
 * in every room it is in.
 *
 * @module
 */

import type { ClusterPeer } from "./cluster_port.ts";
import { sameName } from "../protocol.ts";
import { LOBBY } from "./rooms.ts";

/** The member as it is in `room`: in its own room, or through its seat there; undefined when not in it. */
export function placeIn(peer: ClusterPeer, room: string): ClusterPeer | undefined {
  // A member without a room yet ("") is in #lobby.
  if (sameName(peer.room || LOBBY, room)) return peer;
  const seat = peer.seats?.find((seat) => sameName(seat.room, room));
  if (seat === undefined) return undefined;
  const { seats: _, ...rest } = peer;
  return {
    ...rest,
    room: seat.room,
    roomOperator: seat.roomOperator,
    voiced: seat.voiced === true,
  };
}

/** Every room each member is in, once each: its own room first, then its seats'. */
export function placesOf(everyone: readonly ClusterPeer[]): ClusterPeer[] {
  return everyone.flatMap((peer) => {
    const rooms = [peer.room || LOBBY, ...(peer.seats ?? []).map((seat) => seat.room)];
    return rooms.flatMap((room, i) => {
      // A seat's room named twice, or the member's own again, counts once.
      if (rooms.findIndex((other) => sameName(other, room)) !== i) return [];
      const place = placeIn(peer, room);
      return place === undefined ? [] : [place];
    });
  });
}

/** The members in the room called `room`, through a seat or not, each with its rights there. */
export function peersIn(everyone: readonly ClusterPeer[], room: string): ClusterPeer[] {
  return everyone.flatMap((peer) => {
    const place = placeIn(peer, room);
    return place === undefined ? [] : [place];
  });
}
