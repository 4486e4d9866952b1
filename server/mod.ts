/**
 * The server: `ChatServer` puts the core, the transports, the cluster and
 * the store together; the command line's flags and usage; the operator
 * console on standard input. Its end-to-end tests (floods, hardening, the
 * data file, the page's port) live here too, as they drive the whole
 * server. `server.ts` at the root is the entry point users run.
 *
 * May import: any layer but the client.
 *
 * @module
 */
