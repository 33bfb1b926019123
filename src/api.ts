/**
 * The library entry points for users' own vitest (or any) suites:
 *   const result = checkDriver(myDriver, { seed: 7, runs: 500, builds: ['win10-x64'] });
 *   assertDriver(myDriver, { seed: 7 });   // throws with the shrunk counterexample
 */
import type { DriverModule } from './driver/types.js';
import { applicableInvariants, fuzz, type FuzzResult } from './harness/fuzz.js';
import { buildReport, renderMarkdown } from './harness/report.js';
import { getInvariant, INVARIANTS, type Invariant } from './invariants/index.js';

export interface CheckOptions {
  readonly seed?: number;
  readonly runs?: number;
  readonly builds?: readonly string[];
  readonly profile?: 'documented' | 'adversarial';
  /** Invariant ids (default: all). */
  readonly invariants?: readonly string[];
  readonly maxOps?: number;
  /** The most CPUs a scenario draws (default 1; a C driver needs `loadWasmDriver(…, { fibers: true })` to be switched inside its routines). */
  readonly cpus?: number;
}

export function checkDriver(driver: DriverModule, options: CheckOptions = {}): FuzzResult {
  const invariants: Invariant[] = options.invariants === undefined ? applicableInvariants(driver, INVARIANTS) : options.invariants.map(getInvariant);
  return fuzz({
    driver, seed: options.seed ?? 1, runs: options.runs ?? 200, builds: options.builds, profile: options.profile,
    invariants, maxOps: options.maxOps, ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
  });
}

/** Like checkDriver, but throws an Error whose message is the Markdown report of each shrunk counterexample. */
export function assertDriver(driver: DriverModule, options: CheckOptions = {}): void {
  const r = checkDriver(driver, options);
  if (!r.failed) return;
  const text = r.findings.map((f) => renderMarkdown(buildReport({
    driver: driver.name, invariant: f.invariant, scenario: f.scenario, shrunkFrom: f.shrunkFrom, violations: f.violations,
    record: f.record, fuzz: null, reportDir: 'reports',
  }), f.record)).join('\n');
  throw new Error(`psharness: ${driver.name} violates ${r.findings.map((f) => f.invariant.id).join(', ')} (seed ${r.seed})\n\n${text}`);
}

/** What checkDriverIsolated returns: the summary of checkDriver's result, or the watchdog's verdict. */
export interface IsolatedCheck {
  /** The wall-clock watchdog fired: the driver (a routine that never returns, in code psharness cannot count) hangs. */
  readonly hung: boolean;
  readonly failed: boolean;
  readonly runs: number;
  /** Per finding: invariant id, first message, shrunk length. */
  readonly findings: readonly { readonly invariant: string; readonly message: string; readonly ops: number }[];
  /** Set when hung: says that this verdict is not deterministic. */
  readonly note?: string;
}

/**
 * checkDriver for a TypeScript driver whose code psharness cannot count (no work budget reaches plain JavaScript
 * loops): the driver module is imported in a worker thread, and a **wall-clock** watchdog ends it after
 * `watchdogMs` (default 60 s). The last resort: a hang reported this way depends on the machine's speed and is
 * labelled non-deterministic; everything else is checkDriver's deterministic result.
 */
export async function checkDriverIsolated(
  module: string, exportName: string, options: CheckOptions & { readonly watchdogMs?: number } = {},
): Promise<IsolatedCheck> {
  const { Worker } = await import('node:worker_threads');
  const { pathToFileURL } = await import('node:url');
  const url = module.startsWith('file:') ? module : pathToFileURL(module).href;
  // the worker runs the built code (a test suite may be running this file from src/)
  const apiUrl = new URL(import.meta.url.endsWith('.ts') ? '../dist/api.js' : './api.js', import.meta.url).href;
  const source = `
    const { parentPort, workerData } = await import('node:worker_threads');
    const api = await import(workerData.apiUrl);
    const mod = await import(workerData.url);
    const driver = mod[workerData.exportName];
    if (driver === undefined) throw new Error(workerData.url + ' exports no ' + workerData.exportName);
    const r = api.checkDriver(driver, workerData.options);
    parentPort.postMessage({ failed: r.failed, runs: r.runs, findings: r.findings.map((f) => ({
      invariant: f.invariant.id, message: f.violations[0]?.message ?? '', ops: f.scenario.ops.length })) });`;
  const ms = options.watchdogMs ?? 60_000;
  return new Promise<IsolatedCheck>((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData: { apiUrl, url, exportName, options: { ...options, watchdogMs: undefined } } });
    const timer = setTimeout(() => {
      void w.terminate();
      resolve({
        hung: true, failed: true, runs: 0, findings: [],
        note: `no result within ${ms} ms: the driver hangs (wall-clock watchdog — not deterministic: a slower machine may hit it earlier)`,
      });
    }, ms);
    w.once('message', (m: Omit<IsolatedCheck, 'hung'>) => {
      clearTimeout(timer);
      void w.terminate();
      resolve({ hung: false, ...m });
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
