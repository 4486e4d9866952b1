/**
 * One connection's reading as the reader (reader.ts) keeps it: the lines
 * received and not yet handled, whether they are being handled, the
 * flood-control buckets, the bytes that carried no text, and whether the
 * peer interrupted. Only the reader touches it. It is the connection's line
 * framer, extended, so that idle connections, which are many, pay no object
 * more for it.
 *
 * @module
 */

import type { Paced } from "./pacing.ts";
import { LineFramer } from "../protocol.ts";

/**
 * Bytes without text that come this far apart are keep-alives (a browser's
 * pong, telnet's NOP), not a flood: each starts the count toward the
 * longest line afresh, so a quiet member is never cut for them.
 */
export const WITHOUT_TEXT_QUIET_MS = 1000;

/** A connection's lines not yet handled, and where the reader is with them: see the module's description. */
export class Reading extends LineFramer implements Paced {
  /** Whether its received lines are being handled (reading is paused while that waits). */
  draining = false;
  /** Flood control: lines and bytes it may send now, as of `pacedAt`; bytes may go below 0. */
  lineTokens = 0;
  byteTokens = 0;
  /** When the buckets were last counted; 0 until they are first filled. */
  pacedAt = 0;
  /**
   * Bytes received since its last line that carried no text (telnet
   * commands, WebSocket frame headers and control frames, as its link
   * reports them): they count toward the longest unfinished line as text does.
   */
  bytesWithoutText = 0;
  /** When it last sent bytes without text. */
  withoutTextAt = 0;
  /** Its link reported an interrupt (telnet's Ctrl+C): it leaves once the lines before it are handled. */
  interrupted = false;

  /** Counts `bytes` received that carried no text, toward the longest unfinished line. */
  receivedWithoutText(bytes: number, now: number): void {
    if (now - this.withoutTextAt > WITHOUT_TEXT_QUIET_MS) this.bytesWithoutText = 0;
    this.bytesWithoutText += bytes;
    this.withoutTextAt = now;
  }
}
