/**
 * The IRC door with a real IRC client: irssi in a tmux terminal, beside a
 * line member. irssi gets a fresh home folder whose config connects it to
 * the server's IRC port with its nick and joins #lobby.
 */

import assert from "node:assert/strict";
import { LEAK_CHECKS, Peer, startServer } from "../test/test_helpers.ts";
import { TmuxTerminal } from "../test/terminal_test_helpers.ts";

/** irssi's config: one server, autoconnected, with #lobby to join; nothing saved. */
function irssiConfig(port: number, nick: string): string {
  return `servers = (
  { address = "127.0.0.1"; chatnet = "chat"; port = "${port}"; autoconnect = "yes"; use_tls = "no"; }
);
chatnets = { chat = { type = "IRC"; }; };
channels = ( { name = "#lobby"; chatnet = "chat"; autojoin = "yes"; } );
settings = {
  core = {
    real_name = "Irssi Tester";
    user_name = "${nick}";
    nick = "${nick}";
    settings_autosave = "no";
  };
  "fe-common/core" = { autocreate_query_level = "none"; };
  # irssi's own flood control sends a command each 2.2 s after the first five: not in a test.
  "irc/core" = { cmd_queue_speed = "0msec"; cmds_max_at_once = "100"; };
};
`;
}

Deno.test({
  name: "irssi in #lobby and a line member read each other's lines and private messages",
  ...LEAK_CHECKS,
  async fn() {
    await using server = await startServer(["--quiet", "--no-web"]);
    await using bob = await Peer.join(server.port, "bob");
    const home = await Deno.makeTempDir({ prefix: "chat-irssi-" });
    try {
      await Deno.writeTextFile(
        `${home}/config`,
        irssiConfig(server.ircPort as number, "irssiuser"),
      );
      await using term = await TmuxTerminal.start(["irssi", `--home=${home}`], {
        columns: 120,
        rows: 30,
      });
      await bob.expect("* irssiuser joined the chat");
      // irssi opened #lobby's window (its window 2) when the door said it joined.
      await term.waitForText("Act: 2", 10_000);
      await term.type("/window 2");
      await term.sendKeys("Enter");
      await term.waitForText("[#lobby]");
      await bob.send("hello from the line\n");
      await bob.expect("bob: hello from the line");
      await term.waitForText("hello from the line");
      const rows = await term.screen();
      assert.ok(rows.some((row) => /<.?bob> hello from the line/.test(row)), rows.join("\n"));

      await term.type("hello from irssi");
      await term.sendKeys("Enter");
      await bob.expect("irssiuser: hello from irssi");

      await term.type("/msg bob a word in private");
      await term.sendKeys("Enter");
      await bob.expect("(private) irssiuser: a word in private");

      await bob.send("/msg irssiuser and one back\n");
      await bob.expect("(private to irssiuser) bob: and one back");
      // With no query windows, irssi shows private messages in its first window.
      await term.type("/window 1");
      await term.sendKeys("Enter");
      const shown = await term.waitForText("and one back");
      assert.ok(shown.some((row) => /bob.*and one back/.test(row)), shown.join("\n"));

      await term.type("/quit");
      await term.sendKeys("Enter");
      await bob.expect("* irssiuser left the chat (leaving)");
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
