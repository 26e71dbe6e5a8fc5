/**
 * A line diff for mismatch reports: `-` lines are expected but missing, `+` lines are printed but not
 * expected, unchanged lines are shown only near a change. Longest common subsequence by dynamic programming;
 * golden outputs are a few hundred lines at most.
 */

/** Unchanged lines shown around each change. */
const CONTEXT_LINES = 3;

type Op = { readonly kind: " " | "-" | "+"; readonly text: string };

export function lineDiff(expected: readonly string[], actual: readonly string[]): string[] {
  return collapse(diffOps(expected, actual));
}

function diffOps(a: readonly string[], b: readonly string[]): Op[] {
  // common[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const common: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0),
  );
  const at = (i: number, j: number) => common[i]?.[j] ?? 0;
  for (let i = a.length - 1; i >= 0; i--) {
    const row = common[i] as number[];
    for (let j = b.length - 1; j >= 0; j--) {
      row[j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: " ", text: a[i] as string });
      i++;
      j++;
    } else if (i < a.length && (j === b.length || at(i + 1, j) >= at(i, j + 1))) {
      ops.push({ kind: "-", text: a[i] as string });
      i++;
    } else {
      ops.push({ kind: "+", text: b[j] as string });
      j++;
    }
  }
  return ops;
}

/** Keeps the changes and CONTEXT_LINES unchanged lines around each; elided runs become `...`. */
function collapse(ops: readonly Op[]): string[] {
  const near = ops.map(() => false);
  ops.forEach((op, index) => {
    if (op.kind === " ") return;
    for (
      let k = Math.max(0, index - CONTEXT_LINES);
      k <= Math.min(ops.length - 1, index + CONTEXT_LINES);
      k++
    ) {
      near[k] = true;
    }
  });
  const lines: string[] = [];
  let elided = false;
  ops.forEach((op, index) => {
    if (near[index]) {
      lines.push(`${op.kind} ${op.text}`);
      elided = false;
    } else if (!elided) {
      lines.push("  ...");
      elided = true;
    }
  });
  return lines;
}
