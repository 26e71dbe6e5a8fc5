import type { ClientId, KvCommand, SessionStamp } from "./command.ts";
import type { CommandOutcome, KvService } from "./kv-service.ts";

/** A session command without its stamp: what a caller without a session of its own asks for. */
export type UnstampedCommand = KvCommand extends infer C
  ? C extends SessionStamp
    ? Omit<C, keyof SessionStamp>
    : never
  : never;

/**
 * The session a node uses for requests that arrive without one (say, from curl). It registers itself on
 * first use and numbers the commands, so each command is applied at most once even if this node proposes it
 * again internally; but a caller that retries on its own after a timeout sends a new command. Clients that
 * need exactly-once across their own retries register a session and send their own (clientId, sequence).
 */
export class GatewaySession {
  readonly #service: KvService;
  #clientId: ClientId | null = null;
  #registering: Promise<CommandOutcome> | null = null;
  #nextSequence = 1;
  /** Sequences sent and not yet answered, for the acknowledged floor. */
  readonly #outstanding = new Set<number>();

  constructor(service: KvService) {
    this.#service = service;
  }

  /** Runs one command under this node's session, registering (again) when there is none or it expired. */
  async execute(command: UnstampedCommand): Promise<CommandOutcome> {
    const first = await this.#executeOnce(command);
    if (!("ok" in first) || first.result.kind !== "session-expired") return first;
    this.#clientId = null;
    return this.#executeOnce(command);
  }

  async #executeOnce(command: UnstampedCommand): Promise<CommandOutcome> {
    const clientId = await this.#session();
    if (typeof clientId !== "number") return clientId;
    const sequence = this.#nextSequence++;
    this.#outstanding.add(sequence);
    const ackedBelow = Math.min(...this.#outstanding);
    try {
      return await this.#service.execute({ ...command, clientId, sequence, ackedBelow } as KvCommand);
    } finally {
      this.#outstanding.delete(sequence);
    }
  }

  /** The session id, registering one first if needed; concurrent callers share one registration. */
  async #session(): Promise<ClientId | Exclude<CommandOutcome, { ok: true }>> {
    if (this.#clientId !== null) return this.#clientId;
    if (this.#registering === null) {
      this.#registering = this.#service.execute({ kind: "register-client" });
    }
    const outcome = await this.#registering;
    this.#registering = null;
    if (!("ok" in outcome)) return outcome;
    if (outcome.result.kind !== "registered") {
      return { error: "unavailable" };
    }
    if (this.#clientId === null) {
      this.#clientId = outcome.result.clientId;
      this.#nextSequence = 1;
    }
    return this.#clientId;
  }
}
