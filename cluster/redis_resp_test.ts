import assert from "node:assert/strict";
import { RedisError, RedisProtocolError } from "./redis_errors.ts";
import {
  DEFAULT_MAX_BULK_BYTES,
  encodeCommand,
  MAX_LINE_BYTES,
  type RedisReply,
  ReplyParser,
  textReply,
} from "./redis_resp.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A small deterministic random source, so a failing split can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

Deno.test("commands are encoded as RESP arrays of bulk strings, lengths in UTF-8 bytes", () => {
  assert.equal(
    decoder.decode(encodeCommand(["SET", "k", "héllo", 42])),
    "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\nhéllo\r\n$2\r\n42\r\n",
  );
  assert.throws(() => encodeCommand(["PEXPIRE", "k", NaN]), /NaN is not a finite number/);
});

Deno.test("a Uint8Array argument is sent as its bytes, whatever they are", () => {
  const bytes = new Uint8Array([0xff, 0x00, 0x0d, 0x0a, 0x80]);
  const encoded = encodeCommand(["SET", "k", bytes]);
  const head = encoder.encode("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n");
  assert.deepEqual(encoded.subarray(0, head.length), head);
  assert.deepEqual(encoded.subarray(head.length), new Uint8Array([...bytes, 0x0d, 0x0a]));
});

/** Every kind of RESP2 reply, nested, with a multi-byte character to split. */
const SAMPLE =
  "+OK\r\n-ERR wrong type\r\n:42\r\n:-7\r\n$5\r\nhé\r\n\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n" +
  "*3\r\n$3\r\nabc\r\n*2\r\n:1\r\n*1\r\n+deep\r\n$-1\r\n+PONG\r\n";
const SAMPLE_REPLIES: RedisReply[] = [
  "OK",
  new RedisError("ERR wrong type"),
  42,
  -7,
  "hé\r\n",
  "",
  null,
  null,
  [],
  ["abc", [1, ["deep"]], null],
  "PONG",
];

Deno.test("the reply parser reads every RESP2 type, errors as values in their place", () => {
  const replies = new ReplyParser().feed(encoder.encode(SAMPLE));
  assert.deepEqual(replies, SAMPLE_REPLIES);
  const error = replies[1];
  assert.ok(error instanceof RedisError);
  assert.equal(error.code, "ERR");
});

Deno.test("the reply parser gives the same replies fed byte by byte and in random splits", () => {
  const bytes = encoder.encode(SAMPLE);
  const parser = new ReplyParser();
  const oneByOne: RedisReply[] = [];
  for (let i = 0; i < bytes.length; i++) oneByOne.push(...parser.feed(bytes.subarray(i, i + 1)));
  assert.deepEqual(oneByOne, SAMPLE_REPLIES);

  for (let seed = 1; seed <= 200; seed++) {
    const next = random(seed);
    const split = new ReplyParser();
    const replies: RedisReply[] = [];
    let at = 0;
    while (at < bytes.length) {
      const size = 1 + Math.floor(next() * 12);
      replies.push(...split.feed(bytes.subarray(at, at + size)));
      at += size;
    }
    assert.deepEqual(replies, SAMPLE_REPLIES, `seed ${seed}`);
  }
});

Deno.test("the reply parser refuses oversize and malformed replies before buffering them", () => {
  const refuse = (input: string | Uint8Array, message: RegExp, limits = {}) => {
    const parser = new ReplyParser(limits);
    const bytes = typeof input === "string" ? encoder.encode(input) : input;
    assert.throws(() => parser.feed(bytes), (error: Error) => {
      assert.ok(error instanceof RedisProtocolError, String(error));
      assert.match(error.message, message);
      return true;
    });
    // Broken for good: the connection it belongs to is closed.
    assert.throws(() => parser.feed(encoder.encode("+OK\r\n")), RedisProtocolError);
  };
  refuse(
    `$${DEFAULT_MAX_BULK_BYTES + 1}\r\n`,
    /bulk string of 16777217 bytes is over the limit of 16777216/,
  );
  refuse("$11\r\n", /bulk string of 11 bytes is over the limit of 10/, { maxBulkBytes: 10 });
  refuse("*1000001\r\n", /array of 1000001 elements is over the limit of 1000000/);
  refuse("*3\r\n", /array of 3 elements is over the limit of 2/, { maxArrayLength: 2 });
  refuse("*1\r\n".repeat(9), /nests arrays deeper than 8/);
  refuse("+OK\n", /does not end in \\r\\n/);
  refuse("!3\r\n", /begins with "!"/);
  refuse(":12a\r\n", /integer "12a" is not a number/);
  refuse("$-2\r\n", /bulk string of -2 bytes/);
  refuse("$3\r\nabcde", /not followed by \\r\\n/);
  // A line that never ends is refused once it passes the limit, not buffered for ever.
  refuse(new Uint8Array(MAX_LINE_BYTES + 1).fill(0x2b), /line is over 65536 bytes/);

  // Eight deep is allowed.
  assert.deepEqual(
    new ReplyParser().feed(encoder.encode("*1\r\n".repeat(8) + ":1\r\n")),
    [[[[[[[[[1]]]]]]]]],
  );
  // Replies completed before the bad bytes are kept with the error, so they reach their commands.
  assert.throws(() => new ReplyParser().feed(encoder.encode("+OK\r\n:1\r\n?\r\n")), (error) => {
    assert.ok(error instanceof RedisProtocolError);
    assert.deepEqual(error.parsed, ["OK", 1]);
    return true;
  });
});

Deno.test("feedBytes keeps bulk strings as the bytes sent, however split; textReply decodes them", () => {
  const value = new Uint8Array([0xc3, 0xa9, 0xff, 0x0d, 0x0a, 0x80]);
  const input = new Uint8Array([
    ...encoder.encode("*2\r\n$6\r\n"),
    ...value,
    ...encoder.encode("\r\n:1\r\n$-1\r\n+OK\r\n"),
  ]);
  const wanted = [[value, 1], null, "OK"];
  assert.deepEqual(new ReplyParser().feedBytes(input), wanted);
  const parser = new ReplyParser();
  const oneByOne = [];
  for (let i = 0; i < input.length; i++) {
    oneByOne.push(...parser.feedBytes(input.subarray(i, i + 1)));
  }
  assert.deepEqual(oneByOne, wanted);
  // As text, the same replies feed() gives.
  assert.deepEqual(oneByOne.map(textReply), new ReplyParser().feed(input));
  assert.deepEqual(textReply(oneByOne[0]!), [decoder.decode(value), 1]);
});
