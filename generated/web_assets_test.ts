import assert from "node:assert/strict";
import { WEB_ASSETS } from "./web_assets.ts";
import { ASSET_FILES, readWebFiles, renderWebAssets, WEB_DIR } from "../tools/gen_web_assets.ts";

const REGENERATE = "deno run --allow-read --allow-write --allow-run tools/gen_web_assets.ts";

Deno.test("web_assets.ts holds exactly the files in web/ (regenerate it after editing them)", async () => {
  const files = await readWebFiles();
  assert.deepEqual([...WEB_ASSETS.keys()], ASSET_FILES.map((asset) => asset.path));
  for (const { path, file, type } of ASSET_FILES) {
    const asset = WEB_ASSETS.get(path);
    assert.ok(asset, `${path} is missing from web_assets.ts; run ${REGENERATE}`);
    assert.equal(asset.type, type);
    assert.ok(
      new TextDecoder().decode(asset.body) === files.get(file),
      `web_assets.ts is stale: web/${file} changed; run ${REGENERATE}`,
    );
  }
});

Deno.test("the generator renders every file it is given and refuses a missing one", () => {
  const contents = new Map(ASSET_FILES.map(({ file }) => [file, `"${file}" \`\${x}\` \u2028`]));
  const module = renderWebAssets(contents);
  for (const { file } of ASSET_FILES) {
    assert.ok(module.includes(JSON.stringify(contents.get(file))));
  }
  contents.delete("app.js");
  assert.throws(() => renderWebAssets(contents), /Missing web\/app\.js/);
});

Deno.test("text assets say they are UTF-8", () => {
  for (const [path, asset] of WEB_ASSETS) {
    assert.match(asset.type, /; charset=utf-8$/, path);
  }
  assert.equal(WEB_ASSETS.get("/")?.type, "text/html; charset=utf-8");
});

Deno.test("the page needs nothing its Content-Security-Policy forbids", async () => {
  const html = await Deno.readTextFile(new URL("index.html", WEB_DIR));
  assert.match(html, /<html lang="en">/);
  // Scripts and styles only from files: no inline script, style or handler.
  for (const script of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
    assert.match(script[0], /\ssrc="\/[^"]+"/, "a script has a src");
    assert.equal(script[1]?.trim(), "", "a script is empty");
  }
  assert.doesNotMatch(html, /<style\b/i);
  assert.doesNotMatch(html, /\sstyle=/i);
  assert.doesNotMatch(html, /\son[a-z]+=/i);
  // Every file the page refers to is one the server serves: nothing from elsewhere.
  for (const match of html.matchAll(/\s(?:src|href)="([^"]*)"/g)) {
    const url = match[1] as string;
    assert.ok(WEB_ASSETS.has(url), `index.html refers to ${url}, which is not served`);
  }
  for (const file of ["app.js", "lines.js"]) {
    const code = await Deno.readTextFile(new URL(file, WEB_DIR));
    // Lines are text: nothing parses HTML, evaluates code or writes a style attribute.
    for (
      const forbidden of [
        /innerHTML/,
        /outerHTML/,
        /insertAdjacentHTML/,
        /document\.write/,
        /\beval\(/,
        /new Function/,
        /setAttribute\(\s*["']style/,
        /\.style\.cssText/,
      ]
    ) {
      assert.doesNotMatch(code, forbidden, `${file} uses ${forbidden.source}`);
    }
    for (const match of code.matchAll(/\bfrom "([^"]+)"/g)) {
      const path = new URL(match[1] as string, "http://page/").pathname;
      assert.ok(WEB_ASSETS.has(path), `${file} imports ${path}, which is not served`);
    }
  }
  const css = await Deno.readTextFile(new URL("style.css", WEB_DIR));
  assert.doesNotMatch(css, /@import|url\(/, "the style loads nothing more");
});
