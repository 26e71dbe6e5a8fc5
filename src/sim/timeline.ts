import type { NodeId } from "../core/index.ts";
import { unreachable } from "../util/assert.ts";
import type { ClusterEvent, CommitStatus, Fault } from "./cluster.ts";

/** How a {@link Timeline} summarises. */
export interface TimelineOptions {
  /** A commit line is printed each time the committed index passes a multiple of this. Default 50. */
  readonly commitEvery?: number;
  /** Also print every follower change and repeated campaigns. Default false. */
  readonly verbose?: boolean;
  /** Called with each line as it is made (for example to print it). */
  readonly onLine?: (line: string) => void;
  /** Lines kept in {@link Timeline.lines}; later ones are only counted. Default 10 000. */
  readonly linesMax?: number;
}

/** Width of the label column ("node 3", "fault", "commit"), so the descriptions line up. */
const LABEL_WIDTH = 8;

/**
 * Turns cluster events into a readable, summarised timeline, one line per event worth a person's attention:
 *
 * ```
 *   0.231s  node 4   starts an election  term 1
 *   0.236s  node 4   becomes leader      term 1
 *   2.000s  commit   index 38 on 5/5 nodes
 *   2.000s  fault    crash node 4 (leader, term 1)
 * ```
 *
 * Elections, step-downs and faults are always shown; commits only each time the index passes a multiple of
 * `commitEvery`, and just before each fault, so a run of thousands of entries stays a page long. The text is
 * a pure function of the events, so a seeded run prints the same timeline every time.
 */
export class Timeline {
  readonly #commitEvery: number;
  readonly #verbose: boolean;
  readonly #onLine: ((line: string) => void) | undefined;
  readonly #linesMax: number;
  readonly #lines: string[] = [];
  #omitted = 0;
  /** The last commit index printed. */
  #printedCommit = 0;

  constructor(options: TimelineOptions = {}) {
    this.#commitEvery = options.commitEvery ?? 50;
    this.#verbose = options.verbose ?? false;
    this.#onLine = options.onLine;
    this.#linesMax = options.linesMax ?? 10_000;
    if (!Number.isSafeInteger(this.#commitEvery) || this.#commitEvery < 1) {
      throw new RangeError(`Timeline: commitEvery must be a positive integer, got ${this.#commitEvery}`);
    }
  }

  /** The lines so far (at most `linesMax`). */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Lines made beyond `linesMax` and not kept. */
  get omitted(): number {
    return this.#omitted;
  }

  /** The whole timeline as text, one line per line, ending in a newline when not empty. */
  text(): string {
    return this.#lines.map((line) => `${line}\n`).join("");
  }

  /** Takes one cluster event; pass this (bound) as the cluster's observer. */
  readonly observe = (event: ClusterEvent): void => {
    switch (event.kind) {
      case "role":
        this.#role(event);
        return;
      case "apply":
        if (this.#verbose) {
          const range = event.first === event.last ? `${event.first}` : `${event.first}..${event.last}`;
          this.#add(event.time, nodeLabel(event.node), `applies ${range}`);
        }
        return;
      case "commit":
        if (
          Math.floor(event.index / this.#commitEvery) > Math.floor(this.#printedCommit / this.#commitEvery)
        ) {
          this.#commit(event.time, event);
        }
        return;
      case "fault":
        this.checkpoint(event.time, event.commit);
        this.#add(event.time, "fault", describeFault(event.fault));
        return;
      case "failure":
        this.#add(event.time, "FAILURE", event.message);
        return;
      default:
        unreachable(event);
    }
  };

  /** Prints where the cluster has got, unless the last commit line already said so (for ends of runs). */
  checkpoint(time: number, status: CommitStatus): void {
    if (status.index > this.#printedCommit) this.#commit(time, status);
  }

  /** Adds a line of the caller's own, such as what a client did. */
  note(time: number, label: string, text: string): void {
    this.#add(time, label, text);
  }

  #role(event: Extract<ClusterEvent, { kind: "role" }>): void {
    const label = nodeLabel(event.node);
    const term = `term ${event.term}`;
    switch (event.role) {
      case "leader":
        this.#add(event.time, label, `becomes leader      ${term}`);
        return;
      case "candidate":
        // A candidate whose election timed out campaigns again and again while cut off: show only the first.
        if (event.previousRole !== "candidate" || this.#verbose) {
          this.#add(event.time, label, `starts an election  ${term}`);
        }
        return;
      case "follower": {
        const leads = event.leader === null ? "no leader known" : `node ${event.leader} leads`;
        if (event.previousRole === "leader") {
          this.#add(event.time, label, `steps down          ${term} (${leads})`);
        } else if (this.#verbose) {
          this.#add(event.time, label, `follows             ${term} (${leads})`);
        }
        return;
      }
      default:
        unreachable(event.role);
    }
  }

  #commit(time: number, status: CommitStatus): void {
    this.#printedCommit = status.index;
    this.#add(time, "commit", `index ${status.index} on ${status.appliedOn}/${status.nodes} nodes`);
  }

  #add(time: number, label: string, text: string): void {
    const line = `${formatTime(time)}  ${label.padEnd(LABEL_WIDTH)} ${text}`;
    if (this.#lines.length < this.#linesMax) this.#lines.push(line);
    else this.#omitted++;
    this.#onLine?.(line);
  }
}

/** Virtual milliseconds as seconds with millisecond precision, right-aligned: `  1.234s`. */
export function formatTime(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`.padStart(8);
}

/** A set of nodes as people write it: `{1, 2, 3}`. */
export function formatGroup(nodes: readonly NodeId[]): string {
  return `{${nodes.join(", ")}}`;
}

function nodeLabel(node: NodeId): string {
  return `node ${node}`;
}

function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case "crash":
      return fault.role === "leader"
        ? `crash node ${fault.node} (leader, term ${fault.term})`
        : `crash node ${fault.node} (${fault.role})`;
    case "restart":
      return `restart node ${fault.node} from its disk (incarnation ${fault.incarnation})`;
    case "isolate":
      return `isolate node ${fault.node}`;
    case "block":
      return `block link ${fault.from} -> ${fault.to} (one way)`;
    case "partition":
      return `partition ${fault.groups.map(formatGroup).join(" | ")}`;
    case "heal":
      return "heal the network";
    default:
      return unreachable(fault);
  }
}
