// @ts-check
/// <reference lib="dom" />
/**
 * The chat room's page: one WebSocket to `/ws` on the page's own origin, the
 * same line protocol as TCP. Every line is drawn with `textContent`, never as
 * HTML, and nothing here needs more than the page's Content-Security-Policy
 * allows (no inline styles: colours go through CSS custom properties).
 *
 * @module
 */

import {
  accountAnswer,
  asksForNickname,
  asksForPassword,
  classify,
  clockTime,
  HISTORY_END,
  HISTORY_START,
  historyOverlap,
  isQuitWord,
  listedRooms,
  LOBBY,
  MAX_REMEMBERED_LINES,
  nameHue,
  offeredPassword,
  pastedName,
  pictureUrl,
  reconnectDelay,
  refusesUpload,
  registeredName,
  roomChange,
  ROOMS_NOTICE_MS,
  ROOMS_REFRESH_MS,
  secretStart,
  sharedFile,
  sizeText,
  uploadAddress,
  uploadPath,
  welcomedName,
  WHO_REFRESH_MS,
} from "./lines.js";

/** Lines kept on the page; older ones are dropped so a long day stays light. */
const MAX_SHOWN_LINES = 5000;
/** How near the bottom (px) still counts as reading the newest lines. */
const BOTTOM_SLACK_PX = 32;
/**
 * Upload answers that say why as a line of the server's too (`! File too
 * large`, `! No room for files`, `! Upload of … stopped`): the page adds nothing.
 */
const TOLD_BY_THE_SERVER = new Set([408, 413, 503, 507]);

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function byId(id, type) {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`The page has no #${id}`);
  return element;
}

const log = byId("log", HTMLElement);
const lines = byId("lines", HTMLOListElement);
const jump = byId("jump", HTMLButtonElement);
const form = byId("composer", HTMLFormElement);
const input = byId("input", HTMLInputElement);
const inputLabel = byId("input-label", HTMLLabelElement);
const status = byId("status", HTMLElement);
const retry = byId("retry", HTMLButtonElement);
const notify = byId("notify", HTMLInputElement);
const people = byId("people", HTMLDetailsElement);
const peopleCount = byId("people-count", HTMLElement);
const memberList = byId("members", HTMLUListElement);
const roomPanel = byId("room-panel", HTMLDetailsElement);
const roomCount = byId("room-count", HTMLElement);
const roomList = byId("rooms", HTMLUListElement);
const loginForm = byId("login", HTMLFormElement);
const loginName = byId("login-name", HTMLElement);
const loginPassword = byId("login-password", HTMLInputElement);
const secretNote = byId("secret-note", HTMLElement);
const shareButton = byId("share", HTMLButtonElement);
const fileInput = byId("file", HTMLInputElement);
const uploadBox = byId("upload", HTMLElement);
const uploadLabel = byId("upload-label", HTMLLabelElement);
const uploadProgress = byId("upload-progress", HTMLProgressElement);
const uploadAmount = byId("upload-amount", HTMLElement);
const uploadCancel = byId("upload-cancel", HTMLButtonElement);
const dropZone = byId("drop", HTMLElement);

const baseTitle = document.title;

/** What lasts across connections. */
const session = {
  /** @type {WebSocket | null} */
  socket: null,
  /** The name the server last welcomed us by; answers the nickname question on reconnection. */
  name: /** @type {string | null} */ (null),
  /** The password typed this session, kept in memory only, to rejoin a locked room. */
  password: /** @type {string | null} */ (null),
  /**
   * The account this page last logged in to or registered, with its password,
   * kept in memory only (never stored, never shown) to log in again after a
   * reconnection.
   * @type {{ name: string, password: string } | null}
   */
  account: null,
  /** Reconnection attempts since the last welcome. */
  attempt: 0,
  /**
   * Why the page does not reconnect, as it tells the person (they quit, or
   * logged in elsewhere); `null` while it does.
   * @type {string | null}
   */
  stopped: null,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  retryTimer: undefined,
  /** Public lines shown, oldest first, to find the new part of a history block. */
  seen: /** @type {string[]} */ ([]),
  /** Members in join order. */
  members: /** @type {string[]} */ ([]),
  /** Lines that arrived while the page was hidden. */
  unread: 0,
  /** Lines below the view while reading back. */
  below: 0,
  /** When the member list was last asked for. */
  lastWho: 0,
  /**
   * The rooms as the last `/rooms` answer listed them, busiest first, kept in
   * step with our own moves and the member list until the next answer.
   * @type {import("./lines.js").ListedRoom[]}
   */
  rooms: [],
  /** When the list of rooms was last asked for. */
  lastRooms: 0,
  /** A notice of a move asked for the rooms while the page was hidden: ask when it is shown. */
  roomsStale: false,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  roomsTimer: undefined,
};

/** What one connection has said and done so far. */
function freshConnection() {
  return {
    welcomed: false,
    nameSent: false,
    passwordSent: false,
    /** The next typed line answers a password question: not shown, not kept in the field. */
    secret: false,
    /** The history block, while it arrives; `null` outside it. */
    history: /** @type {string[] | null} */ (null),
    historySeen: false,
    /** Our own `/who` answers still to come, not shown. */
    hiddenWho: 0,
    /** Our own `/rooms` answer is still to come, not to be shown; never more than one. */
    hiddenRooms: false,
    /** Something asked for the rooms while our own `/rooms` was on its way: ask again after it. */
    roomsAgain: false,
    /** The room a click asked to join, until the move (or an error) comes back. */
    joining: /** @type {string | null} */ (null),
    /** Whether the member list is this room's in full: not after a move, until its `/who` answer. */
    membersKnown: false,
    /** The room we are in (`null`: #lobby, where everyone starts). */
    room: /** @type {string | null} */ (null),
    /** A `/login` the login form made before the welcome, sent once welcomed. */
    pendingLogin: /** @type {string | null} */ (null),
    /** The password of the last account command sent, until its answer says whether it is kept. */
    offered: /** @type {string | null} */ (null),
    /** The page's own `/login` after a reconnection is on its way. */
    relogin: false,
    /** A registered name's notice that came while `relogin`: its form waits for the answer. */
    reserved: /** @type {string | null} */ (null),
    /** The page's own `/upload`s whose answers are still to come: taken, not shown. */
    uploadsAsked: 0,
    /**
     * An upload address of this connection's that a cancelled or failed
     * upload left unused, with when it stops being good: the next file goes
     * there, rather than using up another of the few a member may hold.
     * @type {{ token: string, until: number } | null}
     */
    spareUpload: null,
    /** Part of a line split across messages (the server sends whole lines; this is cheap insurance). */
    partial: "",
  };
}
let connection = freshConnection();

// ---------------------------------------------------------------------------
// Drawing lines

/**
 * Appends one line to the list, as text.
 * @param {string} line
 * @param {{ local?: boolean }} [options] `local`: the page's own words, not the room's
 */
function show(line, options = {}) {
  const info = classify(line, connection.welcomed ? session.name : null);
  const item = document.createElement("li");
  item.className = `line ${options.local ? "local" : info.kind}`;
  if (info.own) item.classList.add("own");
  if (info.mention) item.classList.add("mention");
  const now = new Date();
  const time = document.createElement("time");
  time.dateTime = now.toISOString();
  time.textContent = clockTime(now);
  const text = document.createElement("span");
  text.className = "text";
  let at = 0;
  for (const [start, end] of options.local ? [] : info.names) {
    text.append(line.slice(at, start));
    text.append(nameElement(line.slice(start, end)));
    at = end;
  }
  const share = options.local ? null : sharedFile(line);
  if (share !== null && share.at >= at) {
    // The server's notice of a shared file: its address is a link, a picture shows under it.
    text.append(line.slice(at, share.at), fileLink(share.url, share.url));
    at = line.length;
    const picture = pictureUrl(share, location.origin);
    if (picture !== null) text.append(pictureElement(share, picture));
  }
  text.append(line.slice(at));
  item.append(time, " ", text);

  const atBottom = isAtBottom();
  lines.append(item);
  while (lines.childElementCount > MAX_SHOWN_LINES) lines.firstElementChild?.remove();
  if (atBottom) {
    scrollToBottom();
  } else {
    session.below++;
    jump.textContent = session.below === 1 ? "1 new message ↓" : `${session.below} new messages ↓`;
    jump.hidden = false;
  }
  if (options.local) return;
  if (info.public) remember(line);
  if (document.hidden && !info.own) {
    session.unread++;
    document.title = `(${session.unread}) ${baseTitle}`;
  }
  if (info.mention || info.direct) notifyMention(line, info.sender ?? "");
}

/**
 * A name in its own colour.
 * @param {string} name
 * @returns {HTMLElement}
 */
function nameElement(name) {
  const span = document.createElement("span");
  span.className = "name";
  span.textContent = name;
  span.style.setProperty("--hue", String(nameHue(name)));
  return span;
}

/**
 * A link to a shared file that opens in a new tab, so the chat stays open.
 * @param {string} url
 * @param {string | Node} content
 * @returns {HTMLAnchorElement}
 */
function fileLink(url, content) {
  const link = document.createElement("a");
  link.href = url;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.append(content);
  return link;
}

/**
 * A shared picture, scaled to fit the list, that opens the file when clicked.
 * One that does not load as a picture (its name said PNG, its bytes did not)
 * goes away and leaves the link.
 * @param {import("./lines.js").SharedFile} share
 * @param {string} url
 * @returns {HTMLAnchorElement}
 */
function pictureElement(share, url) {
  const image = document.createElement("img");
  image.alt = share.name;
  image.loading = "lazy";
  image.decoding = "async";
  const link = fileLink(share.url, image);
  link.className = "picture";
  image.addEventListener("error", () => link.remove(), { once: true });
  image.src = url;
  return link;
}

/** @param {string} line */
function remember(line) {
  session.seen.push(line);
  if (session.seen.length > MAX_REMEMBERED_LINES) session.seen.splice(0, MAX_REMEMBERED_LINES / 10);
}

function isAtBottom() {
  return log.scrollHeight - log.scrollTop - log.clientHeight <= BOTTOM_SLACK_PX;
}

function scrollToBottom() {
  log.scrollTop = log.scrollHeight;
  session.below = 0;
  jump.hidden = true;
}

log.addEventListener("scroll", () => {
  if (!jump.hidden && isAtBottom()) scrollToBottom();
});

/** The list's height and the view's when last measured: how they changed says where the reader was. */
const measured = { list: 0, view: 0 };

// The list grows after a line is drawn when its picture loads (perhaps after
// lines that came later), and the view shrinks when the upload bar or the
// login form comes up: a reader who was at the newest lines before is kept there.
const keepAtBottom = new ResizeObserver(() => {
  const list = log.scrollHeight;
  const view = log.clientHeight;
  const below = list - log.scrollTop - view;
  const before = below - (list - measured.list) + (view - measured.view);
  measured.list = list;
  measured.view = view;
  if (below > BOTTOM_SLACK_PX && before <= BOTTOM_SLACK_PX) scrollToBottom();
});
keepAtBottom.observe(lines);
keepAtBottom.observe(log);

jump.addEventListener("click", () => {
  scrollToBottom();
  input.focus();
});

/**
 * Says something about the connection: in the status bar, and with `inLog` as
 * a line of the page's own in the list too.
 * @param {string} text
 * @param {boolean} [inLog]
 */
function say(text, inLog = false) {
  status.textContent = text;
  if (inLog) show(text, { local: true });
}

// ---------------------------------------------------------------------------
// The member list

function drawMembers() {
  const items = session.members.map((name) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "member";
    button.title = `Send ${name} a private message`;
    button.append(nameElement(name));
    if (name === session.name) {
      const you = document.createElement("span");
      you.className = "you";
      you.textContent = " (you)";
      button.append(you);
    }
    button.addEventListener("click", () => {
      input.value = `/msg ${name} `;
      input.focus();
    });
    item.append(button);
    return item;
  });
  memberList.replaceChildren(...items);
  peopleCount.textContent = String(session.members.length);
}

/**
 * @param {import("./lines.js").RoomChange} change
 */
function applyChange(change) {
  const members = session.members;
  if (change.type === "moved") {
    // Another room: its members come with the answer to a /who, the rooms with a /rooms.
    movedInRooms(currentRoom(), change.room, change.here);
    connection.room = change.room === LOBBY ? null : change.room;
    connection.joining = null;
    connection.membersKnown = false;
    session.members = [];
    askWho();
    askRooms();
  } else if (change.type === "who") {
    // Only our room's list is the member list; `/who #other` is just shown.
    if (change.room === connection.room || (change.room === LOBBY && connection.room === null)) {
      session.members = change.names;
      connection.membersKnown = true;
    }
  } else if (change.type === "joined") {
    if (!members.includes(change.name)) members.push(change.name);
    if (change.room !== null) askRoomsSoon();
  } else if (change.type === "left") {
    session.members = members.filter((name) => name !== change.name);
    if (change.room !== null) askRoomsSoon();
  } else {
    session.members = members.map((name) => name === change.from ? change.to : name);
    if (change.from === session.name) {
      session.name = change.to;
      say(`Connected as ${change.to}`);
    }
  }
  drawMembers();
  countFromMembers();
}

/** Asks for the member list; the answer is not shown. */
function askWho() {
  if (!connection.welcomed || session.socket?.readyState !== WebSocket.OPEN) return;
  connection.hiddenWho++;
  session.lastWho = Date.now();
  session.socket.send("/who");
}

setInterval(() => {
  if (!document.hidden) askWho();
}, WHO_REFRESH_MS);

// ---------------------------------------------------------------------------
// The rooms

/** The room we are in, by its name. */
function currentRoom() {
  return connection.room ?? LOBBY;
}

function drawRooms() {
  const here = currentRoom();
  // A redraw replaces the buttons: the one that had the keyboard focus gets it back.
  const active = document.activeElement;
  const focused = active instanceof HTMLElement && roomList.contains(active)
    ? active.dataset.room
    : undefined;
  const buttons = session.rooms.map(({ name, count, modes }) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "room-entry";
    button.dataset.room = name;
    const label = document.createElement("span");
    label.className = "room-name";
    label.textContent = `#${name}`;
    const size = document.createElement("span");
    size.className = "room-size";
    size.textContent = String(count);
    button.append(label, " ", size);
    // A key (+k) or invitations (+i) keep newcomers out: a lock says so.
    const locked = /[ik]/.test(modes ?? "");
    if (locked) {
      const lock = document.createElement("span");
      lock.className = "room-lock";
      lock.textContent = "🔒";
      lock.setAttribute("aria-hidden", "true");
      const said = document.createElement("span");
      said.className = "visually-hidden";
      said.textContent = "locked";
      button.append(" ", lock, said);
    }
    const entry = locked ? "; it needs a key or an invitation" : "";
    if (name === here) {
      button.setAttribute("aria-current", "true");
      button.title = `You are in #${name} (${count} here${entry})`;
    } else {
      button.title = `Go to #${name} (${count} here${entry})`;
    }
    button.addEventListener("click", () => joinRoom(name));
    return button;
  });
  roomList.replaceChildren(...buttons.map((button) => {
    const item = document.createElement("li");
    item.append(button);
    return item;
  }));
  roomCount.textContent = String(session.rooms.length);
  buttons.find((button) => button.dataset.room === focused)?.focus();
}

/**
 * Sends `/join #name` for a click on a room; nothing for the room we are in,
 * or for one a click has asked for already.
 * @param {string} name
 */
function joinRoom(name) {
  const socket = session.socket;
  if (!connection.welcomed || socket === null || socket.readyState !== WebSocket.OPEN) {
    say("Not connected: you can change rooms once the page is back.");
    return;
  }
  if (name === currentRoom() || name === connection.joining) return;
  connection.joining = name;
  socket.send(`/join #${name}`);
  input.focus();
}

/**
 * Our own move, in the list until the next `/rooms` answer: one fewer in the
 * room left, `here` in the room joined.
 * @param {string} from
 * @param {string} to
 * @param {number} here
 */
function movedInRooms(from, to, here) {
  if (session.rooms.length === 0) return;
  const left = session.rooms.find((room) => room.name === from);
  if (left !== undefined) left.count = Math.max(0, left.count - 1);
  const joined = session.rooms.find((room) => room.name === to);
  if (joined !== undefined) joined.count = here;
  else session.rooms.push({ name: to, count: here });
}

/** The count of the room we are in from the member list, while that is the room's in full. */
function countFromMembers() {
  const here = currentRoom();
  const room = session.rooms.find((room) => room.name === here);
  if (connection.membersKnown && room !== undefined) room.count = session.members.length;
  drawRooms();
}

/**
 * Asks for the list of rooms; the answer is not shown. One at a time: asked
 * again while one is on its way, it asks once more after that answer.
 */
function askRooms() {
  if (!connection.welcomed || session.socket?.readyState !== WebSocket.OPEN) return;
  if (connection.hiddenRooms) {
    connection.roomsAgain = true;
    return;
  }
  connection.hiddenRooms = true;
  session.lastRooms = Date.now();
  session.roomsStale = false;
  session.socket.send("/rooms");
}

/**
 * Asks for the rooms after a notice of a move, at most once a
 * {@linkcode ROOMS_NOTICE_MS} however many come; a hidden page waits until it
 * is shown.
 */
function askRoomsSoon() {
  if (session.roomsTimer !== undefined) return;
  const wait = Math.max(0, session.lastRooms + ROOMS_NOTICE_MS - Date.now());
  session.roomsTimer = setTimeout(() => {
    session.roomsTimer = undefined;
    if (document.hidden) session.roomsStale = true;
    else askRooms();
  }, wait);
}

/**
 * A `/rooms` answer, ours or one the person asked for: the list follows it.
 * @param {import("./lines.js").ListedRoom[]} rooms
 * @returns {boolean} whether it answers our own `/rooms`, and so is not shown
 */
function receiveRooms(rooms) {
  session.rooms = rooms;
  drawRooms();
  if (!connection.hiddenRooms) return false;
  connection.hiddenRooms = false;
  if (connection.roomsAgain) {
    connection.roomsAgain = false;
    askRoomsSoon();
  }
  return true;
}

setInterval(() => {
  if (!document.hidden) askRooms();
}, ROOMS_REFRESH_MS);

// ---------------------------------------------------------------------------
// Lines from the room

/** @param {string} line */
function receive(line) {
  if (!connection.welcomed) {
    receiveBeforeWelcome(line);
    return;
  }
  if (line === HISTORY_START && !connection.historySeen) {
    connection.historySeen = true;
    connection.history = [];
    return;
  }
  if (connection.history !== null) {
    if (line === HISTORY_END) showHistory(connection.history);
    else connection.history.push(line);
    return;
  }
  const change = roomChange(line);
  if (change !== null) {
    applyChange(change);
    if (change.type === "who" && connection.hiddenWho > 0) {
      connection.hiddenWho--;
      return;
    }
  }
  const rooms = listedRooms(line);
  if (rooms !== null && receiveRooms(rooms)) return;
  if (connection.uploadsAsked > 0) {
    const address = uploadAddress(line);
    if (address !== null) {
      connection.uploadsAsked--;
      receiveUploadAddress(address.token, Date.now() + address.ms);
      return;
    }
    if (refusesUpload(line)) {
      // Shown as it is: it says why the file was not shared.
      connection.uploadsAsked--;
      if (sharing?.xhr === null) endSharing();
    }
  }
  // A click's /join that failed (`! Too many rooms`) is not waited for any more.
  if (line.startsWith("! ")) connection.joining = null;
  show(line);
  followAccount(line);
}

/** @param {string} line */
function receiveBeforeWelcome(line) {
  const name = welcomedName(line);
  if (name !== null) {
    // The name this page rejoined with, before the server's takes its place.
    const asked = connection.nameSent ? session.name : null;
    connection.welcomed = true;
    session.name = name;
    session.attempt = 0;
    setSecret(false);
    show(line);
    say(`Connected as ${name}`);
    people.classList.remove("stale");
    roomPanel.classList.remove("stale");
    input.placeholder = "Message, or /help";
    inputLabel.textContent = "Message";
    drawRooms();
    const account = session.account;
    if (connection.pendingLogin !== null) {
      sendOwn(connection.pendingLogin);
    } else if (account !== null && asked?.toLowerCase() === account.name.toLowerCase()) {
      // Logged in when the connection went (it rejoined as the account): log in again.
      connection.relogin = true;
      sendOwn(`/login ${account.name} ${account.password}`);
    }
    connection.pendingLogin = null;
    askWho();
    askRooms();
    return;
  }
  show(line);
  // "* alice is registered; /login alice PASSWORD to use it" asks for no password here.
  if (followAccount(line)) return;
  if (line.startsWith("! ") && connection.passwordSent) {
    // The password kept from earlier no longer opens the room: ask the person next time.
    session.password = null;
  }
  if (asksForPassword(line)) {
    if (session.password !== null && !connection.passwordSent) {
      connection.passwordSent = true;
      session.socket?.send(session.password);
    } else {
      setSecret(true);
    }
  } else if (asksForNickname(line)) {
    if (session.name !== null && !connection.nameSent) {
      // Rejoining: the name the server last welcomed us by answers for us.
      connection.nameSent = true;
      session.socket?.send(session.name);
    } else {
      input.placeholder = "Your nickname";
      inputLabel.textContent = "Nickname";
    }
  }
}

/**
 * Shows the part of a history block that is new to the page: all of it on the
 * first join, what was said while away after a reconnection.
 * @param {string[]} history
 */
function showHistory(history) {
  connection.history = null;
  const fresh = history.slice(historyOverlap(session.seen, history));
  if (fresh.length === 0) return;
  show(HISTORY_START);
  for (const line of fresh) show(line);
  show(HISTORY_END);
}

/**
 * The field takes a password (not echoed) or ordinary text.
 * @param {boolean} secret
 */
function setSecret(secret) {
  connection.secret = secret;
  input.type = secret ? "password" : "text";
  if (secret) {
    input.placeholder = "Password";
    inputLabel.textContent = "Password";
  }
}

/**
 * The field hides what is typed while the line is a command that carries a
 * password (`/login NAME PASSWORD`, `/register`, `/password`, `/unregister`):
 * it becomes a password field, since a text field cannot hide part of its
 * text, and the note above it shows the part that is no secret
 * (`/login alice`). The page keeps no input history, so no line comes back.
 */
function maskField() {
  if (connection.secret) return;
  const start = secretStart(input.value);
  const hide = start !== null;
  if (hide !== (input.type === "password")) {
    input.type = hide ? "password" : "text";
    inputLabel.textContent = hide ? "Command with a password, hidden" : "Message";
  }
  secretNote.hidden = !hide;
  if (hide) {
    secretNote.textContent = `${input.value.slice(0, start).trim()} … (the password is hidden)`;
  }
}

input.addEventListener("input", maskField);

/**
 * What a line says about the account. A registered name's notice brings up
 * the login form, unless the page is logging in again by itself; the answer
 * to that login decides. `* Logged in as NAME` and `* Registered NAME: …`
 * keep the password just sent (in memory only) and put the form away;
 * `* Password changed` keeps the new one; `* NAME is no longer registered`,
 * and a re-login refused, forget it. A login elsewhere stops the page from
 * reconnecting, so that it does not take the name back and start a fight.
 * @param {string} line
 * @returns {boolean} whether the line was the notice of a registered name
 */
function followAccount(line) {
  const registered = registeredName(line);
  if (registered !== null) {
    if (connection.relogin) connection.reserved = registered;
    else showLoginForm(registered);
    return true;
  }
  const answer = accountAnswer(line);
  if (connection.relogin && (answer?.type === "loggedIn" || line.startsWith("! "))) {
    // The answer to the page's own login after the reconnection.
    connection.relogin = false;
    if (answer?.type === "wrongPassword" || answer?.type === "noAccount") session.account = null;
    if (answer?.type !== "loggedIn" && connection.reserved !== null) {
      showLoginForm(connection.reserved);
    }
  }
  if (answer?.type === "loggedIn") {
    if (connection.offered !== null) {
      session.account = { name: answer.name, password: connection.offered };
    }
    connection.offered = null;
    loginForm.hidden = true;
    loginPassword.value = "";
  } else if (answer?.type === "passwordChanged") {
    if (session.account !== null && connection.offered !== null) {
      session.account.password = connection.offered;
    }
    connection.offered = null;
  } else if (answer?.type === "unregistered") {
    if (session.account?.name === answer.name) session.account = null;
  } else if (answer?.type === "elsewhere") {
    session.account = null;
    session.stopped = "Logged in elsewhere: this page does not reconnect by itself.";
  } else if (answer?.type === "wrongPassword" && !loginForm.hidden) {
    loginPassword.focus();
  }
  return false;
}

/**
 * Brings up the login form for `account`, the keyboard in its password field.
 * @param {string} account
 */
function showLoginForm(account) {
  loginName.textContent = account;
  loginForm.dataset.account = account;
  loginForm.hidden = false;
  loginPassword.focus();
}

/**
 * Sends a line of the person's, the login form's or the page's own login;
 * the password of an account command waits in memory for its answer.
 * @param {string} line
 */
function sendOwn(line) {
  connection.offered = offeredPassword(line) ?? connection.offered;
  session.socket?.send(line);
}

loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const account = loginForm.dataset.account;
  const password = loginPassword.value;
  if (account === undefined || password === "") return;
  // The password goes on the socket only: never in the list, never in the message field.
  const line = `/login ${account} ${password}`;
  loginPassword.value = "";
  const socket = session.socket;
  if (socket === null || socket.readyState !== WebSocket.OPEN) {
    say("Not connected: log in once the page is back.");
    return;
  }
  if (connection.welcomed) sendOwn(line);
  else connection.pendingLogin = line;
});

// ---------------------------------------------------------------------------
// The connection

function socketUrl() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}

function connect() {
  clearTimeout(session.retryTimer);
  retry.hidden = true;
  session.stopped = null;
  say(session.name === null ? "Connecting…" : `Rejoining as ${session.name}…`);
  const socket = new WebSocket(socketUrl());
  session.socket = socket;
  connection = freshConnection();
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
  });
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    const parts = (connection.partial + event.data).split("\n");
    connection.partial = parts.pop() ?? "";
    for (const part of parts) receive(part.endsWith("\r") ? part.slice(0, -1) : part);
  });
  socket.addEventListener("close", () => {
    if (session.socket !== socket) return;
    session.socket = null;
    const wasWelcomed = connection.welcomed;
    setSecret(false);
    if (sharing !== null && sharing.xhr === null) {
      // Its address would have been this connection's, which is gone.
      const name = sharing.name;
      endSharing();
      show(`The connection broke before ${name} was sent; it was not shared.`, { local: true });
    }
    people.classList.add("stale");
    roomPanel.classList.add("stale");
    if (session.stopped !== null) {
      say(session.stopped, true);
      retry.textContent = "Join again";
      retry.hidden = false;
      session.members = [];
      drawMembers();
      session.rooms = [];
      drawRooms();
      return;
    }
    const delay = reconnectDelay(session.attempt++);
    const seconds = (delay / 1000).toFixed(1);
    const why = opened ? "Connection lost" : "Cannot reach the server";
    say(`${why}; reconnecting in ${seconds} s…`, wasWelcomed);
    retry.textContent = "Reconnect now";
    retry.hidden = false;
    session.retryTimer = setTimeout(connect, delay);
  });
}

retry.addEventListener("click", () => {
  connect();
  input.focus();
});

// A network that comes back is worth trying at once rather than at the next backoff.
addEventListener("online", () => {
  if (session.socket === null && session.stopped === null) connect();
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value;
  if (text.trim() === "") return;
  const socket = session.socket;
  if (socket === null || socket.readyState !== WebSocket.OPEN) {
    say("Not connected: your line is still in the field.");
    return;
  }
  if (!connection.welcomed && !connection.secret && session.name !== null) {
    // Rejoining answers the nickname question itself; a typed line would become the name.
    say(`Rejoining as ${session.name}; send it again in a moment.`);
    return;
  }
  if (connection.secret) {
    session.password = text;
    connection.passwordSent = true;
    setSecret(false);
  }
  if (isQuitWord(text)) session.stopped = "You left the chat.";
  sendOwn(text);
  input.value = "";
  maskField();
  input.focus();
  scrollToBottom();
});

// ---------------------------------------------------------------------------
// Sharing files: the button, a file dropped on the page, a picture pasted

/**
 * The file the page is sharing, one at a time: `xhr` is null while its
 * upload address is on its way (the page asks with `/upload` and hides the
 * answer), then the `PUT` under way.
 * @typedef {object} Sharing
 * @property {Blob} file
 * @property {string} name the name it is sent with
 * @property {XMLHttpRequest | null} xhr
 * @property {string} token its upload address, once it has one
 * @property {number} until when that address stops being good
 * @property {boolean} spare whether the address was one left from before
 * @property {boolean} cancelled whether the person pressed Cancel
 * @property {ReturnType<typeof freshConnection>} connection the connection the address is of
 */
/** @type {Sharing | null} */
let sharing = null;

/**
 * Shares a file: asks for an upload address (or takes the one left from a
 * cancelled upload), then sends the file to it.
 * @param {Blob} file
 * @param {string} name
 */
function share(file, name) {
  if (!connection.welcomed || session.socket?.readyState !== WebSocket.OPEN) {
    show(`Join the chat first, then share ${name}.`, { local: true });
    return;
  }
  if (sharing !== null) {
    show(`One file at a time: ${sharing.name} is still being shared.`, { local: true });
    return;
  }
  sharing = {
    file,
    name,
    xhr: null,
    token: "",
    until: 0,
    spare: false,
    cancelled: false,
    connection,
  };
  drawSharing();
  const spare = connection.spareUpload;
  connection.spareUpload = null;
  if (spare !== null && spare.until > Date.now()) sendFile(sharing, spare.token, spare.until, true);
  else askUpload();
}

/** Asks for an upload address; the answer is not shown. */
function askUpload() {
  connection.uploadsAsked++;
  session.socket?.send("/upload");
}

/**
 * The answer to the page's own `/upload`. With no file waiting for it (the
 * person cancelled meanwhile) it is kept for the next one.
 * @param {string} token
 * @param {number} until
 */
function receiveUploadAddress(token, until) {
  if (sharing === null || sharing.xhr !== null) {
    connection.spareUpload = { token, until };
    return;
  }
  sendFile(sharing, token, until, false);
}

/**
 * Sends the file with `PUT` to the page's own origin (never the host the
 * server's line names: the page may be reached by another name).
 * @param {Sharing} current
 * @param {string} token
 * @param {number} until
 * @param {boolean} spare
 */
function sendFile(current, token, until, spare) {
  const xhr = new XMLHttpRequest();
  Object.assign(current, { xhr, token, until, spare });
  xhr.upload.addEventListener("progress", (event) => {
    if (sharing === current && event.lengthComputable) drawProgress(event.loaded, event.total);
  });
  xhr.addEventListener("loadend", () => sent(current, xhr));
  xhr.open("PUT", uploadPath(token, current.name));
  xhr.send(current.file);
  drawSharing();
}

/**
 * The `PUT` ended. Shared (201): the room's notice shows the file. Otherwise
 * the address is still good unless the server did not know it (404), and is
 * kept; a left-over address the server no longer knows is replaced by a
 * fresh one, once.
 * @param {Sharing} current
 * @param {XMLHttpRequest} xhr
 */
function sent(current, xhr) {
  if (sharing !== current) return;
  const status = xhr.status;
  if (status === 404 && current.spare && !current.cancelled) {
    current.xhr = null;
    current.spare = false;
    drawSharing();
    askUpload();
    return;
  }
  if (status !== 201 && status !== 404 && current.connection === connection) {
    connection.spareUpload = { token: current.token, until: current.until };
  }
  endSharing();
  const name = current.name;
  if (current.cancelled) {
    show(`You cancelled sharing ${name}.`, { local: true });
  } else if (status === 0) {
    show(`${name} was not shared: the connection to the server broke.`, { local: true });
  } else if (status !== 201 && !TOLD_BY_THE_SERVER.has(status)) {
    const why = xhr.responseText.trim() || `the server answered ${status}`;
    show(`${name} was not shared: ${why}.`, { local: true });
  }
}

/** The upload bar, for the file being shared. */
function drawSharing() {
  if (sharing === null) return;
  uploadLabel.textContent = `Sharing ${sharing.name} (${sizeText(sharing.file.size)})`;
  uploadBox.hidden = false;
  if (sharing.xhr === null) {
    // Waiting for the address: a bar that says "under way", without an amount.
    uploadProgress.removeAttribute("value");
    uploadAmount.textContent = "Starting…";
  } else {
    drawProgress(0, sharing.file.size);
  }
}

/**
 * @param {number} loaded
 * @param {number} total
 */
function drawProgress(loaded, total) {
  uploadProgress.value = total === 0 ? 1 : loaded / total;
  uploadAmount.textContent = `${total === 0 ? 100 : Math.floor((loaded / total) * 100)} %`;
}

/** Puts the upload bar away; the keyboard goes back to the field if it was on the bar. */
function endSharing() {
  sharing = null;
  const focused = uploadBox.contains(document.activeElement);
  uploadBox.hidden = true;
  if (focused) input.focus();
}

uploadCancel.addEventListener("click", () => {
  const current = sharing;
  if (current === null) return;
  current.cancelled = true;
  if (current.xhr !== null) {
    // Its `loadend` follows, and says so.
    current.xhr.abort();
    return;
  }
  // The address, when it comes, is kept for the next file.
  endSharing();
  show(`You cancelled sharing ${current.name}.`, { local: true });
});

shareButton.addEventListener("click", () => fileInput.click());

fileInput.addEventListener("change", () => {
  const file = fileInput.files?.[0];
  // Cleared, so that choosing the same file again is a change too.
  fileInput.value = "";
  if (file !== undefined) share(file, file.name);
});

/**
 * Whether a drag carries files (not text or a link dragged within the page).
 * @param {DragEvent} event
 */
function carriesFiles(event) {
  return event.dataTransfer?.types.includes("Files") ?? false;
}

for (const type of /** @type {const} */ (["dragenter", "dragover"])) {
  document.addEventListener(type, (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    if (event.dataTransfer !== null) event.dataTransfer.dropEffect = "copy";
    dropZone.hidden = false;
  });
}

// Once shown, the drop target covers the page, so it gets every drag event:
// one leaving it left the window (or the drag was given up).
dropZone.addEventListener("dragleave", () => {
  dropZone.hidden = true;
});

document.addEventListener("drop", (event) => {
  dropZone.hidden = true;
  if (!carriesFiles(event)) return;
  event.preventDefault();
  const file = event.dataTransfer?.files[0];
  if (file !== undefined) share(file, file.name);
});

document.addEventListener("paste", (event) => {
  const files = [...(event.clipboardData?.files ?? [])];
  const picture = files.find((file) => file.type.startsWith("image/"));
  if (picture === undefined) return;
  event.preventDefault();
  // Browsers call every picture on the clipboard `image.png`: a name by the time says more.
  const name = picture.name === "" || picture.name === "image.png"
    ? pastedName(picture.type, new Date())
    : picture.name;
  share(picture, name);
});

// ---------------------------------------------------------------------------
// Hidden pages: the unread count and notifications

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  session.unread = 0;
  document.title = baseTitle;
  if (Date.now() - session.lastWho > WHO_REFRESH_MS) askWho();
  if (session.roomsStale || Date.now() - session.lastRooms > ROOMS_REFRESH_MS) askRooms();
  // Browsers slow a hidden tab's timers to once a minute: a person who comes
  // back to a page still waiting to reconnect should not wait for that.
  if (session.socket === null && session.stopped === null) connect();
});

const NOTIFY_KEY = "chat.notify";

function setUpNotifications() {
  if (!("Notification" in globalThis) || !isSecureContext) {
    notify.disabled = true;
    notify.title = "This browser allows notifications only on https:// pages and localhost.";
    return;
  }
  notify.checked = Notification.permission === "granted" && stored(NOTIFY_KEY) === "on";
  notify.addEventListener("change", async () => {
    if (!notify.checked) {
      store(NOTIFY_KEY, "off");
      return;
    }
    const permission = await Notification.requestPermission();
    notify.checked = permission === "granted";
    store(NOTIFY_KEY, notify.checked ? "on" : "off");
    if (!notify.checked) say("Notifications are blocked in this browser's settings for this page.");
  });
}

/**
 * Tells a person away from the page that someone said their name, or wrote to them.
 * @param {string} line
 * @param {string} sender
 */
function notifyMention(line, sender) {
  if (!notify.checked || !document.hidden || Notification.permission !== "granted") return;
  const note = new Notification(`${sender} mentioned you`, { body: line, tag: "chat-mention" });
  note.addEventListener("click", () => {
    focus();
    note.close();
  });
}

/** @param {string} key */
function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/**
 * @param {string} key
 * @param {string} value
 */
function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage is off (a private window); the choice lasts this page only.
  }
}

// ---------------------------------------------------------------------------
// Phones: the rooms and the member list fold away, and the layout follows the keyboard

if (matchMedia("(max-width: 40rem)").matches) {
  roomPanel.open = false;
  people.open = false;
}

// Where the browser shrinks only the visual viewport for the on-screen
// keyboard (Safari), size the page to it so the field stays above the keyboard.
const viewport = globalThis.visualViewport;
if (viewport) {
  const fit = () => {
    const root = document.documentElement;
    if (viewport.scale > 1.01) root.style.removeProperty("--viewport-height");
    else root.style.setProperty("--viewport-height", `${viewport.height}px`);
    if (jump.hidden) scrollToBottom();
  };
  viewport.addEventListener("resize", fit);
  fit();
}

setUpNotifications();
drawMembers();
drawRooms();
input.focus();
connect();
