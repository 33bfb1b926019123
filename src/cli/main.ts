/**
 * psharness command line. Exit codes (stable, for CI): 0 every invariant held; 1 a violation was found (or a
 * replayed report still fails); 2 bad usage or bad input; 3 internal error of the harness.
 */
import { randomInt } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { InputFileError, INPUT_LIMITS, parseInputJson, readInputText } from '../driver/input-files.js';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { builtinDrivers, DRIVER_FILE, isDriverPath, UnknownDriverError, type DriverModule } from '../driver/index.js';
import { junitXml, writeAtomic } from '../harness/junit.js';
import { commandHelp, COMMANDS, FUZZ_OPTIONS, REPLAY_OPTIONS, TRACE_OPTIONS, unknownOptionMessage, valueOptions } from './help.js';
import { suggestion } from '../model/did-you-mean.js';
import { findingLocation, githubAnnotations, sarifLog } from '../harness/sarif.js';
import { htmlReport } from '../harness/html.js';
import { routineLines, type SourceLine } from '../driver/wasm/symbols.js';
import { runCampaign } from '../harness/campaign.js';
import { tuneHeapForCampaigns } from '../harness/heap.js';
import { coverageLine, lcovFromEdges, lcovFromV8, writeCoverageReports, type V8ScriptCoverage } from '../harness/lcov.js';
import { checkExhaustive } from '../harness/exhaustive.js';
import { guidedFuzz } from '../harness/guided.js';
import { applicableBuilds, applicableInvariants, fuzz, weightsFor, type Finding, type FuzzResult } from '../harness/fuzz.js';
import { CompileError } from '../driver/wasm/compile.js';
import { isConcurrent, MAX_CPUS } from '../model/ke/schedule.js';
import { loadWasmDriver, WasmDriverError } from '../driver/wasm/loader.js';
import { describeBuilds, shimCatalogue } from '../driver/wasm/shim-catalogue.js';
import { LogSpecError } from '../driver/log-spec.js';
import fc from 'fast-check';
import { DEFAULT_WEIGHTS, type OpWeights } from '../generators/ops.js';
import { statisticsTable } from '../generators/labels.js';
import { CURRENT_GENERATOR_FORMAT, GENERATOR_FORMATS, scenarioArbitrary, type GeneratorFormat } from '../generators/scenario.js';
import { runAndCheck } from '../harness/check.js';
import { loadReport, replayReport, validateScenario } from '../harness/replay.js';
import type { Scenario } from '../model/scenario.js';
import {
  buildReport, cleanStaleTemps, ensureDir, fileSha256, renderMarkdown, renderRun, ReportError, resolveDriverReference, writeReport,
} from '../harness/report.js';
import { getInvariant, INVARIANTS, reachabilityOf, UnknownInvariantError, type Invariant, type Violation } from '../invariants/index.js';
import { shownViolation } from '../harness/locate.js';
import { BUILD_ALIASES, BUILDS, canonicalBuildId, getBuild, selectBuilds, UnknownBuildError } from '../model/builds.js';
import { VERSION } from '../version.js';

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C (SIGINT): 128 + 2, as a shell reports it; what was found so far is printed and written. */
export const EXIT_INTERRUPTED = 130;
export const EXIT_INTERNAL = 3;

class UsageError extends Error {}

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Progress line on a terminal (\r-updated); absent when output is not a TTY. */
  progress?: (line: string) => void;
  /** Not on a terminal (a CI log): a plain line now and then, so a long campaign shows it is alive. */
  heartbeat?: (line: string) => void;
  now(): number;
  /** Calls `handler` on the first Ctrl-C (a second one ends the process as usual); returns the unsubscribe. */
  onInterrupt?: (handler: () => void) => () => void;
  /** The environment (GITHUB_ACTIONS turns on workflow annotations); none when absent. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** How often a campaign not on a terminal says it is alive (a CI log's line). */
const HEARTBEAT_MS = 10_000;

const USAGE = `psharness ${VERSION} — property-based testing of NT kernel-driver notify callbacks

usage:
  psharness fuzz --driver <name|driver.c|driver.cpp|a.c,b.c|dir|project.vcxproj|driver.wasm> [--configuration C] [--seed N|random] [--runs N] [--time-limit S] [--build B|all]
                 [--profile documented|adversarial] [--invariant ID ...] [--max-ops N]
                 [--reports DIR] [--junit FILE] [--sarif FILE] [--html DIR] [--no-reports] [--path P] [--regressions DIR] [--verifier on|off]
                 [--min-runs N] [--workers N] [--shard i/n] [--faults none|boot|all] [--crowding on|off] [--cpus N]
                 [--weights kind=N,...] [--stats] [--exhaustive K] [--max-findings N]
                 [--from-report R] [--coverage DIR] [--guided]
  psharness replay <report.json>
  psharness trace --driver <name|file> (--report R | --seed S --run K | --scenario FILE) [--build B]
                 [--profile documented|adversarial] [--max-ops N] [--verifier on|off] [--cpus N]
  psharness list [--ddis]
  psharness help [command]          (or psharness <command> --help: every option described)

exit codes: 0 all invariants hold, 1 violation, 2 bad usage or input, 3 internal error`;

/** A built-in driver by name, or a C (.c) or WebAssembly (.wasm) driver by path. */
export async function resolveDriver(name: string, io?: Io, verifier = true, coverage = false, fibers = false, configuration?: string): Promise<DriverModule> {
  if (isDriverPath(name)) {
    // a cold build of a large driver takes minutes: on a terminal, say which step it is at and for how long
    const progress = io?.progress;
    let step = '';
    let since = io?.now() ?? 0;
    const show = (): void => progress?.(`building ${basename(name)}: ${step}… ${Math.round(((io?.now() ?? 0) - since) / 1000)} s`);
    const ticker = progress === undefined ? undefined : setInterval(show, 1000);
    ticker?.unref();
    try {
      const d = await loadWasmDriver(name, {
        verifier, coverage, fibers, ...(configuration !== undefined ? { configuration } : {}),
        ...(progress !== undefined ? { onProgress: (s: string) => { step = s; since = io?.now() ?? 0; show(); } } : {}),
      });
      if (d.diagnostics !== '' && io !== undefined) io.err(d.diagnostics);
      return d;
    } finally {
      if (ticker !== undefined) clearInterval(ticker);
      if (step !== '') progress?.('');
    }
  }
  const d = builtinDrivers().get(name);
  if (d === undefined) throw new UnknownDriverError(name, [...builtinDrivers().keys(), 'path/to/driver.c', 'path/to/driver.cpp', 'path/to/project.vcxproj', 'path/to/driver.wasm']);
  return verifier ? d : { ...d, verifier: false };
}

/** Defensive-only findings beside a verdict: listed, never failing the default profile. */
function warned(n: number): string {
  return n === 0 ? '' : `; ${n} defensive-only warning(s) (failures Windows does not produce there; --profile adversarial fails on them)`;
}

/** "12 distinct finding(s) in 9 invariant(s): …": every violated invariant with its count, '*' at the --max-findings cap. */
function tally(findings: readonly Finding[], cap?: number): string {
  const byInvariant = new Map<string, number>();
  for (const f of findings) byInvariant.set(f.invariant.id, (byInvariant.get(f.invariant.id) ?? 0) + 1);
  const full = (n: number): boolean => cap !== undefined && n >= cap;
  const each = [...byInvariant].map(([id, n]) => `${id} ${n}${full(n) ? '*' : ''}`);
  const note = [...byInvariant.values()].some(full) ? ` (* = the --max-findings cap of ${cap}: there may be more)` : '';
  return `${findings.length} distinct finding(s) in ${byInvariant.size} invariant(s): ${each.join(', ')}${note}`;
}

/** `--weights image=3,exit=0`: the relative weight of each kind of operation (0 switches it off). */
type WeightKey = Exclude<keyof OpWeights, 'ioctls' | 'eventsIoctl' | 'readsEvents'>;
const WEIGHT_KEYS: Readonly<Record<string, WeightKey>> = {
  process: 'process', thread: 'thread', 'exit-thread': 'exitThread', exit: 'exitProcess', image: 'image', unload: 'unload', load: 'load', irp: 'irp',
  handle: 'handle', client: 'client', registry: 'registry', file: 'file', port: 'port',
};

function parseWeights(text: string): OpWeights {
  const w: Record<WeightKey, number> = { handle: 0, client: 0, registry: 0, file: 0, port: 0, ...DEFAULT_WEIGHTS };
  for (const part of text.split(',')) {
    const m = /^([a-z-]+)=(\d{1,4})$/.exec(part.trim());
    const key = m === null ? undefined : Object.hasOwn(WEIGHT_KEYS, m[1]) ? WEIGHT_KEYS[m[1]] : undefined;
    if (m === null || key === undefined) throw new UsageError(`--weights takes kind=weight pairs (${Object.keys(WEIGHT_KEYS).join(', ')}), got '${part}'`);
    w[key] = Number(m[2]);
  }
  if (Object.values(w).every((x) => x === 0)) throw new UsageError('--weights switches every kind of operation off');
  return w;
}

type InspectorSession = { post(method: string, params?: object): Promise<unknown>; connect(): void; disconnect(): void };

/** V8's precise block coverage of this thread, for a TypeScript driver (the campaign runs here when it is on). */
async function startV8Coverage(): Promise<InspectorSession> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session() as unknown as InspectorSession;
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  return session;
}

async function stopV8Coverage(session: InspectorSession | undefined, url: string | undefined): Promise<ReturnType<typeof lcovFromV8> | null> {
  if (session === undefined) return null;
  const { result } = await session.post('Profiler.takePreciseCoverage') as { result: V8ScriptCoverage[] };
  await session.post('Profiler.stopPreciseCoverage');
  session.disconnect();
  const script = url === undefined ? undefined : result.find((s) => s.url === url);
  return script === undefined ? null : lcovFromV8(script);
}

function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code !== undefined ? `${err.code}${err.path !== undefined ? ` (${err.path})` : ''}` : (err.message ?? String(e));
}

/** `--verifier on|off`, `--crowding on|off`: absent means `on`. */
function onOff(v: string | undefined, flag: string): boolean {
  if (v === undefined || v === 'on') return true;
  if (v === 'off') return false;
  throw new UsageError(`${flag} must be 'on' or 'off', got '${v}'`);
}

/** `--generator`: a format psharness has (default the current one). */
function generatorFormat(v: string | undefined): GeneratorFormat {
  if (v === undefined) return CURRENT_GENERATOR_FORMAT;
  const f = GENERATOR_FORMATS.find((g) => String(g) === v);
  if (f === undefined) throw new UsageError(`--generator must be ${GENERATOR_FORMATS.join(' or ')}, got '${v}'`);
  return f;
}

function positiveInt(v: string, what: string, max = MAX_RUNS): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) throw new UsageError(`${what} must be a positive integer, got '${v}'`);
  if (Number(v) > max) throw new UsageError(`${what} must be at most ${max}, got ${v}`);
  return Number(v);
}

function cmdList(args: readonly string[], io: Io): number {
  if (args.length > 0 && !(args.length === 1 && args[0] === '--ddis')) throw new UsageError(`list takes no arguments but --ddis, got '${args.join(' ')}'`);
  if (args[0] === '--ddis') {
    const routines = shimCatalogue();
    io.out(`routines a C driver can call (${routines.length}): name, the shim header declaring it, who implements it (the module that exports it, simulated, or the header), the builds exporting it`);
    for (const r of routines) {
      const header = r.header ?? '(declare it yourself: exported, undocumented)';
      // the filter manager's routines are fltmgr.sys exports (a minifilter links with fltMgr.lib), not ntoskrnl's
      const by = r.implementedBy === 'kernel' ? (r.name.startsWith('Flt') ? 'fltmgr' : 'kernel') : 'header (macro or inline C)';
      io.out(`  ${r.name.padEnd(42)} ${header.padEnd(12)} ${by.padEnd(8)}  ${describeBuilds(r.builds)}`);
    }
    return EXIT_OK;
  }
  io.out('drivers:');
  const seen = new Set<DriverModule>();
  for (const [name, d] of builtinDrivers()) {
    const aliases = [...builtinDrivers()].filter(([, x]) => x === d).map(([n]) => n);
    if (seen.has(d)) continue;
    seen.add(d);
    io.out(`  ${aliases.join(', ').padEnd(22)} ${d.description}${name === d.name ? '' : ` (image ${d.name}.sys)`}`);
  }
  io.out('builds:');
  const hex = (n: number): string => `0x${n.toString(16).toUpperCase()}`;
  for (const b of BUILDS) {
    const e = b.eprocess;
    io.out(`  ${b.id.padEnd(22)} ${b.title}; EPROCESS: UniqueProcessId +${hex(e.UniqueProcessId)}, ActiveProcessLinks +${hex(e.ActiveProcessLinks)}, `
      + `InheritedFromUniqueProcessId +${hex(e.InheritedFromUniqueProcessId)}, ImageFileName +${hex(e.ImageFileName)} (UCHAR[${e.ImageFileNameSize}]), size ${hex(e.size)}; `
      + `notify slots ${b.capacity.process}/${b.capacity.thread}/${b.capacity.image}; source: ${b.source}${b.notes.length > 0 ? `; ${b.notes.join('; ')}` : ''}`);
  }
  const byBuild = new Map<string, string[]>();
  for (const [alias, id] of BUILD_ALIASES) byBuild.set(id, [...(byBuild.get(id) ?? []), alias]);
  io.out(`  releases by name: ${[...byBuild].map(([id, as]) => `${as.join(', ')} → ${id}`).join('; ')}`);
  io.out('  (--build takes ids, release names, families such as win10, x86, x64, all, or globs such as \'win10-x64*\', comma-separated)');
  io.out('invariants:');
  for (const i of INVARIANTS) io.out(`  ${i.id.padEnd(22)} ${i.statement}`);
  return EXIT_OK;
}

/** Caps that keep one command bounded (a report or flag cannot ask for a campaign that never ends). */
export const MAX_RUNS = 10_000_000;
export const MAX_OPS = 10_000;
/** CPUs a scenario may draw by default (--cpus): 1 to 4, as the machines drivers ship to have. */
export const DEFAULT_CPUS = 4;

/**
 * `--seed -5`: a negative number after an option that takes a value is that value (parseArgs would read it as an
 * option and print three lines); written back as `--seed=-5`.
 */
function joinNegativeValues(args: readonly string[], valued: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = args[i + 1];
    if (valued.has(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

async function cmdFuzz(rawArgs: string[], io: Io): Promise<number> {
  const args = joinNegativeValues(rawArgs, valueOptions(FUZZ_OPTIONS));
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: FUZZ_OPTIONS });
  let known: readonly string[] | undefined;
  if (values['from-report'] !== undefined) {
    // the fast-check round that found a report, exactly: its seed, path, invariants, builds, profile, size, known bugs
    const r = loadReport(values['from-report']);
    if (r.fuzz === null || r.fuzz.path === null) throw new ReportError(`${values['from-report']}: has no fast-check seed and path to replay`);
    values.seed = String(r.fuzz.seed);
    values.path = r.fuzz.path;
    values.build = r.fuzz.builds.join(',');
    values.profile = r.fuzz.profile;
    values.invariant = [...r.fuzz.invariants];
    values['max-ops'] = String(r.fuzz.maxOps);
    values.driver ??= resolveDriverReference(r.driver, values['from-report']);
    if (r.fuzz.verifier === false) values.verifier = 'off';
    if (r.fuzz.configuration !== undefined) values.configuration ??= r.fuzz.configuration;
    values.cpus = String(r.fuzz.cpus ?? 1); // a report without it came from one CPU
    values.generator = String(r.fuzz.generator ?? 1); // one without it came from format 1
    known = r.fuzz.seen;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const verifier = onOff(values.verifier, '--verifier');
  if (values.driver === undefined) throw new UsageError('fuzz needs --driver <name> (see `psharness list`)');
  let seed: number;
  if (values.seed === undefined) seed = 1;
  else if (values.seed === 'random') seed = randomInt(0, 0x7fffffff);
  else if (/^-?\d+$/.test(values.seed) && Math.abs(Number(values.seed)) <= 0x7fffffff) seed = Number(values.seed);
  else throw new UsageError(`--seed must be an integer or 'random', got '${values.seed}'`);
  const runs = values.runs === undefined ? 1000 : positiveInt(values.runs, '--runs', MAX_RUNS);
  const maxOps = values['max-ops'] === undefined ? 60 : positiveInt(values['max-ops'], '--max-ops', MAX_OPS);
  const minRuns = values['min-runs'] === undefined ? 1 : positiveInt(values['min-runs'], '--min-runs');
  const maxFindings = values['max-findings'] === undefined ? 20 : positiveInt(values['max-findings'], '--max-findings', 1000);
  const faultMode = values.faults ?? 'all';
  if (faultMode !== 'none' && faultMode !== 'boot' && faultMode !== 'all') throw new UsageError(`--faults must be none, boot or all, got '${faultMode}'`);
  const crowding = onOff(values.crowding, '--crowding');
  const weights = values.weights === undefined ? undefined : parseWeights(values.weights);
  const workers = values.workers === undefined ? 'auto' : positiveInt(values.workers, '--workers', 256);
  let shard: [number, number] | undefined;
  if (values.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(values.shard);
    if (m === null || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new UsageError(`--shard must be i/n with 1 <= i <= n, got '${values.shard}'`);
    shard = [Number(m[1]), Number(m[2])];
  }
  const timeLimitMs = values['time-limit'] === undefined ? undefined : positiveInt(values['time-limit'], '--time-limit') * 1000;
  // several CPUs: each scenario draws 1 to N and a schedule (docs/concurrency.md); 1 is every operation to its end
  const cpus = values.cpus === undefined ? DEFAULT_CPUS : positiveInt(values.cpus, '--cpus', MAX_CPUS);
  const generator = generatorFormat(values.generator);
  const profile = values.profile ?? 'documented';
  if (profile !== 'documented' && profile !== 'adversarial') throw new UsageError(`--profile must be 'documented' or 'adversarial', got '${profile}'`);
  if (values.path !== undefined && !/^\d+(:\d+)*$/.test(values.path)) throw new UsageError(`--path must look like 12:0:3, got '${values.path}'`);
  if (values.path !== undefined) {
    // the path's first number is a run index of this campaign: fast-check would generate every run up to it
    const first = Number(values.path.split(':')[0]);
    if (first >= runs) throw new UsageError(`--path starts at run ${values.path.split(':')[0]}, beyond --runs ${runs}`);
    if (values.path.length > 100_000) throw new UsageError('--path is longer than 100000 characters');
  }
  // the cheap checks first: a C driver is compiled here
  // the guided search needs a C driver's edges: a coverage build
  const driver = await resolveDriver(values.driver, io, verifier, values.coverage !== undefined || values.guided === true, cpus > 1, values.configuration);
  const buildArg = values.build ?? 'all';
  const requested = selectBuilds(buildArg);
  const { builds, skipped } = applicableBuilds(driver, requested);
  // a build named by its id that the driver cannot run on is an error; a family, size or glob keeps those it can
  const named = new Set(buildArg.split(',').map((t) => canonicalBuildId(t.trim())));
  const refused = skipped.find((x) => named.has(x.build));
  if (refused !== undefined) throw new UsageError(`${values.driver} cannot run on ${refused.build}: ${refused.why}`);
  if (builds.length === 0) throw new UsageError(`${values.driver} runs on none of the builds (${skipped.map((x) => `${x.build}: ${x.why}`).join('; ')})`);
  if (skipped.length > 0) {
    const byReason = new Map<string, string[]>();
    for (const x of skipped) byReason.set(x.why, [...(byReason.get(x.why) ?? []), x.build]);
    io.err(`psharness: skipping ${[...byReason].map(([why, bs]) => `${bs.join(', ')} (${why})`).join('; ')}`);
  }
  const invariants: Invariant[] = values.invariant === undefined
    ? applicableInvariants(driver)
    : [...new Set(values.invariant.flatMap((s) => s.split(',')).map((id) => id.trim()))].map((id) => getInvariant(id));
  const needLog = invariants.find((i) => i.needsOutput && driver.logsEvents === false);
  // a spec with no log lines still declares what the driver does otherwise (records for a client, registry guards)
  const specWithoutLines = driver.device?.events !== undefined || driver.registryGuards !== undefined || driver.fileGuards !== undefined;
  const why = specWithoutLines ? 'prints no events (its log spec declares no log lines)' : 'has no log spec (<driver>.psharness.json)';
  if (needLog !== undefined) throw new UsageError(`invariant ${needLog.id} reads the driver's log, and ${values.driver} ${why}`);
  if (driver.logsEvents === false) {
    const what = driver.device?.events !== undefined ? 'prints no events (its log spec declares none; they go to a client)' : specWithoutLines ? 'prints no events (its log spec declares none)' : 'has no log spec';
    io.err(`psharness: ${values.driver} ${what}: checking only the invariants that need no output`);
  }
  const reportDir = values.reports ?? 'reports';

  // Saved counterexamples first (a regression database, as Hypothesis and proptest keep): every report in the
  // directory for this driver and a selected invariant is replayed; one that still fails fails the run.
  let regressionsFailing = 0;
  if (values.regressions !== undefined) {
    const sameDriver = (file: string, d: string): boolean => (isDriverPath(d) || DRIVER_FILE.test(d) ? resolveDriverReference(d, file).split(',').map((p) => resolve(p)).join(',') === (values.driver as string).split(',').map((p) => resolve(p)).join(',') : d === values.driver);
    const saved = savedReports(values.regressions).filter((r) => sameDriver(r.file, r.report.driver) && invariants.some((i) => i.id === r.report.invariant.id));
    for (const { file, report } of saved) {
      const cannot = applicableBuilds(driver, [report.scenario.build]).skipped[0];
      if (cannot !== undefined) throw new ReportError(`${file}: ${values.driver} cannot run on ${cannot.build}: ${cannot.why}`);
      const r = replayReport(report, driver, invariants);
      const failing = r.violations.length > 0 || r.others.length > 0;
      if (failing) regressionsFailing++;
      const now = r.violations.length > 0 ? `still fails: ${r.violations[0].message}` : r.others.length > 0 ? `now holds, but ${r.others[0].invariant} fails: ${r.others[0].message}` : 'now holds';
      io.out(`${failing ? '✗' : '✓'} regression ${file}: ${report.invariant.id} ${now}`);
    }
    io.out(`psharness fuzz: replayed ${saved.length} saved counterexample(s) from ${values.regressions}, ${regressionsFailing} still failing`);
  }

  // Each finding is written the moment it is shrunk (a killed campaign keeps what it found); a location that
  // cannot be written is reported after every finding has been printed, with exit 2.
  const writeErrors: string[] = [];
  // the default profile fails on what Windows can reach (with or without a shortage); adversarial on everything
  const gates = (f: Finding): boolean => profile === 'adversarial' || reachabilityOf(f.record).reachability !== 'defensive';
  if (values['no-reports'] !== true) cleanStaleTemps(reportDir);
  const written = new Map<string, string>();
  const emit = (f: Finding): void => {
    const report = buildReport({
      driver: values.driver as string, invariant: f.invariant, scenario: f.scenario, shrunkFrom: f.shrunkFrom, violations: f.violations, record: f.record, signature: f.signature,
      ...(f.alsoBreaks !== undefined ? { alsoBreaks: f.alsoBreaks } : {}),
      fuzz: {
        seed: f.seed, campaignSeed: seed, path: f.path, runsToFailure: f.runsToFailure, profile, builds, invariants: f.roundInvariants, maxOps, ...(cpus > 1 ? { cpus } : {}), generator,
        ...(verifier ? {} : { verifier: false as const }), ...(f.roundSeen.length > 0 ? { seen: f.roundSeen } : {}),
        ...(values.configuration !== undefined ? { configuration: values.configuration } : {}),
      },
      reportDir,
    });
    const shown = shownViolation(f);
    const reach = reachabilityOf(f.record).reachability;
    const also = f.alsoBreaks === undefined ? '' : ` (also breaks ${f.alsoBreaks.join(', ')})`;
    io.out(gates(f) ? `✗ ${f.invariant.id}${also}: ${shown?.message ?? ''}${reach === 'reachable' ? '' : ` [${reach}]`}` : `⚠ ${f.invariant.id}${also} (defensive only: a warning): ${shown?.message ?? ''}`);
    if (values['no-reports'] === true) {
      // no file to replay: say how to get one rather than name a path that was never written
      io.out(renderMarkdown({ ...report, replay: 'none written (--no-reports): run without it for a replayable report' }, f.record, values.driver));
      return;
    }
    let where = '';
    if (writeErrors.length === 0) {
      try {
        const paths = writeReport(reportDir, report, f.record, values.driver);
        written.set(f.signature, `npx psharness replay ${paths.json}`);
        where = `; report ${paths.md}; replay: npx psharness replay ${paths.json}`;
      } catch (e) {
        writeErrors.push(`cannot write reports to ${reportDir}: ${errorText(e)}`);
      }
    }
    io.out(`    ${f.scenario.ops.length} ops on ${f.scenario.build} (shrunk from ${f.shrunkFrom})${where}`);
  };
  const started = io.now();
  let lastShown = 0;
  let failures = 0;
  if (values.exhaustive !== undefined) {
    // every scenario of the small universe up to K operations, instead of a random campaign
    const k = positiveInt(values.exhaustive, '--exhaustive', 6);
    const t0 = io.now();
    const r = checkExhaustive({ driver, k, builds, invariants, ...(timeLimitMs !== undefined ? { timeLimitMs } : {}), onFinding: (f) => emit({ ...f }) });
    const secs = ((io.now() - t0) / 1000).toFixed(2);
    const scope = `exhaustive K=${k}: ${r.checked} of ${r.total} scenarios on ${builds.length} build(s) (${secs}s)`;
    const failing = r.findings.filter(gates);
    if (failing.length > 0) {
      io.out(`psharness fuzz: FAILED driver=${values.driver} ${scope}: ${tally(failing)}${warned(r.findings.length - failing.length)}`);
      return writeErrors.length > 0 ? EXIT_USAGE : EXIT_VIOLATION;
    }
    if (writeErrors.length > 0) {
      io.err(`psharness: ${writeErrors.join('; ')}`);
      return EXIT_USAGE;
    }
    if (r.checked < r.total) {
      io.err(`psharness: only ${r.checked} of the ${r.total} scenarios checked before --time-limit: nothing is shown up to K=${k}`);
      return EXIT_USAGE;
    }
    io.out(`psharness fuzz: passed driver=${values.driver} ${scope}: no violation Windows can reach of ${invariants.length} invariants up to ${k} operations${warned(r.findings.length)}`);
    return EXIT_OK;
  }
  // coverage is counted in this thread: the campaign runs here (the same findings as on any number of workers)
  const v8 = values.coverage !== undefined && driver.coverage === undefined ? await startV8Coverage() : undefined;
  const statistics = { scenarios: 0, labels: new Map<string, number>() };
  let lastBeat = started;
  const onRun = io.progress === undefined && io.heartbeat === undefined ? undefined : (n: number): void => {
    if (io.progress === undefined) {
      // a CI log: one plain line every HEARTBEAT_MS of the campaign, never a \r-updated one
      const now = io.now();
      if (now - lastBeat < HEARTBEAT_MS) return;
      lastBeat = now;
      io.heartbeat?.(`psharness: ${n}/${runs} runs, ${failures} distinct finding(s), ${Math.round((now - started) / 1000)} s`);
      return;
    }
    if (n - lastShown < 100) return;
    lastShown = n;
    const rate = n / Math.max(0.001, (io.now() - started) / 1000);
    io.progress?.(`runs ${n}/${runs}  ${failures} distinct finding(s)  ${Math.round(rate)} runs/s (including shrinking)`);
  };
  const onFinding = (f: Finding): void => {
    failures++;
    io.progress?.('');
    emit(f);
  };
  // Ctrl-C: the campaign stops at its next chunk; what it found so far is printed and written, exit 130
  const interrupt = new AbortController();
  const stopListening = io.onInterrupt?.(() => {
    io.progress?.('');
    io.err('psharness: interrupted: stopping the campaign, writing what was found so far (Ctrl-C again to quit at once)');
    interrupt.abort();
  });
  // a fast-check path replays one round: in this thread; otherwise the chunked campaign, on `workers` threads
  let result: FuzzResult;
  try {
    result = values.guided === true ? guidedFuzz({
      driver, seed, runs, builds, profile, invariants, maxOps, timeLimitMs, faults: faultMode, crowding, maxFindings, cpus, generator,
      ...(weights !== undefined ? { weights } : {}), ...(onRun !== undefined ? { onRun } : {}), onFinding,
    }) : values.path !== undefined ? fuzz({
      driver, seed, runs, builds, profile, invariants, maxOps, timeLimitMs, path: values.path, faults: faultMode, crowding, maxFindings, cpus, generator,
      ...(known !== undefined ? { knownSignatures: known } : {}),
      ...(weights !== undefined ? { weights } : {}),
      ...(onRun !== undefined ? { onRun } : {}), onFinding,
    }) : await runCampaign({
      ...(values.stats === true ? { statistics } : {}), signal: interrupt.signal,
      driver, seed, runs, builds, profile, invariants, maxOps, timeLimitMs, workers: values.coverage !== undefined ? 1 : workers, shard,
      faults: faultMode, crowding, maxFindings, cpus, generator,
      ...(weights !== undefined ? { weights } : {}),
      spec: { name: values.driver, verifier, fibers: cpus > 1, ...(values.configuration !== undefined ? { configuration: values.configuration } : {}) }, ...(onRun !== undefined ? { onRun } : {}), onFinding,
    });
  } finally {
    stopListening?.();
  }
  io.progress?.('');
  if (values.coverage !== undefined) {
    const cov = driver.coverage !== undefined
      ? lcovFromEdges(driver.coverage, dirname(resolve(values.driver)))
      : await stopV8Coverage(v8, driver.sourceUrl);
    if (cov === null) writeErrors.push(`no coverage of ${values.driver}: it is not a C driver or a built-in TypeScript driver`);
    else {
      try {
        ensureDir(values.coverage);
        writeCoverageReports(values.coverage, cov.files);
        for (const sm of cov.summaries) io.out(coverageLine(sm));
      } catch (e) {
        writeErrors.push(`cannot write --coverage ${values.coverage}: ${errorText(e)}`);
      }
    }
  }
  if (values.stats === true) for (const l of statisticsTable(statistics.labels, statistics.scenarios)) io.out(l);
  const seconds = ((io.now() - started) / 1000).toFixed(2);
  // source locations for CI (SARIF, annotations, JUnit): a C driver's routines, from its (cached) x86 build's DWARF
  const annotate = io.env?.GITHUB_ACTIONS === 'true';
  // a project's files are named relative to its source root (its DWARF's); the driver's own file, when it is one
  // (a source, a module, a .vcxproj), is where a finding without a line points: a directory or a list is no file
  const driverFile = isDriverPath(values.driver) && DRIVER_FILE.test(values.driver) && !values.driver.includes(',') ? resolve(values.driver) : null;
  const sourceRoot = driver.sourceRoot;
  let lines: ReadonlyMap<string, SourceLine> | undefined;
  if (isDriverPath(values.driver) && !values.driver.endsWith('.wasm') && result.findings.length > 0 && (values.sarif !== undefined || values.junit !== undefined || annotate)) {
    try {
      lines = await routineLines(values.driver, undefined, values.configuration);
    } catch {
      // the driver built a moment ago (a cache hit); a failure only loses the lines (the file is still named)
    }
  }
  const cwd = process.cwd();
  const asGiven = (file: string): string => {
    const rel = relative(cwd, file);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
  };
  if (annotate) for (const l of githubAnnotations(result.findings, driverFile, lines, cwd, gates, sourceRoot)) io.out(l);
  if (values.junit !== undefined) {
    try {
      const locate = (f: Finding): { file: string; line?: number } | undefined => {
        const [w] = findingLocation(f, driverFile, lines, sourceRoot);
        return w === undefined ? undefined : { file: asGiven(w.file), ...(w.line !== undefined ? { line: w.line } : {}) };
      };
      writeAtomic(values.junit, junitXml(values.driver, invariants, result, (id) => written.get(id), gates, { locate, seconds }));
    } catch (e) {
      writeErrors.push(`cannot write --junit ${values.junit}: ${errorText(e)}`);
    }
  }
  if (values.html !== undefined) {
    try {
      ensureDir(values.html);
      const scope = `builds=${skipped.length === 0 ? buildArg : `${buildArg} (${builds.length} ran)`} cpus=${cpus === 1 ? '1' : `1-${cpus}`} profile=${profile}`;
      writeAtomic(join(values.html, 'index.html'), htmlReport({ driver: values.driver, invariants, result, gates, replayOf: (id) => written.get(id), scope }));
    } catch (e) {
      writeErrors.push(`cannot write --html ${values.html}: ${errorText(e)}`);
    }
  }
  if (values.sarif !== undefined) {
    try {
      writeAtomic(values.sarif, sarifLog({ invariants, result, driverFile, ...(sourceRoot !== undefined ? { sourceRoot } : {}), ...(lines !== undefined ? { lines } : {}), cwd, gates, replayOf: (id) => written.get(id) }));
    } catch (e) {
      writeErrors.push(`cannot write --sarif ${values.sarif}: ${errorText(e)}`);
    }
  }
  if (writeErrors.length > 0) {
    const what = `driver=${values.driver}: ${tally(result.findings, maxFindings)} after ${result.runs} run(s)`;
    io.out(`psharness fuzz: ${result.failed ? 'FAILED' : 'finished'} ${what}`);
    io.err(`psharness: ${writeErrors.join('; ')}`);
    return EXIT_USAGE;
  }
  // what actually ran: the builds the driver ran on and the CPUs
  const ran = skipped.length === 0 ? buildArg : `${buildArg} (${builds.length} ran: ${builds.length <= 4 ? builds.join(', ') : `${builds.length} ${[...new Set(builds.map((b) => (getBuild(b).pointerSize === 8 ? 'x64' : 'x86')))].join('+')} builds`})`;
  const what = `driver=${values.driver} seed=${seed} builds=${ran} cpus=${cpus === 1 ? '1' : `1-${cpus}`} profile=${profile} invariants=${invariants.length}`;
  if (interrupt.signal.aborted) {
    io.out(`psharness fuzz: INTERRUPTED ${what}: ${result.failed ? tally(result.findings, maxFindings) : 'no violation'} in the ${result.runs} run(s) completed (${seconds}s)`);
    return EXIT_INTERRUPTED;
  }
  const failing = result.findings.filter(gates);
  const warnings = warned(result.findings.length - failing.length);
  if (failing.length > 0) {
    io.out(`psharness fuzz: FAILED ${what}: ${tally(failing, maxFindings)}${warnings} after ${result.runs} run(s) (${seconds}s)`);
    return EXIT_VIOLATION;
  }
  if (regressionsFailing > 0) {
    io.out(`psharness fuzz: FAILED ${what}: no new violation in ${result.runs} runs, but ${regressionsFailing} saved counterexample(s) still fail`);
    return EXIT_VIOLATION;
  }
  if (result.runs < minRuns) {
    // a gate that checked (almost) nothing must not pass
    io.err(`psharness: only ${result.runs} run(s) completed${result.interrupted ? ' before --time-limit' : ''}, fewer than --min-runs ${minRuns}: nothing was shown to hold`);
    return EXIT_USAGE;
  }
  io.out(`psharness fuzz: passed ${what}: ${result.runs} runs${result.interrupted ? ' (stopped by --time-limit)' : ''}${warnings} (${seconds}s)`);
  return EXIT_OK;
}

/** The psharness reports in a directory (other JSON files, such as bench.json, are passed over). */
function savedReports(dir: string): { file: string; report: ReturnType<typeof loadReport> }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    throw new UsageError(`--regressions: cannot read directory ${dir}`);
  }
  const out: { file: string; report: ReturnType<typeof loadReport> }[] = [];
  for (const n of names) {
    const file = join(dir, n);
    let format: unknown;
    // a regular file of bounded size, or the run stops naming it (a FIFO here would block for ever)
    const text = readInputText(file, 'saved report', INPUT_LIMITS.report);
    try {
      format = (parseInputJson(text, file, 'saved report') as { format?: unknown } | null)?.format;
    } catch (e) {
      if (e instanceof InputFileError && !/is not JSON$/.test(e.message)) throw e;
      continue;
    }
    if (typeof format !== 'string' || !format.startsWith('psharness-report/')) continue;
    out.push({ file, report: loadReport(file) });
  }
  return out;
}

/**
 * One scenario, pass or fail, shown whole: its timeline with every DDI call and every line the driver printed,
 * then the invariants it breaks. The scenario comes from a report, from a seed and run number (the K-th scenario the
 * generators draw from seed S with these options — chunk 0's first round), or from a JSON file.
 */
async function cmdTrace(rawArgs: string[], io: Io): Promise<number> {
  const args = joinNegativeValues(rawArgs, valueOptions(TRACE_OPTIONS));
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: TRACE_OPTIONS });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const sources = [values.report !== undefined, values.seed !== undefined || values.run !== undefined, values.scenario !== undefined].filter(Boolean).length;
  if (sources !== 1) throw new UsageError('trace needs exactly one of --report R, --seed S --run K, --scenario FILE');
  const verifier = onOff(values.verifier, '--verifier');
  let scenario: Scenario;
  let driver: DriverModule | undefined;
  let driverName = values.driver;
  if (values.report !== undefined) {
    const report = loadReport(values.report);
    scenario = report.scenario;
    driverName ??= resolveDriverReference(report.driver, values.report);
  } else if (values.scenario !== undefined) {
    let data: unknown;
    try {
      data = parseInputJson(readInputText(values.scenario, 'scenario', INPUT_LIMITS.scenario), values.scenario, 'scenario');
    } catch (e) {
      throw new ReportError(/is not JSON$/.test((e as Error).message) ? `${values.scenario}: not JSON` : (e as Error).message);
    }
    scenario = validateScenario(data, values.scenario);
  } else {
    if (values.seed === undefined || values.run === undefined) throw new UsageError('--seed S and --run K go together');
    if (!/^-?\d+$/.test(values.seed) || Math.abs(Number(values.seed)) > 0x7fffffff) throw new UsageError(`--seed must be an integer, got '${values.seed}'`);
    const run = positiveInt(values.run, '--run', 1_000_000);
    const profile = values.profile ?? 'documented';
    if (profile !== 'documented' && profile !== 'adversarial') throw new UsageError(`--profile must be 'documented' or 'adversarial', got '${profile}'`);
    if (driverName === undefined) throw new UsageError('trace needs --driver <name> (see `psharness list`)');
    // the campaign's generators, as fuzz draws them (its --cpus too)
    const cpus = values.cpus === undefined ? DEFAULT_CPUS : positiveInt(values.cpus, '--cpus', MAX_CPUS);
    driver = await resolveDriver(driverName, io, verifier, false, cpus > 1, values.configuration);
    const requested = selectBuilds(values.build ?? 'all');
    const { builds } = applicableBuilds(driver, requested);
    if (builds.length === 0) throw new UsageError(`${driverName} runs on none of the builds requested`);
    const maxOps = values['max-ops'] === undefined ? 60 : positiveInt(values['max-ops'], '--max-ops', MAX_OPS);
    const generator = generatorFormat(values.generator);
    // the run-th scenario reached directly, as fast-check replays a path: the runs before it are skipped, not drawn
    // and the driver's own operation weights (its client, registry, files), as fuzz draws with them
    const weights = weightsFor(driver);
    scenario = fc.sample(scenarioArbitrary({ builds, profile, maxOps, cpus, generator, ...(weights !== undefined ? { weights } : {}) }),
      { seed: Number(values.seed), path: String(run - 1), numRuns: 1 })[0];
  }
  if (driverName === undefined) throw new UsageError('trace needs --driver <name> (see `psharness list`)');
  driver ??= await resolveDriver(driverName, io, verifier, false, isConcurrent(scenario.schedule), values.configuration);
  const cannot = applicableBuilds(driver, [scenario.build]).skipped[0];
  if (cannot !== undefined) throw new UsageError(`${driverName} cannot run on ${cannot.build}: ${cannot.why}`);
  const invariants = applicableInvariants(driver);
  const run = runAndCheck(driver, scenario, invariants);
  const out: string[] = [`# trace: ${driverName} on ${scenario.build} (${scenario.ops.length} ops, profile ${scenario.profile}, reuse ${scenario.reusePolicy})`];
  renderRun(out, run.record, new Set(run.violations.map((v) => v.evidence.seq).filter((x): x is number => x !== undefined)));
  out.push('## Invariants', '');
  if (run.violations.length === 0) out.push(`all ${invariants.length} hold`);
  for (const v of run.violations) out.push(`- ✗ ${v.invariant}: ${v.message} (op ${v.evidence.op}${v.evidence.seq !== undefined ? `, event #${v.evidence.seq}` : ''})`);
  for (const l of out) io.out(l);
  return run.violations.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}

async function cmdReplay(args: string[], io: Io): Promise<number> {
  const { positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: REPLAY_OPTIONS });
  if (positionals.length !== 1) throw new UsageError('replay needs exactly one report file');
  const report = loadReport(positionals[0]);
  let driver: DriverModule;
  const driverFile = resolveDriverReference(report.driver, positionals[0]);
  if (isDriverPath(driverFile)) {
    const now = fileSha256(driverFile, report.fuzz?.configuration);
    // (a file that cannot be read gets its one-line error from the load instead)
    if (now !== undefined && report.driverSha256 === undefined) io.err(`psharness: ${positionals[0]} carries no sha256 of ${driverFile}: compiling the file as it is now, unverified`);
    else if (now !== undefined && now !== report.driverSha256) io.err(`psharness: ${driverFile} changed since the report was written (sha256 differs): replaying the current source`);
  }
  try {
    driver = await resolveDriver(driverFile, io, report.fuzz?.verifier !== false, false, isConcurrent(report.scenario.schedule), report.fuzz?.configuration);
  } catch (e) {
    if (e instanceof UnknownDriverError) throw new ReportError(`${positionals[0]}: ${e.message}`);
    throw e;
  }
  const skipped = applicableBuilds(driver, [report.scenario.build]).skipped[0];
  if (skipped !== undefined) throw new ReportError(`${positionals[0]}: ${report.driver} cannot run on ${skipped.build}: ${skipped.why}`);
  // every invariant the driver can be held to, not only the reported one: a "fix" that crashes is no fix
  const r = replayReport(report, driver, applicableInvariants(driver));
  const line = (v: Violation): string => `✗ ${v.invariant}: ${v.message} (op ${v.evidence.op}${v.evidence.seq !== undefined ? `, event #${v.evidence.seq}` : ''})`;
  for (const v of r.violations) io.out(line(v));
  for (const v of r.others) io.out(`${line(v)} — new: not in the report`);
  io.out(`record ${r.identicalRecord ? 'identical' : 'DIFFERS'} (sha256 ${r.recordSha256.slice(0, 16)}…); violations ${r.sameViolations ? 'identical to the report' : 'DIFFER from the report'}`);
  const others = [...new Set(r.others.map((v) => v.invariant))];
  const also = others.length === 0 ? '' : `; ${others.length} other invariant(s) now violated: ${others.join(', ')}`;
  if (r.violations.length > 0) {
    io.out(`psharness replay: ${report.invariant.id} still violated by ${report.driver} (${report.scenario.ops.length} ops)${also}`);
    return EXIT_VIOLATION;
  }
  if (others.length > 0) {
    io.out(`psharness replay: ${report.invariant.id} now holds for ${report.driver}, but the scenario now violates ${others.join(', ')}: not fixed`);
    return EXIT_VIOLATION;
  }
  io.out(`psharness replay: ${report.invariant.id} now holds for ${report.driver}, and every other invariant holds on its scenario`);
  return EXIT_OK;
}

export async function main(argv: string[], io: Io): Promise<number> {
  tuneHeapForCampaigns();
  const [cmd, ...rest] = argv;
  try {
    // `psharness <command> --help` (before the command's own checks), and `psharness help <command>`
    const helpFor = cmd === 'help' && rest.length > 0 ? rest[0] : cmd !== undefined && (rest.includes('--help') || rest.includes('-h')) ? cmd : undefined;
    if (helpFor !== undefined) {
      if (!(helpFor in COMMANDS)) throw new UsageError(`unknown command '${helpFor}'${suggestion(helpFor, Object.keys(COMMANDS))} (fuzz, replay, trace, list, help)`);
      io.out(commandHelp(helpFor as keyof typeof COMMANDS));
      return EXIT_OK;
    }
    switch (cmd) {
      case 'fuzz': return await cmdFuzz(rest, io);
      case 'replay': return await cmdReplay(rest, io);
      case 'trace': return await cmdTrace(rest, io);
      case 'list': return cmdList(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return cmd === undefined ? EXIT_USAGE : EXIT_OK;
      case '--version':
        io.out(VERSION);
        return EXIT_OK;
      default:
        throw new UsageError(`unknown command '${cmd}'${suggestion(cmd, [...Object.keys(COMMANDS), 'help'])} (fuzz, replay, trace, list, help)`);
    }
  } catch (e) {
    if (e instanceof CompileError) {
      if (e.diagnostics !== '') io.err(e.diagnostics);
      io.err(`psharness: ${e.message}`);
      return EXIT_USAGE;
    }
    const usage = e instanceof UsageError || e instanceof ReportError || e instanceof UnknownDriverError
      || e instanceof WasmDriverError || e instanceof LogSpecError || e instanceof InputFileError
      || e instanceof UnknownBuildError || e instanceof UnknownInvariantError
      || (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') === true);
    if (usage) {
      const message = (e as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? unknownOptionMessage(cmd ?? '', (e as Error).message) : (e as Error).message;
      io.err(`psharness: ${message.split('\n')[0]}`);
      return EXIT_USAGE;
    }
    io.err(`psharness: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return EXIT_INTERNAL;
  }
}

export function processIo(): Io {
  const tty = process.stderr.isTTY === true && process.env.CI === undefined;
  return {
    out: (l) => process.stdout.write(l + '\n'),
    err: (l) => process.stderr.write(l + '\n'),
    progress: tty ? (l) => process.stderr.write(`\r\x1b[K${l}`) : undefined,
    heartbeat: tty ? undefined : (l) => process.stderr.write(`${l}\n`),
    now: () => performance.now(),
    env: process.env,
    onInterrupt: (handler) => {
      process.once('SIGINT', handler);
      return () => process.removeListener('SIGINT', handler);
    },
  };
}

