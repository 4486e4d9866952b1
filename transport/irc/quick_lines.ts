/**
 * A busy IRC client's lines, handed to the core without decoding or
 * parsing them: a write whose every line is `PRIVMSG #room :text` to the
 * client's own channel, in printable ASCII, is those texts for the core.
 * Any other line among them (a CTCP, a leading `/`, a quit word, one that
 * IRC's cap refuses with 417, text beyond ASCII) sends the whole write the
 * full way (connection.ts, client_commands.ts), which gives the same.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { isQuitWord, MAX_QUIT_WORD_LENGTH } from "../../protocol.ts";

/** `PRIVMSG #`, the start of a busy client's every line. */
const PRIVMSG_HASH = new TextEncoder().encode("PRIVMSG #");

/**
 * What the core is to be handed for `data`'s complete lines (those up to
 * the line feed at `lastFeed`) when every one is `PRIVMSG #room :text`
 * (`room` in printable ASCII), at most `longest` bytes without CR LF, and
 * its text plain: the texts, each ended by a line feed. Null otherwise.
 */
export function quickLines(
  data: Uint8Array,
  lastFeed: number,
  room: string,
  longest: number,
): Buffer | null {
  const textStart = 11 + room.length;
  const ranges: number[] = [];
  let total = 0;
  for (let start = 0; start <= lastFeed;) {
    const feed = data.indexOf(10, start);
    const end = data[feed - 1] === 13 ? feed - 1 : feed;
    if (end - start <= textStart || end - start > longest) return null;
    for (let i = 0; i < 9; i++) if (data[start + i] !== PRIVMSG_HASH[i]) return null;
    for (let i = 0; i < room.length; i++) {
      if (data[start + 9 + i] !== room.charCodeAt(i)) return null;
    }
    const from = start + textStart;
    if (data[from - 2] !== 0x20 || data[from - 1] !== 0x3a) return null;
    // Not a CTCP (0x01 is below the range below) nor a command's slash.
    if (data[from] === 0x2f) return null;
    for (let i = from; i < end; i++) {
      const byte = data[i] as number;
      if (byte < 0x20 || byte > 0x7e) return null;
    }
    if (end - from <= MAX_QUIT_WORD_LENGTH) {
      if (isQuitWord(String.fromCharCode(...data.subarray(from, end)))) return null;
    }
    ranges.push(from, end);
    total += end - from + 1;
    start = feed + 1;
  }
  const lines = Buffer.allocUnsafe(total);
  let size = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const from = ranges[i] as number;
    const to = ranges[i + 1] as number;
    lines.set(data.subarray(from, to), size);
    size += to - from;
    lines[size++] = 10;
  }
  return lines;
}
