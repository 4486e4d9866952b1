// @ts-check
/**
 * What the page knows about the room's lines, apart from the page itself, so
 * that Deno can test it (`web_lines_test.ts`) and `app.js` only draws.
 *
 * The rules follow the manual's protocol (docs/protocol.md): notices start with `* `, errors with
 * `! `, actions with `** NAME `, private messages with `(private) ` or
 * `(private to NAME) `, and every other member line with `NAME: `. Names hold
 * only letters, digits, `_`, `-` and `.`, so a name never holds a space or a
 * colon.
 *
 * @module
 */

/** First wait between reconnection attempts, as the terminal client's. */
export const RECONNECT_MIN_MS = 1000;
/** Longest wait between reconnection attempts. */
export const RECONNECT_MAX_MS = 30_000;
/**
 * How often the member list is refreshed with `/who` while the page is shown:
 * rooms over 100 members announce no joins or leaves, and flood control
 * counts commands, so rarely.
 */
export const WHO_REFRESH_MS = 60_000;
/**
 * How often the list of rooms is refreshed with `/rooms` while the page is
 * shown: rooms come and go in other rooms, where the page hears nothing of it.
 */
export const ROOMS_REFRESH_MS = 15_000;
/**
 * Least time between two `/rooms` that notices of moves ask for: moves come in
 * bursts, and one answer covers them all.
 */
export const ROOMS_NOTICE_MS = 1000;
/** Public lines remembered for matching the history after a reconnection (the server's most). */
export const MAX_REMEMBERED_LINES = 10_000;

/** The server's history markers. */
export const HISTORY_START = "* Recent messages:";
/** The line that ends the history. */
export const HISTORY_END = "* End of recent messages";

const QUIT_WORDS = ["<quit>", "/quit", "{quit}"];
const NAME = String.raw`[^\s:]+`;

/**
 * The wait before reconnection attempt `attempt` (0 first): doubling from 1 s
 * to 30 s, each ±20 % so that a restarted server is not hit by everyone at once.
 * @param {number} attempt
 * @param {() => number} [random]
 * @returns {number}
 */
export function reconnectDelay(attempt, random = Math.random) {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * Whether a line from the server asks for a password (as `protocol.ts` decides).
 * @param {string} line
 * @returns {boolean}
 */
export function asksForPassword(line) {
  return /\bpassword\b/i.test(line) && !line.startsWith("! ");
}

/**
 * Whether a line from the server asks for the nickname (the greeting does).
 * @param {string} line
 * @returns {boolean}
 */
export function asksForNickname(line) {
  return /\bnickname\b/i.test(line) && !line.startsWith("! ");
}

/**
 * The name in `Welcome, NAME! Type <quit> to leave.`, or `null`.
 * @param {string} line
 * @returns {string | null}
 */
export function welcomedName(line) {
  return new RegExp(`^Welcome, (${NAME})! Type `).exec(line)?.[1] ?? null;
}

/**
 * Whether typed text is a quit word (`<quit>`, `/quit`, `{quit}`, any case).
 * @param {string} text
 * @returns {boolean}
 */
export function isQuitWord(text) {
  return QUIT_WORDS.includes(text.trim().toLowerCase());
}

/** The room everyone starts in, as the server names it. */
export const LOBBY = "lobby";

/**
 * A notice that changes who is here: `room` in a `/who` answer is the room
 * it lists (`null` for `* N online:`, which is #lobby's); in a join or a leave
 * it is the room the member came to or left for (`null` when they joined or
 * left the chat); and `moved` says that you are now in another room, with
 * `here` members counting you.
 * @typedef {{ type: "joined", name: string, room: string | null }
 *   | { type: "left", name: string, room: string | null }
 *   | { type: "renamed", from: string, to: string }
 *   | { type: "who", names: string[], room: string | null }
 *   | { type: "moved", room: string, here: number }} RoomChange
 */

/** A room's name as the server writes it after `#`. */
const ROOM = String.raw`[^\s:()]+`;

/**
 * What a notice says about the members: a join, a leave (for any reason), a
 * rename, or the `/who` answer `* N online: a, b`; `null` for anything else.
 * Members cannot send lines starting with `* `, so these are the server's.
 * @param {string} line
 * @returns {RoomChange | null}
 */
export function roomChange(line) {
  let match = new RegExp(`^\\* (${NAME}) joined (?:the chat|#(${ROOM}))$`).exec(line);
  if (match) {
    return { type: "joined", name: /** @type {string} */ (match[1]), room: match[2] ?? null };
  }
  match = new RegExp(`^\\* (${NAME}) left (?:the chat(?: \\(.*\\))?|for #(${ROOM}))$`).exec(line);
  if (match) {
    return { type: "left", name: /** @type {string} */ (match[1]), room: match[2] ?? null };
  }
  // `/part REASON` (or an IRC client leaving one of its channels): still here, elsewhere.
  match = new RegExp(`^\\* (${NAME}) left #${ROOM}(?: \\(.*\\))?$`).exec(line);
  if (match) return { type: "left", name: /** @type {string} */ (match[1]), room: LOBBY };
  // A kicked member goes back to #lobby (or out), a banned one out.
  match = new RegExp(`^\\* (${NAME}) was (?:kicked|banned) by ${NAME}(?: |$)`).exec(line);
  if (match) return { type: "left", name: /** @type {string} */ (match[1]), room: null };
  match = new RegExp(`^\\* You are now in #(${ROOM}) \\((\\d+) here\\)$`).exec(line);
  if (match) {
    return { type: "moved", room: /** @type {string} */ (match[1]), here: Number(match[2]) };
  }
  match = new RegExp(`^\\* (${NAME}) is now known as (${NAME})$`).exec(line);
  if (match) {
    return {
      type: "renamed",
      from: /** @type {string} */ (match[1]),
      to: /** @type {string} */ (match[2]),
    };
  }
  match = new RegExp(`^\\* (\\d+) (?:online|in #(${ROOM})): (.*)$`).exec(line);
  if (match) {
    // Room operators are marked `@` before the name, members logged in to their
    // account `+` after it; no name holds either.
    const names = /** @type {string} */ (match[3]).split(", ").filter((name) => name !== "")
      .map((name) => name.replace(/^@/, "").replace(/\+$/, ""));
    return { type: "who", names, room: match[2] ?? null };
  }
  return null;
}

/**
 * One room in the answer to `/rooms`: its name (without `#`) and how many are in it.
 * `modes`: the room's modes beyond `+nt` (`+ik`), present only when it has some.
 * @typedef {{ name: string, count: number, modes?: string }} ListedRoom
 */

/**
 * One entry of a `/rooms` answer: `#name (count)`, or `#name (count, +ik)` for
 * a room with modes beyond `+nt`; names hold no space, comma, parenthesis or `#`.
 */
const LISTED_ROOM = /^#([^\s,()]+) \((\d+)(?:, (\+[a-z]+))?\)$/u;

/**
 * The rooms in the answer to `/rooms`, `* 3 rooms: #lobby (12), #dev (3), #random (1)`
 * (`* 1 room: #lobby (1)` for one), in its order (busiest first); `null` for
 * any other line, and for one whose count is not the number of rooms it lists.
 * @param {string} line
 * @returns {ListedRoom[] | null}
 */
export function listedRooms(line) {
  const match = /^\* (\d+) rooms?: (.+)$/.exec(line);
  if (!match) return null;
  /** @type {ListedRoom[]} */
  const rooms = [];
  for (const entry of /** @type {string} */ (match[2]).split(/, (?=#)/)) {
    const room = LISTED_ROOM.exec(entry);
    if (!room) return null;
    /** @type {ListedRoom} */
    const listed = { name: /** @type {string} */ (room[1]), count: Number(room[2]) };
    if (room[3] !== undefined) listed.modes = room[3];
    rooms.push(listed);
  }
  return rooms.length === Number(match[1]) ? rooms : null;
}

/**
 * What kind of line it is, for its style: a member's `message`, `action` or
 * `private` message, a server `notice` or `error`, or a plain `server` line
 * (the greeting, the welcome, the password question).
 * @typedef {"message" | "action" | "private" | "notice" | "error" | "server"} LineKind
 */

/**
 * One line, read.
 * @typedef {object} LineInfo
 * @property {LineKind} kind
 * @property {string | null} sender who wrote it, for members' lines
 * @property {boolean} own written by you (`me`): your messages, actions and private messages
 * @property {boolean} mention someone else's line that says your name
 * @property {boolean} direct a private message to you
 * @property {boolean} public a message or action, which the history may repeat
 * @property {Array<[number, number]>} names where the names are, as [start, end) offsets
 */

/**
 * Reads one line from the room. `me` is your current name, `null` before the welcome.
 * @param {string} line
 * @param {string | null} me
 * @returns {LineInfo}
 */
export function classify(line, me) {
  /** @type {LineInfo} */
  const info = {
    kind: "server",
    sender: null,
    own: false,
    mention: false,
    direct: false,
    public: false,
    names: [],
  };
  /** @type {string} */
  let said = "";
  let match;
  /** @type {SharedFile | null} */
  let share;
  if (line.startsWith("** ")) {
    match = new RegExp(`^\\*\\* (${NAME})(?: |$)`).exec(line);
    info.kind = "action";
    info.public = true;
    if (match) {
      const sender = /** @type {string} */ (match[1]);
      info.sender = sender;
      info.names.push([3, 3 + sender.length]);
      said = line.slice(3 + sender.length);
    }
  } else if ((share = sharedFile(line)) !== null) {
    // `* alice shared …`, or `(private) * alice shared …` and `(private to bob) * alice shared …`.
    const senderAt = line.indexOf("* ") + 2;
    info.kind = share.private ? "private" : "notice";
    info.sender = share.from;
    info.own = share.to !== null;
    info.direct = share.private && share.to === null;
    // A share to the room is in its history, as messages are.
    info.public = !share.private;
    if (share.to !== null) info.names.push([12, 12 + share.to.length]);
    info.names.push([senderAt, senderAt + share.from.length]);
  } else if (line.startsWith("* ")) {
    info.kind = "notice";
    // `/unshare`'s notice is in the room's history too.
    info.public = new RegExp(`^\\* ${NAME} removed .`).test(line);
    const change = roomChange(line);
    if (change?.type === "joined" || change?.type === "left") {
      info.names.push([2, 2 + change.name.length]);
    } else if (change?.type === "renamed") {
      const to = line.length - change.to.length;
      info.names.push([2, 2 + change.from.length], [to, line.length]);
    }
  } else if (line.startsWith("! ")) {
    info.kind = "error";
  } else if ((match = new RegExp(`^\\(private( to (${NAME}))?\\) (${NAME}): `).exec(line))) {
    info.kind = "private";
    const to = match[2];
    const sender = /** @type {string} */ (match[3]);
    info.sender = sender;
    info.own = to !== undefined;
    info.direct = to === undefined;
    const senderAt = match[0].length - sender.length - 2;
    if (to !== undefined) info.names.push([12, 12 + to.length]);
    info.names.push([senderAt, senderAt + sender.length]);
    said = line.slice(match[0].length);
  } else if ((match = new RegExp(`^(${NAME}): `).exec(line))) {
    const sender = /** @type {string} */ (match[1]);
    info.kind = "message";
    info.public = true;
    info.sender = sender;
    info.names.push([0, sender.length]);
    said = line.slice(match[0].length);
  }
  if (info.kind === "action" || info.kind === "message") {
    info.own = me !== null && info.sender === me;
  }
  if (me !== null && info.sender !== null && !info.own) info.mention = saysName(said, me);
  return info;
}

/**
 * Whether `text` holds `name` as a word of its own, in any case: `hi Alice!`
 * and `ask alice.` name alice, `malice` and `alice2` do not.
 * @param {string} text
 * @param {string} name
 * @returns {boolean}
 */
export function saysName(text, name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // Name characters on either side make it another name (`alice2`, `bob-alice`,
  // `alice.b`), but a full stop that ends a sentence does not.
  const before = String.raw`(?<![\p{L}\p{N}\p{M}_.-])`;
  const after = String.raw`(?![\p{L}\p{N}\p{M}_-]|\.[\p{L}\p{N}])`;
  return new RegExp(before + escaped + after, "iu").test(text);
}

/**
 * A stable hue (0-359) for a name: FNV-1a of its lower-cased form, so that
 * `Bob` and `bob` share a colour and every page picks the same one.
 * @param {string} name
 * @returns {number}
 */
export function nameHue(name) {
  let hash = 0x811c9dc5;
  for (const char of name.toLowerCase()) {
    hash ^= /** @type {number} */ (char.codePointAt(0));
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 360;
}

/**
 * The local time as `HH:MM`.
 * @param {Date} date
 * @returns {string}
 */
export function clockTime(date) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * How many lines at the start of a history block the page has shown already:
 * the longest run at the end of `seen` (the public lines shown, oldest first)
 * that the history begins with. After a reconnection only the rest is new,
 * the lines said while the page was away.
 * @param {readonly string[]} seen
 * @param {readonly string[]} history
 * @returns {number}
 */
export function historyOverlap(seen, history) {
  for (let length = Math.min(seen.length, history.length); length > 0; length--) {
    const start = seen.length - length;
    let same = true;
    for (let i = 0; i < length && same; i++) same = seen[start + i] === history[i];
    if (same) return length;
  }
  return 0;
}

/**
 * The commands whose words after the command are passwords, with how many
 * words come first that are not: `/login NAME PASSWORD`, `/register PASSWORD`,
 * `/password OLD NEW`, `/unregister PASSWORD`.
 */
const SECRET_COMMANDS = new Map([["login", 1], ["register", 0], ["password", 0], [
  "unregister",
  0,
]]);

/**
 * Where the passwords of a typed line start (an index into `line`), for the
 * commands that carry them (`/login NAME PASSWORD`, `/register PASSWORD`,
 * `/password OLD NEW`, `/unregister PASSWORD`, the command's name in any
 * case): after the space that ends the command word, and for `/login` the
 * name. `null` for any other line, and while the visible words are still being
 * typed (`/login ali`). The terminal client masks the line from there and the
 * page hides the field; neither keeps such a line in its history.
 * @param {string} line
 * @returns {number | null}
 */
export function secretStart(line) {
  const match = /^(\s*\/(\S+)\s)/.exec(line);
  const command = match?.[1] ?? "";
  const visible = SECRET_COMMANDS.get((match?.[2] ?? "").toLowerCase());
  if (visible === undefined) return null;
  if (visible === 0) return command.length;
  const name = /^\s*\S+\s/.exec(line.slice(command.length));
  return name === null ? null : command.length + name[0].length;
}

/**
 * The name in `* NAME is registered; /login NAME PASSWORD to use it`, the
 * server's word that a name asked for belongs to an account; `null` for
 * any other line. (This notice holds the word "password", but asks for none.)
 * @param {string} line
 * @returns {string | null}
 */
export function registeredName(line) {
  const match = new RegExp(`^\\* (${NAME}) is registered; /login (${NAME}) PASSWORD to use it$`)
    .exec(line);
  return match?.[1] !== undefined && match[1] === match[2] ? match[1] : null;
}

/**
 * The password a line the page sends would make the account's, if the server
 * says yes: the one of `/login NAME PASSWORD` and `/register PASSWORD`, the
 * new one of `/password OLD NEW`. `null` for any other line. The words are
 * split as the server splits them: at the first space, the rest trimmed.
 * @param {string} line
 * @returns {string | null}
 */
export function offeredPassword(line) {
  const text = line.trim();
  const space = text.indexOf(" ");
  if (!text.startsWith("/") || space === -1) return null;
  const command = text.slice(1, space).toLowerCase();
  const rest = text.slice(space + 1).trim();
  const second = rest.includes(" ") ? rest.slice(rest.indexOf(" ") + 1).trim() : "";
  const password = command === "register"
    ? rest
    : command === "login" || command === "password"
    ? second
    : "";
  return password === "" ? null : password;
}

/**
 * What the server said about the account: `* Logged in as NAME` and
 * `* Registered NAME: …` (`loggedIn`), `* Password changed`,
 * `* NAME is no longer registered` (`unregistered`),
 * `! Wrong password for NAME`, `! No such account: NAME`, and
 * `* You logged in from elsewhere; closing this connection` (`elsewhere`).
 * @typedef {{ type: "loggedIn", name: string }
 *   | { type: "passwordChanged" }
 *   | { type: "unregistered", name: string }
 *   | { type: "wrongPassword", name: string }
 *   | { type: "noAccount", name: string }
 *   | { type: "elsewhere" }} AccountAnswer
 */

/**
 * Reads the server's answers about the account (see
 * {@linkcode AccountAnswer}); `null` for any other line. Members cannot send
 * lines starting with `* ` or `! `, so these are the server's.
 * @param {string} line
 * @returns {AccountAnswer | null}
 */
export function accountAnswer(line) {
  if (line === "* Password changed") return { type: "passwordChanged" };
  if (line === "* You logged in from elsewhere; closing this connection") {
    return { type: "elsewhere" };
  }
  const patterns = /** @type {const} */ ([
    ["loggedIn", `^\\* Logged in as (${NAME})$`],
    ["loggedIn", `^\\* Registered (${NAME}): `],
    ["unregistered", `^\\* (${NAME}) is no longer registered$`],
    ["wrongPassword", `^! Wrong password for (${NAME})$`],
    ["noAccount", `^! No such account: (${NAME})$`],
  ]);
  for (const [type, pattern] of patterns) {
    const name = new RegExp(pattern).exec(line)?.[1];
    if (name !== undefined) return { type, name };
  }
  return null;
}

// ---------------------------------------------------------------------------
// Sharing files

/** The file names the page shows in place as pictures (the server serves these inline). */
const PICTURE_EXTENSION = /\.(?:png|jpe?g|gif|webp)$/i;
/** A size as the server writes it (`512 bytes`, `1 byte`, `120 KB`, `2.4 MB`). */
const SIZE = String.raw`\d+(?:\.\d)? (?:bytes?|[KMGT]B)`;
/** A shared file's address path: `/files/ID/NAME`. */
const FILE_PATH = /^\/files\/[0-9a-f]{32}\/[^/]+$/;
/** Spare time taken off an upload address's life, so that the page never sends one just expired. */
const UPLOAD_ADDRESS_SLACK_MS = 30_000;

/**
 * A file shared in the room or privately, as the server announced it:
 * `* alice shared cat.png (120 KB): http://HOST:PORT/files/ID/cat.png`,
 * `(private) * alice shared …` (to you) and `(private to bob) * alice shared …`
 * (by you). `at` is where `url` starts in the line.
 * @typedef {object} SharedFile
 * @property {string} from who shared it
 * @property {string} name its name, as the server cleaned it
 * @property {string} size its size, as the server wrote it
 * @property {string} url where it is served
 * @property {number} at where `url` starts in the line
 * @property {boolean} private shared with one member, not the room
 * @property {string | null} to whom you shared it with privately; `null` otherwise
 */

/**
 * Reads a shared file's notice (see {@linkcode SharedFile}); `null` for any
 * other line. Members cannot send lines that start with `* `, nor `(private)`
 * followed by `* ` (no name is `*`), so these are the server's.
 * @param {string} line
 * @returns {SharedFile | null}
 */
export function sharedFile(line) {
  const match = new RegExp(
    `^(\\(private(?: to (${NAME}))?\\) )?\\* (${NAME}) shared (.+) \\((${SIZE})\\): (https?://\\S+)$`,
  ).exec(line);
  if (!match) return null;
  const url = /** @type {string} */ (match[6]);
  return {
    from: /** @type {string} */ (match[3]),
    name: /** @type {string} */ (match[4]),
    size: /** @type {string} */ (match[5]),
    url,
    at: line.length - url.length,
    private: match[1] !== undefined,
    to: match[2] ?? null,
  };
}

/**
 * The address of a shared file to show in place as a picture: its URL, when
 * its name ends in `.png`, `.jpg`, `.jpeg`, `.gif` or `.webp` and it is served
 * at `/files/…` on the page's own origin (`origin`, as `location.origin`);
 * `null` for anything else, which the page shows as a link. A file on another
 * origin (another process of a cluster, or the page reached by another name)
 * is not loaded: the page's Content-Security-Policy allows pictures from its
 * own origin only.
 * @param {SharedFile} share
 * @param {string} origin
 * @returns {string | null}
 */
export function pictureUrl(share, origin) {
  if (!PICTURE_EXTENSION.test(share.name)) return null;
  let url;
  try {
    url = new URL(share.url);
  } catch {
    return null;
  }
  return url.origin === origin && FILE_PATH.test(url.pathname) ? url.href : null;
}

/**
 * An upload address given to you: `* Upload within 10 minutes: curl -T FILE
 * http://HOST:PORT/upload/TOKEN` gives its token and how long it lasts (less
 * half a minute, to be safe); `null` for any other line.
 * @param {string} line
 * @returns {{ token: string, ms: number } | null}
 */
export function uploadAddress(line) {
  const match = /^\* Upload within (\d+) minutes?: curl -T FILE \S+\/upload\/([0-9a-f]{32})$/
    .exec(line);
  if (!match) return null;
  const ms = Math.max(0, Number(match[1]) * 60_000 - UPLOAD_ADDRESS_SLACK_MS);
  return { token: /** @type {string} */ (match[2]), ms };
}

/**
 * The server's refusals of a plain `/upload`: sharing off, too many
 * addresses, muted, a room's modes (`+m`, `+b`), an old server that does not
 * know the command.
 */
const UPLOAD_REFUSALS = [
  /^! File sharing is off\b/,
  /^! Too many uploads\b/,
  /^! You are muted\b/,
  /^! Cannot send to #\S+: /,
  /^! Unknown command: \/upload\b/,
];

/**
 * Whether a line refuses an `/upload` (instead of giving an address).
 * @param {string} line
 * @returns {boolean}
 */
export function refusesUpload(line) {
  return UPLOAD_REFUSALS.some((pattern) => pattern.test(line));
}

/**
 * The path a file goes to with `PUT`: `/upload/TOKEN/NAME`, the name encoded.
 * It is a path, not an address: the page sends to its own origin, whatever
 * host the server's line names (the page may be reached by another name).
 * @param {string} token
 * @param {string} name
 * @returns {string}
 */
export function uploadPath(token, name) {
  return `/upload/${token}/${encodeURIComponent(name)}`;
}

/**
 * A size as the server writes it (`core/file_kinds.ts`): `512 bytes`,
 * `120 KB`, `2.4 MB`, in powers of 1,000, one decimal below ten.
 * @param {number} bytes
 * @returns {string}
 */
export function sizeText(bytes) {
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const shown = value < 9.95 ? value.toFixed(1).replace(/\.0$/, "") : String(Math.round(value));
  return `${shown} ${units[unit]}`;
}

/** File name extensions for the picture types a clipboard holds. */
const PASTED_EXTENSIONS = new Map([
  ["image/png", "png"],
  ["image/jpeg", "jpg"],
  ["image/gif", "gif"],
  ["image/webp", "webp"],
]);

/**
 * A name for a picture pasted from the clipboard, which browsers name
 * `image.png` whatever it is: `pasted-20240501-140205.png`, by its type and
 * the local time.
 * @param {string} type its MIME type
 * @param {Date} date
 * @returns {string}
 */
export function pastedName(type, date) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  const day = `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}`;
  const time = `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
  const extension = PASTED_EXTENSIONS.get(type.toLowerCase()) ?? "img";
  return `pasted-${day}-${time}.${extension}`;
}
