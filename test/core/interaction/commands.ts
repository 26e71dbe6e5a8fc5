/**
 * The script commands, one table entry each. A command reads its arguments through {@link Args} (calling
 * `args.done()` before it acts, so a misspelt argument is an error), acts on the {@link InteractionEnv}, and
 * prints through {@link Output}. A command that prints nothing shows `ok` in the golden file.
 *
 * To add a command, add an entry here and a line to test/core/testdata/README.md.
 */
import {
  asIndex,
  asNodeId,
  describeMembership,
  type MembershipChange,
  type NodeId,
  type RaftNode,
} from "../../../src/core/index.ts";
import { type Args, ScriptError } from "./args.ts";
import {
  formatLog,
  formatRaftState,
  formatStateMachine,
  type InteractionEnv,
  type NodeSettings,
} from "./env.ts";
import { formatNodeOrNone, formatSnapshot, roleName } from "./format.ts";
import { LOG_LEVELS, type LogLevel, type Output } from "./output.ts";

export interface Command {
  /** The command line's shape, shown in errors and in the README. */
  readonly usage: string;
  run(env: InteractionEnv, args: Args, out: Output): void;
}

const encoder = new TextEncoder();

export const COMMANDS: Readonly<Record<string, Command>> = {
  "add-nodes": {
    usage:
      "add-nodes N [join] [voters=(ids)] [learners=(ids)] [pre-vote=BOOL] [check-quorum=BOOL] " +
      "[lease-reads=BOOL] [lease-margin=T] [election=T] [jitter=T] [heartbeat=T] [noop=BOOL] [inflight=N] " +
      "[max-entries=N] [seed=S]",
    run(env, args, out) {
      const count = args.int("N");
      // A joining node starts with no configuration: it learns it is a member from the leader's log.
      const join = args.flag("join");
      const existing = env.ids();
      const first = (existing.at(-1) ?? 0) + 1;
      const added = Array.from({ length: count }, (_, i) => asNodeId(first + i));
      const electionTicks = args.keyedInt("election", 10);
      const voters = args.keyedIds("voters") ?? (join ? [] : [...existing, ...added]);
      const learners = args.keyedIds("learners") ?? [];
      if (join && (voters.length > 0 || learners.length > 0)) {
        throw new ScriptError("a joining node starts with no voters or learners");
      }
      const settings: NodeSettings = {
        voters,
        learners,
        electionTicks,
        electionJitterTicks: args.keyedInt("jitter", electionTicks - 1),
        heartbeatTicks: args.keyedInt("heartbeat", 1),
        preVote: args.keyedBool("pre-vote", false),
        checkQuorum: args.keyedBool("check-quorum", false),
        noopOnElection: args.keyedBool("noop", true),
        leaseReads: args.keyedBool("lease-reads", false),
        ...optionalInt(args, "lease-margin", "leaseMarginTicks"),
        ...optionalInt(args, "inflight", "inflightMessagesMax"),
        ...optionalInt(args, "max-entries", "entriesPerMessageMax"),
        seed: args.keyedInt("seed", 1),
      };
      args.done();
      for (const id of added) env.addNode(id, settings);
      const optional = [
        settings.learners.length > 0 ? ` learners=(${settings.learners.join(",")})` : "",
        settings.leaseReads ? " lease-reads=true" : "",
      ].join("");
      out.result(
        `added ${added.join(" ")}: voters=(${settings.voters.join(",")})${optional}` +
          ` election=${settings.electionTicks} jitter=${settings.electionJitterTicks}` +
          ` heartbeat=${settings.heartbeatTicks} pre-vote=${settings.preVote} check-quorum=${settings.checkQuorum}`,
      );
    },
  },

  campaign: {
    usage: "campaign ID",
    run(env, args, out) {
      const id = args.id();
      args.done();
      env.watch(out, id, (raft) => raft.campaign());
    },
  },

  tick: {
    usage: "tick ID [N]",
    run(env, args, out) {
      const id = args.id();
      const count = args.optionalInt("N", 1);
      args.done();
      tick(env, out, id, count);
    },
  },

  "tick-heartbeat": {
    usage: "tick-heartbeat ID",
    run(env, args, out) {
      const id = args.id();
      args.done();
      tick(env, out, id, env.raft(id).config.heartbeatTicks);
    },
  },

  "tick-election": {
    usage: "tick-election ID",
    run(env, args, out) {
      const id = args.id();
      args.done();
      tick(env, out, id, ticksToElectionTimeout(env.raft(id)));
    },
  },

  propose: {
    usage: "propose ID DATA",
    run(env, args, out) {
      const id = args.id();
      const data = args.word("DATA");
      args.done();
      const result = env.raft(id).propose(encoder.encode(data));
      out.result(
        result.accepted
          ? `accepted at ${result.term}/${result.index}`
          : `refused: ${result.reason}, leader ${formatNodeOrNone(result.leader)}`,
      );
    },
  },

  "read-index": {
    usage: "read-index ID REQUEST_ID",
    run(env, args, out) {
      const id = args.id();
      const requestId = args.int("REQUEST_ID");
      args.done();
      const result = env.raft(id).readIndex(requestId);
      out.result(result.accepted ? "accepted" : `refused: ${result.reason}`);
    },
  },

  "transfer-leader": {
    usage: "transfer-leader FROM TO",
    run(env, args, out) {
      const from = args.id("FROM");
      const to = args.id("TO");
      args.done();
      env.watch(out, from, (raft) => {
        const result = raft.transferLeader(to);
        out.result(
          result.accepted
            ? "accepted"
            : `refused: ${result.reason}, leader ${formatNodeOrNone(result.leader)}`,
        );
      });
    },
  },

  "propose-conf-change": {
    usage: "propose-conf-change ID (add-learner=NODE | promote=NODE | remove=NODE)",
    run(env, args, out) {
      const id = args.id();
      const change = membershipChange(args);
      args.done();
      const result = env.raft(id).changeMembership(change);
      out.result(
        result.accepted
          ? `accepted at ${result.index}: ${describeMembership(result.membership)}`
          : `refused: ${result.reason}, leader ${formatNodeOrNone(result.leader)}`,
      );
    },
  },

  compact: {
    usage: "compact ID INDEX",
    run(env, args, out) {
      const id = args.id();
      const index = args.int("INDEX");
      args.done();
      const raft = env.raft(id);
      const result = raft.compact(asIndex(index), env.snapshotDataThrough(id, index));
      const snapshot = raft.log.snapshot;
      out.result(
        result.compacted && snapshot !== null
          ? `compacted: snapshot ${formatSnapshot(snapshot)}`
          : `refused: ${result.compacted ? "no snapshot" : result.reason}`,
      );
    },
  },

  "process-ready": {
    usage: "process-ready [ID...]",
    run(env, args, out) {
      const ids = idsOrAll(env, args);
      for (const id of ids) {
        if (!env.processReady(out, id)) out.detail(`> ${id} has no Ready`);
      }
    },
  },

  "deliver-msgs": {
    usage: "deliver-msgs [ID...] [from=(ids)] [type=KIND] [drop=(ids)]",
    run(env, args, out) {
      const to = args.restIds();
      const from = args.keyedIds("from");
      const kind = args.keyedWord("type");
      const drop = args.keyedIds("drop");
      args.done();
      env.deliver(out, {
        ...(to.length === 0 ? {} : { to }),
        ...(from === undefined ? {} : { from }),
        ...(kind === undefined ? {} : { kind }),
        ...(drop === undefined ? {} : { drop }),
      });
    },
  },

  stabilize: {
    usage: "stabilize [ID...]",
    run(env, args, out) {
      env.stabilize(out, idsOrAll(env, args));
    },
  },

  "raft-state": {
    usage: "raft-state",
    run(env, args, out) {
      args.done();
      for (const id of env.ids()) out.result(formatRaftState(env, env.node(id)));
    },
  },

  "raft-log": {
    usage: "raft-log ID",
    run(env, args, out) {
      const id = args.id();
      args.done();
      for (const line of formatLog(env.node(id))) out.result(line);
    },
  },

  membership: {
    usage: "membership [ID...]",
    run(env, args, out) {
      for (const id of idsOrAll(env, args)) {
        const raft = env.node(id).raft;
        out.result(
          raft === null
            ? `${id}: crashed`
            : `${id}: ${describeMembership(raft.membership)} (since index ${raft.membershipIndex()})`,
        );
      }
    },
  },

  "state-machine": {
    usage: "state-machine ID",
    run(env, args, out) {
      const id = args.id();
      args.done();
      out.result(formatStateMachine(env.node(id)));
    },
  },

  status: {
    usage: "status ID",
    run(env, args, out) {
      const id = args.id();
      args.done();
      for (const line of formatStatus(env.raft(id))) out.result(line);
    },
  },

  isolate: {
    usage: "isolate ID...",
    run(env, args, out) {
      const ids = args.restIds();
      args.done();
      if (ids.length === 0) throw new ScriptError("isolate needs at least one node id");
      for (const id of ids) env.isolated.add(env.node(id).id);
      out.result(`isolated: ${[...env.isolated].sort((a, b) => a - b).join(" ")}`);
    },
  },

  heal: {
    usage: "heal",
    run(env, args) {
      args.done();
      env.isolated.clear();
    },
  },

  crash: {
    usage: "crash ID",
    run(env, args, out) {
      const id = args.id();
      args.done();
      env.crash(out, id);
    },
  },

  restart: {
    usage: "restart ID",
    run(env, args, out) {
      const id = args.id();
      args.done();
      env.restart(out, id);
    },
  },

  "log-level": {
    usage: `log-level ${LOG_LEVELS.join("|")}`,
    run(env, args) {
      const level = args.word("LEVEL");
      args.done();
      if (!(LOG_LEVELS as readonly string[]).includes(level)) {
        throw new ScriptError(`unknown log level ${level}`);
      }
      env.logLevel = level as LogLevel;
    },
  },
};

/** The one membership change a `propose-conf-change` names. */
function membershipChange(args: Args): MembershipChange {
  const given = (["add-learner", "promote", "remove"] as const).flatMap((type) => {
    const ids = args.keyedIds(type);
    return ids === undefined ? [] : ids.map((node) => ({ type, node }));
  });
  const [change, ...more] = given;
  if (change === undefined || more.length > 0) {
    throw new ScriptError("name exactly one change: add-learner=NODE, promote=NODE or remove=NODE");
  }
  return change;
}

/** `{ [key]: value }` if the script gave `name=`, else nothing: exactOptionalPropertyTypes wants absence. */
function optionalInt<K extends string>(args: Args, name: string, key: K): { [P in K]?: number } {
  return (args.has(name) ? { [key]: args.keyedInt(name, 0) } : {}) as { [P in K]?: number };
}

function idsOrAll(env: InteractionEnv, args: Args): NodeId[] {
  const ids = args.restIds();
  args.done();
  return ids.length === 0 ? env.ids() : ids;
}

/** Ticks `id` `count` times, printing the events of each tick. */
function tick(env: InteractionEnv, out: Output, id: NodeId, count: number): void {
  for (let i = 0; i < count; i++) env.watch(out, id, (raft) => raft.tick());
}

/**
 * How many ticks until the node's election timer fires: a follower's or candidate's randomized election
 * timeout, or a leader's next quorum check (CheckQuorum).
 */
function ticksToElectionTimeout(raft: RaftNode): number {
  const timeout = raft.role === "leader" ? raft.config.electionTicks : raft.randomizedElectionTimeout;
  return Math.max(1, timeout - raft.electionElapsed);
}

/** A leader's view of its followers' replication; other roles show their election timer. */
function formatStatus(raft: RaftNode): string[] {
  if (raft.role !== "leader") {
    return [
      `${raft.id} is ${roleName(raft)} at term ${raft.term}, leader ${formatNodeOrNone(raft.leader)}:` +
        ` election-elapsed=${raft.electionElapsed} timeout=${raft.randomizedElectionTimeout}`,
    ];
  }
  const lines = [
    `${raft.id} is leader at term ${raft.term}: commit=${raft.log.committed}` +
      ` transfer=${formatNodeOrNone(raft.transferTarget)} reads=${raft.readOnly.outstanding}` +
      ` read-round=${raft.readOnly.round} election-elapsed=${raft.electionElapsed}`,
  ];
  const ids = [...raft.progress.keys()].sort((a, b) => a - b);
  for (const id of ids) {
    const progress = raft.progress.get(id);
    if (progress === undefined) continue;
    if (id === raft.id) {
      lines.push(`${id}: self match=${progress.match}`);
      continue;
    }
    const learner = raft.membership.learners.includes(id) ? " learner" : "";
    const fields = [`${id}:${learner} ${progress.state} match=${progress.match} next=${progress.next}`];
    if (progress.state === "replicate") fields.push(`inflight=${progress.inflights.count}`);
    if (progress.state === "snapshot") fields.push(`snapshot=${progress.pendingSnapshot}`);
    if (progress.isPaused()) fields.push("paused");
    if (raft.config.checkQuorum) fields.push(progress.recentActive ? "active" : "inactive");
    if (progress.readRoundAcked > 0) fields.push(`read-acked=${progress.readRoundAcked}`);
    lines.push(fields.join(" "));
  }
  return lines;
}
