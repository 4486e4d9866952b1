/**
 * A busy IRC client's lines, handed to the core without decoding or
 * parsing them: a write whose every line is `PRIVMSG #room :text` to the
 * client's own channel is those texts for the core. Any other line among
 * them (a CTCP, a leading `/`, a quit word, one that IRC's cap refuses
 * with 417, one that is not UTF-8) sends the whole write the full way
 * (connection.ts, client_commands.ts), which gives the same.
 *
 * @module
 */

import { Buffer, isUtf8 } from "node:buffer";
import { isQuitWord, MAX_QUIT_WORD_LENGTH } from "../../protocol.ts";

const decoder = new TextDecoder();

/** `PRIVMSG #`, the start of a busy client's every line. */
const PRIVMSG_HASH = new TextEncoder().encode("PRIVMSG #");

/**
 * What the core is to be handed for `data`'s complete lines (those up to
 * the line feed at `lastFeed`) when every one is `PRIVMSG #room :text`
 * (`room` in printable ASCII) of at most `longest` bytes without CR LF:
 * the texts, each ended by a line feed. Null otherwise.
 */
export function quickLines(
  data: Uint8Array,
  lastFeed: number,
  room: string,
  longest: number,
): Buffer | null {
  // UTF-8 throughout (checked natively, at once), or some line is refused as the full way says.
  if (!isUtf8(data.subarray(0, lastFeed))) return null;
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
    // Not a CTCP nor a command's slash; control characters are the core's to clean, as they are
    // when the full way hands it the text.
    const first = data[from];
    if (first === 0x01 || first === 0x2f) return null;
    // A quit word, lower-cased, is a few ASCII characters: a text that could be one is decoded.
    if (end - from <= 4 * MAX_QUIT_WORD_LENGTH) {
      if (isQuitWord(decoder.decode(data.subarray(from, end)))) return null;
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
