/**
 * The chat core: everything a chat room is, and nothing about how bytes
 * arrive. Admission and a session's life (greeting, password, name, reading
 * at the allowed pace, leaving), the hub of rooms and each room's members,
 * topic and history, delivery to members in one order with bounded output,
 * flood control, the command table, operators and moderation, and `Link`,
 * the small interface through which every transport hands the core a
 * connection. The cluster and the store plug in through interfaces defined
 * here.
 *
 * May import: `protocol.ts` and `generated/`. Never a transport, the
 * cluster, the store, the server or the client, and no socket module
 * (`node:net`, `node:tls`): `test/layout_test.ts` checks it.
 *
 * @module
 */
