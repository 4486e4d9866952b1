import assert from "node:assert/strict";
import { DiskFiles, FILE_OVERHEAD_BYTES, filesFolder } from "./files.ts";
import { StoreError } from "./store.ts";
import { CAN_MOUNT, withTmpfs } from "../test/mount_test_helpers.ts";
import { LEAK_CHECKS } from "../test/test_helpers.ts";
import { share, sharedFile } from "../test/file_test_helpers.ts";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

/** Runs `fn` with the files folder of a data file in a new temporary directory, removed after. */
async function withFolder(fn: (folder: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "files_test_" });
  try {
    await fn(filesFolder(`${dir}/chat.db`), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The names in `folder`, sorted. */
async function namesIn(folder: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(folder)) names.push(entry.name);
  return names.sort();
}

/** Every byte value, and more: a file that no text decoding would keep. */
function binary(length: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 131 + 7) & 0xff);
}

Deno.test({
  name: "the folder is made beside the data file, 0700, and holds each file as ID and ID.json",
  ...LEAK_CHECKS,
  fn: () =>
    withFolder(async (folder, dir) => {
      assert.equal(folder, `${dir}/chat.db.files`);
      const files = DiskFiles.open(folder, { quota: MiB });
      assert.equal((await Deno.stat(folder)).mode! & 0o777, 0o700);
      const bytes = binary(1000);
      const file = await share(files, bytes);
      assert.deepEqual(await namesIn(folder), [file.id, `${file.id}.json`]);
      assert.equal((await Deno.stat(`${folder}/${file.id}`)).mode! & 0o777, 0o600);
      assert.deepEqual(await Deno.readFile(`${folder}/${file.id}`), bytes);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(`${folder}/${file.id}.json`)), file);
    }),
});

Deno.test({
  name: "save, find, read, list and remove: byte for byte, by room oldest first, gone once removed",
  ...LEAK_CHECKS,
  fn: () =>
    withFolder(async (folder) => {
      const files = DiskFiles.open(folder, { quota: MiB });
      const now = Date.now();
      const later = await share(files, binary(10), { at: now + 5, name: "later" });
      const first = await share(files, binary(20), { at: now, name: "first" });
      const elsewhere = await share(files, binary(30), { room: "dev" });
      const secret = await share(files, binary(40), { room: null, to: "bob" });
      assert.deepEqual(await files.find(first.id), first);
      assert.deepEqual(await files.read(first.id), binary(20));
      assert.deepEqual(await files.read(secret.id), binary(40));
      assert.deepEqual((await files.list("lobby")).map((file) => file.name), ["first", "later"]);
      assert.deepEqual(await files.list("dev"), [elsewhere]);
      assert.deepEqual(await files.list("nowhere"), []);
      assert.equal(files.count, 4);

      assert.deepEqual(await files.remove(later.id), later);
      assert.equal(await files.remove(later.id), null);
      assert.equal(await files.find(later.id), null);
      assert.equal(await files.read(later.id), null);
      assert.deepEqual(await files.list("lobby"), [first]);
      assert.ok(!(await namesIn(folder)).some((name) => name.startsWith(later.id)));
      // What is handed out is a copy: changing it changes nothing kept.
      (await files.find(first.id))!.name = "changed";
      assert.equal((await files.find(first.id))!.name, "first");
    }),
});

Deno.test({
  name: "the quota counts reservations and kept files with their overhead; release gives back",
  ...LEAK_CHECKS,
  fn: () =>
    withFolder(async (folder) => {
      const quota = 3 * FILE_OVERHEAD_BYTES + 1000;
      const files = DiskFiles.open(folder, { quota });
      assert.equal(await files.reserve(quota + 1), false);
      assert.equal(await files.reserve(1000), true);
      assert.equal(await files.reserve(FILE_OVERHEAD_BYTES * 3), true);
      assert.equal(await files.reserve(1), false, "nothing past the quota");
      await files.release(FILE_OVERHEAD_BYTES * 3);
      assert.equal(files.used, 1000);
      // The upload was 600 bytes of the 1000 reserved: the rest is given back after the save.
      const kept = sharedFile({ size: 600 });
      await files.save(kept, binary(600));
      await files.release(400);
      assert.equal(files.used, 600 + FILE_OVERHEAD_BYTES);
      // Empty files count too, so that the quota bounds how many there are.
      await files.save(sharedFile(), new Uint8Array());
      await files.save(sharedFile(), new Uint8Array());
      await assert.rejects(files.save(sharedFile(), new Uint8Array()), /quota of 13288 is full/);
      assert.equal(files.count, 3);
      await files.remove(kept.id);
      assert.equal(files.used, 2 * FILE_OVERHEAD_BYTES);
      await files.release(10 * quota);
      assert.equal(files.used, 0, "never below nothing");
    }),
});

Deno.test({
  name: "expired files are neither found, read nor listed, and sweep deletes them from disk",
  ...LEAK_CHECKS,
  fn: () =>
    withFolder(async (folder) => {
      const files = DiskFiles.open(folder, { quota: MiB });
      const now = Date.now();
      const gone = await share(files, binary(100), { at: now - 2000, expiresAt: now - 1000 });
      const soon = await share(files, binary(100), { expiresAt: now + 60_000 });
      assert.equal(await files.find(gone.id), null);
      assert.equal(await files.read(gone.id), null);
      assert.deepEqual(await files.list("lobby"), [soon]);
      assert.equal(files.used, 200 + 2 * FILE_OVERHEAD_BYTES, "counted until swept");
      assert.equal(await files.sweep(now), 1);
      assert.equal(files.used, 100 + FILE_OVERHEAD_BYTES);
      assert.deepEqual(await namesIn(folder), [soon.id, `${soon.id}.json`].sort());
      assert.equal(await files.sweep(now + 60_000), 1);
      assert.deepEqual(await namesIn(folder), []);
      assert.equal(files.used, 0);
    }),
});

Deno.test({
  name: "a second DiskFiles on the same folder (a restart) has the files and counts them",
  ...LEAK_CHECKS,
  fn: () =>
    withFolder(async (folder) => {
      const before = DiskFiles.open(folder, { quota: MiB });
      const kept = await share(before, binary(5000), { name: "kept.bin" });
      const shown = await share(before, encoder.encode("hello"), { room: null, to: "bob" });
      const log: string[] = [];
      const after = DiskFiles.open(folder, { quota: MiB, log: (line) => log.push(line) });
      assert.deepEqual(await after.find(kept.id), kept);
      assert.deepEqual(await after.read(kept.id), binary(5000));
      assert.deepEqual(await after.find(shown.id), shown);
      assert.deepEqual(await after.list("lobby"), [kept]);
      assert.equal(after.used, 5005 + 2 * FILE_OVERHEAD_BYTES);
      assert.deepEqual(log, [
        `files in ${folder}: 2 kept (${after.used} bytes), 0 deleted (expired or unfinished)`,
      ]);
    }),
});

Deno.test({
  name: "opening deletes a crash's leftovers and expired files, and leaves other names alone",
  ...LEAK_CHECKS,
  fn: () =>
    withFolder(async (folder) => {
      const files = DiskFiles.open(folder, { quota: MiB });
      const now = Date.now();
      const whole = await share(files, binary(100));
      const expired = await share(files, binary(100), { expiresAt: now + 50 });
      const noMeta = await share(files, binary(100));
      const noBytes = await share(files, binary(100));
      const short = await share(files, binary(100));
      const badMeta = await share(files, binary(100));
      const wrongId = await share(files, binary(100));
      // A crash after the bytes were renamed, before the metadata was: bytes alone.
      await Deno.remove(`${folder}/${noMeta.id}.json`);
      await Deno.remove(`${folder}/${noBytes.id}`);
      await Deno.writeFile(`${folder}/${short.id}`, binary(99));
      await Deno.writeTextFile(`${folder}/${badMeta.id}.json`, "{not json");
      await Deno.writeTextFile(
        `${folder}/${wrongId.id}.json`,
        JSON.stringify({ ...wrongId, id: whole.id }),
      );
      // A crash in the middle of writing either.
      await Deno.writeFile(`${folder}/.tmp-${"f".repeat(32)}`, binary(50));
      await Deno.writeFile(`${folder}/.tmp-${"f".repeat(32)}.json`, binary(5));
      await Deno.writeTextFile(`${folder}/README`, "not ours");
      await Deno.mkdir(`${folder}/${"e".repeat(32)}`);
      while (Date.now() <= now + 50) await new Promise((resolve) => setTimeout(resolve, 10));

      const log: string[] = [];
      const again = DiskFiles.open(folder, { quota: MiB, log: (line) => log.push(line) });
      assert.deepEqual(
        await namesIn(folder),
        [whole.id, `${whole.id}.json`, "README", "e".repeat(32)].sort(),
      );
      assert.equal(again.count, 1);
      assert.equal(again.used, 100 + FILE_OVERHEAD_BYTES);
      assert.deepEqual(await again.find(whole.id), whole);
      assert.equal(await again.find(expired.id), null);
      assert.deepEqual(log, [
        `files in ${folder}: 1 kept (${again.used} bytes), 12 deleted (expired or unfinished)`,
      ]);
    }),
});

Deno.test({
  name: "an id that is not 32 hex digits never becomes a path",
  ...LEAK_CHECKS,
  fn: () =>
    withFolder(async (folder, dir) => {
      const files = DiskFiles.open(folder, { quota: MiB });
      await Deno.writeTextFile(`${dir}/secret`, "do not serve");
      for (const id of ["../secret", `../${"a".repeat(30)}`, "A".repeat(32), "a".repeat(33), ""]) {
        assert.equal(await files.find(id), null);
        assert.equal(await files.read(id), null);
        assert.equal(await files.remove(id), null);
        await assert.rejects(
          files.save(sharedFile({ id, size: 1 }), binary(1)),
          (error: Error) => error instanceof TypeError && /not 32 hex digits/.test(error.message),
        );
      }
      assert.deepEqual(await namesIn(folder), []);
      assert.equal(await Deno.readTextFile(`${dir}/secret`), "do not serve");
      await assert.rejects(files.save(sharedFile({ size: 2 }), binary(1)), /1 bytes, not the 2/);
    }),
});

Deno.test({
  name: "downloads of one file at once share one copy of its bytes",
  ...LEAK_CHECKS,
  fn: () =>
    withFolder(async (folder) => {
      const files = DiskFiles.open(folder, { quota: 4 * MiB });
      const file = await share(files, binary(2 * MiB));
      const [one, two] = await Promise.all([files.read(file.id), files.read(file.id)]);
      assert.ok(one !== null && one === two, "read once for both");
      assert.equal(await files.read(file.id), one, "held while a download has it");
      await files.remove(file.id);
      assert.equal(await files.read(file.id), null);
    }),
});

Deno.test({
  name: "a folder that cannot be made is a StoreError naming it",
  ...LEAK_CHECKS,
  fn: () =>
    withFolder(async (_, dir) => {
      await Deno.writeTextFile(`${dir}/plain`, "a file, not a folder");
      assert.throws(
        () => DiskFiles.open(`${dir}/plain/chat.db.files`, { quota: MiB }),
        (error: Error) =>
          error instanceof StoreError &&
          error.message ===
            `Cannot use the files folder ${dir}/plain/chat.db.files: not a directory`,
      );
      assert.throws(() => DiskFiles.open(`${dir}/x`, { quota: -1 }), RangeError);
    }),
});

Deno.test({
  name: "a full disk: the save fails naming the folder, leaves nothing, and gives back its count",
  ignore: !CAN_MOUNT,
  ...LEAK_CHECKS,
  fn: () =>
    withTmpfs("256k", async ({ dir }) => {
      const folder = `${dir}/chat.db.files`;
      const files = DiskFiles.open(folder, { quota: 4 * MiB });
      const small = await share(files, binary(1000));
      const used = files.used;
      const big = sharedFile({ size: MiB });
      assert.equal(await files.reserve(MiB), true);
      await assert.rejects(files.save(big, binary(MiB)), (error: Error) => {
        assert.ok(error instanceof StoreError);
        assert.equal(
          error.message,
          `Cannot keep file ${big.id} in ${folder}: no space left on device`,
        );
        return true;
      });
      await files.release(MiB);
      assert.equal(files.used, used);
      assert.deepEqual(await namesIn(folder), [small.id, `${small.id}.json`].sort());
      assert.equal(await files.find(big.id), null);
      assert.deepEqual(await files.read(small.id), binary(1000));
    }),
});
