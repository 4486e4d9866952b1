import assert from "node:assert/strict";
import { LEAK_CHECKS, Peer } from "../../test/test_helpers.ts";
import { ircJoin, sendIrc, syncIrc, withIrc } from "../../test/irc_test_helpers.ts";
import { parseWhox } from "./whox.ts";

Deno.test("a WHOX query keeps the fields it knows, in WHOX's order, and its token", () => {
  assert.deepEqual(parseWhox("%rnt,123"), { fields: "tnr", token: "123" });
  assert.deepEqual(parseWhox("%tcuihsnfdlaorxyz"), { fields: "tcuihsnfdlaor", token: "0" });
  assert.equal(parseWhox(undefined), null);
  assert.equal(parseWhox("o"), null);
});

Deno.test({
  name: "WHO with %fields is answered with 354s in WHOX's order, for a nick and a channel",
  ...LEAK_CHECKS,
  fn: () =>
    withIrc(async (port, linePort) => {
      await using _bob = await Peer.join(linePort, "bob");
      const [alice, welcome] = await ircJoin(port, "alice");
      await using _ = alice;
      assert.ok(welcome.some((line) => / 005 alice .*\bWHOX\b/.test(line)), welcome.join("\n"));
      await sendIrc(alice, "WHO alice %rnfaut,42", "WHO #lobby %n", "WHO bob %tcuihsnfdlaor");
      assert.deepEqual(await syncIrc(alice), [
        ":irc.test 354 alice 42 alice alice H 0 :alice the tester",
        ":irc.test 315 alice alice :End of /WHO list",
        ":irc.test 354 alice :bob",
        ":irc.test 354 alice :alice",
        ":irc.test 315 alice #lobby :End of /WHO list",
        ":irc.test 354 alice 0 * bob 255.255.255.255 chat irc.test bob H 0 0 0 n/a :bob",
        ":irc.test 315 alice bob :End of /WHO list",
      ]);
    }),
});
