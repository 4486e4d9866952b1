/**
 * The cluster on Redis: our own RESP2 client (parser, connection,
 * reconnects, errors that tell "never sent" from "sent, no answer"), the
 * one stream of events every process reads in order, names unique across
 * processes (leases and presence), shared files kept in Redis with one
 * quota for every process, and the glue that implements the core's cluster
 * interface.
 *
 * May import: `core/` and `protocol.ts`; never a transport, the store, the
 * server or the client (`test/layout_test.ts` checks it).
 *
 * @module
 */
