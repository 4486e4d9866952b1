import assert from "node:assert/strict";
import {
  CONTENT_SECURITY_POLICY,
  normalizeOrigin,
  originAllowed,
  parseRequestHead,
  responseHead,
} from "./web_http.ts";

Deno.test("the policy allows no inline or foreign script and no framing", () => {
  assert.equal(
    CONTENT_SECURITY_POLICY,
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
      "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
});

Deno.test("a request head is read, and a malformed one is not", () => {
  const head = parseRequestHead("GET /x?y=1 HTTP/1.1\r\nHost: a\r\nAccept: b\r\naccept:  c ");
  assert.equal(head?.method, "GET");
  assert.equal(head?.path, "/x");
  assert.equal(head?.minorVersion, 1);
  assert.equal(head?.headers.get("accept"), "b, c");
  for (
    const bad of [
      "",
      "GET /",
      "GET / HTTP/2.0",
      "GET  / HTTP/1.1",
      "GET / HTTP/1.1\r\nno colon",
      "GET / HTTP/1.1\r\nHost: a\r\n folded",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b",
      "G(T / HTTP/1.1",
    ]
  ) {
    assert.equal(parseRequestHead(bad), null, JSON.stringify(bad));
  }
});

Deno.test("an upgrade is let in from no origin, the page's own, or a listed one", () => {
  const listed = new Set([normalizeOrigin("https://chat.example.org/") as string]);
  const cases: [string | undefined, string | undefined, boolean, boolean][] = [
    // [Origin, Host, over TLS, allowed]
    [undefined, "127.0.0.1:8080", false, true],
    ["http://127.0.0.1:8080", "127.0.0.1:8080", false, true],
    ["http://LOCALHOST:8080", "localhost:8080", false, true],
    ["http://[::1]:8080", "[::1]:8080", false, true],
    ["http://192.168.1.5", "192.168.1.5:80", false, true],
    ["https://chat.lan", "chat.lan", true, true],
    ["https://chat.lan:8443", "chat.lan:8443", true, true],
    ["https://chat.example.org", "10.0.0.1:8443", true, true],
    // Another site, another port, another scheme:
    ["http://evil.example", "127.0.0.1:8080", false, false],
    ["http://127.0.0.1:8081", "127.0.0.1:8080", false, false],
    ["https://127.0.0.1:8080", "127.0.0.1:8080", false, false],
    ["http://chat.lan", "chat.lan", true, false],
    // A name over plain HTTP: a rebinding page elsewhere would look just like it.
    ["http://chat.lan:8080", "chat.lan:8080", false, false],
    ["null", "127.0.0.1:8080", false, false],
    ["http://127.0.0.1:8080/path", "127.0.0.1:8080", false, false],
    ["http://127.0.0.1:8080", undefined, false, false],
  ];
  for (const [origin, host, secure, allowed] of cases) {
    assert.equal(originAllowed(origin, host, secure, listed), allowed, `${origin} at ${host}`);
  }
});

Deno.test("every status the web side answers with has its words in the status line", () => {
  for (
    const status of [200, 201, 400, 403, 404, 405, 408, 411, 413, 416, 426, 429, 431, 501, 503, 507]
  ) {
    const head = responseHead(status, "text/plain", 0);
    assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} [A-Z][A-Za-z ]+\\r\\n`));
    assert.doesNotMatch(head, /undefined/);
  }
});
