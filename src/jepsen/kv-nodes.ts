import type { Entry, LogIndex, NodeId } from "../core/index.ts";
import { KvService } from "../kv/kv-service.ts";
import type { HostedNode, NodeHostContext, NodeProcess } from "../sim/swarm/index.ts";
import { NodeApi } from "./node-api.ts";
import type { KvBug } from "./settings.ts";

/**
 * The key-value service on every node of a swarm cluster: each incarnation of a node runs a real
 * {@link KvService} (its peer, its KvStateMachine) behind a simulated {@link NodeApi}, inside the node's
 * process, so the swarm's crashes, pauses and partitions hit the service as they would a real one. Snapshots
 * are off: the swarm's disks and checker model an uncompacted log.
 */

/** One running incarnation of a node's service. */
export interface KvIncarnation {
  readonly id: NodeId;
  readonly number: number;
  readonly service: KvService;
  readonly api: NodeApi;
  /** Client requests enter the node through this process, so they queue while it is paused. */
  readonly process: NodeProcess;
  /** False once the incarnation died; its open connections were reset. */
  alive: boolean;
  /** Open client connections, each reset (its callback called) if the incarnation dies. */
  readonly connections: Set<() => void>;
  /** The last index whose entry was reported to the swarm checker as applied. */
  reportedApplied: number;
  /** The swarm's state machine for this incarnation: reports applied entries to the checker and the trace. */
  readonly reportApplied: (entries: readonly Entry[]) => void;
}

/** What every node's service shares. */
export interface KvNodesOptions {
  readonly kvBug: KvBug;
  /** KvService.requestTimeoutMs. */
  readonly serviceTimeoutMs: number;
  /** Virtual time, the proposers' timestamps for session expiry. */
  readonly now: () => number;
}

/** The nodes' services, by node: the host a SwarmCluster builds its peers with. */
export class KvNodes {
  readonly #options: KvNodesOptions;
  readonly #current = new Map<NodeId, KvIncarnation>();

  constructor(options: KvNodesOptions) {
    this.#options = options;
  }

  /** The running incarnation of node `id`, or undefined while it is down. */
  current(id: NodeId): KvIncarnation | undefined {
    const incarnation = this.#current.get(id);
    return incarnation?.alive === true ? incarnation : undefined;
  }

  /** Every running incarnation. */
  running(): KvIncarnation[] {
    return [...this.#current.values()].filter((incarnation) => incarnation.alive);
  }

  /** For SwarmClusterOptions.host: builds one incarnation's service around the peer the cluster chose. */
  readonly host = (context: NodeHostContext): HostedNode => {
    const { stateMachine, onReadStates: _unused, ...peer } = context.peerOptions;
    const service = new KvService({
      peer,
      snapshotThresholdBytes: 0,
      requestTimeoutMs: this.#options.serviceTimeoutMs,
      timestampMs: this.#options.now,
    });
    const incarnation: KvIncarnation = {
      id: context.id,
      number: context.incarnation,
      service,
      api: new NodeApi(service, this.#options.kvBug),
      process: context.process,
      alive: true,
      connections: new Set(),
      reportedApplied: 0,
      reportApplied: (entries) => void stateMachine.apply(entries, undefined),
    };
    this.#current.set(context.id, incarnation);
    return { peer: service.peer, stop: () => this.#stop(incarnation) };
  };

  /**
   * Reports to the swarm checker what each running state machine applied since the last call. The service
   * applies entries itself, so the checker's apply checks (apply once, in order, the same entry everywhere)
   * learn of them here, one event later.
   */
  reportApplied(): void {
    for (const incarnation of this.#current.values()) {
      if (!incarnation.alive) continue;
      const log = incarnation.service.peer.node.log;
      const applied = log.applied;
      if (applied <= incarnation.reportedApplied) continue;
      const entries: Entry[] = [];
      for (let index = incarnation.reportedApplied + 1; index <= applied; index++) {
        const entry = log.entry(index as LogIndex);
        if (entry !== undefined) entries.push(entry);
      }
      incarnation.reportedApplied = applied;
      incarnation.reportApplied(entries);
    }
  }

  /** The incarnation died: its service stops and every open connection to it is reset. */
  #stop(incarnation: KvIncarnation): void {
    if (!incarnation.alive) return;
    incarnation.alive = false;
    for (const reset of incarnation.connections) reset();
    incarnation.connections.clear();
    incarnation.service.stop();
  }
}
