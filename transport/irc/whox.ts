/**
 * WHOX (IRCv3's extended WHO): `WHO mask %fields[,token]` is answered with one
 * RPL_WHOSPCRPL (354) per member, carrying the fields asked for, always in the
 * order `tcuihsnfdlaor` whatever order they were asked in:
 *
 * ```
 * WHO alice %tnaf,42   →   :srv 354 me 42 alice H 0
 * ```
 *
 * The chat tells nobody where a member connects from, has no accounts, hops
 * or idle times: the IP is `255.255.255.255`, the host `chat`, the account,
 * hop count and idle time `0`, the op level `n/a`.
 *
 * @module
 */

import { MEMBER_HOST, type SessionState } from "./session_state.ts";

/** The fields WHOX knows, in the order a reply gives them. */
export const WHOX_FIELDS = "tcuihsnfdlaor";
/** The IP told for every member: the chat tells nobody where anyone connects from. */
export const HIDDEN_IP = "255.255.255.255";

/** What a WHOX question asks for. */
export interface WhoxQuery {
  /** The fields asked for, in WHOX_FIELDS' order, each once. */
  fields: string;
  /** The token the client gave after the comma (for `t`), or `0`. */
  token: string;
}

/**
 * Reads WHO's second parameter: a WHOX query when it starts with `%`, else null.
 *
 * @example
 * ```ts
 * import { parseWhox } from "./whox.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseWhox("%nt,7"), { fields: "tn", token: "7" });
 * assert.equal(parseWhox("o"), null);
 * ```
 */
export function parseWhox(param: string | undefined): WhoxQuery | null {
  if (param === undefined || !param.startsWith("%")) return null;
  const comma = param.indexOf(",");
  const asked = param.slice(1, comma === -1 ? undefined : comma);
  const token = comma === -1 ? "" : param.slice(comma + 1);
  const fields = [...WHOX_FIELDS].filter((field) => asked.includes(field)).join("");
  return { fields, token: token === "" ? "0" : token };
}

/** The parameters of one 354 (after the asker's nick) for the member `name` seen in `channel`. */
export function whoxParams(
  s: SessionState,
  query: WhoxQuery,
  channel: string,
  name: string,
  operator: boolean,
): string[] {
  const user = s.userOf(name);
  const values: Record<string, string> = {
    t: query.token,
    c: channel,
    u: user.user,
    i: HIDDEN_IP,
    h: MEMBER_HOST,
    s: s.host.serverName,
    n: name,
    f: s.whoFlags(name, operator),
    d: "0",
    l: "0",
    a: "0",
    o: "n/a",
    r: user.realname,
  };
  return [...query.fields].map((field) => values[field] as string);
}
