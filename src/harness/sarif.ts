/**
 * SARIF 2.1.0 (OASIS; what GitHub code scanning, Azure DevOps and VS Code's SARIF viewer read): one run, one rule
 * per invariant checked (its statement and the documented rule it comes from), one result per finding. A result is
 * an error when it gates the run (reachable, or under low resources) and a warning when Windows cannot produce it
 * (defensive only, in the default profile). Its location is the driver's source: the routine the finding is about
 * (harness/locate.ts), at the line its body opens on, when the driver is C; the file alone otherwise. The
 * signature is the partial fingerprint, so a code-scanning service tracks one bug across runs and seeds.
 */
import { relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SourceLine } from '../driver/wasm/symbols.js';
import { HALTS, reachabilityOf, type Invariant } from '../invariants/index.js';
import { VERSION } from '../version.js';
import type { Finding, FuzzResult } from './fuzz.js';
import { findingRoutines, shownViolation } from './locate.js';
import { reachabilityText } from './report.js';

export interface SarifInput {
  readonly invariants: readonly Invariant[];
  readonly result: FuzzResult;
  /** The driver's source file (absolute), when it is one; null for a built-in TypeScript driver. */
  readonly driverFile: string | null;
  /** A project's source root (the directory its DWARF's file names are relative to). */
  readonly sourceRoot?: string;
  /** Its routines' lines (a C driver), relative to the driver's directory. */
  readonly lines?: ReadonlyMap<string, SourceLine>;
  /** Where the user ran the command: artifact URIs are relative to it (SRCROOT) when the file lies below it. */
  readonly cwd: string;
  readonly gates: (f: Finding) => boolean;
  readonly replayOf: (signature: string) => string | undefined;
}

/** An artifact location: relative to SRCROOT (the working directory) when below it, else an absolute file URI. */
function artifact(file: string, cwd: string): { uri: string; uriBaseId?: string } {
  const rel = relative(cwd, file);
  if (rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel)) return { uri: rel.split(sep).join('/'), uriBaseId: 'SRCROOT' };
  return { uri: pathToFileURL(file).href };
}

/** A finding's source location: the routine it is about, at its line; `null` when the driver has no source. */
export function findingLocation(f: Finding, driverFile: string | null, lines?: ReadonlyMap<string, SourceLine>, sourceRoot?: string): { file: string; line?: number; routine?: string }[] {
  if (driverFile === null && sourceRoot === undefined) return [];
  // the directory the DWARF's file names are relative to: a project's source root, else the driver file's own
  const dir = sourceRoot !== undefined ? `${sourceRoot}${sep}` : driverFile === null ? '' : driverFile.slice(0, driverFile.length - (driverFile.split(/[\\/]/).pop() ?? '').length);
  const out: { file: string; line?: number; routine?: string }[] = [];
  // a halt: the faulting line itself, the innermost frame in the driver's own files (a shim header's is not theirs)
  const v = shownViolation(f);
  const stack = f.record.bugCheck?.stack ?? f.record.verifierStop?.stack;
  const own = v !== undefined && HALTS.has(v.invariant) ? stack?.find((x) => x.file !== undefined && x.line !== undefined && !x.file.startsWith('include/')) : undefined;
  if (own?.file !== undefined) out.push({ file: `${dir}${own.file}`, ...(own.line !== undefined ? { line: own.line } : {}), routine: own.function });
  // a race: both accesses at their lines
  const race = v?.invariant === 'no-data-race' ? f.record.concurrency?.races.find((x) => x.address === v.evidence.actual) : undefined;
  for (const a of race === undefined ? [] : [race.first, race.second]) {
    const m = a.line === undefined ? null : /^(.+):(\d+)$/.exec(a.line);
    if (m !== null && !m[1].startsWith('include/')) out.push({ file: `${dir}${m[1]}`, line: Number(m[2]), routine: a.routine });
  }
  for (const routine of findingRoutines(f)) {
    if (out.some((w) => w.routine === routine && w.line !== undefined)) continue;
    const at = lines?.get(routine);
    if (at !== undefined) out.push({ file: `${dir}${at.file}`, line: at.line, routine });
  }
  return out.length > 0 ? out : driverFile !== null ? [{ file: driverFile }] : [];
}

export function sarifLog(o: SarifInput): string {
  const rules = o.invariants.map((inv) => ({
    id: inv.id,
    name: inv.id.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase()),
    shortDescription: { text: inv.statement },
    fullDescription: { text: inv.statement },
    help: { text: `${inv.statement}\nRule: ${inv.source}`, markdown: `${inv.statement}\n\n**Rule:** ${inv.source}` },
    defaultConfiguration: { level: 'error' },
  }));
  const index = new Map(o.invariants.map((inv, i) => [inv.id, i]));
  const results = o.result.findings.map((f) => {
    const v = shownViolation(f);
    const reach = reachabilityOf(f.record);
    const where = findingLocation(f, o.driverFile, o.lines, o.sourceRoot);
    const loc = (w: { file: string; line?: number; routine?: string }): object => ({
      physicalLocation: { artifactLocation: artifact(w.file, o.cwd), ...(w.line !== undefined ? { region: { startLine: w.line } } : {}) },
      ...(w.routine !== undefined ? { logicalLocations: [{ name: w.routine, kind: 'function' }] } : {}),
    });
    const replay = o.replayOf(f.signature);
    const also = f.alsoBreaks !== undefined && f.alsoBreaks.length > 0 ? ` (the same root cause also breaks ${f.alsoBreaks.join(', ')})` : '';
    return {
      ruleId: f.invariant.id,
      ...(index.has(f.invariant.id) ? { ruleIndex: index.get(f.invariant.id) } : {}),
      level: o.gates(f) ? 'error' : 'warning',
      message: { text: `${v?.message ?? 'violated'}${also}. On Windows: ${reachabilityText(reach.reachability)}${replay !== undefined ? `. Replay: ${replay}` : ''}` },
      ...(where.length > 0 ? { locations: [loc(where[0])] } : {}),
      ...(where.length > 1 ? { relatedLocations: where.slice(1).map((w, i) => ({ id: i + 1, ...loc(w), message: { text: `also involved: ${w.routine ?? ''}` } })) } : {}),
      partialFingerprints: { 'psharnessSignature/v1': f.signature },
      properties: {
        reachability: reach.reachability, scenarioOperations: f.scenario.ops.length, build: f.scenario.build,
        seed: f.seed, ...(f.path !== null ? { path: f.path } : {}), ...(f.alsoBreaks !== undefined ? { alsoBreaks: f.alsoBreaks } : {}),
      },
    };
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'psharness', version: VERSION, semanticVersion: VERSION, rules } },
      originalUriBaseIds: { SRCROOT: { uri: pathToFileURL(o.cwd.endsWith(sep) ? o.cwd : `${o.cwd}${sep}`).href } },
      invocations: [{ executionSuccessful: true, properties: { seed: o.result.seed, runs: o.result.runs, interrupted: o.result.interrupted } }],
      results,
    }],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

/** GitHub Actions workflow commands (`::error file=…,line=…,title=…::message`), one per finding. */
export function githubAnnotations(findings: readonly Finding[], driverFile: string | null, lines: ReadonlyMap<string, SourceLine> | undefined, cwd: string, gates: (f: Finding) => boolean, sourceRoot?: string): string[] {
  // the documented escapes: data %, CR, LF; properties also : and ,
  const data = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const prop = (s: string): string => data(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  return findings.map((f) => {
    const [w] = findingLocation(f, driverFile, lines, sourceRoot);
    const file = w === undefined ? undefined : relative(cwd, w.file).split(sep).join('/');
    const props = [
      ...(file !== undefined ? [`file=${prop(file)}`] : []),
      ...(w?.line !== undefined ? [`line=${w.line}`] : []),
      `title=${prop(`psharness ${f.invariant.id}`)}`,
    ];
    return `::${gates(f) ? 'error' : 'warning'} ${props.join(',')}::${data(shownViolation(f)?.message ?? 'violated')}`;
  });
}
