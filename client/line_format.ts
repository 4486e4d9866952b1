/**
 * How the terminal client shows a line the server sent: escape sequences
 * and control characters removed ({@linkcode printable}), then coloured by
 * what the line is and timestamped when asked ({@linkcode formatLine}).
 *
 * @module
 */

import { BOLD, BOLD_ITALIC, DIM, ITALIC, MENTION, PRIVATE, RED, RESET } from "./ansi.ts";
import { removeEscapes } from "../protocol.ts";
import { classify } from "../web/lines.js";

// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/**
 * What the terminal shows for a received line: terminal escape sequences
 * removed whole, then any other control character.
 */
export function printable(line: string): string {
  return removeEscapes(line).replace(UNPRINTABLE, "");
}

/** How received lines are shown. */
export interface DisplayOptions {
  /** Prefix each line with the local time as `HH:MM`. */
  timestamps: boolean;
  /** Dim notices, make errors red, actions italic and your own messages and actions bold. */
  color: boolean;
}

/**
 * The color of a line, by what it is: `** NAME action` is a member's action
 * (content, like a message), `* ` a notice and `! ` an error from the server.
 */
function styleOf(text: string, me: string | null): string {
  const info = classify(text, me);
  if (info.direct) return PRIVATE;
  if (info.mention) return MENTION;
  if (text.startsWith("** ")) {
    return me !== null && text.startsWith(`** ${me} `) ? BOLD_ITALIC : ITALIC;
  }
  if (text.startsWith("* ")) return DIM;
  if (text.startsWith("! ")) return RED;
  if (me !== null && (text.startsWith(`${me}: `) || text.startsWith("(private to "))) return BOLD;
  return "";
}

/** Formats one received line for the terminal; `me` is your current name, if known. */
export function formatLine(
  line: string,
  options: DisplayOptions,
  me: string | null,
  now: Date = new Date(),
): string {
  let text = printable(line);
  if (options.color) {
    const style = styleOf(text, me);
    if (style !== "") text = style + text + RESET;
  }
  if (options.timestamps) {
    const pad = (n: number) => String(n).padStart(2, "0");
    text = `${pad(now.getHours())}:${pad(now.getMinutes())} ${text}`;
  }
  return text;
}
