import assert from "node:assert/strict";
import { test } from "node:test";
import { encode } from "../../src/codec/msgpack.ts";
import { makeRealClock, makeVirtualClock } from "../../src/lab/clocks.ts";
import {
  type ClientEnd,
  makeNetwork,
  makeServer,
  makeService,
  type Network,
  type Server,
} from "../../src/lab/labrpc/index.ts";
import type { Clock, TimerHandle } from "../../src/peer/clock.ts";
import type { VirtualClock } from "../../src/sim/virtual-clock.ts";

// Ports of labrpc's own tests (lab2-spec §3.4) plus checks of each delivery rule of §3.3. Everything runs on
// a virtual clock with a fixed seed, so "within 30 ms" and "within 100 ms" are exact statements about
// virtual time and every run is the same run.

const seed = 1;

/** The course's test receiver: a handler per argument/reply shape, logging what it was sent. */
class JunkServer {
  readonly log1: string[] = [];
  readonly log2: number[] = [];
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Parses its string argument. */
  Handler1(args: unknown): number {
    const text = args as string;
    this.log1.push(text);
    return Number.parseInt(text, 10);
  }

  /** Names its integer argument. */
  Handler2(args: unknown): string {
    const n = args as number;
    this.log2.push(n);
    return `handler2-${n}`;
  }

  /** Hangs for 20 s, long past any test's patience. */
  async Handler3(args: unknown): Promise<number> {
    await this.#clock.sleep(20_000);
    return -(args as number);
  }

  /** Go's pointer-argument variant; in JavaScript it differs from Handler5 only in its reply. */
  Handler4(_args: unknown): { X: string } {
    return { X: "pointer" };
  }

  Handler5(_args: unknown): { X: string } {
    return { X: "no pointer" };
  }

  /** Measures its string argument (the Bytes test's requests). */
  Handler6(args: unknown): number {
    const text = args as string;
    this.log1.push(text);
    return text.length;
  }

  /** Returns a string as long as its argument (the Bytes test's replies). */
  Handler7(args: unknown): string {
    const n = args as number;
    this.log2.push(n);
    return "y".repeat(n);
  }

  /** Takes `ms` milliseconds to answer (not in the course's tests; used to probe the dead checks). */
  async Slow(args: unknown): Promise<string> {
    await this.#clock.sleep(args as number);
    return `slow-${String(args)}`;
  }

  /** Lower-case, so not an RPC handler (Go's unexported method). */
  helper(): string {
    return "not exported";
  }
}

interface Rig {
  readonly clock: VirtualClock;
  readonly net: Network;
  readonly junk: JunkServer;
  readonly server: Server;
  readonly end: ClientEnd;
}

/**
 * Runs `body` against a network with one JunkServer registered as 1000 and one enabled end "end1" connected
 * to it, then cleans up and stops the clock so no leftover timer outlives the test.
 */
async function withRig(body: (rig: Rig) => Promise<void>, networkSeed = seed): Promise<void> {
  const clock = makeVirtualClock();
  const net = makeNetwork({ clock, seed: networkSeed });
  try {
    const junk = new JunkServer(clock);
    const server = makeServer();
    server.addService(makeService(junk));
    net.addServer(1000, server);
    const end = net.makeEnd("end1");
    net.connect("end1", 1000);
    net.enable("end1", true);
    await body({ clock, net, junk, server, end });
  } finally {
    net.cleanup();
    clock.stop();
  }
}

/** Waits for `promise`, but at most `ms` of the clock's time; says which came first. */
async function within<T>(
  clock: Clock,
  promise: Promise<T>,
  ms: number,
): Promise<{ readonly done: true; readonly value: T } | { readonly done: false }> {
  let timer: TimerHandle | undefined;
  const timeout = new Promise<{ readonly done: false }>((resolve) => {
    timer = clock.setTimer(() => resolve({ done: false }), ms);
  });
  const result = await Promise.race([promise.then((value) => ({ done: true as const, value })), timeout]);
  if (timer !== undefined) clock.clearTimer(timer);
  return result;
}

/** A call together with the clock time at which its promise settled. */
async function timedCall(
  clock: Clock,
  end: ClientEnd,
  svcMeth: string,
  args: unknown,
): Promise<{ readonly reply: unknown; readonly atMs: number }> {
  const reply = await end.call(svcMeth, args);
  return { reply, atMs: clock.now() };
}

// ---- labrpc's own tests ----------------------------------------------------------------------------------

test("Basic: replies round-trip", async () => {
  await withRig(async ({ end }) => {
    assert.equal(await end.call("JunkServer.Handler2", 111), "handler2-111");
    assert.equal(await end.call("JunkServer.Handler1", "9099"), 9099);
  });
});

test("Types: object arguments arrive and object replies return", async () => {
  await withRig(async ({ end }) => {
    assert.deepEqual(await end.call("JunkServer.Handler4", { X: 99 }), { X: "pointer" });
    assert.deepEqual(await end.call("JunkServer.Handler5", { X: 99 }), { X: "no pointer" });
  });
});

test("Disconnect: a connected but not enabled end gets no reply; enabling it restores service", async () => {
  await withRig(async ({ net, end, junk }) => {
    net.enable("end1", false);
    assert.equal(await end.call("JunkServer.Handler2", 111), undefined);
    assert.deepEqual(junk.log2, [], "the handler must not run behind a disabled end");
    net.enable("end1", true);
    assert.equal(await end.call("JunkServer.Handler1", "9099"), 9099);
  });
});

test("Counts: 17 calls are 17 RPCs delivered to the server", async () => {
  await withRig(async ({ net, end }) => {
    for (let i = 0; i < 17; i++) {
      assert.equal(await end.call("JunkServer.Handler2", i), `handler2-${i}`);
    }
    assert.equal(net.getCount(1000), 17);
    assert.equal(net.getTotalCount(), 17);
  });
});

test("Bytes: request and reply sizes are msgpack's", async () => {
  // The course's bounds ([4828, 6000] then [1800, 2500]) are for Go's gob, whose first message on an encoder
  // also carries type descriptors and whose framing varies. We send MessagePack, whose sizes follow directly
  // from its format, so the band is tight around what it actually sends:
  //   phase 1: request = the 284-char string (str16: 3-byte header + 284) = 287 bytes, reply = 284 (uint16: 3
  //            bytes), so 17 × 290 = 4930 bytes;
  //   phase 2: request = 107 (positive fixint: 1 byte), reply = a 107-char string (str8: 2 + 107 = 109), so
  //            17 × 110 = 1870 bytes.
  // The band allows one byte per call either way, enough to absorb a codec setting that shifts a header by a
  // byte, too narrow to hide a lost or double-counted message (at least 110 bytes).
  await withRig(async ({ net, end }) => {
    let args = "x".repeat(71);
    args += args;
    args += args;
    assert.equal(args.length, 284);
    const phase1PerCall = encode(args).length + encode(args.length).length;
    assert.equal(phase1PerCall, 290, "msgpack sizes changed; revisit the bands below");
    for (let i = 0; i < 17; i++) {
      assert.equal(await end.call("JunkServer.Handler6", args), args.length);
    }
    const n = net.getTotalBytes();
    assert.equal(n, 17 * phase1PerCall);
    assert.ok(n >= 4930 - 17 && n <= 4930 + 17, `phase 1 sent ${n} bytes, want 4930 ± 17`);

    const replyLength = 107;
    const phase2PerCall = encode(replyLength).length + encode("y".repeat(replyLength)).length;
    assert.equal(phase2PerCall, 110, "msgpack sizes changed; revisit the bands below");
    for (let i = 0; i < 17; i++) {
      const reply = await end.call("JunkServer.Handler7", replyLength);
      assert.equal((reply as string).length, replyLength);
    }
    const nn = net.getTotalBytes() - n;
    assert.equal(nn, 17 * phase2PerCall);
    assert.ok(nn >= 1870 - 17 && nn <= 1870 + 17, `phase 2 sent ${nn} bytes, want 1870 ± 17`);
  });
});

test("ConcurrentMany: 20 ends × 10 calls all succeed", async () => {
  await withRig(async ({ net }) => {
    const clients = Array.from({ length: 20 }, async (_, i) => {
      const end = net.makeEnd(i);
      net.connect(i, 1000);
      net.enable(i, true);
      let n = 0;
      for (let j = 0; j < 10; j++) {
        const arg = i * 100 + j;
        assert.equal(await end.call("JunkServer.Handler2", arg), `handler2-${arg}`);
        n++;
      }
      return n;
    });
    const total = (await Promise.all(clients)).reduce((a, b) => a + b, 0);
    assert.equal(total, 200);
    assert.equal(net.getCount(1000), 200);
  });
});

test("ConcurrentOne: 20 concurrent calls on one end all succeed", async () => {
  await withRig(async ({ net, end, junk }) => {
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => end.call("JunkServer.Handler2", 100 + i)),
    );
    replies.forEach((reply, i) => {
      assert.equal(reply, `handler2-${100 + i}`);
    });
    assert.equal(junk.log2.length, 20);
    assert.equal(net.getCount(1000), 20);
  });
});

test("Unreliable: of 300 calls on an unreliable network, neither all nor none succeed", async () => {
  await withRig(async ({ net }) => {
    net.reliable(false);
    const calls = Array.from({ length: 300 }, async (_, i) => {
      const end = net.makeEnd(i);
      net.connect(i, 1000);
      net.enable(i, true);
      const reply = await end.call("JunkServer.Handler2", i * 100);
      if (reply === undefined) return false;
      assert.equal(reply, `handler2-${i * 100}`);
      return true;
    });
    const ok = (await Promise.all(calls)).filter((succeeded) => succeeded).length;
    assert.ok(ok > 0 && ok < 300, `${ok} of 300 succeeded`);
    // 10% request loss then 10% reply loss: about 81% get through.
    assert.ok(ok > 200 && ok < 280, `${ok} of 300 succeeded; expected about 243`);
  });
});

test("Regression1: calls made while disabled do not delay a call made right after enabling", async () => {
  await withRig(async ({ clock, net, junk }) => {
    const end = net.makeEnd("c");
    net.connect("c", 1000);
    net.enable("c", false);
    const early = Array.from({ length: 20 }, (_, i) => end.call("JunkServer.Handler2", i));
    await clock.sleep(100);
    const t0 = clock.now();
    net.enable("c", true);
    assert.equal(await end.call("JunkServer.Handler2", 99), "handler2-99");
    assert.ok(clock.now() - t0 <= 30, `the RPC took ${clock.now() - t0} ms after enable`);
    assert.deepEqual(await Promise.all(early), new Array(20).fill(undefined));
    assert.equal(junk.log2.length, 1);
    assert.equal(net.getCount(1000), 1);
  });
});

test("Killed: a call stuck in a handler fails within 100 ms of deleteServer", async () => {
  const clock = makeVirtualClock();
  const net = makeNetwork({ clock, seed });
  try {
    const end = net.makeEnd("end1");
    const server = makeServer();
    server.addService(makeService(new JunkServer(clock)));
    net.addServer("server1", server);
    net.connect("end1", "server1");
    net.enable("end1", true);

    const done = end.call("JunkServer.Handler3", 99);
    await clock.sleep(1000);
    assert.equal((await within(clock, done, 100)).done, false, "Handler3 should not have returned yet");
    net.deleteServer("server1");
    const t0 = clock.now();
    const result = await within(clock, done, 100);
    assert.ok(result.done, "Handler3's call should fail after deleteServer");
    assert.equal(result.value, undefined, "Handler3 returned successfully despite deleteServer");
    assert.ok(clock.now() - t0 <= 100);
  } finally {
    net.cleanup();
    clock.stop();
  }
});

// ---- determinism -----------------------------------------------------------------------------------------

/** One run of a busy, faulty network, reduced to what each call saw and when. */
async function chaoticRun(runSeed: number): Promise<string[]> {
  const trace: string[] = [];
  await withRig(async ({ clock, net }) => {
    net.reliable(false);
    net.longReordering(true);
    net.longDelays(true);
    const ends = [0, 1, 2, 3].map((i) => {
      const end = net.makeEnd(`e${i}`);
      net.connect(`e${i}`, 1000);
      net.enable(`e${i}`, i !== 3); // e3 stays disabled: the long-delay failure path
      return end;
    });
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 80; i++) {
      const end = ends[i % ends.length] as ClientEnd;
      const call =
        i % 5 === 0
          ? timedCall(clock, end, "JunkServer.Slow", 150)
          : timedCall(clock, end, "JunkServer.Handler2", i);
      calls.push(
        call.then(({ reply, atMs }) => {
          trace.push(`${i}:${String(reply)}@${atMs}`);
        }),
      );
      // Flap e2 now and then so some slow handlers are found dead by the 100 ms check.
      if (i % 16 === 8) net.enable("e2", false);
      if (i % 16 === 12) net.enable("e2", true);
      await clock.sleep(7);
    }
    await Promise.all(calls);
    trace.push(`count=${net.getTotalCount()} server=${net.getCount(1000)} bytes=${net.getTotalBytes()}`);
  }, runSeed);
  return trace;
}

test("determinism: the same seed gives the same outcomes at the same times", async () => {
  const first = await chaoticRun(42);
  const second = await chaoticRun(42);
  assert.deepEqual(second, first);
  // The run must actually exercise the faults, or the comparison proves little.
  const outcomes = first.slice(0, -1);
  assert.ok(
    outcomes.some((line) => line.includes(":undefined@")),
    "some calls should fail",
  );
  assert.ok(
    outcomes.some((line) => !line.includes(":undefined@")),
    "some calls should succeed",
  );
  const lateMs = outcomes.map((line) => Number(line.slice(line.indexOf("@") + 1)));
  assert.ok(
    lateMs.some((ms) => ms > 80 * 7 + 200),
    "some replies or failures should arrive long after the last call",
  );
  assert.notDeepEqual(await chaoticRun(43), first, "a different seed should give a different run");
});

// ---- delivery rules (lab2-spec §3.3) ----------------------------------------------------------------------

test("reliable mode adds no delay at all", async () => {
  await withRig(async ({ clock, end }) => {
    await clock.sleep(5);
    const { reply, atMs } = await timedCall(clock, end, "JunkServer.Handler2", 1);
    assert.equal(reply, "handler2-1");
    assert.equal(atMs, 5);
  });
});

test("unreliable mode delays delivered replies by 0–26 ms", async () => {
  await withRig(async ({ clock, net, end }) => {
    net.reliable(false);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => timedCall(clock, end, "JunkServer.Handler2", i)),
    );
    const delivered = results.filter((r) => r.reply !== undefined).map((r) => r.atMs);
    assert.ok(delivered.length > 100);
    assert.ok(Math.min(...delivered) >= 0 && Math.max(...delivered) <= 26);
    assert.ok(Math.max(...delivered) >= 20, "the jitter should spread over its range");
  });
});

test("undeliverable calls fail after 0–99 ms, or 0–6999 ms with long delays", async () => {
  await withRig(async ({ clock, net }) => {
    const end = net.makeEnd("unconnected");
    net.enable("unconnected", true);
    const short = await Promise.all(
      Array.from({ length: 200 }, () => timedCall(clock, end, "JunkServer.Handler2", 1)),
    );
    const shortMs = short.map((r) => r.atMs);
    assert.ok(short.every((r) => r.reply === undefined));
    assert.ok(Math.max(...shortMs) <= 99 && Math.max(...shortMs) >= 80);

    net.longDelays(true);
    const t0 = clock.now();
    const long = await Promise.all(
      Array.from({ length: 200 }, () => timedCall(clock, end, "JunkServer.Handler2", 1)),
    );
    const longMs = long.map((r) => r.atMs - t0);
    assert.ok(Math.max(...longMs) <= 6999 && Math.max(...longMs) >= 5000);
    assert.equal(net.getCount(1000), 0, "nothing reached the server");
    assert.equal(net.getTotalCount(), 400, "every call counts toward the total");
  });
});

test("a deleted server's name is undeliverable and has no count", async () => {
  await withRig(async ({ net, end }) => {
    net.deleteServer(1000);
    assert.equal(await end.call("JunkServer.Handler2", 1), undefined);
    assert.throws(() => net.getCount(1000), /no server named 1000/);
  });
});

test("long reordering delivers about 2/3 of replies 200–2199 ms late, counting their bytes on arrival", async () => {
  await withRig(async ({ clock, net, end }) => {
    net.longReordering(true);
    const replyBytes = encode("handler2-1").length;
    const results = Array.from({ length: 300 }, () => timedCall(clock, end, "JunkServer.Handler2", 1));
    await clock.sleep(1);
    const requestBytes = 300 * encode(1).length;
    const immediate = net.getTotalBytes() - requestBytes;
    const all = await Promise.all(results);
    assert.ok(all.every((r) => r.reply === "handler2-1"));
    const late = all.filter((r) => r.atMs > 0);
    assert.equal(
      immediate,
      (300 - late.length) * replyBytes,
      "late replies must not be counted before arrival",
    );
    assert.equal(net.getTotalBytes(), requestBytes + 300 * replyBytes);
    assert.ok(late.length > 170 && late.length < 230, `${late.length} of 300 late`);
    assert.ok(late.every((r) => r.atMs >= 200 && r.atMs <= 2199));
    // 200 + int(1 + int(2000)) is skewed toward short delays: its median is near 200 + 375 ms, where a
    // uniform 200–2199 ms would put it near 1200 ms.
    const lateMs = late.map((r) => r.atMs).sort((a, b) => a - b);
    const medianMs = lateMs[lateMs.length >> 1] ?? 0;
    assert.ok(medianMs > 400 && medianMs < 800, `median late delivery at ${medianMs} ms`);
  });
});

test("a handler whose end is disabled while it runs loses its reply at the next 100 ms check", async () => {
  await withRig(async ({ clock, net, end }) => {
    const call = timedCall(clock, end, "JunkServer.Slow", 500);
    await clock.sleep(150);
    net.enable("end1", false);
    assert.deepEqual(await call, { reply: undefined, atMs: 200 });
    assert.equal(net.getCount(1000), 1, "the request was delivered even though the reply was not");
  });
});

test("a handler on a replaced server loses its reply; the new server's count starts at 0", async () => {
  await withRig(async ({ clock, net, end }) => {
    const call = timedCall(clock, end, "JunkServer.Slow", 500);
    await clock.sleep(150);
    const restarted = makeServer();
    restarted.addService(makeService(new JunkServer(clock)));
    net.addServer(1000, restarted);
    assert.equal(net.getCount(1000), 0);
    assert.deepEqual(await call, { reply: undefined, atMs: 200 });
  });
});

test("death is judged only at the checks: a brief disable between two checks does no harm", async () => {
  await withRig(async ({ clock, net, end }) => {
    const call = timedCall(clock, end, "JunkServer.Slow", 350);
    await clock.sleep(150);
    net.enable("end1", false);
    await clock.sleep(10);
    net.enable("end1", true);
    assert.deepEqual(await call, { reply: "slow-350", atMs: 350 });
  });
});

test("a handler that finishes while its end is disabled loses its reply at once", async () => {
  await withRig(async ({ clock, net, end }) => {
    const call = timedCall(clock, end, "JunkServer.Slow", 50);
    await clock.sleep(20);
    net.enable("end1", false);
    assert.deepEqual(await call, { reply: undefined, atMs: 50 });
  });
});

test("a finished handler leaves no dead-check timer behind", async () => {
  await withRig(async ({ clock, end }) => {
    assert.equal(await end.call("JunkServer.Slow", 50), "slow-50");
    const eventsBefore = clock.eventsRun;
    await clock.sleep(1000);
    assert.equal(clock.eventsRun - eventsBefore, 1, "only our own sleep should have run");
  });
});

test("lost requests and replies still count their request bytes and toward the total", async () => {
  await withRig(async ({ net, end }) => {
    net.reliable(false);
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => end.call("JunkServer.Handler2", i)),
    );
    const delivered = replies.filter((r) => r !== undefined) as string[];
    assert.equal(net.getTotalCount(), 100);
    assert.ok(net.getCount(1000) < 100 && net.getCount(1000) >= delivered.length, "some requests were lost");
    const requestBytes = Array.from({ length: 100 }, (_, i) => encode(i).length).reduce((a, b) => a + b, 0);
    const replyBytes = delivered.reduce((sum, r) => sum + encode(r).length, 0);
    assert.equal(net.getTotalBytes(), requestBytes + replyBytes);
  });
});

// ---- API contracts ----------------------------------------------------------------------------------------

test("arguments and replies are deep copies", async () => {
  class Mutator {
    kept: { list: number[] } = { list: [] };
    Mutate(args: unknown): { list: number[] } {
      const value = args as { list: number[] };
      value.list.push(99);
      this.kept = { list: [1] };
      return this.kept;
    }
  }
  await withRig(async ({ net }) => {
    const mutator = new Mutator();
    const server = makeServer();
    server.addService(makeService(mutator));
    net.addServer("m", server);
    const end = net.makeEnd("to-m");
    net.connect("to-m", "m");
    net.enable("to-m", true);
    const args = { list: [1, 2] };
    const reply = (await end.call("Mutator.Mutate", args)) as { list: number[] };
    assert.deepEqual(args, { list: [1, 2] }, "the handler must not see the caller's object");
    assert.deepEqual(reply, { list: [1] });
    reply.list.push(5);
    assert.deepEqual(mutator.kept, { list: [1] }, "the caller must not see the server's object");
  });
});

test("services are named after the class and publish only upper-case methods, inherited ones too", async () => {
  class Base {
    Ping(): string {
      return "base";
    }
  }
  class Raft extends Base {
    AppendEntries(args: unknown): unknown {
      return { echoed: args };
    }
    helper(): void {}
  }
  const service = makeService(new Raft());
  assert.equal(service.name, "Raft");
  assert.deepEqual(service.methodNames, ["AppendEntries", "Ping"]);
  assert.equal(makeService(new Raft(), "Renamed").name, "Renamed");

  await withRig(async ({ net }) => {
    const server = makeServer();
    server.addService(service);
    net.addServer("r", server);
    const end = net.makeEnd("to-r");
    net.connect("to-r", "r");
    net.enable("to-r", true);
    assert.equal(await end.call("Raft.Ping", null), "base");
    assert.deepEqual(await end.call("Raft.AppendEntries", 3), { echoed: 3 });
  });
});

test("unknown services and methods, malformed names and broken handlers are programming errors", async () => {
  class Broken {
    Throws(): never {
      throw new Error("handler bug");
    }
    Nothing(): void {}
  }
  await withRig(async ({ server, end }) => {
    server.addService(makeService(new Broken()));
    await assert.rejects(end.call("Nope.Handler2", 1), /unknown service Nope/);
    await assert.rejects(end.call("JunkServer.helper", 1), /unknown method helper/);
    await assert.rejects(end.call("JunkServer.Missing", 1), /unknown method Missing/);
    await assert.rejects(end.call("NoDot", 1), /malformed method name/);
    await assert.rejects(end.call("Broken.Throws", 1), /handler bug/);
    await assert.rejects(end.call("Broken.Nothing", 1), /returned undefined/);
  });
});

test("ends: duplicates throw, new ends start disabled, numbers and strings are different names", async () => {
  await withRig(async ({ net }) => {
    assert.throws(() => net.makeEnd("end1"), /already exists/);
    assert.throws(() => net.enable("ghost", true), /no end named ghost/);
    const numbered = net.makeEnd(7);
    const named = net.makeEnd("7");
    net.connect(7, 1000);
    net.connect("7", 1000);
    assert.equal(await numbered.call("JunkServer.Handler2", 1), undefined, "new ends start disabled");
    net.enable(7, true);
    assert.equal(await numbered.call("JunkServer.Handler2", 1), "handler2-1");
    assert.equal(await named.call("JunkServer.Handler2", 1), undefined, '"7" is not 7');
  });
});

test("cleanup fails calls in flight at once and later calls without counting them", async () => {
  await withRig(async ({ clock, net, end }) => {
    net.longDelays(true);
    const unconnected = net.makeEnd("nowhere");
    const inFlight = timedCall(clock, unconnected, "JunkServer.Handler2", 1);
    const stuck = timedCall(clock, end, "JunkServer.Handler3", 1);
    await clock.sleep(10);
    net.cleanup();
    assert.deepEqual(await inFlight, { reply: undefined, atMs: 10 });
    assert.deepEqual(await stuck, { reply: undefined, atMs: 10 });
    const count = net.getTotalCount();
    assert.equal(await end.call("JunkServer.Handler2", 1), undefined);
    assert.equal(net.getTotalCount(), count);
  });
});

// ---- clocks -----------------------------------------------------------------------------------------------

test("the virtual clock jumps straight to the next timer", async () => {
  const clock = makeVirtualClock();
  try {
    const order: number[] = [];
    clock.setTimer(() => order.push(2), 2000);
    const cancelled = clock.setTimer(() => order.push(0), 500);
    clock.setTimer(() => order.push(1), 1000);
    clock.clearTimer(cancelled);
    await clock.sleep(10_000);
    assert.equal(clock.now(), 10_000);
    assert.deepEqual(order, [1, 2]);
  } finally {
    clock.stop();
  }
});

test("real clock smoke test: time passes, timers fire and can be cleared, labrpc runs on it", async () => {
  const clock = makeRealClock();
  assert.ok(clock.now() >= 0 && clock.now() < 50);
  let cancelledRan = false;
  const cancelled = clock.setTimer(() => {
    cancelledRan = true;
  }, 5);
  clock.clearTimer(cancelled);
  const before = clock.now();
  await clock.sleep(20);
  assert.ok(clock.now() - before >= 15, `slept ${clock.now() - before} ms`);
  assert.equal(cancelledRan, false);

  const net = makeNetwork();
  try {
    const server = makeServer();
    server.addService(makeService(new JunkServer(clock)));
    net.addServer(0, server);
    const end = net.makeEnd("e");
    net.connect("e", 0);
    net.enable("e", true);
    assert.equal(await end.call("JunkServer.Handler2", 5), "handler2-5");
  } finally {
    net.cleanup();
  }
});
