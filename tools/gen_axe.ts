/**
 * Writes `test/generated/axe_source.ts`, axe-core's `axe.min.js` as a string,
 * for the page's tests to inject into Chromium over the DevTools protocol
 * (`runAxe` in `test/browser_test_helpers.ts`), so that the tests need no
 * package manager and no network: the engine is committed, with its version,
 * its checksum and its licence (MPL-2.0, whose text goes into
 * `test/generated/axe-core.LICENSE`, and the licences of what it bundles into
 * `axe-core.LICENSE-3RD-PARTY.txt`).
 *
 * The package comes from the npm registry: the registry's metadata for the
 * version names the tarball and its `sha512` integrity, the tarball is
 * fetched, checked against it, and read without unpacking it anywhere.
 *
 * ```sh
 * deno run --allow-net=registry.npmjs.org --allow-read --allow-write --allow-run tools/gen_axe.ts
 * deno run --allow-net=registry.npmjs.org --allow-read --allow-write --allow-run \
 *   tools/gen_axe.ts --version 4.14.1
 * ```
 *
 * The version is pinned ({@linkcode AXE_VERSION}) so that running it again
 * writes the same module; `--version newest` takes the newest 4.x release.
 * `--out FILE` writes somewhere else than `axe_source.ts` (the licence goes
 * beside it).
 *
 * @module
 */

import { parseArgs } from "node:util";

/** The axe-core release the committed module holds. */
export const AXE_VERSION = "4.14.1";
/** The major version the tests are written for: its rule tags and its `axe.run` API. */
const AXE_MAJOR = 4;
/** The npm registry's document for the package. */
const REGISTRY = "https://registry.npmjs.org/axe-core";
/** The files taken from the package. */
const SOURCE_FILE = "package/axe.min.js";
const LICENSE_FILE = "package/LICENSE";
/** The licences of the code of others that axe-core bundles. */
const THIRD_PARTY_FILE = "package/LICENSE-3RD-PARTY.txt";
/** Where the licences go, beside the module. */
const LICENSE_OUT = "axe-core.LICENSE";
const THIRD_PARTY_OUT = "axe-core.LICENSE-3RD-PARTY.txt";

/** The registry's abbreviated metadata, as much of it as is read here. */
interface Packument {
  "dist-tags": Record<string, string>;
  versions: Record<string, { dist: { tarball: string; integrity?: string } }>;
}

/** Stops with a message that names what went wrong. */
function fail(message: string): never {
  throw new Error(`gen_axe: ${message}`);
}

/** Fetches `url`, failing with its status. */
async function get(url: string, accept?: string): Promise<Response> {
  const response = await fetch(url, { headers: accept === undefined ? {} : { accept } });
  if (!response.ok) {
    await response.body?.cancel();
    fail(`${url} answered ${response.status} ${response.statusText}`);
  }
  return response;
}

/** `a` before `b` as release numbers (`4.9.1` before `4.10.0`). */
function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The version asked for: one named, or the newest 4.x release (no pre-releases). */
function pickVersion(packument: Packument, wanted: string): string {
  if (wanted !== "newest") {
    if (!(wanted in packument.versions)) fail(`the registry has no axe-core ${wanted}`);
    if (!wanted.startsWith(`${AXE_MAJOR}.`)) fail(`axe-core ${wanted} is not ${AXE_MAJOR}.x`);
    return wanted;
  }
  const releases = Object.keys(packument.versions)
    .filter((version) => new RegExp(`^${AXE_MAJOR}\\.\\d+\\.\\d+$`).test(version))
    .sort(compareVersions);
  return releases.at(-1) ?? fail(`the registry lists no axe-core ${AXE_MAJOR}.x release`);
}

/** The base64 of the SHA-512 of `bytes`, as an `integrity` field writes it after `sha512-`. */
async function sha512(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", bytes));
  return btoa(String.fromCharCode(...digest));
}

/** A file's text in a tar archive, by its path; null when it is not there. */
export function readTarFile(tar: Uint8Array, wanted: string): string | null {
  const decoder = new TextDecoder();
  const field = (block: Uint8Array, start: number, length: number) => {
    const bytes = block.subarray(start, start + length);
    const end = bytes.indexOf(0);
    return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
  };
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = field(header, 0, 100);
    const prefix = field(header, 345, 155);
    const path = prefix === "" ? name : `${prefix}/${name}`;
    const size = parseInt(field(header, 124, 12).trim() || "0", 8);
    const type = field(header, 156, 1);
    const start = at + 512;
    if (start + size > tar.length) fail(`the archive ends inside ${path}`);
    if ((type === "0" || type === "") && path === wanted) {
      return decoder.decode(tar.subarray(start, start + size));
    }
    at = start + Math.ceil(size / 512) * 512;
  }
  return null;
}

/** axe-core `version` from the registry, checked: its `axe.min.js`, its licence, and its integrity. */
export async function fetchAxe(
  wanted: string,
): Promise<
  { version: string; integrity: string; source: string; license: string; thirdParty: string }
> {
  const packument = await (await get(REGISTRY, "application/vnd.npm.install-v1+json"))
    .json() as Packument;
  const version = pickVersion(packument, wanted);
  const dist = packument.versions[version]?.dist ?? fail(`no dist for axe-core ${version}`);
  const integrity = dist.integrity ?? fail(`the registry gives no integrity for ${version}`);
  if (!integrity.startsWith("sha512-")) fail(`the integrity of ${version} is not sha512`);
  const tarball = new Uint8Array(await (await get(dist.tarball)).arrayBuffer());
  const actual = `sha512-${await sha512(tarball)}`;
  if (actual !== integrity) {
    fail(`${dist.tarball} is not what the registry says: ${actual}, not ${integrity}`);
  }
  const tar = new Uint8Array(
    await new Response(new Blob([tarball]).stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer(),
  );
  const source = readTarFile(tar, SOURCE_FILE) ?? fail(`${dist.tarball} has no ${SOURCE_FILE}`);
  const license = readTarFile(tar, LICENSE_FILE) ?? fail(`${dist.tarball} has no ${LICENSE_FILE}`);
  if (!source.startsWith(`/*! axe v${version}`)) {
    fail(`${SOURCE_FILE} of ${version} does not start with its banner`);
  }
  const thirdParty = readTarFile(tar, THIRD_PARTY_FILE) ??
    fail(`${dist.tarball} has no ${THIRD_PARTY_FILE}`);
  if (!/^Mozilla Public License,? version 2\.0/i.test(license)) {
    fail(`${LICENSE_FILE} of ${version} is not the MPL-2.0`);
  }
  return { version, integrity, source, license, thirdParty };
}

/** The module's text. */
export function renderAxeModule(
  axe: { version: string; integrity: string; source: string },
): string {
  const banner = /^\/\*![\s\S]*?\*\//.exec(axe.source)?.[0] ?? "";
  return `// Generated by tools/gen_axe.ts from the npm package axe-core@${axe.version}; do not edit.
// Regenerate with
// deno run --allow-net=registry.npmjs.org --allow-read --allow-write --allow-run tools/gen_axe.ts
//
// axe-core is Copyright (c) Deque Systems, Inc., under the Mozilla Public
// License 2.0, whose text is in ${LICENSE_OUT} beside this file (and the
// licences of the code it bundles in ${THIRD_PARTY_OUT}). Its source is at
// https://github.com/dequelabs/axe-core; its own banner follows.
//
${banner.split("\n").map((line) => `// ${line}`.trimEnd()).join("\n")}

/**
 * axe-core's \`axe.min.js\`, the accessibility engine the page's tests inject
 * into Chromium over the DevTools protocol (see \`runAxe\` in
 * \`test/browser_test_helpers.ts\`). MPL-2.0; see \`${LICENSE_OUT}\`.
 *
 * @module
 */

/** The axe-core release this is. */
export const AXE_VERSION = ${JSON.stringify(axe.version)};

/** The npm registry's integrity of the package it came from, checked when it was written. */
export const AXE_INTEGRITY = ${JSON.stringify(axe.integrity)};

/** The licence of {@linkcode AXE_SOURCE}, by its SPDX identifier. */
export const AXE_LICENSE = "MPL-2.0";

/** \`axe.min.js\`: evaluated in a page, it defines \`axe\`. */
export const AXE_SOURCE: string = ${JSON.stringify(axe.source)};
`;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { out: { type: "string" }, version: { type: "string", default: AXE_VERSION } },
  });
  const out = values.out ??
    new URL("../test/generated/axe_source.ts", import.meta.url).pathname;
  const directory = out.slice(0, out.lastIndexOf("/") + 1);
  const axe = await fetchAxe(values.version);
  await Deno.mkdir(directory || ".", { recursive: true });
  await Deno.writeTextFile(`${directory}${LICENSE_OUT}`, axe.license);
  await Deno.writeTextFile(`${directory}${THIRD_PARTY_OUT}`, axe.thirdParty);
  await Deno.writeTextFile(out, renderAxeModule(axe));
  const format = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", out],
    stderr: "inherit",
  }).output();
  if (!format.success) throw new Error(`deno fmt ${out} failed`);
  console.log(
    `Wrote ${out} (axe-core ${axe.version}, ${axe.integrity}), ${LICENSE_OUT} and ${THIRD_PARTY_OUT}`,
  );
}

if (import.meta.main) {
  await main(Deno.args);
}
