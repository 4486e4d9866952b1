/**
 * The IRC door under the chat's limits: a client that stops reading is cut
 * like any member, its room hears why, and the client, if it ever reads
 * again, finds IRC's `ERROR :Closing Link: too slow` after the last lines it
 * was sent.
 */

import assert from "node:assert/strict";
import { LEAK_CHECKS, Peer, WAIT_MS } from "../test/test_helpers.ts";
import { ircJoin, withIrcServer } from "../test/irc_test_helpers.ts";

Deno.test({
  name: "an IRC client that stops reading is cut as too slow and told so last",
  ...LEAK_CHECKS,
  fn: () =>
    withIrcServer(["--rate", "0", "--max-queue-bytes", "65536"], async (server) => {
      await using carol = await Peer.join(server.port, "carol");
      const [slow] = await ircJoin(server.ircPort, "slow");
      await using _ = slow;
      await carol.readUntil("* slow joined the chat");
      // Carol talks until the server gives up on the client that does not read.
      const line = "x".repeat(900);
      let cut = false;
      for (let round = 0; round < 400 && !cut; round++) {
        await carol.send(`${round} ${line}\n`.repeat(50));
        for (let heard = 0; heard < 50; heard++) {
          const got = await carol.readLine();
          if (got === "* slow left the chat (too slow)") cut = true;
        }
      }
      assert.ok(cut, "the client that does not read was never cut");
      // All it was sent, then why it was closed, then the end.
      const tail = await slow.expectClosed(4 * WAIT_MS);
      assert.equal(tail.at(-1), "ERROR :Closing Link: too slow");
    }),
});
