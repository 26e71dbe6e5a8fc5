/** The peer: runs a Raft core against injected ports. See DESIGN.md §3. */
export type { Clock, TimerHandle } from "./clock.ts";
export { Peer, type PeerOptions } from "./peer.ts";
export type { LogStorage, StateMachine, StorageUpdate, Transport } from "./ports.ts";
