/**
 * The message of the day: what every newcomer gets after the welcome, which
 * `/motd` shows to anyone and server operators set or clear (`/motd -`).
 *
 * @module
 */

import type { OperatorActing } from "./operator_acting.ts";
import type { Member } from "./session.ts";

/** The message of the day and `/motd`. */
export class MessageOfTheDay {
  /** What every newcomer gets after the welcome; null for nothing. */
  text: string | null = null;
  /** Called when `/motd` changes it, for the data file or the cluster. */
  onChange: ((text: string | null) => void) | null = null;
  readonly #acting: OperatorActing;

  /** The message of the day, `/motd` acting through `acting`. */
  constructor(acting: OperatorActing) {
    this.#acting = acting;
  }

  /** `/motd [text]`: shows the message of the day, or sets it (`-` clears it). */
  command(actor: Member, text: string): void {
    const acting = this.#acting;
    if (text === "") {
      acting.host.tell(
        actor,
        this.text === null ? "* No message of the day" : `* Message of the day: ${this.text}`,
      );
      return;
    }
    if (!acting.serverOperator(actor, "motd")) return;
    if (text !== "-" && acting.silenced(actor, text)) return;
    this.text = text === "-" ? null : text;
    this.onChange?.(this.text);
    acting.host.tell(actor, `* Message of the day ${this.text === null ? "cleared" : "set"}`);
    acting.log(
      actor,
      this.text === null ? "cleared the message of the day" : "set the message of the day",
    );
  }
}
