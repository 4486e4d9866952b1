/**
 * Server operators: `/oper PASSWORD` makes a member one when the password is
 * right. The check takes as long whatever was typed, and wrong guesses are
 * limited by address however many connections make them; a wrong one holds
 * the connection's next line back for a while.
 *
 * @module
 */

import { GuessLimiter } from "./guesses.ts";
import type { OperatorsHost, OperatorsOptions } from "./operator_host.ts";
import { type Member, secretsMatch } from "./session.ts";

/** `/oper` and the password it checks. */
export class ServerOperators {
  readonly #host: OperatorsHost;
  readonly #password: string | null;
  readonly #wrongPasswordDelayMs: number;
  /** Wrong `/oper` passwords by address, however many connections guess. */
  readonly #guesses = new GuessLimiter();

  /** Server operators for the core behind `host`, with the password of `options`. */
  constructor(host: OperatorsHost, options: OperatorsOptions) {
    this.#host = host;
    this.#password = options.password;
    this.#wrongPasswordDelayMs = options.wrongPasswordDelayMs;
  }

  /** `/oper PASSWORD`: makes the member a server operator if the password is right. */
  async oper(member: Member, given: string): Promise<void> {
    const host = this.#host;
    if (this.#password === null) {
      host.tell(member, "! No operator password is set on this server");
      return;
    }
    if (member.serverOperator) {
      host.tell(member, "! You are already a server operator");
      return;
    }
    const wait = this.#guesses.take(member.ip, performance.now());
    if (wait > 0) {
      host.tell(
        member,
        `! Too many wrong passwords from your address; try again in ${Math.ceil(wait / 1000)} s`,
      );
      return;
    }
    if (await secretsMatch(given, this.#password)) {
      this.#guesses.right(member.ip);
      member.serverOperator = true;
      host.changed(member);
      host.tell(member, "* You are now a server operator");
      host.log?.(`${member.peer} ${member.name} is now a server operator`);
      return;
    }
    host.log?.(`${member.peer} ${member.name} gave a wrong operator password`);
    await host.delay(member, this.#wrongPasswordDelayMs);
    host.tell(member, "! Wrong operator password");
  }
}
