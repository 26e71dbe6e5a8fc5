/**
 * The replicated key-value state machine (Raft thesis chapter 6): commands and their log encoding, client
 * sessions for exactly-once semantics (§6.3), the deterministic state machine with snapshots (§7), and the
 * snapshot policy. Pure: no I/O, no clocks; the HTTP API and the peer wrap it.
 */
export type { ClientSessionState } from "./client-session.ts";
export {
  type AppendCommand,
  type CasCommand,
  type ClientId,
  type DeleteCommand,
  type GetCommand,
  type KvCommand,
  type KvEntry,
  type PutCommand,
  type RegisterClientCommand,
  type SessionCommand,
  type SessionStamp,
  type Validation,
  validateCommand,
  validateEntry,
  validateKey,
  validateTimestamp,
  validateValue,
} from "./command.ts";
export { DEFAULT_KV_CONFIG, type KvConfig, validateKvConfig } from "./config.ts";
export { COMMAND_TAGS, type DecodedEntry, decodeEntry, encodeEntry } from "./entry-codec.ts";
export { ENTRY_BYTES_MAX, KEY_BYTES_MAX, VALUE_BYTES_MAX } from "./limits.ts";
export type {
  BadCommandResult,
  CasMismatchResult,
  KvResult,
  NoOpResult,
  NotFoundResult,
  OkResult,
  RegisteredResult,
  SavedResult,
  SessionExpiredResult,
  StaleSequenceResult,
  TooManyOutstandingResult,
  ValueTooLargeResult,
} from "./result.ts";
export { CorruptSnapshotError, SNAPSHOT_FORMAT_VERSION } from "./snapshot-codec.ts";
export { SnapshotTrigger, shouldSnapshot } from "./snapshot-policy.ts";
export { type ApplyOutcome, KvStateMachine, type KvStats, type SessionInfo } from "./state-machine.ts";
export { utf8ByteLength } from "./utf8.ts";
