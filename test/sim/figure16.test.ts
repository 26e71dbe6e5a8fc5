import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { selectSeries, updateMarkdown } from "../../src/cli/figure16.ts";
import {
  crashWindowMsFor,
  DISK_LATENCY,
  FIGURE16_SERIES,
  type Figure16Result,
  type Figure16Series,
  formatFigure16Markdown,
  formatFigure16Table,
  heartbeatTicksFor,
  NETWORK_LATENCY,
  renderFigure16Svg,
  runFigure16,
  summarize,
  type TrialResult,
} from "../../src/sim/figure16.ts";

// Small runs of the Figure 16 experiment (§9.3): a few dozen trials per range instead of a thousand, and a
// 5 s cap instead of 60 s, so the file takes a few seconds. The full run is `tsraft figure16`.

const CAP_MS = 5000;

function series(minMs: number, maxMs: number): Figure16Series {
  const found = FIGURE16_SERIES.find((one) => one.range.minMs === minMs && one.range.maxMs === maxMs);
  assert.ok(found, `Figure 16 has no ${minMs}-${maxMs} ms range`);
  return found;
}

function statsOf(result: Figure16Result, minMs: number, maxMs: number) {
  const one = result.series.find(
    (each) => each.series.range.minMs === minMs && each.series.range.maxMs === maxMs,
  );
  assert.ok(one, `no result for ${minMs}-${maxMs} ms`);
  return one;
}

const small = (seed: number, trials = 30, ranges = [series(150, 150), series(150, 300), series(12, 24)]) =>
  runFigure16({ seed, trials, capMs: CAP_MS, series: ranges });

describe("Figure 16 experiment", () => {
  const first = small(7);

  test("is a pure function of its seed", () => {
    assert.deepEqual(small(7), first);
    assert.notDeepEqual(small(8).series, first.series);
  });

  test("trial i is the same whatever the number of trials", () => {
    const fewer = small(7, 10);
    for (const [index, one] of fewer.series.entries()) {
      assert.deepEqual(one.trials, first.series[index]?.trials.slice(0, 10));
    }
  });

  test("randomized timeouts elect a leader far sooner than fixed ones (§9.3)", () => {
    const none = statsOf(first, 150, 150).stats;
    const wide = statsOf(first, 150, 300).stats;
    assert.equal(wide.capped, 0, "150–300 ms: every trial elects a leader");
    assert.ok(wide.medianMs !== null && wide.medianMs < 300, `150–300 ms median ${wide.medianMs} ms`);
    // With no randomness the followers keep splitting the vote: most trials hit the cap.
    assert.ok(none.medianMs === null || none.medianMs > 10 * (wide.medianMs ?? 0), "150–150 ms median");
    assert.ok(none.meanTerms > 10 * wide.meanTerms, "150–150 ms takes many more terms");
  });

  test("a 12–24 ms timeout elects a leader in well under 100 ms on average (§9.3)", () => {
    const fast = statsOf(first, 12, 24).stats;
    assert.equal(fast.capped, 0);
    assert.ok(fast.meanMs < 100, `12–24 ms mean ${fast.meanMs} ms`);
  });

  test("the leader crashes within half a minimum timeout of its last broadcast; no election is faster than the timeout allows", () => {
    for (const { series: one, trials } of first.series) {
      for (const trial of trials) {
        assert.ok(trial.crashOffsetMs >= 0 && trial.crashOffsetMs < crashWindowMsFor(one.range));
        if (trial.electedMs === null || one.range.minMs < 50) continue;
        // A follower's timer runs at least the minimum timeout from its last contact, which came after the
        // broadcast: the election cannot finish before min - crash offset. (Below 50 ms a follower may already
        // be campaigning when the broadcast arrives: the timing requirement does not hold there.)
        assert.ok(
          trial.electedMs >= one.range.minMs - trial.crashOffsetMs,
          `elected after ${trial.electedMs} ms`,
        );
        assert.ok(trial.heardMs === null || trial.heardMs >= trial.electedMs);
        assert.ok(trial.terms >= 1);
      }
    }
  });

  test("the disk latency model and the paper's log setup run too", () => {
    const ranges = [series(150, 300)];
    const disk = runFigure16({ seed: 3, trials: 20, capMs: CAP_MS, series: ranges, latency: DISK_LATENCY });
    const stats = statsOf(disk, 150, 300).stats;
    assert.equal(stats.capped, 0);
    assert.ok(stats.medianMs !== null && stats.medianMs < 300);
    const behind = runFigure16({ seed: 3, trials: 20, capMs: CAP_MS, series: ranges, logs: "two-behind" });
    assert.equal(behind.logs, "two-behind");
    assert.equal(statsOf(behind, 150, 300).stats.capped, 0);
  });

  test("heartbeats keep an idle follower in touch every half minimum timeout", () => {
    // The core heartbeats a follower whenever it has been sent nothing for heartbeatTicks, so the paper's
    // setting (half the minimum timeout) is the longest an idle follower goes without hearing the leader.
    assert.equal(heartbeatTicksFor({ minMs: 150, maxMs: 300 }), 75);
    assert.equal(heartbeatTicksFor({ minMs: 12, maxMs: 24 }), 6);
    assert.equal(crashWindowMsFor({ minMs: 150, maxMs: 155 }), 75);
  });
});

describe("Figure 16 statistics", () => {
  const trial = (electedMs: number | null, terms = 1): TrialResult => ({
    crashOffsetMs: 0,
    electedMs,
    heardMs: electedMs === null ? null : electedMs + 5,
    terms,
    setupElections: 0,
  });

  test("nearest-rank percentiles; capped trials rank above every other", () => {
    const stats = summarize([trial(30), trial(10), trial(20), trial(null, 9)], 1000);
    assert.equal(stats.trials, 4);
    assert.equal(stats.capped, 1);
    assert.equal(stats.medianMs, 20);
    assert.equal(stats.p99Ms, null, "the 99th percentile is the capped trial");
    assert.equal(stats.maxMs, null);
    assert.equal(stats.minMs, 10);
    assert.equal(stats.meanMs, (10 + 20 + 30 + 1000) / 4, "a capped trial counts at the cap");
    assert.equal(stats.meanHeardMs, 25);
    assert.equal(stats.multiTerm, 1);
  });

  test("all trials elected", () => {
    const stats = summarize(
      Array.from({ length: 100 }, (_, i) => trial(i + 1)),
      1000,
    );
    assert.deepEqual([stats.medianMs, stats.p99Ms, stats.maxMs, stats.capped], [50, 99, 100, 0]);
  });
});

describe("Figure 16 output", () => {
  const result = runFigure16({
    seed: 1,
    trials: 8,
    capMs: 2000,
    series: [series(150, 150), series(150, 155), series(150, 300), series(12, 24)],
  });
  const disk = runFigure16({
    seed: 1,
    trials: 8,
    capMs: 2000,
    series: [series(150, 300)],
    latency: DISK_LATENCY,
  });

  test("the SVG has both graphs per run and a curve per range and graph", () => {
    const svg = renderFigure16Svg([result, disk]);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(svg.trimEnd().endsWith("</svg>"));
    assert.equal(svg.match(/Varying the randomness/g)?.length, 2);
    assert.equal(svg.match(/Scaling the minimum timeout/g)?.length, 2);
    // 150–300 ms is in both graphs: 3 + 2 curves for the network run, 1 + 1 for the disk run.
    assert.equal(svg.match(/fill="none" stroke="#[0-9a-f]{6}" stroke-width="1.6"\/>/g)?.length, 7);
    assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
  });

  test("the tables have a row per range and the paper's statements", () => {
    const table = formatFigure16Table(result);
    assert.match(table, /150–155 ms .* median 287 ms/);
    assert.match(table, /12–24 ms .* mean 35 ms, worst 152 ms/);
    const markdown = formatFigure16Markdown(result);
    assert.equal(markdown.split("\n").filter((line) => line.startsWith("| ")).length, 2 + 4);
    assert.match(markdown, /one-way 5–10 ms, instant storage/);
    assert.equal(result.latency, NETWORK_LATENCY);
  });

  test("--markdown replaces only the block between the marks", () => {
    const fresh = updateMarkdown(undefined, [result], "tsraft figure16 --trials 8");
    assert.match(fresh, /^# Figure 16/);
    const handWritten = `# Title\n\nMethod.\n\n${fresh.slice(fresh.indexOf("<!--"))}\nDiscussion.\n`;
    const again = updateMarkdown(handWritten, [disk], "tsraft figure16 --latency disk");
    assert.match(again, /^# Title\n\nMethod\.\n\n<!-- figure16:begin/);
    assert.match(again, /--latency disk/);
    assert.doesNotMatch(again, /--trials 8`/);
    assert.match(again, /<!-- figure16:end -->\n\nDiscussion\.\n$/);
    assert.match(updateMarkdown("# Notes\n", [disk], "x"), /^# Notes\n\n<!-- figure16:begin/);
  });

  test("--ranges picks ranges of the figure and refuses others", () => {
    assert.deepEqual(
      selectSeries("12-24,150–155").map((one) => one.range),
      [
        { minMs: 150, maxMs: 155 },
        { minMs: 12, maxMs: 24 },
      ],
    );
    assert.equal(selectSeries(undefined).length, 10);
    assert.throws(() => selectSeries("150-160"), /unknown range 150-160/);
  });
});
