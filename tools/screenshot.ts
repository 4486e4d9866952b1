/**
 * Makes `docs/screenshot.png`, the README's picture of the page: a short
 * conversation in a real headless Chromium (900 x 600), the browser member
 * alice beside bob and carol on raw TCP, with dave in #dev, through the same
 * room and browser the page's tests use.
 *
 * ```sh
 * deno run --allow-net --allow-run --allow-read --allow-write --allow-env tools/screenshot.ts
 * deno run ... tools/screenshot.ts --dark --out /tmp/dark.png
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Browser } from "../test/browser_test_helpers.ts";
import { startWebRoom } from "../test/web_test_room.ts";
import { Peer } from "../test/test_helpers.ts";

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { out: { type: "string" }, dark: { type: "boolean", default: false } },
  });
  const out = values.out ?? new URL("../docs/screenshot.png", import.meta.url).pathname;
  // The test helpers start server.ts relative to the repository.
  await using room = await startWebRoom();
  await using browser = await Browser.launch();
  const page = await browser.newPage({ width: 900, height: 600 });
  if (values.dark) await page.emulateMedia([{ name: "prefers-color-scheme", value: "dark" }]);
  await page.goto(room.pageUrl);
  await page.waitFor(`document.querySelector("#lines li")`, "the greeting");
  const shown = (line: string) =>
    page.waitFor(
      `[...document.querySelectorAll("#lines .text")].some((t) => t.textContent === ${
        JSON.stringify(line)
      })`,
      line,
    );

  // Someone in another room, so that the Rooms list has more than #lobby.
  await using dave = await Peer.join(room.tcpPort, "dave");
  await dave.send("/join #dev\n");
  await dave.readUntil("* You are now in #dev (1 here)");
  await page.typeLine("alice");
  await shown("Welcome, alice! Type <quit> to leave.");
  await using bob = await Peer.join(room.tcpPort, "bob");
  await shown("* bob joined the chat");
  await using carol = await Peer.join(room.tcpPort, "carol");
  await shown("* carol joined the chat");

  await bob.send("morning! has anyone tried the new build?\n");
  await shown("bob: morning! has anyone tried the new build?");
  await page.typeLine("yes, and the chat works in a browser now, on my phone too");
  await shown("alice: yes, and the chat works in a browser now, on my phone too");
  await carol.send("/me waves from the train\n");
  await shown("** carol waves from the train");
  await carol.send("alice, what's the address?\n");
  await shown("carol: alice, what's the address?");
  await page.typeLine("http://chat.lan:8080/ (nothing to install)");
  await shown("alice: http://chat.lan:8080/ (nothing to install)");
  await bob.send("/msg alice lunch at one?\n");
  await shown("(private) bob: lunch at one?");
  await page.typeLine("/msg bob sure, see you there");
  await shown("(private to bob) alice: sure, see you there");
  await bob.send("does <b>this</b> render?\n");
  await shown("bob: does <b>this</b> render?");
  await carol.send("nope, plain text, as it should be\n");
  await shown("carol: nope, plain text, as it should be");
  await page.typeLine("/nik alicia");
  await shown("! Unknown command: /nik (type /help)");
  await page.waitFor(`document.querySelectorAll("#rooms button").length === 2`, "two rooms");
  await page.evaluate(`document.activeElement.blur()`);

  await Deno.mkdir(new URL(".", `file://${out}`), { recursive: true });
  await Deno.writeFile(out, await page.screenshot());
  console.log(`Wrote ${out}`);
}

if (import.meta.main) {
  await main(Deno.args);
}
