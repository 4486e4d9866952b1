/**
 * The transports that hand the core its connections as `Link`s: TCP (and
 * TLS, begun when a connection's first bytes are a ClientHello) with
 * telnet's commands taken out, and HTTP with the browser page and the
 * WebSocket endpoint `/ws`; the helpers that keep a listener accepting when
 * descriptors run short. Every byte a peer sends is reported to the core,
 * so it is paced whatever it carries.
 *
 * May import: `core/`, `protocol.ts` and `generated/`; never the cluster,
 * the store, the server or the client (`test/layout_test.ts` checks it).
 *
 * @module
 */
