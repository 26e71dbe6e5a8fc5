import type { Clock, StorageUpdate } from "../../peer/index.ts";
import { assert } from "../../util/assert.ts";
import type { Random } from "../../util/random.ts";
import { MemoryLogStore } from "../memory-log-store.ts";

/** What a crash did to a disk's unsynced writes. */
export interface CrashLoss {
  /** Writes that had not synced and are gone (a torn write counts here too). */
  readonly lostWrites: number;
  /** Entries in those writes, torn ones included, that did not reach the disk. */
  readonly lostEntries: number;
  /** Present when the oldest unsynced write was torn rather than lost whole. */
  readonly torn: TornWrite | null;
}

/** A write that reached the disk only in part. */
export interface TornWrite {
  /** Entries of the write that reached the disk (a prefix). */
  readonly keptEntries: number;
  /** Entries the write had. */
  readonly ofEntries: number;
  /** Whether the write also carried a hard state, which is lost. */
  readonly hardStateLost: boolean;
}

/** Writes waiting to sync on one disk at most: the peer keeps one Ready in flight, so one would do. */
const UNSYNCED_WRITES_MAX = 64;

/** One write that has been issued and not yet synced. */
interface PendingWrite {
  readonly update: StorageUpdate;
  readonly onSynced: () => void;
}

/**
 * A simulated disk that models sync honestly. A write is first only issued; it becomes durable when its
 * fsync completes, a seeded latency later, and only then is its caller told (so the peer only acknowledges
 * what is durable). A crash loses every write not yet synced; a torn crash puts a prefix of the oldest
 * unsynced write's entries on the disk (not its hard state), as a crash in the middle of writing it would.
 * Writes sync in the order they were issued. What survives is {@link durable}, what a restart boots from.
 */
export class SimDisk {
  /** What has synced: the log and hard state a restarted node starts from. */
  readonly durable = new MemoryLogStore();
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #syncMinUs: number;
  readonly #syncMaxUs: number;
  readonly #pending: PendingWrite[] = [];
  /** When the last issued write syncs: a later write never syncs before an earlier one. */
  #lastSyncAt = 0;
  /** Bumped by every crash, so the sync of a write lost in a crash does nothing when its time comes. */
  #generation = 0;

  /**
   * @param random this disk's own stream: sync latencies and tears draw from it alone
   * @param syncMinUs shortest time to sync a write, in microseconds of virtual time
   * @param syncMaxUs longest time to sync a write
   */
  constructor(clock: Clock, random: Random, syncMinUs: number, syncMaxUs: number) {
    assert(
      Number.isSafeInteger(syncMinUs) && syncMinUs >= 0 && syncMaxUs >= syncMinUs,
      "SimDisk: bad sync latency range",
    );
    this.#clock = clock;
    this.#random = random;
    this.#syncMinUs = syncMinUs;
    this.#syncMaxUs = syncMaxUs;
  }

  /** Writes issued and not yet synced. */
  get unsynced(): number {
    return this.#pending.length;
  }

  /**
   * Issues a write. `onSynced` is called once it is durable, unless a crash comes first (then never).
   * Returns the virtual milliseconds until it syncs.
   */
  write(update: StorageUpdate, onSynced: () => void): number {
    assert(update.snapshot === undefined, "SimDisk: the swarm never compacts, so no snapshot is written");
    assert(this.#pending.length < UNSYNCED_WRITES_MAX, "SimDisk: too many unsynced writes");
    const now = this.#clock.now();
    const latencyMs = this.#random.intBetween(this.#syncMinUs, this.#syncMaxUs) / 1000;
    const syncAt = Math.max(now + latencyMs, this.#lastSyncAt);
    this.#lastSyncAt = syncAt;
    const write: PendingWrite = { update, onSynced };
    this.#pending.push(write);
    const generation = this.#generation;
    this.#clock.setTimer(() => {
      if (generation !== this.#generation) return;
      const oldest = this.#pending.shift();
      assert(oldest === write, "SimDisk: writes synced out of order");
      this.durable.apply(write.update);
      write.onSynced();
    }, syncAt - now);
    return syncAt - now;
  }

  /**
   * Crashes the disk's owner: every unsynced write is lost. With `tear`, the oldest one is torn instead: a
   * prefix of its entries (drawn from this disk's stream) reaches the disk, its hard state does not. The peer
   * has at most one write in flight, so that is also the last write.
   */
  crash(tear: boolean): CrashLoss {
    this.#generation++;
    this.#lastSyncAt = this.#clock.now();
    const pending = this.#pending.splice(0);
    let lostEntries = pending.reduce((sum, write) => sum + write.update.entries.length, 0);
    const first = pending[0];
    let torn: TornWrite | null = null;
    if (tear && first !== undefined) {
      const { entries, hardState } = first.update;
      // Keep fewer entries than the write had, unless it also had a hard state (then all of them may land).
      const keepMax = hardState === undefined ? entries.length - 1 : entries.length;
      const keptEntries = keepMax <= 0 ? 0 : this.#random.intBetween(0, keepMax);
      if (keptEntries > 0) this.durable.apply({ entries: entries.slice(0, keptEntries) });
      lostEntries -= keptEntries;
      torn = { keptEntries, ofEntries: entries.length, hardStateLost: hardState !== undefined };
    }
    return { lostWrites: pending.length, lostEntries, torn };
  }
}
