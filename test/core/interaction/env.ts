/**
 * The in-memory cluster a script drives. There is no network and nothing runs by itself: a node's Ready is
 * carried out only when the script says `process-ready` (or `stabilize`), and the messages it sends wait in
 * their recipient's mailbox until the script says `deliver-msgs`. Every step is printed, so a golden file
 * shows exactly what the core did.
 *
 * Each node has a {@link MemoryLogStore} for what it persisted (a restart starts from it) and a toy state
 * machine: the list of the commands it applied, whose snapshot is that list as JSON.
 */
import assert from "node:assert/strict";
import {
  type Entry,
  type Message,
  type NodeId,
  RaftNode,
  type Ready,
  type Snapshot,
} from "../../../src/core/index.ts";
import { MemoryLogStore } from "../../../src/sim/memory-log-store.ts";
import { deriveSeed, Random } from "../../../src/util/random.ts";
import { ScriptError } from "./args.ts";
import {
  formatEntry,
  formatHardState,
  formatMessage,
  formatNodeOrNone,
  formatPosition,
  formatSnapshot,
  formatSnapshotData,
  formatSoftState,
  messageKind,
  roleName,
} from "./format.ts";
import type { LogLevel, Output } from "./output.ts";

/** Everything a node is built from; kept so that a restart builds the same node again. */
export interface NodeSettings {
  /** The starting configuration; both empty for a node that joins an existing cluster. */
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly electionTicks: number;
  readonly electionJitterTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly noopOnElection: boolean;
  readonly leaseReads: boolean;
  readonly leaseMarginTicks?: number;
  readonly inflightMessagesMax?: number;
  readonly entriesPerMessageMax?: number;
  /** The seed the node's election jitter is derived from. */
  readonly seed: number;
}

/** One applied command of the toy state machine, with the index it was applied at. */
interface AppliedCommand {
  readonly index: number;
  readonly text: string;
}

/** One member of the scripted cluster: its core (null while crashed), its storage and its state machine. */
export class ScriptNode {
  readonly id: NodeId;
  readonly settings: NodeSettings;
  readonly store = new MemoryLogStore();
  raft: RaftNode | null;
  stateMachine: AppliedCommand[] = [];
  restarts = 0;

  constructor(id: NodeId, settings: NodeSettings) {
    this.id = id;
    this.settings = settings;
    this.raft = this.#build(settings.seed);
  }

  /** A fresh core from what the store holds, as after a crash; the state machine reloads the snapshot. */
  restart(): RaftNode {
    this.restarts++;
    this.raft = this.#build(deriveSeed(this.settings.seed, `restart-${this.restarts}`));
    const snapshot = this.store.snapshot;
    this.stateMachine = snapshot === null ? [] : loadSnapshotData(snapshot);
    return this.raft;
  }

  #build(seed: number): RaftNode {
    const { settings } = this;
    return new RaftNode({
      id: this.id,
      voters: settings.voters,
      learners: settings.learners,
      electionTicks: settings.electionTicks,
      electionJitterTicks: settings.electionJitterTicks,
      heartbeatTicks: settings.heartbeatTicks,
      random: new Random(deriveSeed(seed, `node-${this.id}`)),
      initialState: this.store.initialState(),
      preVote: settings.preVote,
      checkQuorum: settings.checkQuorum,
      noopOnElection: settings.noopOnElection,
      leaseReads: settings.leaseReads,
      ...(settings.leaseMarginTicks === undefined ? {} : { leaseMarginTicks: settings.leaseMarginTicks }),
      ...(settings.inflightMessagesMax === undefined
        ? {}
        : { inflightMessagesMax: settings.inflightMessagesMax }),
      ...(settings.entriesPerMessageMax === undefined
        ? {}
        : { entriesPerMessageMax: settings.entriesPerMessageMax }),
    });
  }
}

/** The commands a snapshot taken through `index` holds, as the bytes a snapshot carries. */
function snapshotData(commands: readonly AppliedCommand[], index: number): Uint8Array {
  const texts = commands.filter((command) => command.index <= index).map((command) => command.text);
  return new TextEncoder().encode(JSON.stringify(texts));
}

function loadSnapshotData(snapshot: Snapshot): AppliedCommand[] {
  const texts: unknown = JSON.parse(new TextDecoder().decode(snapshot.data));
  assert.ok(Array.isArray(texts), "snapshot data is not a list of commands");
  return texts.map((text) => ({ index: snapshot.meta.index, text: String(text) }));
}

/** What a script sees of a node's state; a change of it is printed as an event. */
interface Observed {
  readonly role: string;
  readonly term: number;
  readonly leader: NodeId | null;
  readonly transferTarget: NodeId | null;
}

/** Which queued messages a delivery takes, and which of those it loses on purpose. */
export interface DeliverySelection {
  /** Recipients to deliver to; all when absent. */
  readonly to?: readonly NodeId[];
  /** Senders to deliver from; all when absent. */
  readonly from?: readonly NodeId[];
  /** Only messages of this printed kind (e.g. `MsgApp`); all when absent. */
  readonly kind?: string;
  /** Selected messages addressed to these nodes are dropped instead of delivered. */
  readonly drop?: readonly NodeId[];
}

/** Upper bound on rounds of one `stabilize`: a cluster that never goes quiet fails the script. */
export const STABILIZE_ROUNDS_MAX = 1_000;

export class InteractionEnv {
  readonly nodes = new Map<NodeId, ScriptNode>();
  /**
   * Messages sent and not yet delivered, in the order they were sent. Each recipient's mailbox is the
   * messages addressed to it, in this order.
   */
  mailboxes: Message[] = [];
  /** Nodes cut off from everyone: every message to or from them is dropped when delivered. */
  readonly isolated = new Set<NodeId>();
  logLevel: LogLevel = "all";

  // ---- access ------------------------------------------------------------------------------------------

  node(id: NodeId): ScriptNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new ScriptError(`no node ${id}`);
    return node;
  }

  /** The running core of `id`; a script error if it is crashed. */
  raft(id: NodeId): RaftNode {
    const raft = this.node(id).raft;
    if (raft === null) throw new ScriptError(`node ${id} is crashed; restart it first`);
    return raft;
  }

  /** Every node id, ascending. */
  ids(): NodeId[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  addNode(id: NodeId, settings: NodeSettings): ScriptNode {
    if (this.nodes.has(id)) throw new ScriptError(`node ${id} exists already`);
    const node = new ScriptNode(id, settings);
    this.nodes.set(id, node);
    return node;
  }

  // ---- events ------------------------------------------------------------------------------------------

  /** Runs `action` on node `id` and prints, as events, how the node's role, term, leader or transfer changed. */
  watch<T>(out: Output, id: NodeId, action: (raft: RaftNode) => T): T {
    const raft = this.raft(id);
    const before = observe(raft);
    const result = action(raft);
    const after = observe(raft);
    if (before.transferTarget !== after.transferTarget) {
      if (before.transferTarget !== null) {
        out.event(`${id} stops transferring leadership to ${before.transferTarget}`);
      }
      if (after.transferTarget !== null) {
        out.event(`${id} transfers leadership to ${after.transferTarget}`);
      }
    }
    if (before.role !== after.role || before.term !== after.term || before.leader !== after.leader) {
      out.event(describeRole(id, after));
    }
    return result;
  }

  // ---- the Ready loop ----------------------------------------------------------------------------------

  /**
   * Carries out one Ready of `id` the way a driver with synchronous storage would, printing what it holds:
   * send its messages, persist, send the replies that wait for persistence, apply, advance.
   * Returns false, printing nothing, if the node had nothing to hand out.
   */
  processReady(out: Output, id: NodeId): boolean {
    const raft = this.raft(id);
    if (!raft.hasReady()) return false;
    const node = this.node(id);
    const rd = raft.ready();
    out.detail(`> ${id} handles Ready`);
    out.nested(() => {
      printReady(out, rd);
      this.mailboxes.push(...rd.messages);
      node.store.apply({
        ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
        entries: rd.entries,
        ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
      });
      this.mailboxes.push(...rd.messagesAfterPersist);
      if (rd.snapshotToApply !== undefined) node.stateMachine = loadSnapshotData(rd.snapshotToApply);
      for (const entry of rd.committedEntries) applyEntry(node, entry);
      this.watch(out, id, () => raft.advance(rd));
    });
    return true;
  }

  /** Whether a delivery would lose `message`, and why. */
  lossReason(message: Message, drop: readonly NodeId[] = []): string | null {
    if (drop.includes(message.to)) return "dropped";
    if (this.isolated.has(message.to)) return `dropped: ${message.to} isolated`;
    if (this.isolated.has(message.from)) return `dropped: ${message.from} isolated`;
    const recipient = this.nodes.get(message.to);
    if (recipient === undefined) return `dropped: no node ${message.to}`;
    if (recipient.raft === null) return `dropped: ${message.to} crashed`;
    return null;
  }

  /**
   * Takes the selected messages out of the mailboxes and steps each into its recipient, in the order they were
   * sent, printing each (and what it changed). Returns how many were taken, dropped ones included.
   */
  deliver(out: Output, selection: DeliverySelection = {}): number {
    const selected = (message: Message) =>
      (selection.to === undefined || selection.to.includes(message.to)) &&
      (selection.from === undefined || selection.from.includes(message.from)) &&
      (selection.kind === undefined || messageKind(message) === selection.kind);
    const taken = this.mailboxes.filter(selected);
    this.mailboxes = this.mailboxes.filter((message) => !selected(message));
    for (const message of taken) {
      const loss = this.lossReason(message, selection.drop);
      if (loss !== null) {
        out.detail(`${formatMessage(message)} [${loss}]`);
        continue;
      }
      out.detail(formatMessage(message));
      out.nested(() => this.watch(out, message.to, (raft) => raft.step(message)));
    }
    return taken.length;
  }

  /**
   * Processes Readies and delivers messages among `ids` (default: every node) until none of them has a Ready
   * and no message to any of them is queued. Messages to other nodes stay queued.
   */
  stabilize(out: Output, ids: readonly NodeId[] = this.ids()): void {
    for (let round = 0; ; round++) {
      if (round >= STABILIZE_ROUNDS_MAX) {
        throw new ScriptError(`stabilize: still busy after ${STABILIZE_ROUNDS_MAX} rounds`);
      }
      let busy = false;
      for (const id of ids) {
        if (this.node(id).raft !== null && this.processReady(out, id)) busy = true;
      }
      if (this.mailboxes.some((message) => ids.includes(message.to))) {
        busy = true;
        out.detail("> deliver messages");
        out.nested(() => this.deliver(out, { to: ids }));
      }
      if (!busy) return;
    }
  }

  // ---- faults ------------------------------------------------------------------------------------------

  /**
   * Stops `id` at once. Whatever it had not handed out in a Ready is lost: entries and hard state not yet
   * persisted, messages not yet sent. Messages it sent earlier stay in flight.
   */
  crash(out: Output, id: NodeId): void {
    const raft = this.raft(id);
    const node = this.node(id);
    out.result(`${id} crashed`);
    out.nested(() => {
      const hardState = raft.hardState();
      const stored = node.store.hardState;
      if (
        hardState.term !== stored.term ||
        hardState.vote !== stored.vote ||
        hardState.commit !== stored.commit
      ) {
        out.detail(`lost hard-state ${formatHardState(hardState)} (persisted: ${formatHardState(stored)})`);
      }
      for (const entry of raft.log.unstableEntries()) out.detail(`lost entry ${formatEntry(entry)}`);
      for (const message of [...raft.messages, ...raft.messagesAfterPersist]) {
        out.detail(`lost message ${formatMessage(message)}`);
      }
    });
    node.raft = null;
  }

  /** Starts `id` again from its store (crashing it first if it runs). */
  restart(out: Output, id: NodeId): void {
    const node = this.node(id);
    if (node.raft !== null) this.crash(out, id);
    const raft = node.restart();
    out.result(`${id} restarted: ${formatHardState(raft.hardState())} ${formatLogSpan(raft)}`);
  }

  // ---- the state machine -------------------------------------------------------------------------------

  /** The snapshot data of `id`'s state machine through `index`. */
  snapshotDataThrough(id: NodeId, index: number): Uint8Array {
    return snapshotData(this.node(id).stateMachine, index);
  }
}

function observe(raft: RaftNode): Observed {
  return { role: roleName(raft), term: raft.term, leader: raft.leader, transferTarget: raft.transferTarget };
}

/** `2 is follower at term 3, leader 1`, `1 is candidate at term 4`, ... */
function describeRole(id: NodeId, state: Observed): string {
  const head = `${id} is ${state.role} at term ${state.term}`;
  switch (state.role) {
    case "follower":
    case "learner":
    case "non-member":
      return state.leader === null ? `${head}, no leader` : `${head}, leader ${state.leader}`;
    case "pre-candidate":
      return `${head}, asking for term ${state.term + 1}`;
    default:
      return head;
  }
}

/** Applies a committed entry to the toy state machine: commands are recorded, empty and typed entries skipped. */
function applyEntry(node: ScriptNode, entry: Entry): void {
  if (entry.data.length === 0 || entry.kind !== undefined) return;
  node.stateMachine.push({ index: entry.index, text: new TextDecoder().decode(entry.data) });
}

/** Prints a Ready's contents in the order a driver acts on them (see ready.ts). */
function printReady(out: Output, rd: Ready): void {
  if (rd.softState !== undefined) out.detail(`soft-state ${formatSoftState(rd.softState)}`);
  for (const message of rd.messages) out.detail(`send ${formatMessage(message)}`);
  if (rd.snapshot !== undefined) out.detail(`persist snapshot ${formatSnapshot(rd.snapshot)}`);
  for (const entry of rd.entries) out.detail(`persist entry ${formatEntry(entry)}`);
  if (rd.hardState !== undefined) out.detail(`persist hard-state ${formatHardState(rd.hardState)}`);
  for (const message of rd.messagesAfterPersist) out.detail(`send-after-persist ${formatMessage(message)}`);
  if (rd.snapshotToApply !== undefined) {
    out.detail(`apply snapshot ${formatSnapshot(rd.snapshotToApply)}`);
  }
  for (const entry of rd.committedEntries) out.detail(`apply ${formatEntry(entry)}`);
  for (const read of rd.readStates) out.detail(`read-state req=${read.requestId} index=${read.index}`);
}

/** `log=(snapshot 1/3) 1/4..2/6`: where a node's log starts and ends. */
export function formatLogSpan(raft: RaftNode): string {
  const { log } = raft;
  const last = formatPosition(log.lastTerm(), log.lastIndex());
  const snapshot = log.offset > 0 ? ` snapshot=${formatPosition(log.term(log.offset) ?? 0, log.offset)}` : "";
  return `last=${last}${snapshot}`;
}

/** One line of `raft-state`; a crashed node shows what it persisted. */
export function formatRaftState(env: InteractionEnv, node: ScriptNode): string {
  const flags = env.isolated.has(node.id) ? " [isolated]" : "";
  const { raft } = node;
  if (raft === null) {
    const stored = node.store;
    const last = stored.lastIndex();
    const lastTerm = stored.entries.at(-1)?.term ?? stored.snapshot?.meta.term ?? 0;
    return `${node.id}: crashed (persisted ${formatHardState(stored.hardState)} last=${formatPosition(lastTerm, last)})${flags}`;
  }
  return (
    `${node.id}: ${roleName(raft)} term=${raft.term} vote=${formatNodeOrNone(raft.vote)} ` +
    `leader=${formatNodeOrNone(raft.leader)} commit=${raft.log.committed} applied=${raft.log.applied} ` +
    `${formatLogSpan(raft)}${flags}`
  );
}

/** The entries of a node's log, one per line, with the snapshot boundary first. */
export function formatLog(node: ScriptNode): string[] {
  const { raft } = node;
  if (raft === null) {
    const lines = node.store.snapshot === null ? [] : [`snapshot ${formatSnapshot(node.store.snapshot)}`];
    lines.push(...node.store.entries.map(formatEntry));
    return lines.length === 0 ? ["empty log"] : lines;
  }
  const { log } = raft;
  const lines = log.snapshot === null ? [] : [`snapshot ${formatSnapshot(log.snapshot)}`];
  if (log.lastIndex() > log.offset) {
    for (const entry of log.slice(log.firstIndex(), log.lastIndex())) {
      const notes = [
        entry.index <= log.committed ? "" : "uncommitted",
        entry.index <= log.stableIndex ? "" : "unpersisted",
      ].filter((note) => note !== "");
      lines.push(formatEntry(entry) + (notes.length === 0 ? "" : ` (${notes.join(", ")})`));
    }
  }
  return lines.length === 0 ? ["empty log"] : lines;
}

/** The toy state machine's commands, as the snapshot data would print them. */
export function formatStateMachine(node: ScriptNode): string {
  return formatSnapshotData(snapshotData(node.stateMachine, Number.POSITIVE_INFINITY));
}
