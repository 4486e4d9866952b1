/**
 * The terminal client: `ChatClient` (the protocol's client side, which the
 * package exports), the command line and a session with reconnects, the
 * plain console for pipes and the terminal console with its line editor
 * (keys, editing, drawing), Tab completion, text widths and styles.
 * `client.ts` at the root is the entry point users run.
 *
 * May import: `protocol.ts`, `generated/`, `web/lines.js` (the page's line
 * classifier, so page and terminal agree), the core's command table, and
 * the server (to host a room with `--serve`).
 *
 * @module
 */
