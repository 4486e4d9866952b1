/**
 * A room's recent lines replayed to an IRC client that joins it, as a
 * line-protocol newcomer gets them: for a client with `batch` and
 * `server-time`, a `chathistory` batch of the original messages, each with
 * the time it was said; for others, `NOTICE`s from the server
 * (`<alice> hi`, `* alice waves`, `-alice- back at 3`).
 *
 * @module
 */

import { readCoreLine } from "./core_lines.ts";
import { formatMessage } from "./message.ts";
import { formatSaid, prefixOf, type SessionState } from "./session_state.ts";

/** History batches sent, door-wide, for their references. */
let batches = 0;

/**
 * Replays `lines` (the core's history lines of the client's room) to the
 * client of `s`; a line that is no member's message goes to `otherwise`.
 */
export function replayHistory(
  s: SessionState,
  lines: string[],
  otherwise: (line: string) => void,
): void {
  const channel = `#${s.room}`;
  const server = s.host.serverName;
  const batch = s.caps.has("batch") && s.caps.has("server-time");
  const times = batch ? timesOf(s, lines) : [];
  const ref = `history${++batches}`;
  if (batch) s.sink.toClient(formatMessage(server, "BATCH", [`+${ref}`, "chathistory", channel]));
  lines.forEach((line, i) => {
    const read = readCoreLine(line);
    if (read.type !== "message" && read.type !== "action" && read.type !== "roomNotice") {
      return otherwise(line);
    }
    if (!batch) {
      const shown = read.type === "message"
        ? `<${read.from}> ${read.text}`
        : read.type === "action"
        ? `* ${read.from} ${read.text}`
        : `-${read.from}- ${read.text}`;
      return s.fromServer("NOTICE", channel, shown);
    }
    const command = read.type === "roomNotice" ? "NOTICE" : "PRIVMSG";
    const text = read.type === "action" ? `\x01ACTION ${read.text}\x01` : read.text;
    const tags = `@batch=${ref};time=${new Date(times[i] as number).toISOString()} `;
    for (const said of formatSaid(prefixOf(read.from), command, [channel, text])) {
      s.sink.toClient(tags + said);
    }
  });
  if (batch) s.sink.toClient(formatMessage(server, "BATCH", [`-${ref}`]));
}

/** When each of a room's history lines was said, as the core keeps it (now, where not known). */
function timesOf(s: SessionState, lines: string[]): number[] {
  const kept = s.host.history?.(s.room) ?? [];
  // The replayed lines are a run of the room's history (newer lines may have followed them).
  for (let at = kept.length - lines.length; at >= 0; at--) {
    if (lines.every((line, i) => kept[at + i]?.text === line)) {
      return lines.map((_, i) => kept[at + i]?.at || Date.now());
    }
  }
  return lines.map(() => Date.now());
}
