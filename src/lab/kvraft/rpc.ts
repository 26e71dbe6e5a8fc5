/**
 * The kvraft RPCs between a {@link Clerk} and a `KVServer` (the course's `common.go`): `KVServer.Get`,
 * `KVServer.PutAppend`, and `KVServer.Register`, which opens the clerk's session. Arguments arrive decoded
 * from the wire as `unknown`, so each has a parser that refuses anything of the wrong shape.
 */

/** The course's error values, plus the ones this service adds. */
export const Err = {
  OK: "OK",
  /** A Get found no such key (the value is then ""). */
  ErrNoKey: "ErrNoKey",
  /** This server is not the leader (or lost the slot its command was proposed at): try another server. */
  ErrWrongLeader: "ErrWrongLeader",
  /** No answer in time (no quorum, lost messages); the command may or may not have been applied: retry it. */
  ErrTimeout: "ErrTimeout",
  /** The clerk's session is gone (never expected in the lab): register again, then retry. */
  ErrSessionExpired: "ErrSessionExpired",
  /** The arguments are malformed: a bug in the caller, never worth retrying. */
  ErrBadArgs: "ErrBadArgs",
} as const;

/** One of {@link Err}. */
export type Err = (typeof Err)[keyof typeof Err];

/** The course's two write operations. */
export type PutAppendOp = "Put" | "Append";

/** Identifies a clerk's command for exactly-once execution (Raft thesis §6.3). */
export interface SessionFields {
  /** The clerk's session, as `Register` returned it (a log index, so at least 1). */
  readonly clientId: number;
  /** The clerk's number for this command: 1, 2, ...; a retry reuses it. */
  readonly sequence: number;
  /** The clerk has seen the replies to every sequence below this one, so the servers may forget them. */
  readonly ackedBelow: number;
}

/** Arguments of `KVServer.Get`. */
export interface GetArgs {
  readonly key: string;
}

/** Reply of `KVServer.Get`: `value` is "" unless `err` is OK. */
export interface GetReply {
  readonly err: Err;
  readonly value: string;
}

/** Arguments of `KVServer.PutAppend`. */
export interface PutAppendArgs extends SessionFields {
  readonly key: string;
  readonly value: string;
  readonly op: PutAppendOp;
}

/** Reply of `KVServer.PutAppend`. */
export interface PutAppendReply {
  readonly err: Err;
}

/** Arguments of `KVServer.Register`: none. */
export type RegisterArgs = Record<string, never>;

/** Reply of `KVServer.Register`: the new session's id when `err` is OK, else 0. */
export interface RegisterReply {
  readonly err: Err;
  readonly clientId: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Reads `KVServer.Get` arguments; null if they are not `{ key: string }`. */
export function parseGetArgs(args: unknown): GetArgs | null {
  if (!isRecord(args) || typeof args.key !== "string") return null;
  return { key: args.key };
}

/** Reads `KVServer.PutAppend` arguments; null if any field is missing or of the wrong type. */
export function parsePutAppendArgs(args: unknown): PutAppendArgs | null {
  if (!isRecord(args)) return null;
  const { key, value, op, clientId, sequence, ackedBelow } = args;
  if (typeof key !== "string" || typeof value !== "string") return null;
  if (op !== "Put" && op !== "Append") return null;
  if (!isCount(clientId) || !isCount(sequence) || !isCount(ackedBelow)) return null;
  return { key, value, op, clientId, sequence, ackedBelow };
}

const ERR_VALUES: ReadonlySet<unknown> = new Set(Object.values(Err));

function isErr(value: unknown): value is Err {
  return ERR_VALUES.has(value);
}

/** Reads a `KVServer.Get` reply; null if it is malformed. */
export function parseGetReply(reply: unknown): GetReply | null {
  if (!isRecord(reply) || !isErr(reply.err) || typeof reply.value !== "string") return null;
  return { err: reply.err, value: reply.value };
}

/** Reads a `KVServer.PutAppend` reply; null if it is malformed. */
export function parsePutAppendReply(reply: unknown): PutAppendReply | null {
  if (!isRecord(reply) || !isErr(reply.err)) return null;
  return { err: reply.err };
}

/** Reads a `KVServer.Register` reply; null if it is malformed. */
export function parseRegisterReply(reply: unknown): RegisterReply | null {
  if (!isRecord(reply) || !isErr(reply.err) || !isCount(reply.clientId)) return null;
  return { err: reply.err, clientId: reply.clientId };
}
