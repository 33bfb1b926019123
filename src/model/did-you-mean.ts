/**
 * "Did you mean": the known name nearest a mistyped one (Damerau–Levenshtein: a swap of two neighbours is one
 * edit), when it is near enough to be a typo — within a third of the longer name's length, at most 3 edits. The
 * typed name is cut to 64 characters first, so the work never grows with what a user (or a script) passed.
 */
const MAX_TYPED = 64;

function distance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The nearest of `known` to `typed` (case-insensitive), or undefined when none is a plausible typo. */
export function didYouMean(typed: string, known: readonly string[]): string | undefined {
  const t = typed.slice(0, MAX_TYPED).toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = distance(t, k.slice(0, MAX_TYPED).toLowerCase());
    if (dist < bestDistance) {
      best = k;
      bestDistance = dist;
    }
  }
  if (best === undefined || bestDistance === 0) return bestDistance === 0 ? best : undefined;
  return bestDistance <= Math.min(3, Math.max(1, Math.floor(Math.max(t.length, best.length) / 3))) ? best : undefined;
}

/** ` (did you mean 'x'?)`, or nothing. */
export function suggestion(typed: string, known: readonly string[], quote = "'"): string {
  const s = didYouMean(typed, known);
  return s === undefined ? '' : ` (did you mean ${quote}${s}${quote}?)`;
}
