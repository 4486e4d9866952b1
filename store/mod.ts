/**
 * The store on `node:sqlite` (`--data FILE`): rooms, topics, history, bans,
 * mutes and the message of the day kept across restarts, written in
 * batches off the room's path, and how a run of failed writes is reported;
 * and shared files, in a folder beside the file (`FILE.files/`).
 *
 * May import: `core/` and `protocol.ts`; never a transport, the cluster,
 * the server or the client (`test/layout_test.ts` checks it).
 *
 * @module
 */
