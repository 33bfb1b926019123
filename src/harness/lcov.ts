/**
 * Coverage of the driver under test, as lcov (what genhtml, editors and CI services read): for a C driver its edges
 * (clang trace-pc-guard, mapped to lines through DWARF), for a TypeScript driver V8's precise block coverage of its
 * module. Lines and branches are counted the way lcov does: a line is hit when any of its points ran; each edge (or
 * V8 block) is one branch.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CoverageCollector } from '../driver/wasm/coverage.js';

export interface CoverageSummary {
  readonly file: string;
  readonly lines: { readonly hit: number; readonly total: number };
  readonly branches: { readonly hit: number; readonly total: number };
}

interface FileCoverage {
  readonly lines: Map<number, number>;
  readonly branches: { line: number; hits: number }[];
}

function render(files: ReadonlyMap<string, FileCoverage>): { text: string; summaries: CoverageSummary[] } {
  const out: string[] = [];
  const summaries: CoverageSummary[] = [];
  for (const [file, f] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push('TN:', `SF:${file}`);
    const perLine = new Map<number, number>();
    for (const b of f.branches) {
      const k = perLine.get(b.line) ?? 0;
      perLine.set(b.line, k + 1);
      out.push(`BRDA:${b.line},0,${k},${b.hits > 0 ? b.hits : '-'}`);
    }
    out.push(`BRF:${f.branches.length}`, `BRH:${f.branches.filter((b) => b.hits > 0).length}`);
    for (const [line, hits] of [...f.lines].sort(([a], [b]) => a - b)) out.push(`DA:${line},${hits}`);
    const hit = [...f.lines.values()].filter((h) => h > 0).length;
    out.push(`LF:${f.lines.size}`, `LH:${hit}`, 'end_of_record');
    summaries.push({ file, lines: { hit, total: f.lines.size }, branches: { hit: f.branches.filter((b) => b.hits > 0).length, total: f.branches.length } });
  }
  return { text: out.join('\n') + '\n', summaries };
}

/** lcov of a C driver's edges; `dir` is the driver's directory (the points name files relative to it). */
export function lcovFromEdges(c: CoverageCollector, dir: string): { text: string; summaries: CoverageSummary[] } {
  const files = new Map<string, FileCoverage>();
  // the x86 and x64 images of one source have the same edges, line by line in the same order: the k-th edge of a
  // line in either image is one branch, its hits the two images' sum (an image with more edges there adds its own)
  const branchAt = new Map<string, { line: number; hits: number }>();
  const ordinal = new Map<string, number>();
  for (const p of c.points) {
    const file = resolve(dir, p.file);
    let f = files.get(file);
    if (f === undefined) files.set(file, (f = { lines: new Map(), branches: [] }));
    const hits = c.hits.get(p.guard) ?? 0;
    f.lines.set(p.line, (f.lines.get(p.line) ?? 0) + hits);
    const at = `${file}\0${p.line}\0${p.target}`;
    const k = ordinal.get(at) ?? 0;
    ordinal.set(at, k + 1);
    const id = `${file}\0${p.line}\0${k}`;
    const b = branchAt.get(id);
    if (b !== undefined) b.hits += hits;
    else {
      const nb = { line: p.line, hits };
      branchAt.set(id, nb);
      f.branches.push(nb);
    }
  }
  return render(files);
}

/** V8's precise coverage of one script (Profiler.takePreciseCoverage, detailed). */
export interface V8ScriptCoverage {
  readonly url: string;
  readonly functions: readonly { readonly isBlockCoverage: boolean; readonly ranges: readonly { readonly startOffset: number; readonly endOffset: number; readonly count: number }[] }[];
}

/** lcov of a TypeScript driver's module (its compiled JavaScript, the file V8 ran). */
export function lcovFromV8(script: V8ScriptCoverage): { text: string; summaries: CoverageSummary[] } {
  const file = script.url.startsWith('file:') ? fileURLToPath(script.url) : script.url;
  const source = readFileSync(file, 'utf8');
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === '\n') starts.push(i + 1);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const ranges = script.functions.flatMap((f) => f.ranges.map((r) => ({ ...r, block: f.isBlockCoverage })));
  // the count at an offset is the one of the smallest range that contains it (V8 nests them)
  const countAt = (offset: number): number => {
    let best: { size: number; count: number } | null = null;
    for (const r of ranges) {
      if (r.startOffset <= offset && offset < r.endOffset && (best === null || r.endOffset - r.startOffset < best.size)) best = { size: r.endOffset - r.startOffset, count: r.count };
    }
    return best?.count ?? 0;
  };
  const lines = new Map<number, number>();
  starts.forEach((start, i) => {
    const text = source.slice(start, starts[i + 1] ?? source.length).trim();
    if (text === '' || text.startsWith('//') || text.startsWith('*') || text.startsWith('/*') || /^[})\]]+[;,)]*$/.test(text) || text.startsWith('import ') || text.startsWith('export {')) return;
    lines.set(i + 1, countAt(start + (source.slice(start).search(/\S/) ?? 0)));
  });
  const branches = ranges.filter((r) => r.block).map((r) => ({ line: lineOf(r.startOffset), hits: r.count }));
  return render(new Map([[file, { lines, branches }]]));
}

export function coverageLine(s: CoverageSummary): string {
  const pct = (h: number, t: number): string => (t === 0 ? '-' : `${((100 * h) / t).toFixed(1)}%`);
  return `coverage of ${s.file}: lines ${s.lines.hit}/${s.lines.total} (${pct(s.lines.hit, s.lines.total)}), branches ${s.branches.hit}/${s.branches.total} (${pct(s.branches.hit, s.branches.total)})`;
}
