/**
 * The terminal client: `ChatClient` (the protocol's client side, which the
 * package exports), the command line and a session with reconnects, the
 * plain console for pipes and the terminal console with its line editor
 * (keys, editing, drawing), Tab completion, text widths and styles, and
 * `/send` (a file shared over the page's HTTP port).
 * `client.ts` at the root is the entry point users run.
 *
 * May import: `protocol.ts`, `generated/`, `web/lines.js` (the page's line
 * classifier, so page and terminal agree), the core's command table, its
 * wording of file sizes and its limit of uploads at once (so `/send` says and
 * does what the server does), and the server (to host a room with `--serve`).
 *
 * @module
 */
