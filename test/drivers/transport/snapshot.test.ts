/**
 * Snapshot streaming: an 8 MiB InstallSnapshot arrives whole as one message; a transfer cut mid-way resumes
 * from the last acknowledged offset; re-sends of the same snapshot are absorbed; the install timeout and the
 * InstallSnapshotReply end absorption; the receiver's size bound and the sender's progress timeout hold.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { asIndex, asNodeId, asTerm, type InstallSnapshot, type Message } from "../../../src/core/index.ts";
import { TcpTransport } from "../../../src/drivers/transport/index.ts";
import {
  closeAll,
  LOCALHOST,
  type NodeOverrides,
  peerStats,
  RecordingLogger,
  silentPeer,
  startCluster,
  type TestNode,
  waitFor,
} from "./helpers.ts";

const MiB = 1024 * 1024;
const SNAPSHOT_BYTES = 8 * MiB;

/** Deterministic, position-dependent bytes, so a misplaced chunk cannot go unnoticed. */
function snapshotBytes(length: number, salt: number): Uint8Array {
  const data = new Uint8Array(length);
  let state = (salt * 2654435761) >>> 0 || 1;
  for (let k = 0; k < length; k++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    data[k] = state & 0xff;
  }
  return data;
}

function installSnapshot(index: number, data: Uint8Array, term = 3): InstallSnapshot {
  return {
    type: "InstallSnapshot",
    from: asNodeId(1),
    to: asNodeId(2),
    term: asTerm(term),
    lastIncludedIndex: asIndex(index),
    lastIncludedTerm: asTerm(2),
    data,
  };
}

function snapshotsIn(received: readonly Message[]): InstallSnapshot[] {
  return received.filter((message): message is InstallSnapshot => message.type === "InstallSnapshot");
}

function assertSameSnapshot(got: InstallSnapshot | undefined, sent: InstallSnapshot): void {
  assert.ok(got !== undefined);
  const { data: gotData, ...gotFields } = got;
  const { data: sentData, ...sentFields } = sent;
  assert.deepEqual(gotFields, sentFields);
  assert.equal(gotData.length, sentData.length);
  assert.equal(Buffer.compare(gotData, sentData), 0, "snapshot bytes differ");
}

describe("TcpTransport snapshot streaming", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  async function pair(overrides: (id: number) => NodeOverrides = () => ({})): Promise<[TestNode, TestNode]> {
    const nodes = await startCluster([1, 2], overrides);
    cleanups.push(() => closeAll(nodes));
    const [one, two] = nodes;
    assert.ok(one !== undefined && two !== undefined);
    return [one, two];
  }

  test("an 8 MiB snapshot arrives whole and byte-identical, as one message", async () => {
    const [one, two] = await pair();
    const snapshot = installSnapshot(100, snapshotBytes(SNAPSHOT_BYTES, 1));
    one.transport.send(snapshot);
    await waitFor("the snapshot", () => two.received.length === 1);
    await waitFor(
      "the sender to see the last ack",
      () => peerStats(one.transport, 2).snapshots.completed === 1,
    );
    assertSameSnapshot(snapshotsIn(two.received)[0], snapshot);
    const stats = peerStats(one.transport, 2).snapshots;
    assert.equal(stats.started, 1);
    assert.equal(stats.completed, 1);
    assert.equal(stats.bytesSent, SNAPSHOT_BYTES);
    assert.equal(peerStats(two.transport, 1).snapshots.bytesReceived, SNAPSHOT_BYTES);
    assert.equal(one.logger.matching("info", /snapshot transfer to peer 2 started: 8388608 bytes/).length, 1);
    assert.equal(one.logger.matching("info", /snapshot transfer to peer 2 completed/).length, 1);
    assert.equal(two.logger.matching("info", /received a snapshot of 8388608 bytes from peer 1/).length, 1);
  });

  test("a connection destroyed mid-transfer resumes from the last acknowledged offset", async () => {
    let cutAt: number | undefined;
    let transport: TcpTransport | undefined;
    const [one, two] = await pair((id) =>
      id === 1
        ? {
            testHooks: {
              onSnapshotAck: (peer, ackedOffset) => {
                if (cutAt === undefined && ackedOffset >= 3 * MiB) {
                  cutAt = ackedOffset;
                  transport?.dropConnection(peer);
                }
              },
            },
          }
        : {},
    );
    transport = one.transport;
    const snapshot = installSnapshot(100, snapshotBytes(SNAPSHOT_BYTES, 2));
    one.transport.send(snapshot);
    await waitFor("the snapshot", () => two.received.length === 1);
    await waitFor(
      "the sender to see the last ack",
      () => peerStats(one.transport, 2).snapshots.completed === 1,
    );
    assertSameSnapshot(snapshotsIn(two.received)[0], snapshot);
    assert.ok(cutAt !== undefined);
    const stats = peerStats(one.transport, 2).snapshots;
    assert.equal(stats.resumed, 1);
    assert.equal(stats.completed, 1);
    // Only what was in flight when the connection died went twice: far less than the whole snapshot.
    const resent = stats.bytesSent - SNAPSHOT_BYTES;
    assert.ok(resent >= 0 && resent < SNAPSHOT_BYTES, `resent ${resent} bytes`);
    const [resumed] = one.logger.matching("info", /snapshot transfer to peer 2 resumed at byte \d+/);
    const resumedAt = Number(/resumed at byte (\d+)/.exec(resumed?.message ?? "")?.[1]);
    assert.ok(resumedAt >= cutAt, `resumed at ${resumedAt}, cut at ${cutAt}`);
    assert.equal(two.received.length, 1);
  });

  test("re-sends of the same snapshot are absorbed, during the transfer and while it installs", async () => {
    let resent = false;
    let transport: TcpTransport | undefined;
    const first = installSnapshot(100, snapshotBytes(SNAPSHOT_BYTES, 3));
    const [one, two] = await pair((id) =>
      id === 1
        ? {
            testHooks: {
              onSnapshotAck: () => {
                if (resent) return;
                resent = true;
                // The core re-sends its snapshot object; a byte-for-byte copy is the same snapshot too.
                transport?.send(first);
                transport?.send({ ...first, data: first.data.slice() });
              },
            },
          }
        : {},
    );
    transport = one.transport;
    one.transport.send(first);
    await waitFor("the first snapshot", () => two.received.length === 1);
    one.transport.send(first); // delivered, no reply yet: being installed
    const second = installSnapshot(200, snapshotBytes(2 * MiB, 4));
    one.transport.send(second);
    await waitFor("the second snapshot", () => two.received.length === 2);
    await waitFor(
      "the sender to see the last ack",
      () => peerStats(one.transport, 2).snapshots.completed === 2,
    );
    const got = snapshotsIn(two.received);
    assertSameSnapshot(got[0], first);
    assertSameSnapshot(got[1], second);
    const stats = peerStats(one.transport, 2).snapshots;
    assert.equal(stats.absorbed, 3);
    assert.equal(stats.started, 2);
    assert.equal(stats.completed, 2);
  });

  test("an InstallSnapshotReply, or the install timeout, lets the same snapshot go again", async () => {
    const [one, two] = await pair((id) => (id === 1 ? { snapshotInstallTimeoutMs: 200 } : {}));
    const snapshot = installSnapshot(100, snapshotBytes(2 * MiB, 5));
    one.transport.send(snapshot);
    await waitFor("the first copy", () => two.received.length === 1);
    // The reply travels on the other connection: let the sender see its last ack first, as it would in life.
    await waitFor(
      "the sender to see the transfer complete",
      () => peerStats(one.transport, 2).snapshots.completed === 1,
    );
    two.transport.send({
      type: "InstallSnapshotReply",
      from: two.id,
      to: one.id,
      term: asTerm(3),
      matchIndex: asIndex(100),
    });
    await waitFor("the reply", () => one.received.length === 1);
    one.transport.send(snapshot);
    await waitFor("a second copy after the reply", () => two.received.length === 2);
    // No reply this time: re-sends are absorbed until the install timeout, then the snapshot goes again.
    await waitFor("a third copy after the install timeout", () => {
      one.transport.send(snapshot);
      return two.received.length === 3;
    });
    const stats = peerStats(one.transport, 2).snapshots;
    assert.equal(stats.started, 3);
    assert.ok(stats.absorbed >= 1);
    for (const copy of snapshotsIn(two.received)) assertSameSnapshot(copy, snapshot);
  });

  test("a snapshot above the receiver's snapshotBytesMax is refused, not stored", async () => {
    const [one, two] = await pair((id) => (id === 2 ? { snapshotBytesMax: 4 * MiB } : {}));
    one.transport.send(installSnapshot(100, snapshotBytes(SNAPSHOT_BYTES, 6)));
    await waitFor("the refusal", () => peerStats(one.transport, 2).snapshots.refused === 1);
    assert.equal(
      one.logger.matching(
        "warn",
        /peer 2 refused the snapshot transfer: snapshot of 8388608 bytes exceeds this node's limit of 4194304 bytes/,
      ).length,
      1,
    );
    assert.equal(two.logger.matching("warn", /refused a snapshot from peer 1/).length, 1);
    assert.equal(two.received.length, 0);
    // A small snapshot still goes through.
    const small = installSnapshot(101, snapshotBytes(2 * MiB, 7));
    one.transport.send(small);
    await waitFor("the small snapshot", () => two.received.length === 1);
    assertSameSnapshot(snapshotsIn(two.received)[0], small);
  });

  test("a transfer with no progress for snapshotTransferTimeoutMs is abandoned", async () => {
    const peer = await silentPeer();
    cleanups.push(() => peer.close());
    const logger = new RecordingLogger("node 1");
    const transport = new TcpTransport({
      clusterId: "test",
      nodeId: asNodeId(1),
      listen: { host: LOCALHOST, port: 0 },
      peers: new Map([[asNodeId(2), peer.address]]),
      onMessage: () => {},
      logger,
      snapshotTransferTimeoutMs: 150,
    });
    cleanups.push(() => transport.close());
    await transport.start();
    await waitFor("the handshake", () => peerStats(transport, 2).connected);
    const snapshot = installSnapshot(100, snapshotBytes(2 * MiB, 8));
    transport.send(snapshot);
    await waitFor("the abandonment", () => peerStats(transport, 2).snapshots.abandoned === 1);
    assert.equal(
      logger.matching("warn", /snapshot transfer to peer 2 abandoned: no progress for 150 ms at byte 0/)
        .length,
      1,
    );
    // Abandoned: the next send of the same snapshot starts a new transfer instead of being absorbed.
    transport.send(snapshot);
    assert.equal(peerStats(transport, 2).snapshots.started, 2);
    assert.equal(peerStats(transport, 2).snapshots.absorbed, 0);
  });
});
