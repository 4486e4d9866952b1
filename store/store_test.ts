import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  ChatStore,
  MAX_QUEUED,
  type Restriction,
  type SavedState,
  StoreError,
  type StoreOptions,
  systemCause,
} from "./store.ts";
import { CAN_MOUNT, withTmpfs } from "../test/mount_test_helpers.ts";
import { LEAK_CHECKS } from "../test/test_helpers.ts";

/** Long enough that the timer never flushes during a test that flushes by hand. */
const NEVER_MS = 60_000;

const EMPTY: SavedState = { rooms: [], bans: [], mutes: [], motd: null };

/** Runs `fn` with the path of a data file in a new temporary directory, removed after. */
async function withDataFile(fn: (path: string, dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "store_test_" });
  try {
    await fn(`${dir}/chat.db`, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Opens a store, runs `fn` with it and closes it, even when `fn` fails. */
function withStore(path: string, options: StoreOptions, fn: (store: ChatStore) => void): void {
  const store = ChatStore.open(path, options);
  try {
    fn(store);
  } finally {
    store.close();
  }
}

/** What a fresh store at `path` loads. */
function reopened(path: string, historyLines: number): SavedState {
  let state = EMPTY;
  withStore(path, { historyLines }, (store) => state = store.load());
  return state;
}

/** The StoreError that opening `path` throws; fails the test if it opens or throws another. */
function openError(path: string, historyLines = 10): StoreError {
  let store: ChatStore | undefined;
  try {
    store = ChatStore.open(path, { historyLines });
  } catch (error) {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${error}`);
    return error;
  }
  store.close();
  assert.fail(`${path} opened`);
}

/** Whether another connection can take the write lock on `path` now. */
function canLock(path: string): boolean {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK");
    return true;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

function ban(name: string | null, address: string | null, until: number | null): Restriction {
  return { name, address, until, by: "alice", reason: name === null ? "" : `spam from ${name}` };
}

Deno.test({
  name:
    "the state survives a close and reopen: rooms in order, topics, trimmed history, bans, mutes, motd",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      const bans = [ban("Mallory", null, null), ban(null, "10.0.0.7", 1_767_225_600_000)];
      const mutes = [{
        name: "Eve",
        address: "::1",
        until: 1_767_225_601_234,
        by: "server",
        reason: "",
      }];
      withStore(path, { historyLines: 3 }, (store) => {
        store.addRoom("lobby");
        store.setTopic("Dev", "shipping on Friday");
        for (let i = 1; i <= 5; i++) store.addLine("lobby", `alice: hello ${i}`);
        store.addLine("Dev", "bob: first");
        store.addLine("Quiet", "carol: anyone?");
        store.setRestrictions("bans", bans);
        store.setRestrictions("mutes", mutes);
        store.setMotd("Be kind.\tNo spam.");
      });
      assert.deepEqual(reopened(path, 3), {
        rooms: [
          {
            name: "lobby",
            topic: null,
            history: ["alice: hello 3", "alice: hello 4", "alice: hello 5"],
          },
          { name: "Dev", topic: "shipping on Friday", history: ["bob: first"] },
          { name: "Quiet", topic: null, history: ["carol: anyone?"] },
        ],
        bans,
        mutes,
        motd: "Be kind.\tNo spam.",
      });
    }),
});

Deno.test({
  name: "history is trimmed in the file across flushes, newest kept, in order",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      withStore(path, { historyLines: 4, flushMs: NEVER_MS }, (store) => {
        for (let batch = 0; batch < 3; batch++) {
          for (let i = 0; i < 3; i++) store.addLine("lobby", `line ${batch * 3 + i}`);
          store.flush();
        }
        assert.deepEqual(store.load().rooms[0]?.history, ["line 5", "line 6", "line 7", "line 8"]);
      });
      // The file holds no more than that either.
      const db = new DatabaseSync(path);
      try {
        assert.equal(db.prepare("SELECT count(*) AS n FROM lines").get()?.n, 4);
      } finally {
        db.close();
      }
    }),
});

Deno.test({
  name: "room names are compared as given: Dev and dev are two rooms",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      withStore(path, { historyLines: 2 }, (store) => {
        store.setTopic("Dev", "upper");
        store.setTopic("dev", "lower");
        store.addLine("dev", "x");
      });
      assert.deepEqual(reopened(path, 2).rooms, [
        { name: "Dev", topic: "upper", history: [] },
        { name: "dev", topic: "lower", history: ["x"] },
      ]);
    }),
});

Deno.test({
  name: "removeRoom drops a room with its topic and history; saved again it comes last, bare",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      withStore(path, { historyLines: 5, flushMs: NEVER_MS }, (store) => {
        store.setTopic("a", "topic a");
        store.addLine("a", "old line");
        store.addRoom("b");
        store.addRoom("c");
        store.flush();
        store.removeRoom("a");
        store.removeRoom("c");
        store.addRoom("d");
        store.addRoom("a");
        store.addLine("a", "new line");
        // Queued and removed before any flush: never saved.
        store.setTopic("e", "gone");
        store.addLine("e", "gone too");
        store.removeRoom("e");
      });
      assert.deepEqual(reopened(path, 5).rooms, [
        { name: "b", topic: null, history: [] },
        { name: "d", topic: null, history: [] },
        { name: "a", topic: null, history: ["new line"] },
      ]);
    }),
});

Deno.test({
  name: "a topic and the motd are cleared by null, and the latest value queued wins",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      withStore(path, { historyLines: 1, flushMs: NEVER_MS }, (store) => {
        store.setTopic("lobby", "first");
        store.setTopic("lobby", "second");
        store.setMotd("one");
        store.setMotd("two");
        store.flush();
        assert.deepEqual(store.load(), {
          ...EMPTY,
          rooms: [{ name: "lobby", topic: "second", history: [] }],
          motd: "two",
        });
        store.setTopic("lobby", null);
        store.setMotd(null);
      });
      assert.deepEqual(reopened(path, 1), {
        ...EMPTY,
        rooms: [{ name: "lobby", topic: null, history: [] }],
      });
    }),
});

Deno.test({
  name:
    "setRestrictions replaces the saved list whole, the last list queued wins, and a copy is kept",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      withStore(path, { historyLines: 1, flushMs: NEVER_MS }, (store) => {
        store.setRestrictions("bans", [ban("a", null, null), ban("b", null, 5)]);
        store.setRestrictions("mutes", [ban("m", null, null)]);
        store.flush();
        const list = [ban("c", "192.0.2.1", 7)];
        store.setRestrictions("bans", [ban("never", null, null)]);
        store.setRestrictions("bans", list);
        // The caller's later changes are not what was queued.
        list.push(ban("late", null, null));
        store.flush();
        assert.deepEqual(store.load().bans, [ban("c", "192.0.2.1", 7)]);
        assert.deepEqual(store.load().mutes, [ban("m", null, null)]);
        store.setRestrictions("mutes", []);
      });
      assert.deepEqual(reopened(path, 1), { ...EMPTY, bans: [ban("c", "192.0.2.1", 7)] });
    }),
});

Deno.test({
  name: "writes reach the file only at a flush: load() shows nothing before it and all after",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      withStore(path, { historyLines: 2, flushMs: NEVER_MS }, (store) => {
        store.addLine("lobby", "hi");
        store.setMotd("motd");
        store.setRestrictions("bans", [ban("x", null, null)]);
        assert.deepEqual(store.load(), EMPTY);
        store.flush();
        assert.deepEqual(store.load(), {
          rooms: [{ name: "lobby", topic: null, history: ["hi"] }],
          bans: [ban("x", null, null)],
          mutes: [],
          motd: "motd",
        });
      });
    }),
});

Deno.test({
  name: "the timer flushes a write after flushMs with no call to flush",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile(async (path) => {
      const store = ChatStore.open(path, { historyLines: 2 });
      try {
        store.addLine("lobby", "by the timer");
        const deadline = performance.now() + 2000;
        while (store.load().rooms.length === 0) {
          assert.ok(performance.now() < deadline, "the timer did not flush within 2 s");
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        assert.deepEqual(store.load().rooms, [
          { name: "lobby", topic: null, history: ["by the timer"] },
        ]);
      } finally {
        store.close();
      }
    }),
});

Deno.test({
  name:
    "a flood of 100,000 lines in one room holds at most historyLines in memory and saves the last",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      const historyLines = 50;
      withStore(path, { historyLines, flushMs: NEVER_MS }, (store) => {
        let most = 0;
        for (let i = 0; i < 100_000; i++) {
          store.addLine("lobby", `line ${i}`);
          most = Math.max(most, store.queuedLines);
        }
        assert.equal(most, historyLines);
        store.flush();
        assert.equal(store.queuedLines, 0);
      });
      const last = Array.from({ length: historyLines }, (_, i) =>
        `line ${100_000 - historyLines + i}`);
      assert.deepEqual(reopened(path, historyLines).rooms, [
        { name: "lobby", topic: null, history: last },
      ]);
    }),
});

Deno.test({
  name: "more than MAX_QUEUED queued items are written at once, without the timer",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      withStore(path, { historyLines: 1, flushMs: NEVER_MS }, (store) => {
        for (let i = 0; i < MAX_QUEUED; i++) store.addRoom(`room ${i}`);
        assert.equal(store.load().rooms.length, 0);
        store.addRoom("one too many");
        const rooms = store.load().rooms;
        assert.equal(rooms.length, MAX_QUEUED + 1);
        assert.deepEqual(rooms.at(-1), { name: "one too many", topic: null, history: [] });
      });
    }),
});

Deno.test({
  name:
    "a server restarted with fewer historyLines gets the newest only, and the file keeps no more",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      withStore(path, { historyLines: 5 }, (store) => {
        store.setTopic("lobby", "t");
        for (let i = 1; i <= 5; i++) store.addLine("lobby", `${i}`);
      });
      assert.deepEqual(reopened(path, 2).rooms, [{
        name: "lobby",
        topic: "t",
        history: ["4", "5"],
      }]);
      assert.deepEqual(reopened(path, 5).rooms, [{
        name: "lobby",
        topic: "t",
        history: ["4", "5"],
      }]);
      withStore(path, { historyLines: 5 }, (store) => store.addLine("lobby", "6"));
      assert.deepEqual(reopened(path, 5).rooms, [
        { name: "lobby", topic: "t", history: ["4", "5", "6"] },
      ]);
    }),
});

Deno.test({
  name: "historyLines 0 keeps rooms and topics but no lines",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      withStore(path, { historyLines: 0 }, (store) => {
        store.setTopic("dev", "t");
        store.addLine("lobby", "not kept");
        store.addLine("dev", "nor this");
        assert.equal(store.queuedLines, 0);
      });
      assert.deepEqual(reopened(path, 0).rooms, [
        { name: "dev", topic: "t", history: [] },
        { name: "lobby", topic: null, history: [] },
      ]);
      assert.deepEqual(reopened(path, 3).rooms.map((room) => room.history), [[], []]);
    }),
});

Deno.test({
  name: "a file that is not a database is refused in one line naming it, and left as it was",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile(async (path) => {
      const text = "alice: these are chat logs, not SQLite\n".repeat(100);
      await Deno.writeTextFile(path, text);
      assert.equal(
        openError(path).message,
        `Cannot open data file ${path}: file is not a database`,
      );
      assert.equal(await Deno.readTextFile(path), text);
    }),
});

Deno.test({
  name:
    "a second open while the first is open is refused as in use; after the first closes it opens",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      const first = ChatStore.open(path, { historyLines: 3, flushMs: NEVER_MS });
      try {
        assert.equal(
          openError(path).message,
          `Cannot open data file ${path}: it is in use by another server`,
        );
        // The refused open did not disturb the first.
        first.addLine("lobby", "still mine");
        first.flush();
      } finally {
        first.close();
      }
      assert.deepEqual(reopened(path, 3).rooms, [
        { name: "lobby", topic: null, history: ["still mine"] },
      ]);
    }),
});

Deno.test({
  name: "a data file in a missing directory is refused naming the file, and nothing is made",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile(async (_, dir) => {
      const path = `${dir}/missing/chat.db`;
      // The system's reason, not SQLite's vague one, and the path named once.
      assert.equal(
        openError(path).message,
        `Cannot open data file ${path}: no such file or directory`,
      );
      assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
    }),
});

Deno.test({
  name:
    `an existing data file on a read-only file system is refused naming the cause, as is a new one${
      CAN_MOUNT ? "" : " (ignored: this process cannot mount the read-only tmpfs it needs)"
    }`,
  ignore: !CAN_MOUNT,
  ...LEAK_CHECKS,
  fn: () =>
    withTmpfs("256k", async ({ dir, readOnly }) => {
      const path = `${dir}/chat.db`;
      withStore(path, { historyLines: 2 }, (store) => store.addLine("lobby", "before"));
      const before = await Deno.readFile(path);
      await readOnly();
      // SQLite says only "disk I/O error" at the first write.
      assert.equal(openError(path).message, `Cannot open data file ${path}: read-only file system`);
      assert.equal(
        openError(`${dir}/new.db`).message,
        `Cannot open data file ${dir}/new.db: read-only file system`,
      );
      // Refused, and the file is as it was.
      assert.deepEqual(await Deno.readFile(path), before);
    }),
});

Deno.test({
  name: "the system's reason is worded as the store's messages are: lower case, no error number",
  ...LEAK_CHECKS,
  fn() {
    // How Deno words the errors of a read-only file system and of a file it may not write.
    assert.equal(
      systemCause(new Error("Read-only file system (os error 30): open '/srv/chat.db'")),
      "read-only file system",
    );
    assert.equal(
      systemCause(new Error("Permission denied (os error 13): open '/srv/chat.db'")),
      "permission denied",
    );
    let missing: unknown;
    try {
      Deno.openSync("/no/such/dir/chat.db", { read: true, write: true });
    } catch (error) {
      missing = error;
    }
    assert.equal(systemCause(missing), "no such file or directory");
  },
});

Deno.test({
  name: "a file made by a newer schema is refused, and not left open or locked",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      withStore(path, { historyLines: 1 }, (store) => store.setMotd("from v1"));
      const db = new DatabaseSync(path);
      db.exec("UPDATE meta SET value = 7 WHERE key = 'schema'");
      db.close();
      assert.equal(
        openError(path).message,
        `Cannot open data file ${path}: made by a newer version (schema 7)`,
      );
      assert.ok(canLock(path), "the refused open still holds the file");
    }),
});

Deno.test({
  name: "an SQLite file of another program is refused and left untouched",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      const db = new DatabaseSync(path);
      db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");
      db.close();
      assert.equal(
        openError(path).message,
        `Cannot open data file ${path}: it holds another program's data`,
      );
      const again = new DatabaseSync(path);
      try {
        const tables = again.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all();
        assert.deepEqual(tables.map((table) => table.name), ["invoices"]);
      } finally {
        again.close();
      }
    }),
});

Deno.test({
  name: "after close the writes and flush do nothing, and a second close is safe",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      const store = ChatStore.open(path, { historyLines: 2, flushMs: NEVER_MS });
      store.addLine("lobby", "before close");
      store.close();
      store.addLine("lobby", "after close");
      store.addRoom("late");
      store.setTopic("lobby", "late");
      store.removeRoom("lobby");
      store.setRestrictions("bans", [ban("late", null, null)]);
      store.setMotd("late");
      store.flush();
      store.close();
      assert.equal(store.queuedLines, 0);
      assert.deepEqual(reopened(path, 2), {
        ...EMPTY,
        rooms: [{ name: "lobby", topic: null, history: ["before close"] }],
      });
    }),
});

Deno.test({
  name:
    "a write that fails in a flush is logged in one line, its batch dropped whole, and the store goes on",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      const logged: string[] = [];
      const log = (event: string) => logged.push(event);
      withStore(path, { historyLines: 2, flushMs: NEVER_MS, log }, (store) => {
        store.addLine("lobby", "saved");
        store.flush();
        store.addLine("lobby", "in the failed batch");
        // A caller's bug the types cannot see: `by` is required.
        const broken = { ...ban("x", null, null), by: null as unknown as string };
        store.setRestrictions("bans", [broken]);
        store.flush();
        assert.deepEqual(logged, [
          `Cannot save to data file ${path}: NOT NULL constraint failed: restrictions.set_by` +
          " (its last changes are lost)",
        ]);
        assert.deepEqual(store.load(), {
          ...EMPTY,
          rooms: [{ name: "lobby", topic: null, history: ["saved"] }],
        });
        store.addLine("lobby", "after");
      });
      assert.deepEqual(logged.slice(1), [`Data file ${path} is written again`]);
      assert.deepEqual(reopened(path, 2).rooms[0]?.history, ["saved", "after"]);
    }),
});

Deno.test({
  name:
    "a full data file fails every batch: logged and alerted at the first, then counted, and told when writes work again",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      const logged: string[] = [];
      const alerts: string[] = [];
      const options: StoreOptions = {
        historyLines: 20,
        flushMs: NEVER_MS,
        log: (event) => logged.push(event),
        alert: (text) => alerts.push(text),
        // SQLite's own full-disk error, at a size a test reaches in a few writes (an empty
        // file takes about a dozen pages: a table or index each).
        maxPages: 20,
      };
      withStore(path, options, (store) => {
        let batches = 0;
        for (; batches < 100 && logged.length === 0; batches++) {
          store.addLine(`room${batches}`, "x".repeat(2000));
          store.flush();
        }
        assert.ok(batches > 1 && batches < 100, `${batches} batches`);
        for (let i = 0; i < 20; i++) {
          store.addLine(`lost${i}`, "y".repeat(2000));
          store.flush();
        }
        assert.deepEqual(logged, [
          `Cannot save to data file ${path}: database or disk is full (its last changes are lost)`,
        ]);
        assert.deepEqual(alerts, [
          `Cannot write the data file ${path}: database or disk is full`,
        ]);
        // Room is made on disk: the next batch is written, and that is told.
        for (let i = 0; i < batches - 1; i++) store.removeRoom(`room${i}`);
        store.flush();
        assert.equal(logged.length, 2);
        assert.match(
          logged[1] as string,
          new RegExp(
            `^Data file ${path} is written again \\(20 more writes failed in \\d+ s; their changes are lost\\)$`,
          ),
        );
        assert.deepEqual(alerts.slice(1), [`The data file ${path} is written again`]);
        store.addLine("lobby", "kept");
      });
      assert.deepEqual(reopened(path, 20).rooms, [{
        name: "lobby",
        topic: null,
        history: ["kept"],
      }]);
    }),
});

Deno.test({
  name: "a restriction whose until is NaN is not saved as forever: the flush fails and says why",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      const logged: string[] = [];
      const timed = [ban("x", null, 1_000)];
      withStore(path, { historyLines: 1, log: (event) => logged.push(event) }, (store) => {
        store.setRestrictions("mutes", timed);
        store.flush();
        store.setRestrictions("mutes", [ban("x", null, NaN)]);
      });
      assert.deepEqual(logged, [
        `Cannot save to data file ${path}: a mute on x ends at NaN` +
        " (its last changes are lost)",
      ]);
      assert.deepEqual(reopened(path, 1).mutes, timed);
    }),
});

Deno.test({
  name: "open refuses a historyLines or flushMs out of range, naming it",
  ...LEAK_CHECKS,
  fn: () =>
    withDataFile((path) => {
      assert.throws(() => ChatStore.open(path, { historyLines: -1 }), {
        name: "RangeError",
        message: "historyLines must be a whole number 0 or more, not -1",
      });
      assert.throws(() => ChatStore.open(path, { historyLines: 1, flushMs: NaN }), {
        name: "RangeError",
        message: "flushMs must be a number of ms 0 or more, not NaN",
      });
      assert.throws(() => ChatStore.open(path, { historyLines: 1, maxPages: 0 }), {
        name: "RangeError",
        message: "maxPages must be a whole number 1 or more, not 0",
      });
    }),
});
