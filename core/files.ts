/**
 * Sharing files: `/upload` (to the room) and `/upload NAME` (privately) give
 * a member a one-time upload address; the file itself comes over HTTP to the
 * page's port (the web transport hands it here as an {@linkcode Upload}), is
 * kept whole in a {@linkcode FileStore}, and only then is its link posted.
 * `/files` lists a room's files and `/unshare` removes one. Downloads are
 * looked up here too ({@linkcode FileSharing.open}); how they are served
 * (types, headers, ranges) is the transport's.
 *
 * What a stranger can make the server hold is bounded: an upload address is
 * 128 random bits, good for one file, for {@linkcode UPLOAD_TOKEN_MS}, and
 * only while its member is connected; a member may ask for
 * {@linkcode UPLOADS_PER_HOUR} an hour and have {@linkcode UPLOADS_AT_ONCE}
 * uploads under way; every upload reserves its length in the store's quota
 * before its first byte is kept.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { cleanFileName, limitText, pictureType, sizeText } from "./file_kinds.ts";
import { FILE_ID, type FileStore, type SharedFile } from "./file_store.ts";
import { describe } from "./helpers.ts";
import type { Hub } from "./hub.ts";
import { sameName } from "../protocol.ts";
import type { Room } from "./room.ts";
import { speechRefusal } from "./room_modes.ts";
import type { Member } from "./session.ts";

/** How long an upload address may be used: 10 minutes. */
export const UPLOAD_TOKEN_MS = 10 * 60_000;
/** Uploads one member may have under way at once. */
export const UPLOADS_AT_ONCE = 2;
/** Upload addresses one member may ask for in an hour. */
export const UPLOADS_PER_HOUR = 20;
/** The default largest file (`--max-file-bytes`): 10 MiB. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** The default total kept (`--files-quota`): 256 MiB. */
export const FILES_QUOTA_BYTES = 256 * 1024 * 1024;
/** The default life of a shared file (`--file-ttl`): a day. */
export const FILE_TTL_MS = 24 * 60 * 60_000;
/** How often expired files are deleted. */
const SWEEP_MS = 60_000;

/** What a refused upload is refused for: the transport answers each with its status. */
export type UploadRefusal = "unknown" | "too large" | "no room" | "too many" | "unavailable";

/** An upload under way: the web transport feeds it the body's bytes. */
export interface Upload {
  /** The most bytes it may have: its declared length, or the largest file. */
  readonly limit: number;
  /** Takes the next bytes; false when they pass {@linkcode Upload.limit} (it is refused then). */
  add(chunk: Uint8Array): boolean;
  /** The body is whole: keeps the file, posts its link, and resolves with the link. */
  finish(): Promise<string>;
  /** The upload ended without its file (the connection broke, it stalled, it was too slow). */
  abort(why: string): void;
}

/** What the web transport gets for an upload's first request. */
export type UploadStart = { upload: Upload } | { refused: UploadRefusal; message: string };

/** A shared file to serve: what is known of it and its bytes. */
export interface OpenFile {
  file: SharedFile;
  bytes: Uint8Array;
}

/** What the web transport needs of file sharing: uploads to take in, files to serve. */
export interface FileDoor {
  /**
   * The first request of an upload with `token`, of `length` bytes (null when
   * the body is chunked), named `name` by its sender: an {@linkcode Upload}
   * to feed, or why not.
   */
  startUpload(token: string, length: number | null, name: string): Promise<UploadStart>;
  /** A shared file to serve, unless it expired, was removed, or never was. */
  open(id: string): Promise<OpenFile | null>;
}

/** What {@linkcode FileSharing} is given. */
export interface FileSharingOptions {
  /** Where files live; null when sharing is off (`--no-files`). */
  store: FileStore | null;
  /** The largest file, in bytes. */
  maxFileBytes: number;
  /** How long a file is kept, in milliseconds. */
  ttlMs: number;
}

/** An upload address given to a member. */
interface UploadToken {
  readonly member: Member;
  /** The room it shares to, by name; null when private. */
  readonly room: string | null;
  /** Whom it shares with privately, or null. */
  readonly to: string | null;
  readonly expiresAt: number;
  /** An upload with it is under way. */
  busy: boolean;
}

/** Sharing files: see the module's description. */
export class FileSharing implements FileDoor {
  readonly #hub: Hub;
  #store: FileStore | null;
  readonly #maxFileBytes: number;
  readonly #ttlMs: number;
  readonly #tokens = new Map<string, UploadToken>();
  /** The tokens each member holds, and when it asked for its recent ones. */
  readonly #byMember = new WeakMap<Member, { tokens: Set<string>; asked: number[] }>();
  /** The page's address (`http://HOST:PORT`), once the web listener is up; null without one. */
  #baseUrl: string | null = null;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  /** File sharing for `hub`'s members. */
  constructor(hub: Hub, options: FileSharingOptions) {
    this.#hub = hub;
    this.#store = options.store;
    this.#maxFileBytes = options.maxFileBytes;
    this.#ttlMs = options.ttlMs;
  }

  /** Where uploads and links point: the page's address as the server prints it, or null. */
  set baseUrl(url: string | null) {
    this.#baseUrl = url?.replace(/\/+$/, "") ?? null;
  }

  /**
   * From now on files live in `store` (a cluster's, once it is joined); the
   * files of the store before are no longer served. Sharing must be on.
   */
  useStore(store: FileStore): void {
    if (this.#store === null) throw new Error("Cannot use a file store: file sharing is off");
    this.#store = store;
  }

  /** Stops deleting expired files: the server is stopping. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /** The member left: its upload addresses die with it. */
  forget(member: Member): void {
    const mine = this.#byMember.get(member);
    if (mine === undefined) return;
    for (const token of mine.tokens) this.#tokens.delete(token);
    mine.tokens.clear();
  }

  /** `/upload` and `/upload NAME`: an upload address for the member. */
  upload(member: Member, rest: string): void {
    const hub = this.#hub;
    if (this.#store === null || this.#baseUrl === null) {
      return hub.tell(member, "! File sharing is off on this server");
    }
    if (!hub.mayPost(member)) return;
    const toName = rest.trim();
    // A file for the room is a line in it: a moderated room (+m) or a ban (+b) stops it too.
    const refusal = toName === "" ? speechRefusal(member.room as Room<Member>, member) : null;
    if (refusal !== null) return hub.tell(member, refusal);
    let to: string | null = null;
    if (toName !== "") {
      const other = hub.rooms.find(toName);
      if (other === undefined) return hub.tell(member, `! No such user: ${toName}`);
      to = other.name as string;
    }
    const now = performance.now();
    const mine = this.#mine(member);
    for (const token of mine.tokens) {
      if ((this.#tokens.get(token)?.expiresAt ?? 0) <= now) {
        mine.tokens.delete(token);
        this.#tokens.delete(token);
      }
    }
    while (mine.asked.length > 0 && now - (mine.asked[0] as number) >= 60 * 60_000) {
      mine.asked.shift();
    }
    if (mine.asked.length >= UPLOADS_PER_HOUR) {
      return hub.tell(member, "! Too many uploads; try again later");
    }
    const token = randomHex(16);
    mine.tokens.add(token);
    mine.asked.push(now);
    this.#tokens.set(token, {
      member,
      room: to === null ? (member.room?.name ?? hub.lobby.name) : null,
      to,
      expiresAt: now + UPLOAD_TOKEN_MS,
      busy: false,
    });
    hub.tell(
      member,
      `* Upload within 10 minutes: curl -T FILE ${this.#baseUrl}/upload/${token}`,
    );
  }

  /** `/files`: the files of the member's room that have not expired. */
  list(member: Member): void {
    const hub = this.#hub;
    const store = this.#store;
    if (store === null) return hub.tell(member, "! File sharing is off on this server");
    const room = (member.room ?? hub.lobby).name;
    member.busy = store.list(room).then((files) => {
      if (files.length === 0) return hub.tell(member, `* No files in #${room}`);
      const shown = files.map((file) =>
        `${file.name} (${sizeText(file.size)}, ${file.from}, ${clockTime(file.at)})`
      );
      hub.tell(
        member,
        `* ${files.length} ${files.length === 1 ? "file" : "files"} in #${room}: ${
          shown.join(", ")
        }`,
      );
    }, (error) => this.#failed(member, "/files", error));
  }

  /** `/unshare ID` (or the link, or the name of a file in the room): its sharer or an operator. */
  unshare(member: Member, rest: string): void {
    const hub = this.#hub;
    const store = this.#store;
    if (store === null) return hub.tell(member, "! File sharing is off on this server");
    const typed = rest.trim();
    if (typed === "") return hub.tell(member, "! Usage: /unshare ID");
    member.busy = this.#findTyped(store, member, typed).then(async (file) => {
      if (file === null) return hub.tell(member, `! No such file: ${typed}`);
      const room = file.room === null ? undefined : hub.rooms.get(file.room);
      const operator = member.serverOperator ||
        (room !== undefined && member.room === room && room.operators.has(member));
      if (!sameName(file.from, member.name as string) && !operator) {
        return hub.tell(member, `! Only ${file.from} or an operator can remove ${file.name}`);
      }
      await store.remove(file.id);
      hub.log?.(`${member.label} removed the file ${file.id} (${file.name})`);
      const line = `* ${member.name} removed ${file.name}`;
      if (room !== undefined) room.broadcast(line, { public: true });
      if (room === undefined || member.room !== room) hub.tell(member, line);
    }).catch((error) => this.#failed(member, "/unshare", error));
  }

  /**
   * The first request of an upload with `token`, of `length` bytes (null when
   * the body is chunked), named `name` by its sender: an {@linkcode Upload}
   * to feed, or why not.
   */
  async startUpload(token: string, length: number | null, name: string): Promise<UploadStart> {
    const hub = this.#hub;
    const store = this.#store;
    const given = this.#tokens.get(token);
    if (
      store === null || given === undefined || given.busy || given.member.closed ||
      given.expiresAt <= performance.now()
    ) {
      return { refused: "unknown", message: "This upload address is not valid (used or expired)" };
    }
    const member = given.member;
    if (length !== null && length > this.#maxFileBytes) {
      hub.tell(member, `! File too large (max ${limitText(this.#maxFileBytes)})`);
      return {
        refused: "too large",
        message: `File too large (max ${limitText(this.#maxFileBytes)})`,
      };
    }
    const underWay = [...this.#mine(member).tokens]
      .filter((other) => this.#tokens.get(other)?.busy).length;
    if (underWay >= UPLOADS_AT_ONCE) {
      hub.tell(member, "! Too many uploads; try again later");
      return { refused: "too many", message: "Too many uploads; try again later" };
    }
    const limit = length ?? this.#maxFileBytes;
    given.busy = true;
    let reserved: boolean;
    try {
      await store.sweep(Date.now()).catch(() => 0);
      reserved = await store.reserve(limit);
    } catch (error) {
      given.busy = false;
      hub.log?.(`${member.label} upload not started: ${describe(error)}`);
      hub.tell(member, "! No room for files right now; try again later");
      return { refused: "unavailable", message: "Files cannot be kept right now" };
    }
    if (!reserved) {
      given.busy = false;
      hub.tell(member, "! No room for files right now; try again later");
      return { refused: "no room", message: "No room for files right now; try again later" };
    }
    return { upload: this.#receive(token, given, limit, length, name) };
  }

  /** A shared file to serve, unless it expired, was removed, or never was. */
  async open(id: string): Promise<OpenFile | null> {
    const store = this.#store;
    if (store === null || !FILE_ID.test(id)) return null;
    const file = await store.find(id);
    if (file === null) return null;
    const bytes = await store.read(id);
    return bytes === null ? null : { file, bytes };
  }

  /** Feeds an upload's bytes into memory (within its reservation), then keeps and posts it. */
  #receive(
    token: string,
    given: UploadToken,
    limit: number,
    length: number | null,
    sentName: string,
  ): Upload {
    // No name sent (`curl -T FILE URL` sends none): `file`, with a picture's extension.
    const nameFor = (picture: string | null) =>
      sentName.trim() === "" && picture !== null
        ? `file.${picture.slice("image/".length).replace("jpeg", "jpg")}`
        : cleanFileName(sentName);
    let name = cleanFileName(sentName);
    const hub = this.#hub;
    const store = this.#store as FileStore;
    const member = given.member;
    const chunks: Uint8Array[] = [];
    let received = 0;
    let ended = false;
    const end = (kept: number) => {
      ended = true;
      given.busy = false;
      if (limit > kept) void store.release(limit - kept).catch(() => {});
    };
    return {
      limit,
      add: (chunk) => {
        if (ended) return false;
        received += chunk.length;
        if (received > limit) {
          end(0);
          hub.tell(
            member,
            `! File too large (max ${limitText(Math.min(limit, this.#maxFileBytes))})`,
          );
          return false;
        }
        chunks.push(chunk);
        return true;
      },
      finish: async () => {
        if (ended) throw new Error("the upload had ended");
        if (length !== null && received !== length) {
          end(0);
          throw new Error(`the body was ${received} bytes, not ${length}`);
        }
        const bytes = concat(chunks, received);
        chunks.length = 0;
        const now = Date.now();
        const picture = pictureType(bytes);
        name = nameFor(picture);
        const file: SharedFile = {
          id: randomHex(16),
          name,
          size: received,
          picture,
          from: member.name as string,
          room: given.room,
          to: given.to,
          at: now,
          expiresAt: now + this.#ttlMs,
        };
        try {
          await store.save(file, bytes);
        } catch (error) {
          end(0);
          hub.log?.(`${member.label} upload not kept: ${describe(error)}`);
          hub.tell(member, "! No room for files right now; try again later");
          throw error;
        }
        end(received);
        this.#tokens.delete(token);
        this.#byMember.get(member)?.tokens.delete(token);
        this.#sweepLater();
        const link = `${this.#baseUrl}/files/${file.id}/${encodeURIComponent(file.name)}`;
        this.#announce(file, link);
        hub.log?.(`${member.label} shared ${file.id} (${file.size} bytes)`);
        return link;
      },
      abort: (why) => {
        if (ended) return;
        end(0);
        hub.log?.(`${member.label} upload of ${name} cut: ${why}`);
        if (!member.closed) {
          hub.tell(member, `! Upload of ${name} stopped (${why}); nothing was shared`);
        }
      },
    };
  }

  /** Posts a kept file's link: to its room, or to the two members of a private share. */
  #announce(file: SharedFile, link: string): void {
    const hub = this.#hub;
    const line = `* ${file.from} shared ${file.name} (${sizeText(file.size)}): ${link}`;
    if (file.to === null) {
      const room = hub.rooms.get(file.room as string);
      room?.broadcast(line, { public: true });
      return;
    }
    const to = hub.rooms.find(file.to);
    if (to !== undefined) hub.tell(to, `(private) ${line}`);
    const from = hub.rooms.find(file.from);
    if (from !== undefined) hub.tell(from, `(private to ${file.to}) ${line}`);
  }

  /** The file `typed` names for `member`: its id, its link, or its name in the member's room. */
  async #findTyped(store: FileStore, member: Member, typed: string): Promise<SharedFile | null> {
    const id = /(?:^|\/files\/)([0-9a-f]{32})(?:\/|$)/.exec(typed)?.[1];
    if (id !== undefined) return await store.find(id);
    const room = (member.room ?? this.#hub.lobby).name;
    const named = (await store.list(room)).filter((file) => file.name === typed);
    return named.length === 1 ? named[0] as SharedFile : null;
  }

  #mine(member: Member): { tokens: Set<string>; asked: number[] } {
    let mine = this.#byMember.get(member);
    if (mine === undefined) {
      mine = { tokens: new Set(), asked: [] };
      this.#byMember.set(member, mine);
    }
    return mine;
  }

  /** Deletes expired files every {@linkcode SWEEP_MS} from the first share on. */
  #sweepLater(): void {
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(() => {
      this.#store?.sweep(Date.now()).catch((error) =>
        this.#hub.log?.(`Deleting expired files failed: ${describe(error)}`)
      );
    }, SWEEP_MS);
    Deno.unrefTimer(this.#sweeper);
  }

  #failed(member: Member, command: string, error: unknown): void {
    this.#hub.log?.(`${member.label} ${command} failed: ${describe(error)}`);
    this.#hub.tell(member, `! ${command} failed; try again later`);
  }
}

/** `bytes` random bytes in hex. */
function randomHex(bytes: number): string {
  return Array.from(randomBytes(bytes), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The chunks as one array of `length` bytes. */
function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/** `14:02`: when a file was shared, on the server's clock. */
function clockTime(at: number): string {
  const date = new Date(at);
  return `${String(date.getHours()).padStart(2, "0")}:${
    String(date.getMinutes()).padStart(2, "0")
  }`;
}
