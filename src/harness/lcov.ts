/**
 * Coverage of the driver under test: for a C driver its edges (clang trace-pc-guard, mapped to lines through DWARF),
 * for a TypeScript driver V8's precise block coverage of its module. Lines and branches are counted the way lcov
 * does: a line is hit when any of its points ran; each edge (or V8 block) is one branch. The files are written by
 * istanbul's maintained reporters from one istanbul coverage map: `lcov.info` (genhtml, editors, CI services),
 * `cobertura-coverage.xml` (GitLab, Jenkins, Azure DevOps) and `html/` (each source line with its hits).
 */
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import libCoverage, { type CoverageMap } from 'istanbul-lib-coverage';
import libReport from 'istanbul-lib-report';
import reports from 'istanbul-reports';
import { fileURLToPath } from 'node:url';
import type { CoverageCollector } from '../driver/wasm/coverage.js';

export interface CoverageSummary {
  readonly file: string;
  readonly lines: { readonly hit: number; readonly total: number };
  readonly branches: { readonly hit: number; readonly total: number };
}

export interface FileCoverage {
  readonly lines: Map<number, number>;
  readonly branches: { line: number; hits: number }[];
}

/** What a coverage run gives: the per-file counts and their summaries (writeCoverageReports writes the files). */
export interface DriverCoverage {
  readonly summaries: CoverageSummary[];
  readonly files: ReadonlyMap<string, FileCoverage>;
}

function render(files: ReadonlyMap<string, FileCoverage>): DriverCoverage {
  const summaries: CoverageSummary[] = [];
  for (const [file, f] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const hit = [...f.lines.values()].filter((h) => h > 0).length;
    summaries.push({ file, lines: { hit, total: f.lines.size }, branches: { hit: f.branches.filter((b) => b.hits > 0).length, total: f.branches.length } });
  }
  return { summaries, files };
}

/**
 * The counts as an istanbul coverage map: a statement per line, a branch per line whose locations are its edges
 * (or V8 blocks). No functions: the edges do not say which function they belong to.
 */
export function istanbulMap(files: ReadonlyMap<string, FileCoverage>): CoverageMap {
  const map = libCoverage.createCoverageMap({});
  for (const [path, f] of files) {
    const at = (line: number): { start: { line: number; column: number }; end: { line: number; column: number } } => ({ start: { line, column: 0 }, end: { line, column: 1 } });
    const statementMap: Record<string, ReturnType<typeof at>> = {};
    const s: Record<string, number> = {};
    [...f.lines].sort(([a], [b]) => a - b).forEach(([line, hits], i) => {
      statementMap[i] = at(line);
      s[i] = hits;
    });
    const byLine = new Map<number, number[]>();
    for (const br of f.branches) byLine.set(br.line, [...(byLine.get(br.line) ?? []), br.hits]);
    const branchMap: Record<string, { loc: ReturnType<typeof at>; type: string; locations: ReturnType<typeof at>[]; line: number }> = {};
    const b: Record<string, number[]> = {};
    [...byLine].sort(([x], [y]) => x - y).forEach(([line, hits], i) => {
      branchMap[i] = { loc: at(line), type: 'branch', locations: hits.map(() => at(line)), line };
      b[i] = hits;
    });
    map.addFileCoverage({ path, statementMap, s, branchMap, b, fnMap: {}, f: {} });
  }
  return map;
}

/**
 * Writes lcov.info, cobertura-coverage.xml and html/ into `dir` with istanbul's reporters: each into a temporary
 * directory first, then renamed into place (a file already there is replaced whole, never half-written).
 */
export function writeCoverageReports(dir: string, files: ReadonlyMap<string, FileCoverage>): void {
  const tmp = join(dir, `.psharness-coverage-${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    const context = libReport.createContext({ dir: tmp, coverageMap: istanbulMap(files), defaultSummarizer: 'nested' });
    // paths relative to where the user runs psharness (a repository's root, as CI services read them)
    reports.create('lcovonly', { file: 'lcov.info', projectRoot: process.cwd() }).execute(context);
    reports.create('cobertura', { file: 'cobertura-coverage.xml', projectRoot: process.cwd() }).execute(context);
    reports.create('html', { subdir: 'html', skipEmpty: false }).execute(context);
    for (const name of ['lcov.info', 'cobertura-coverage.xml']) renameSync(join(tmp, name), join(dir, name));
    rmSync(join(dir, 'html'), { recursive: true, force: true });
    renameSync(join(tmp, 'html'), join(dir, 'html'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** lcov of a C driver's edges; `dir` is the driver's directory (the points name files relative to it). */
export function lcovFromEdges(c: CoverageCollector, dir: string): DriverCoverage {
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
export function lcovFromV8(script: V8ScriptCoverage): DriverCoverage {
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
