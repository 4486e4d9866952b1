/**
 * Code written by scripts, not by hand; edit the source and run the script
 * again:
 *
 * - `unicode_data.ts` and `unicode_width_data.ts`: the Unicode tables of
 *   the name rules and of terminal widths, from Unicode's data (Unicode
 *   License v3, `LICENSE-UNICODE`):
 *   `deno run --allow-read --allow-write --allow-run tools/gen_unicode_data.ts`
 * - `web_assets.ts`: the page's files from `web/`, so the server reads no
 *   files at run time:
 *   `deno run --allow-read --allow-write --allow-run tools/gen_web_assets.ts`
 *
 * May import nothing of the project.
 *
 * @module
 */
