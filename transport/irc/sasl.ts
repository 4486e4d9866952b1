/**
 * SASL `PLAIN` for IRC clients, against the chat's accounts (one account
 * system with `/login`): `CAP REQ :sasl`, `AUTHENTICATE PLAIN`, then the
 * base64 of `authzid NUL authcid NUL password` in pieces of 400 bytes. The
 * core checks the password (off the event loop, with `/login`'s guess
 * limits) before the client has a name, and the member's name is then its
 * account's; the client hears `900` and `903`, or `904`. Registration
 * waits while a check is under way.
 *
 * @module
 */

import { prefixOf, type SessionState } from "./session_state.ts";

/** The longest AUTHENTICATE payload read, decoded or not: a name and a password fit. */
const MAX_PAYLOAD = 1600;
/** One AUTHENTICATE piece; a full one means more follow. */
const PIECE = 400;

/** One client's SASL exchange: see the module's description. */
export class Sasl {
  /** The mechanism chosen (`PLAIN`), null before `AUTHENTICATE PLAIN` or after the end. */
  #mechanism: string | null = null;
  #payload = "";

  /** SASL over `s`; `register` goes on with the registration once a check ends. */
  constructor(readonly s: SessionState, readonly register: () => void) {}

  /** Handles `AUTHENTICATE params`. */
  authenticate(params: string[]): void {
    const s = this.s;
    const arg = params[0];
    if (arg === undefined) return s.numeric("461", "AUTHENTICATE", "Not enough parameters");
    if (s.me !== null || s.account !== null) {
      return s.numeric("907", "You have already authenticated using SASL");
    }
    if (!s.caps.has("sasl") || s.saslBusy) return this.#fail();
    if (arg === "*") {
      this.#reset();
      return s.numeric("906", "SASL authentication aborted");
    }
    if (this.#mechanism === null) {
      if (arg.toUpperCase() !== "PLAIN") {
        s.numeric("908", "PLAIN", "are available SASL mechanisms");
        return this.#fail();
      }
      this.#mechanism = "PLAIN";
      return s.reply("AUTHENTICATE +");
    }
    if (arg !== "+") this.#payload += arg;
    if (this.#payload.length > MAX_PAYLOAD) {
      this.#reset();
      return s.numeric("905", "SASL message too long");
    }
    if (arg.length === PIECE) return;
    this.#check(this.#payload);
  }

  /** Decodes `PLAIN`'s payload and asks the core whether the password is the account's. */
  #check(payload: string): void {
    const s = this.s;
    this.#reset();
    let parts: string[];
    try {
      parts = new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.from(atob(payload), (char) => char.charCodeAt(0)),
      ).split("\0");
    } catch {
      return this.#fail();
    }
    const [authzid = "", authcid = "", password = ""] = parts;
    const login = s.host.logInBeforeName;
    if (parts.length !== 3 || authcid === "" || password === "" || login === undefined) {
      return this.#fail();
    }
    // Another identity than the one proved is not for a client to ask.
    if (authzid !== "" && authzid !== authcid) return this.#fail();
    s.saslBusy = true;
    login(authcid, password).then((name) => {
      s.saslBusy = false;
      if (name === null) this.#fail();
      else {
        s.account = name;
        const nick = s.nick ?? name;
        s.numeric("900", `${prefixOf(nick)}`, name, `You are now logged in as ${name}`);
        s.numeric("903", "SASL authentication successful");
      }
      this.register();
    }, () => {
      s.saslBusy = false;
      this.#fail();
      this.register();
    });
  }

  #fail(): void {
    this.#reset();
    this.s.numeric("904", "SASL authentication failed");
  }

  #reset(): void {
    this.#mechanism = null;
    this.#payload = "";
  }
}
