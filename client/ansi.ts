/**
 * The terminal styles (SGR escape sequences) the terminal client uses, in one place.
 *
 * @module
 */

/** Faint: notices. */
export const DIM = "\x1b[2m";
/** Red: errors. */
export const RED = "\x1b[31m";
/** Bold: your own lines, your name in the prompt. */
export const BOLD = "\x1b[1m";
/** Italic: actions. */
export const ITALIC = "\x1b[3m";
/** Bold italic: your own actions. */
export const BOLD_ITALIC = "\x1b[1;3m";
/** Bold yellow: a line that names you. */
export const MENTION = "\x1b[1;33m";
/** Bold magenta: a private message to you. */
export const PRIVATE = "\x1b[1;35m";
/** Back to plain text. */
export const RESET = "\x1b[0m";
