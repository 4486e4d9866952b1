/**
 * The server's own terminal as an operator console: lines typed into its
 * standard input are operator commands, and their answers are written to its
 * standard output (through the core's {@linkcode OutputLink}). The end of the
 * input ends the console, not the server.
 *
 * @module
 */

import { OutputLink } from "../core/output_link.ts";

// Its answers' link is the core's (output_link.ts); kept here for its old importers.
export { OutputLink };

/** Longest console line kept; the rest of a longer one is dropped. */
const MAX_CONSOLE_LINE = 4096;

/**
 * Reads `input` as lines and hands each to `onLine`, until it ends or
 * `signal` aborts; a failure to read ends the console quietly, like its end.
 */
export async function readConsole(
  input: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const reader = input.pipeThrough(new TextDecoderStream()).getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  let partial = "";
  try {
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) break;
      const parts = (partial + value).split("\n");
      partial = (parts.pop() ?? "").slice(0, MAX_CONSOLE_LINE);
      for (const line of parts) onLine(line.slice(0, MAX_CONSOLE_LINE).replace(/\r$/, ""));
    }
    if (partial !== "" && !signal.aborted) onLine(partial);
  } catch {
    // A console that cannot be read is no console; the server goes on.
  } finally {
    signal.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}
