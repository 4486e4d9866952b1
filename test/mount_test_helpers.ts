/**
 * Real file system faults for the data file's tests: a small tmpfs, which can
 * be filled (a full disk) or remounted read-only. Only a process allowed to
 * mount (root, with the capability) can make one; {@linkcode CAN_MOUNT} says
 * whether this one can, so that a test that needs it is reported as ignored
 * by name rather than passed.
 *
 * @module
 */

/** Runs `mount` or `umount` with `args`; throws with its error output when it fails. */
async function run(command: "mount" | "umount", args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** Whether this process can mount a tmpfs: tried once, on a directory of its own. */
async function probe(): Promise<boolean> {
  let dir: string;
  try {
    dir = await Deno.makeTempDir({ prefix: "chat-probe-" });
  } catch {
    return false;
  }
  try {
    await run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
    await run("umount", [dir]);
    return true;
  } catch {
    return false;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Whether this process may mount a tmpfs (it runs as root, with the capability). */
export const CAN_MOUNT: boolean = await probe();

/** A mounted tmpfs, and what a test does to it. */
export interface Tmpfs {
  /** Where it is mounted. */
  dir: string;
  /** Remounts it read-only: every write to it fails with EROFS. */
  readOnly(): Promise<void>;
}

/**
 * Runs `body` with a tmpfs of `size` (as mount takes it: `256k`) mounted at a
 * new temporary directory, then unmounts it and removes the directory.
 */
export async function withTmpfs(
  size: string,
  body: (tmpfs: Tmpfs) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-tmpfs-" });
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
    try {
      await body({ dir, readOnly: () => run("mount", ["-o", "remount,ro", dir]) });
    } finally {
      await run("umount", [dir]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
