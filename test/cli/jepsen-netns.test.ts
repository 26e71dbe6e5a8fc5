/**
 * The namespace mode's pure parts: names and addresses of a run, the commands that build and remove its
 * network, and the nftables rules and netem settings a link policy becomes. Nothing here needs root.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  NFT_TABLE,
  netemCommand,
  netnsPlan,
  nftScript,
  pickNet,
  setupCommands,
  tagOf,
  teardownCommands,
} from "../../src/cli/jepsen/netns.ts";
import { type LinkPolicy, PASS } from "../../src/drivers/fault-proxy/index.ts";

const plan = netnsPlan("4242", 231, [1, 2, 3]);

describe("netns plan", () => {
  test("names carry the tag, fit the kernel's 15-character interface names, and addresses share a /24", () => {
    assert.equal(plan.namespace(2), "tsraft-4242-2");
    assert.equal(plan.hostDevice(3), "tsr4242v3");
    assert.equal(plan.bridge, "tsr4242br");
    assert.equal(plan.address(1), "10.231.0.1");
    assert.equal(plan.bridgeAddress, "10.231.0.254");
    const widest = netnsPlan("9999999", 200, [14]);
    assert.ok(widest.hostDevice(14).length <= 15);
    assert.ok(widest.bridge.length <= 15);
  });

  test("refuses tags, nets and node ids it cannot name or address", () => {
    assert.throws(() => netnsPlan("abc", 200, [1]), RangeError);
    assert.throws(() => netnsPlan("1", 0, [1]), RangeError);
    assert.throws(() => netnsPlan("1", 200, [0]), RangeError);
    assert.throws(() => netnsPlan("1", 200, [15]), RangeError);
  });

  test("tagOf recognises this harness's names only", () => {
    assert.equal(tagOf("tsraft-4242-2"), "4242");
    assert.equal(tagOf("tsr4242br"), "4242");
    assert.equal(tagOf("tsr4242v12"), "4242");
    assert.equal(tagOf("tsraft-x-1"), null);
    assert.equal(tagOf("eth0"), null);
    assert.equal(tagOf("tsr4242"), null);
  });

  test("pickNet skips the /24s in use and wraps within 10.200-10.253", () => {
    assert.equal(pickNet(["127.0.0.1", "192.0.2.2"], 0), 200);
    assert.equal(pickNet(["10.200.0.254", "10.201.0.1"], 0), 202);
    assert.equal(pickNet(["10.253.0.1"], 53), 200);
    const all = Array.from({ length: 54 }, (_, k) => `10.${200 + k}.0.1`);
    assert.throws(() => pickNet(all, 0));
  });
});

describe("netns setup and teardown", () => {
  test("every node gets a namespace, a veth into the bridge, its address and an nft table", () => {
    const commands = setupCommands(plan, false).map((argv) => argv.join(" "));
    assert.equal(commands[0], "ip link add tsr4242br type bridge");
    for (const id of plan.ids) {
      assert.ok(commands.includes(`ip netns add tsraft-4242-${id}`));
      assert.ok(
        commands.includes(`ip link add tsr4242v${id} type veth peer name eth0 netns tsraft-4242-${id}`),
      );
      assert.ok(commands.includes(`ip link set tsr4242v${id} master tsr4242br`));
      assert.ok(commands.includes(`ip -n tsraft-4242-${id} addr add 10.231.0.${id}/24 dev eth0`));
      assert.ok(commands.includes(`ip netns exec tsraft-4242-${id} nft -f -`));
      // A namespace exists before anything is put in it.
      assert.ok(
        commands.indexOf(`ip netns add tsraft-4242-${id}`) < commands.indexOf(`ip link set tsr4242v${id} up`),
      );
    }
    assert.ok(!commands.some((command) => command.includes(" tc ")), "no shaping without netem");
  });

  test("with netem, each node sorts its traffic into one htb class per peer, each with a netem leaf", () => {
    const commands = setupCommands(plan, true).map((argv) => argv.join(" "));
    const inOne = commands.filter((command) => command.startsWith("ip netns exec tsraft-4242-1 tc"));
    assert.deepEqual(inOne, [
      "ip netns exec tsraft-4242-1 tc qdisc add dev eth0 root handle 1: htb default 1",
      "ip netns exec tsraft-4242-1 tc class add dev eth0 parent 1: classid 1:1 htb rate 10gbit",
      "ip netns exec tsraft-4242-1 tc class add dev eth0 parent 1: classid 1:3 htb rate 10gbit",
      "ip netns exec tsraft-4242-1 tc qdisc add dev eth0 parent 1:3 handle 12: netem delay 0ms",
      "ip netns exec tsraft-4242-1 tc filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dst 10.231.0.2/32 flowid 1:3",
      "ip netns exec tsraft-4242-1 tc class add dev eth0 parent 1: classid 1:4 htb rate 10gbit",
      "ip netns exec tsraft-4242-1 tc qdisc add dev eth0 parent 1:4 handle 13: netem delay 0ms",
      "ip netns exec tsraft-4242-1 tc filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dst 10.231.0.3/32 flowid 1:4",
    ]);
  });

  test("teardown removes the veths, the bridge and the namespaces", () => {
    assert.deepEqual(
      teardownCommands(plan).map((argv) => argv.join(" ")),
      [
        "ip link del tsr4242v1",
        "ip link del tsr4242v2",
        "ip link del tsr4242v3",
        "ip link del tsr4242br",
        "ip netns del tsraft-4242-1",
        "ip netns del tsraft-4242-2",
        "ip netns del tsraft-4242-3",
      ],
    );
  });
});

describe("link policies as nftables rules and netem settings", () => {
  const rulesOf = (policies: [number, LinkPolicy][]) =>
    nftScript(plan, new Map(policies))
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.startsWith("ip daddr"));

  test("the script replaces the table atomically and passes everything when no link is faulty", () => {
    const script = nftScript(plan, new Map());
    assert.ok(script.startsWith(`add table inet ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\n`));
    assert.match(script, /type filter hook output priority 0; policy accept;/);
    assert.deepEqual(rulesOf([]), []);
    assert.deepEqual(rulesOf([[2, PASS]]), []);
  });

  test("blackhole drops what the sender sends to that peer; refuse resets TCP and drops the rest", () => {
    assert.deepEqual(rulesOf([[2, { ...PASS, block: "blackhole" }]]), ["ip daddr 10.231.0.2 drop"]);
    assert.deepEqual(rulesOf([[3, { ...PASS, block: "refuse" }]]), [
      "ip daddr 10.231.0.3 meta l4proto tcp reject with tcp reset",
      "ip daddr 10.231.0.3 drop",
    ]);
  });

  test("loss drops each packet with the link's probability; a block overrides loss", () => {
    assert.deepEqual(rulesOf([[2, { ...PASS, cutProbability: 0.05 }]]), [
      "ip daddr 10.231.0.2 numgen random mod 10000 < 500 drop",
    ]);
    assert.deepEqual(rulesOf([[2, { ...PASS, cutProbability: 0.00001 }]]), [
      "ip daddr 10.231.0.2 numgen random mod 10000 < 1 drop",
    ]);
    assert.deepEqual(rulesOf([[2, { ...PASS, block: "blackhole", cutProbability: 0.5 }]]), [
      "ip daddr 10.231.0.2 drop",
    ]);
  });

  test("rules come in peer order, whatever order the policies were set in", () => {
    const rules = rulesOf([
      [3, { ...PASS, block: "blackhole" }],
      [2, { ...PASS, block: "blackhole" }],
    ]);
    assert.deepEqual(rules, ["ip daddr 10.231.0.2 drop", "ip daddr 10.231.0.3 drop"]);
  });

  test("netem delay is centred so that the jitter spans [delay, delay + jitter]", () => {
    assert.deepEqual(netemCommand(2, "change", { ...PASS, delayMs: 60, jitterMs: 20 }), [
      ..."tc qdisc change dev eth0 parent 1:3 handle 12: netem delay 70ms 10ms".split(" "),
    ]);
    assert.deepEqual(
      netemCommand(3, "change", PASS).join(" "),
      "tc qdisc change dev eth0 parent 1:4 handle 13: netem delay 0ms",
    );
  });
});
