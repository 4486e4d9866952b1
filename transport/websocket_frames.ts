/**
 * WebSocket (RFC 6455) frames, the server's side, with no sockets: the
 * handshake's accept key, the frame encoders, a streaming
 * {@linkcode FrameReader} and the protocol's constants. The link that
 * carries them over an upgraded socket is in `websocket.ts`.
 *
 * Text messages carry the chat's lines. The reader passes a message's bytes
 * on as they arrive, however long the message is, and ends each message with
 * a `\n` unless its last byte is one, so the core's line framer sees an
 * ordinary byte stream and bounds lines as it does for TCP:
 *
 * ```ts
 * import { encodeFrame, FrameReader, OPCODE } from "./websocket_frames.ts";
 * const frame = encodeFrame(OPCODE.text, new TextEncoder().encode("hi"), { mask: true });
 * const { text } = new FrameReader().read(frame);
 * console.assert(new TextDecoder().decode(text) === "hi\n");
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The GUID that RFC 6455 (section 1.3) appends to a client's key before hashing it. */
const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Frame opcodes (RFC 6455, section 5.2). */
export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close status codes this side sends (RFC 6455, section 7.4.1). */
export const CLOSE_CODE = {
  /** The conversation is over. */
  normal: 1000,
  /** A frame broke the protocol's rules. */
  protocolError: 1002,
  /** A binary message: the chat speaks text. */
  unsupportedData: 1003,
  /** A close frame without a status code: never sent, only reported. */
  noStatus: 1005,
  /** A text message that is not UTF-8. */
  invalidData: 1007,
} as const;

/** The longest frame header: 2 bytes, an 8-byte length and a 4-byte mask key. */
export const MAX_HEADER_BYTES = 14;
/** The longest control frame payload the protocol allows (RFC 6455, section 5.5). */
export const MAX_CONTROL_PAYLOAD_BYTES = 125;
/** Lengths up to this go in the 7-bit field; 126 and 127 announce a longer field. */
const MAX_SHORT_LENGTH = 125;
/** Lengths up to this go in the 16-bit field. */
const MAX_MEDIUM_LENGTH = 0xffff;
/** The high half of a 64-bit length must stay below this: the length must be below 2^53. */
const LENGTH_HIGH_LIMIT = 0x200000;
const LF = 0x0a;
const EMPTY = new Uint8Array(0);
/** The mask key's bytes, for the reader's loop: one for all readers, as reading never waits. */
const MASK = new Uint8Array(4);
const encoder = new TextEncoder();

/** The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`. */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + HANDSHAKE_GUID).digest("base64");
}

/** How a frame is built by {@linkcode encodeFrame}. */
export interface FrameOptions {
  /** Whether this frame ends its message. @default {true} */
  fin?: boolean;
  /** Masks the payload with a random key, as a client must. @default {false} */
  mask?: boolean;
}

/** One frame: a header and the payload (masked if asked), in one buffer. */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  options: FrameOptions = {},
): Uint8Array {
  const length = payload.length;
  const extended = length <= MAX_SHORT_LENGTH ? 0 : length <= MAX_MEDIUM_LENGTH ? 2 : 8;
  const maskBytes = options.mask ? 4 : 0;
  const start = 2 + extended + maskBytes;
  const frame = new Uint8Array(start + length);
  frame[0] = (options.fin === false ? 0 : 0x80) | (opcode & 0x0f);
  const maskBit = options.mask ? 0x80 : 0;
  if (extended === 0) {
    frame[1] = maskBit | length;
  } else if (extended === 2) {
    frame[1] = maskBit | 126;
    frame[2] = length >>> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = maskBit | 127;
    const view = new DataView(frame.buffer);
    view.setUint32(2, Math.floor(length / 2 ** 32));
    view.setUint32(6, length >>> 0);
  }
  frame.set(payload, start);
  if (options.mask) {
    const key = crypto.getRandomValues(new Uint8Array(4));
    frame.set(key, start - 4);
    for (let i = 0; i < length; i++) {
      frame[start + i] = (frame[start + i] as number) ^ (key[i & 3] as number);
    }
  }
  return frame;
}

/** A server's text frame holding `payload`, unmasked, in one message. */
export function encodeTextFrame(payload: Uint8Array): Uint8Array {
  return encodeFrame(OPCODE.text, payload);
}

/** A close frame with a status code and a reason (cut to fit the 125 bytes a control frame has). */
export function encodeCloseFrame(code: number, reason = ""): Uint8Array {
  const bytes = encoder.encode(reason);
  let end = Math.min(bytes.length, MAX_CONTROL_PAYLOAD_BYTES - 2);
  // Cut between characters: the reason must stay UTF-8.
  while (end < bytes.length && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  const text = bytes.subarray(0, end);
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return encodeFrame(OPCODE.close, payload);
}

/** A ping frame; the peer answers with a pong holding the same payload. */
export function encodePingFrame(payload: Uint8Array = EMPTY): Uint8Array {
  return encodeFrame(OPCODE.ping, payload);
}

/** The status code and reason of a close frame, received or to be sent. */
export interface CloseFrame {
  /** The status code; {@linkcode CLOSE_CODE.noStatus} when the frame had none. */
  code: number;
  /** Why, in words; may be empty. */
  reason: string;
}

/** What one chunk held, as {@linkcode FrameReader.read} returns it. */
export interface FrameChunk {
  /** The chunk's text payload bytes, unmasked, with a `\n` ending each message that lacked one. */
  text: Uint8Array;
  /** The payload of the chunk's last ping, for the pong that answers it. */
  ping: Uint8Array | null;
  /** The peer's close frame: the conversation is over, and nothing more is read. */
  close: CloseFrame | null;
  /** A broken rule, and the close to send for it: nothing more is read. */
  failure: CloseFrame | null;
  /** Whether a pong came. */
  pong: boolean;
}

/** Whether `code` may appear in a close frame (RFC 6455, section 7.4). */
function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/** The length of a client frame's header, from its second byte (a client's frames are masked). */
function headerLength(second: number): number {
  const length = second & 0x7f;
  return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + 4;
}

function uint32(bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) |
    ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number)) >>> 0;
}

/**
 * Reads a client's frames from raw chunks, as they come. It holds at most one
 * frame header (14 bytes) and one control frame's payload (125 bytes) between
 * chunks; a text message's bytes are unmasked in place and passed on, never
 * assembled, so a message of any length costs no memory here. Each message
 * ends with a `\n` unless its last byte is one: `hi` reads as `hi\n`, `a\nb`
 * as `a\nb\n`, and `a\n` stays `a\n`. UTF-8 is checked as the bytes pass.
 * After a close frame or a broken rule it reads nothing more.
 */
export class FrameReader {
  /** A header cut across chunks, while it is. */
  #header: Uint8Array | null = null;
  #headerBytes = 0;
  /** Whether a frame's payload is being read (else a header is). */
  #inPayload = false;
  #opcode = 0;
  #fin = false;
  /** Payload bytes of the current frame not read yet. */
  #remaining = 0;
  #maskKey = 0;
  /** Payload bytes of the current frame read so far, for the mask's phase. */
  #maskAt = 0;
  /**
   * Room for a control frame's payload, while one is read: made at most once
   * per chunk and let go at its end unless a control frame is cut across
   * chunks, so a flood of small control frames allocates nothing per frame.
   */
  #control: Uint8Array | null = null;
  #controlBytes = 0;
  /** The latest whole ping's payload in this chunk, and its length (-1: none yet). */
  #ping: Uint8Array | null = null;
  #pingBytes = -1;
  /** Whether a text message is under way (its last frame has not ended). */
  #inMessage = false;
  #endsWithNewline = false;
  /** UTF-8: continuation bytes still due, and the range the next one must be in. */
  #utf8Due = 0;
  #utf8Low = 0x80;
  #utf8High = 0xbf;
  #done = false;

  /** Bytes held between chunks: a cut header and a control payload; never over 139. */
  get bufferedBytes(): number {
    return (this.#header?.length ?? 0) + (this.#control === null ? 0 : this.#controlBytes);
  }

  /** Whether reading is over: a close frame came, or a rule was broken. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Reads the next raw chunk. The chunk is unmasked in place and the text
   * returned is usually a view of it; it is the reader's to overwrite.
   */
  read(chunk: Uint8Array): FrameChunk {
    const result: FrameChunk = {
      text: EMPTY,
      ping: null,
      close: null,
      failure: null,
      pong: false,
    };
    let out = chunk;
    let written = 0;
    let at = 0;
    while (!this.#done) {
      if (!this.#inPayload) {
        if (at >= chunk.length) break;
        at = this.#readHeader(chunk, at, result);
        if (!this.#inPayload) break;
      }
      const count = Math.min(this.#remaining, chunk.length - at);
      if (this.#opcode >= OPCODE.close) {
        this.#readControl(chunk, at, count, result);
        at += count;
        // Unless the frame is whole, the chunk is used up.
        if (this.#remaining > 0) break;
        continue;
      }
      written = this.#readText(chunk, at, count, out, written, result);
      at += count;
      if (this.#done || this.#remaining > 0) break;
      this.#inPayload = false;
      if (!this.#fin) continue;
      // The message ends here.
      this.#inMessage = false;
      if (this.#utf8Due > 0) {
        this.#fail(result, CLOSE_CODE.invalidData, "a text message ends inside a character");
        break;
      }
      if (this.#endsWithNewline) continue;
      if (out === chunk && written === at) {
        // No header was taken out of this chunk yet to make room for the newline.
        // Every later message that ends in this chunk has its header (6 bytes at
        // least) in it, making room for its own: one more byte is enough.
        out = new Uint8Array(chunk.length + 1);
        out.set(chunk.subarray(0, written));
      }
      out[written++] = LF;
    }
    if (written > 0) result.text = out.subarray(0, written);
    if (this.#pingBytes >= 0) {
      result.ping = (this.#ping as Uint8Array).slice(0, this.#pingBytes);
      this.#pingBytes = -1;
    }
    // Idle connections are many: the room is kept only for a control frame cut across chunks.
    this.#ping = null;
    if (!this.#inPayload || this.#opcode < OPCODE.close) this.#control = null;
    return result;
  }

  /** Reads a frame header at `at`; returns where reading goes on. */
  #readHeader(chunk: Uint8Array, at: number, result: FrameChunk): number {
    if (this.#header === null && chunk.length - at >= 2) {
      if (!this.#check(chunk[at] as number, chunk[at + 1] as number, result)) return chunk.length;
      const length = headerLength(chunk[at + 1] as number);
      if (chunk.length - at >= length) {
        this.#startFrame(chunk, at, result);
        return at + length;
      }
    }
    // The header is cut across chunks: its bytes wait here.
    const header = this.#header ??= new Uint8Array(MAX_HEADER_BYTES);
    while (at < chunk.length) {
      header[this.#headerBytes++] = chunk[at++] as number;
      if (this.#headerBytes < 2) continue;
      if (
        this.#headerBytes === 2 && !this.#check(header[0] as number, header[1] as number, result)
      ) {
        return chunk.length;
      }
      if (this.#headerBytes === headerLength(header[1] as number)) {
        this.#header = null;
        this.#headerBytes = 0;
        this.#startFrame(header, 0, result);
        break;
      }
    }
    return at;
  }

  /** Checks what a header's first two bytes say; false once a rule is broken. */
  #check(first: number, second: number, result: FrameChunk): boolean {
    const opcode = first & 0x0f;
    const fin = (first & 0x80) !== 0;
    if ((first & 0x70) !== 0) {
      return this.#fail(result, CLOSE_CODE.protocolError, "reserved bits set without an extension");
    }
    if ((second & 0x80) === 0) {
      return this.#fail(result, CLOSE_CODE.protocolError, "a client frame is not masked");
    }
    switch (opcode) {
      case OPCODE.text:
        if (this.#inMessage) {
          return this.#fail(
            result,
            CLOSE_CODE.protocolError,
            "a new message inside a fragmented one",
          );
        }
        return true;
      case OPCODE.continuation:
        if (!this.#inMessage) {
          return this.#fail(result, CLOSE_CODE.protocolError, "a continuation with no message");
        }
        return true;
      case OPCODE.binary:
        return this.#fail(result, CLOSE_CODE.unsupportedData, "binary messages are not supported");
      case OPCODE.close:
      case OPCODE.ping:
      case OPCODE.pong:
        if (!fin) return this.#fail(result, CLOSE_CODE.protocolError, "a fragmented control frame");
        if ((second & 0x7f) > MAX_CONTROL_PAYLOAD_BYTES) {
          return this.#fail(result, CLOSE_CODE.protocolError, "a control frame over 125 bytes");
        }
        return true;
      default:
        return this.#fail(result, CLOSE_CODE.protocolError, `unknown opcode ${opcode}`);
    }
  }

  /** Takes in a whole, checked header from `bytes` at `at`. */
  #startFrame(bytes: Uint8Array, at: number, result: FrameChunk): void {
    const first = bytes[at] as number;
    let length = (bytes[at + 1] as number) & 0x7f;
    let position = at + 2;
    if (length === 126) {
      length = ((bytes[position] as number) << 8) | (bytes[position + 1] as number);
      position += 2;
    } else if (length === 127) {
      const high = uint32(bytes, position);
      if (high >= LENGTH_HIGH_LIMIT) {
        this.#fail(result, CLOSE_CODE.protocolError, "a frame length of 2^53 or more");
        return;
      }
      length = high * 2 ** 32 + uint32(bytes, position + 4);
      position += 8;
    }
    this.#maskKey = uint32(bytes, position);
    this.#maskAt = 0;
    this.#opcode = first & 0x0f;
    this.#fin = (first & 0x80) !== 0;
    this.#remaining = length;
    this.#inPayload = true;
    if (this.#opcode === OPCODE.text) {
      this.#inMessage = true;
      this.#endsWithNewline = false;
    }
    if (this.#opcode >= OPCODE.close) {
      this.#control ??= new Uint8Array(MAX_CONTROL_PAYLOAD_BYTES);
      this.#controlBytes = 0;
    }
  }

  /** The next byte of the mask key, for the payload byte at `#maskAt`. */
  #unmask(byte: number): number {
    return byte ^ ((this.#maskKey >>> ((3 - (this.#maskAt++ & 3)) << 3)) & 0xff);
  }

  /**
   * Unmasks `count` text bytes from `chunk` at `at` into `out` at `written`
   * (the same buffer, or a bigger copy), checking UTF-8; returns the new end.
   */
  #readText(
    chunk: Uint8Array,
    at: number,
    count: number,
    out: Uint8Array,
    written: number,
    result: FrameChunk,
  ): number {
    if (count === 0) return written;
    const mask = MASK;
    const key = this.#maskKey;
    mask[0] = key >>> 24;
    mask[1] = key >>> 16;
    mask[2] = key >>> 8;
    mask[3] = key;
    let phase = this.#maskAt;
    let due = this.#utf8Due;
    let low = this.#utf8Low;
    let high = this.#utf8High;
    const end = at + count;
    let byte = 0;
    for (let i = at; i < end; i++) {
      byte = (chunk[i] as number) ^ (mask[phase++ & 3] as number);
      if (due === 0) {
        if (byte >= 0x80) {
          if (byte >= 0xc2 && byte <= 0xdf) {
            due = 1;
          } else if (byte >= 0xe0 && byte <= 0xef) {
            due = 2;
            // No overlong forms (E0 A0..), no surrogates (ED ..9F).
            if (byte === 0xe0) low = 0xa0;
            else if (byte === 0xed) high = 0x9f;
          } else if (byte >= 0xf0 && byte <= 0xf4) {
            due = 3;
            // No overlong forms (F0 90..), nothing above U+10FFFF (F4 ..8F).
            if (byte === 0xf0) low = 0x90;
            else if (byte === 0xf4) high = 0x8f;
          } else {
            return this.#badUtf8(result, written);
          }
        }
      } else if (byte < low || byte > high) {
        return this.#badUtf8(result, written);
      } else {
        due--;
        low = 0x80;
        high = 0xbf;
      }
      out[written++] = byte;
    }
    this.#maskAt = phase;
    this.#utf8Due = due;
    this.#utf8Low = low;
    this.#utf8High = high;
    this.#remaining -= count;
    this.#endsWithNewline = byte === LF;
    return written;
  }

  #badUtf8(result: FrameChunk, written: number): number {
    this.#fail(result, CLOSE_CODE.invalidData, "a text message is not valid UTF-8");
    return written;
  }

  /** Reads `count` bytes of a control frame's payload; handles the frame once it is whole. */
  #readControl(chunk: Uint8Array, at: number, count: number, result: FrameChunk): void {
    const room = this.#control as Uint8Array;
    for (let i = 0; i < count; i++) {
      room[this.#controlBytes++] = this.#unmask(chunk[at + i] as number);
    }
    this.#remaining -= count;
    if (this.#remaining > 0) return;
    this.#inPayload = false;
    const payload = room.subarray(0, this.#controlBytes);
    if (this.#opcode === OPCODE.ping) {
      // Only the chunk's last ping is answered: its payload is copied out once the chunk is read.
      (this.#ping ??= new Uint8Array(MAX_CONTROL_PAYLOAD_BYTES)).set(payload);
      this.#pingBytes = payload.length;
    } else if (this.#opcode === OPCODE.close) {
      this.#readClose(payload, result);
    } else {
      result.pong = true;
    }
  }

  #readClose(payload: Uint8Array, result: FrameChunk): void {
    if (payload.length === 1) {
      this.#fail(result, CLOSE_CODE.protocolError, "a close frame with a 1-byte payload");
      return;
    }
    if (payload.length === 0) {
      result.close = { code: CLOSE_CODE.noStatus, reason: "" };
      this.#done = true;
      return;
    }
    const code = ((payload[0] as number) << 8) | (payload[1] as number);
    if (!isValidCloseCode(code)) {
      this.#fail(result, CLOSE_CODE.protocolError, `a close frame with status code ${code}`);
      return;
    }
    let reason: string;
    try {
      reason = new TextDecoder("utf-8", { fatal: true }).decode(payload.subarray(2));
    } catch {
      this.#fail(result, CLOSE_CODE.invalidData, "a close reason that is not valid UTF-8");
      return;
    }
    result.close = { code, reason };
    this.#done = true;
  }

  /** Notes a broken rule; reading stops. Returns false, for the checks. */
  #fail(result: FrameChunk, code: number, reason: string): false {
    result.failure = { code, reason };
    this.#done = true;
    this.#header = null;
    this.#control = null;
    return false;
  }
}

/** A WebSocket peer broke the protocol's rules; `closeCode` is the status it was sent. */
export class WebSocketError extends Error {
  /** The close status code sent for it. */
  readonly closeCode: number;

  /** Makes the error for a close with `closeCode` and `reason`. */
  constructor(closeCode: number, reason: string) {
    super(`WebSocket closed with ${closeCode}: ${reason}`);
    this.name = "WebSocketError";
    this.closeCode = closeCode;
  }
}
