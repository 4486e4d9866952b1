/**
 * The layout's rules, checked on the files as they are: imports run one way
 * (the core below the transports, the cluster and the store, which are
 * below the server and the entry points), every folder says what it holds,
 * the root holds only the entry points, and no product file or class grows
 * past what a reader takes in at once.
 */
import assert from "node:assert/strict";

/** The repository's root, one folder up from this file. */
const ROOT = new URL("../", import.meta.url);

/** Product code that is not written by hand, and so has no size limit. */
const GENERATED = "generated/";
/** The longest product source file, in lines. */
const MAX_FILE_LINES = 700;
/** The longest class, in lines. */
const MAX_CLASS_LINES = 400;
/** The most `.ts` files the root may hold: the entry points and their tests. */
const MAX_ROOT_TS_FILES = 8;

/**
 * What each layer's product modules may import, besides their own folder:
 * folders (ending in `/`) and root files. The server and the client, the
 * entry points, tools, tests and the benchmark may import anything.
 */
const MAY_IMPORT: Record<string, string[]> = {
  "core/": ["protocol.ts", GENERATED],
  "transport/": ["core/", "protocol.ts", GENERATED],
  "cluster/": ["core/", "protocol.ts"],
  "store/": ["core/", "protocol.ts"],
};
/** Built-in modules the core may not use: it knows no sockets. */
const SOCKET_MODULES = ["node:net", "node:tls", "node:http", "node:https", "node:dgram"];

/** Every file below the root that git would see (no .git, no node_modules). */
async function listFiles(dir = ROOT, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = prefix + entry.name;
    if (entry.isDirectory) {
      found.push(...await listFiles(new URL(entry.name + "/", dir), path + "/"));
    } else found.push(path);
  }
  return found.sort();
}

/** Whether `path` is product code: TypeScript that is neither a test, a test helper nor a tool. */
function isProduct(path: string): boolean {
  return path.endsWith(".ts") && !path.endsWith("_test.ts") && !path.includes("_test_") &&
    !/^(test|tools|bench|web)\//.test(path);
}

/** The module specifiers a source imports or re-exports, comments left out. */
function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  const pattern =
    /(?:^|\s)(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;
  for (const match of code.matchAll(pattern)) found.push(match[1] ?? match[2] ?? match[3] ?? "");
  return found;
}

/** `spec` resolved against the file at `from`, as a path from the root. */
function resolve(from: string, spec: string): string {
  return new URL(spec, new URL(from, ROOT)).href.slice(ROOT.href.length);
}

Deno.test("each layer imports only what lies below it, and the core no sockets", async () => {
  const broken: string[] = [];
  for (const path of (await listFiles()).filter(isProduct)) {
    const layer = Object.keys(MAY_IMPORT).find((folder) => path.startsWith(folder));
    if (layer === undefined) continue;
    const allowed = [layer, ...(MAY_IMPORT[layer] as string[])];
    for (const spec of importsOf(await Deno.readTextFile(new URL(path, ROOT)))) {
      if (spec.startsWith(".")) {
        const target = resolve(path, spec);
        if (
          !allowed.some((place) =>
            place.endsWith("/") ? target.startsWith(place) : target === place
          )
        ) {
          broken.push(`${path} imports ${target}`);
        }
      } else if (layer === "core/" && SOCKET_MODULES.includes(spec)) {
        broken.push(`${path} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

Deno.test("the rule catches a core module that imports a transport", () => {
  const source =
    'import { TcpListener } from "../transport/tcp.ts";\nimport type { X } from "./x.ts";';
  assert.deepEqual(importsOf(source), ["../transport/tcp.ts", "./x.ts"]);
  assert.equal(resolve("core/chat.ts", "../transport/tcp.ts"), "transport/tcp.ts");
});

/** The folders of product code, each of which says in its `mod.ts` what it holds and may import. */
const PRODUCT_FOLDERS = [...Object.keys(MAY_IMPORT), "server/", "client/", GENERATED];

Deno.test("every folder of product code says what it holds in a mod.ts with a module comment", async () => {
  const files = await listFiles();
  const silent: string[] = [];
  for (const folder of PRODUCT_FOLDERS) {
    const mod = folder + "mod.ts";
    if (!files.includes(mod)) {
      silent.push(`${folder} has no mod.ts`);
      continue;
    }
    const text = await Deno.readTextFile(new URL(mod, ROOT));
    if (!/^\/\*\*[\s\S]*?@module[\s\S]*?\*\//.test(text)) {
      silent.push(`${mod} has no module comment`);
    }
  }
  assert.deepEqual(silent, []);
});

Deno.test("the root holds the entry points and their tests only", async () => {
  const rootTs = (await listFiles()).filter((path) => path.endsWith(".ts") && !path.includes("/"));
  assert.ok(
    rootTs.length <= MAX_ROOT_TS_FILES,
    `${rootTs.length} .ts files at the root: ${rootTs}`,
  );
});

Deno.test("no product file is over 700 lines and no class over 400", async () => {
  const tooLong: string[] = [];
  for (const path of (await listFiles()).filter(isProduct)) {
    if (path.startsWith(GENERATED)) continue;
    const lines = (await Deno.readTextFile(new URL(path, ROOT))).split("\n");
    if (lines.length > MAX_FILE_LINES) tooLong.push(`${path}: ${lines.length} lines`);
    let start = -1;
    let name = "";
    for (const [i, line] of lines.entries()) {
      const opened = /^(?:export )?(?:abstract )?class (\w+)/.exec(line);
      if (opened !== null) {
        start = i;
        name = opened[1] as string;
      } else if (start >= 0 && line === "}") {
        if (i - start + 1 > MAX_CLASS_LINES) {
          tooLong.push(`${path}: class ${name}, ${i - start + 1} lines`);
        }
        start = -1;
      }
    }
  }
  assert.deepEqual(tooLong, []);
});
