import { asNodeId } from "../core/index.ts";
import type { HttpPort, HttpRequest, HttpResponse } from "../kv/client/http-port.ts";
import type { Clock } from "../peer/index.ts";
import type { Random } from "../util/random.ts";
import type { KvIncarnation, KvNodes } from "./kv-nodes.ts";
import { nodeOfUrl } from "./node-api.ts";

/**
 * The network between the clients and the nodes' APIs, as the real client sees it through its HTTP port: a
 * request reaches the node after a short seeded delay and is handled by the node's process (so it waits while
 * the process is paused); the answer comes back after another delay. As in Jepsen, the nemesis partitions
 * the nodes from each other, not the clients from the nodes. A node that is down refuses the connection; one
 * that crashes while a request is open resets it. The client's own timeout bounds every request.
 */

/** A request the client gave up on, or could not deliver: the client sees a network error. */
export class SimNetworkError extends Error {
  override readonly name = "SimNetworkError";
}

/**
 * What became of one request, as the harness (not the client) knows it: whether it reached a node's process,
 * and the node's answer if it gave one (whether or not the client was still waiting for it).
 */
export interface RequestRecord {
  readonly request: HttpRequest;
  delivered: boolean;
  response: HttpResponse | null;
}

/** What happened to client requests, for the run's report. */
export interface ClientNetworkCounts {
  requests: number;
  /** Refused: the node was down when the request arrived. */
  refused: number;
  /** Reset: the node crashed while the request was open. */
  reset: number;
  /** The client's timeout passed first (a paused node, or a slow answer). */
  timedOut: number;
}

export class ClientNetwork {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #nodes: KvNodes;
  readonly #delayMaxMs: number;
  readonly #onHarnessError: (error: unknown) => void;
  readonly counts: ClientNetworkCounts = { requests: 0, refused: 0, reset: 0, timedOut: 0 };

  /**
   * @param delayMaxMs one-way delays are drawn from [1, delayMaxMs] milliseconds
   * @param onHarnessError told when a node's API throws instead of answering (a bug in the harness)
   */
  constructor(
    clock: Clock,
    random: Random,
    nodes: KvNodes,
    delayMaxMs: number,
    onHarnessError: (error: unknown) => void,
  ) {
    this.#clock = clock;
    this.#random = random;
    this.#nodes = nodes;
    this.#delayMaxMs = delayMaxMs;
    this.#onHarnessError = onHarnessError;
  }

  /** An HTTP port to give a KvClient; `onRequest` learns of each request it sends, and of its fate later. */
  port(onRequest?: (record: RequestRecord) => void): HttpPort {
    return (request) => {
      const record: RequestRecord = { request, delivered: false, response: null };
      onRequest?.(record);
      return this.#send(record);
    };
  }

  #delay(): number {
    return this.#random.intBetween(1, this.#delayMaxMs);
  }

  #send(record: RequestRecord): Promise<HttpResponse> {
    const { request } = record;
    this.counts.requests++;
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        this.#clock.clearTimer(timeout);
        outcome();
      };
      const timeout = this.#clock.setTimer(() => {
        if (!settled) this.counts.timedOut++;
        settle(() => reject(new SimNetworkError(`request timed out after ${request.timeoutMs} ms`)));
      }, request.timeoutMs);
      const target = nodeOfUrl(request.url);
      if (target === null) {
        settle(() => reject(new SimNetworkError(`no such host in ${request.url}`)));
        return;
      }
      this.#clock.setTimer(() => {
        if (settled) return;
        const node = this.#nodes.current(asNodeId(target.id));
        const refuse = (): void => {
          this.counts.refused++;
          this.#clock.setTimer(
            () => settle(() => reject(new SimNetworkError("connection refused"))),
            this.#delay(),
          );
        };
        if (node === undefined) {
          refuse();
          return;
        }
        this.#open(node, record, target.path, settle, resolve, reject, refuse);
      }, this.#delay());
    });
  }

  /** The request reached a running node: hand it to the node's process and carry the answer back. */
  #open(
    node: KvIncarnation,
    record: RequestRecord,
    path: string,
    settle: (outcome: () => void) => void,
    resolve: (response: HttpResponse) => void,
    reject: (error: Error) => void,
    refuse: () => void,
  ): void {
    const reset = (): void => {
      this.counts.reset++;
      this.#clock.setTimer(
        () => settle(() => reject(new SimNetworkError("connection reset"))),
        this.#delay(),
      );
    };
    node.connections.add(reset);
    const accepted = node.process.run(() => {
      record.delivered = true;
      node.api.handle(record.request, path).then(
        (response) => {
          // The answer leaves when the process runs (a paused one sends it on resume), unless it died
          // first: then the connection was reset, and what the dying service answered never left.
          node.process.run(() => {
            if (!node.connections.delete(reset)) return;
            record.response = response;
            this.#clock.setTimer(() => settle(() => resolve(response)), this.#delay());
          });
        },
        (error: unknown) => this.#onHarnessError(error),
      );
    }, true);
    if (!accepted) {
      node.connections.delete(reset);
      refuse();
    }
  }
}
