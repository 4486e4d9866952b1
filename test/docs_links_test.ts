/**
 * Checks the manual's links as GitHub follows them: every relative link in
 * `README.md` and in `docs/` must point to a file that exists, and a link with
 * an anchor (`running.md#encryption`, `#what-you-see`) to a heading of that
 * file whose GitHub anchor is that one. Links to other sites are left alone,
 * and so is anything inside code.
 *
 * ```sh
 * deno test --allow-read --allow-write docs_links_test.ts
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * The repository's root, from this file's place in it. This file sits at the
 * root; moved one folder down (into `test/`), this becomes `"../"`.
 */
const REPOSITORY_ROOT = new URL("../", import.meta.url);

/** The Markdown files whose links are checked, relative to the root: these, and every file in `docs/`. */
const ROOT_FILES = ["README.md"];
/** The folder of the manual, relative to the root. */
const DOCS_FOLDER = "docs/";

/** One relative link found in a Markdown file. */
interface Link {
  /** The destination as written, `running.md#encryption`. */
  destination: string;
  /** The line it is on, counted from 1. */
  line: number;
}

/** Replaces every character but line ends with a space, so that offsets and line numbers stay. */
function blank(text: string): string {
  return text.replace(/[^\n]/g, " ");
}

/** The file's text without fenced code blocks (``` or ~~~), kept the same length. */
function withoutCodeBlocks(markdown: string): string {
  const lines = markdown.split("\n");
  let fence: string | null = null;
  return lines.map((line) => {
    const opening = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === null) {
      if (opening) {
        fence = opening[1]!;
        return blank(line);
      }
      return line;
    }
    // A fence closes with at least as many of the same character, and nothing else.
    if (opening && opening[1]![0] === fence[0] && opening[1]!.length >= fence.length) {
      if (line.trim() === opening[1]) fence = null;
    }
    return blank(line);
  }).join("\n");
}

/** The text without code: fenced blocks and code spans (`like this`) become spaces. */
function withoutCode(markdown: string): string {
  return withoutCodeBlocks(markdown).replace(/(`+)[^`][\s\S]*?\1(?!`)|(`+)\2(?!`)/g, blank);
}

/** Whether a destination leaves the repository: a scheme (`https:`, `mailto:`) or `//host`. */
function isExternal(destination: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(destination) || destination.startsWith("//");
}

/**
 * Every relative link of a Markdown text: inline links and images
 * (`[text](path#anchor "title")`, `![alt](path)`), and reference definitions
 * (`[label]: path`), outside code.
 */
function relativeLinks(markdown: string): Link[] {
  const text = withoutCode(markdown);
  const lineAt = (offset: number) => text.slice(0, offset).split("\n").length;
  const links: Link[] = [];
  const add = (raw: string, offset: number) => {
    const destination = raw.startsWith("<") ? raw.slice(1, -1) : raw;
    if (destination !== "" && !isExternal(destination)) {
      links.push({ destination, line: lineAt(offset) });
    }
  };
  // `[` text (brackets nested once) `](` destination, optionally in <>, then an optional title `)`.
  const inline =
    /!?\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g;
  for (const match of text.matchAll(inline)) add(match[1]!, match.index);
  const definition = /^ {0,3}\[[^\]]+\]:\s*(<[^>\n]*>|\S+)/gm;
  for (const match of text.matchAll(definition)) add(match[1]!, match.index);
  return links;
}

/**
 * A heading's anchor as GitHub makes it: the text as shown (code marks,
 * emphasis and link targets gone), lower-cased, punctuation dropped, and each
 * space a `-`.
 */
function githubAnchor(heading: string): string {
  const shown = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]*>/g, "")
    .replace(/[`*]/g, "")
    .replace(/(^|\s)_+|_+(\s|$)/g, "$1$2");
  return shown.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "").replace(
    / /g,
    "-",
  );
}

/** The anchors of a Markdown text's headings, a repeated one with `-1`, `-2`, ... as GitHub does. */
function headingAnchors(markdown: string): Set<string> {
  const lines = withoutCodeBlocks(markdown).split("\n");
  const anchors = new Set<string>();
  const add = (heading: string) => {
    const base = githubAnchor(heading);
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  };
  lines.forEach((line, i) => {
    const atx = /^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$/.exec(line);
    if (atx) return add(atx[1] ?? "");
    // A setext heading: a line of text underlined with = or -.
    const next = lines[i + 1];
    if (
      next !== undefined && /^ {0,3}(?:=+|-+)\s*$/.test(next) && line.trim() !== "" &&
      !/^\s*(?:[-*+>|]|\d+[.)]\s)/.test(line)
    ) {
      add(line.trim());
    }
  });
  return anchors;
}

/** The Markdown files checked: the root's, then every `.md` file under `docs/`, as URLs. */
async function markdownFiles(root: URL): Promise<URL[]> {
  const files = ROOT_FILES.map((path) => new URL(path, root));
  const walk = async (folder: URL) => {
    const entries = [];
    for await (const entry of Deno.readDir(folder)) entries.push(entry);
    entries.sort((a, b) => a.name < b.name ? -1 : 1);
    for (const entry of entries) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, folder));
      else if (entry.name.endsWith(".md")) files.push(new URL(entry.name, folder));
    }
  };
  await walk(new URL(DOCS_FOLDER, root));
  return files;
}

/** Whether a path exists, file or folder. */
async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The broken relative links of the given Markdown files, one line each:
 * `docs/a.md:3: b.md#x: no heading with that anchor in docs/b.md`.
 */
async function brokenLinks(root: URL, files: readonly URL[]): Promise<string[]> {
  const name = (url: URL) => decodeURIComponent(url.pathname.slice(root.pathname.length));
  const anchorsOf = new Map<string, Set<string>>();
  const broken: string[] = [];
  for (const file of files) {
    const markdown = await Deno.readTextFile(file);
    for (const { destination, line } of relativeLinks(markdown)) {
      const where = `${name(file)}:${line}: ${destination}`;
      const hash = destination.indexOf("#");
      const path = hash === -1 ? destination : destination.slice(0, hash);
      const anchor = hash === -1 ? null : decodeURIComponent(destination.slice(hash + 1));
      const target = path === "" ? file : new URL(path, file);
      target.hash = "";
      target.search = "";
      if (!target.href.startsWith(root.href)) {
        broken.push(`${where}: points outside the repository`);
        continue;
      }
      if (!(await exists(target))) {
        broken.push(`${where}: no such file ${name(target)}`);
        continue;
      }
      if (anchor === null) continue;
      if (!target.pathname.endsWith(".md")) {
        broken.push(`${where}: an anchor in ${name(target)}, which is not Markdown`);
        continue;
      }
      let anchors = anchorsOf.get(target.href);
      if (anchors === undefined) {
        anchors = headingAnchors(await Deno.readTextFile(target));
        anchorsOf.set(target.href, anchors);
      }
      if (!anchors.has(anchor)) {
        broken.push(`${where}: no heading with the anchor #${anchor} in ${name(target)}`);
      }
    }
  }
  return broken;
}

Deno.test({
  name: "every relative link in README.md and docs/ points to a file and heading that exist",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const files = await markdownFiles(REPOSITORY_ROOT);
    assert.ok(files.length > ROOT_FILES.length, "the manual in docs/ has Markdown files");
    assert.deepEqual(await brokenLinks(REPOSITORY_ROOT, files), []);
  },
});

Deno.test({
  name:
    "headings get GitHub's anchors: lower case, spaces to -, punctuation dropped, -1 for repeats",
  sanitizeOps: true,
  sanitizeResources: true,
  fn() {
    assert.equal(
      githubAnchor("Limits, and what happens at them"),
      "limits-and-what-happens-at-them",
    );
    assert.equal(githubAnchor("The `--data` file: kept on disk?"), "the---data-file-kept-on-disk");
    assert.equal(githubAnchor("[In a browser](browser.md) & more"), "in-a-browser--more");
    assert.equal(githubAnchor("Names à la française, 名前"), "names-à-la-française-名前");
    const markdown = [
      "# Title",
      "## Usage",
      "```sh",
      "# not a heading",
      "```",
      "## Usage",
      "Setext heading",
      "--------------",
      "## Usage ##",
    ].join("\n");
    assert.deepEqual(
      [...headingAnchors(markdown)],
      ["title", "usage", "usage-1", "setext-heading", "usage-2"],
    );
  },
});

Deno.test({
  name: "links are found outside code only, and links to other sites are skipped",
  sanitizeOps: true,
  sanitizeResources: true,
  fn() {
    const markdown = [
      'See [a](a.md), [b](b.md#part "title") and ![pic](img/p.png).',
      "Not `[code](code.md)`, nor [web](https://example.org) or [mail](mailto:x@example.org).",
      "```",
      "[fenced](fenced.md)",
      "```",
      "A [`LICENSE`](LICENSE) and [here](#top), [text",
      "over two lines](two.md).",
      "",
      "[ref]: ref.md#anchor",
    ].join("\n");
    assert.deepEqual(relativeLinks(markdown), [
      { destination: "a.md", line: 1 },
      { destination: "b.md#part", line: 1 },
      { destination: "img/p.png", line: 1 },
      { destination: "LICENSE", line: 6 },
      { destination: "#top", line: 6 },
      { destination: "two.md", line: 6 },
      { destination: "ref.md#anchor", line: 9 },
    ]);
  },
});

Deno.test({
  name: "a link to a missing file, a missing heading or outside the repository is reported",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const root = new URL(`file://${await Deno.makeTempDir({ prefix: "docs_links_test_" })}/`);
    try {
      await Deno.mkdir(new URL("docs/", root));
      await Deno.writeTextFile(
        new URL("README.md", root),
        "# Readme\n\n## Start here\n\n[ok](docs/a.md#usage-1) [gone](docs/gone.md) [up](../x.md)\n",
      );
      await Deno.writeTextFile(
        new URL("docs/a.md", root),
        "# A\n\n## Usage\n\n## Usage\n\n[back](../README.md#start-here) [bad](../README.md#nowhere)\n" +
          "[self](#usage) [missing](#usage-2)\n",
      );
      assert.deepEqual(await brokenLinks(root, await markdownFiles(root)), [
        "README.md:5: docs/gone.md: no such file docs/gone.md",
        "README.md:5: ../x.md: points outside the repository",
        "docs/a.md:7: ../README.md#nowhere: no heading with the anchor #nowhere in README.md",
        "docs/a.md:8: #usage-2: no heading with the anchor #usage-2 in docs/a.md",
      ]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
