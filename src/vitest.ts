/**
 * `psharness/vitest`: fuzz a driver from a test suite, in the style of `@fast-check/vitest` — one call registers a
 * test with the test runner's own `test` function (vitest, or anything with its signature), with a timeout sized
 * for a campaign (a C driver's first build takes seconds; vitest's default of 5 s fails it), and a failure whose
 * message names each finding and the report written for it, which `npx psharness replay` replays:
 *
 *   import { test } from 'vitest';
 *   import { fuzzTest } from 'psharness/vitest';
 *   fuzzTest(test, 'my driver holds every invariant', { driver: 'drivers/mydrv.c', runs: 2000 });
 *
 * No dependency on vitest: the `test` function is passed in.
 */
import { resolve } from 'node:path';
import { builtinDrivers, isDriverPath, loadWasmDriver, type DriverModule } from './driver/index.js';
import { applicableBuilds, applicableInvariants, fuzz, type Finding } from './harness/fuzz.js';
import { shownViolation } from './harness/locate.js';
import { buildReport, writeReport } from './harness/report.js';
import { CURRENT_GENERATOR_FORMAT } from './generators/scenario.js';
import { reachabilityOf, getInvariant, INVARIANTS } from './invariants/index.js';
import { BUILDS, selectBuilds } from './model/builds.js';

/** The runner's `test(name, fn, timeout)`: vitest's, jest's and node:test-compatible wrappers have it. */
export type TestFunction = (name: string, fn: () => Promise<void>, timeout?: number) => unknown;

export interface FuzzTestOptions {
  /** A `.c` or `.wasm` file (relative to the working directory), a built-in name, or a DriverModule. */
  readonly driver: string | DriverModule;
  readonly seed?: number;
  /** Default 1000. */
  readonly runs?: number;
  /** A build selection as `--build` takes it (default all the driver runs on). */
  readonly build?: string;
  readonly profile?: 'documented' | 'adversarial';
  /** Invariant ids (default: every one that applies to the driver). */
  readonly invariants?: readonly string[];
  /** The most CPUs a scenario draws (default 4, as the CLI). */
  readonly cpus?: number;
  readonly maxOps?: number;
  /** Where failing scenarios are written (default `reports`); `false` writes none. */
  readonly reports?: string | false;
  /** The test's timeout in ms (default 300000: a cold C build and a campaign). */
  readonly timeout?: number;
}

/** The default timeout: a cold build of a C driver for x86 and x64, then the campaign. */
export const FUZZ_TEST_TIMEOUT_MS = 300_000;

async function driverOf(d: string | DriverModule, fibers: boolean): Promise<DriverModule> {
  if (typeof d !== 'string') return d;
  if (isDriverPath(d)) return loadWasmDriver(d, { fibers });
  const builtin = builtinDrivers().get(d);
  if (builtin === undefined) throw new Error(`psharness: unknown driver '${d}' (a C or C++ source, directory, .vcxproj or .wasm file, or ${[...builtinDrivers().keys()].slice(0, 3).join(', ')}, …)`);
  return builtin;
}

/** Runs the campaign; resolves with its findings that fail (the profile's gate), each with its report's path. */
export async function fuzzDriver(options: FuzzTestOptions): Promise<{ readonly runs: number; readonly failing: readonly { readonly finding: Finding; readonly report?: string }[] }> {
  const cpus = options.cpus ?? 4;
  const driver = await driverOf(options.driver, cpus > 1);
  const builds = applicableBuilds(driver, options.build === undefined ? BUILDS.map((b) => b.id) : selectBuilds(options.build)).builds;
  const invariants = options.invariants === undefined ? applicableInvariants(driver, INVARIANTS) : options.invariants.map(getInvariant);
  const profile = options.profile ?? 'documented';
  // the format the round draws with is the one its reports record (--from-report draws the round again with it)
  const generator = CURRENT_GENERATOR_FORMAT;
  const r = fuzz({ driver, seed: options.seed ?? 1, runs: options.runs ?? 1000, builds, profile, invariants, cpus, generator, ...(options.maxOps !== undefined ? { maxOps: options.maxOps } : {}) });
  // the default profile fails on what Windows can reach; a defensive-only finding is not a failure (as the CLI)
  const gates = (f: Finding): boolean => profile === 'adversarial' || reachabilityOf(f.record).reachability !== 'defensive';
  const name = typeof options.driver === 'string' ? options.driver : driver.name;
  const dir = options.reports === false ? null : resolve(options.reports ?? 'reports');
  const failing = r.findings.filter(gates).map((finding) => {
    if (dir === null) return { finding };
    const report = buildReport({
      driver: name, invariant: finding.invariant, scenario: finding.scenario, shrunkFrom: finding.shrunkFrom, violations: finding.violations,
      record: finding.record, signature: finding.signature, ...(finding.alsoBreaks !== undefined ? { alsoBreaks: finding.alsoBreaks } : {}),
      fuzz: { seed: finding.seed, campaignSeed: options.seed ?? 1, path: finding.path, runsToFailure: finding.runsToFailure, profile, builds, invariants: finding.roundInvariants, maxOps: options.maxOps ?? 60, ...(cpus > 1 ? { cpus } : {}),
        generator },
      reportDir: dir,
    });
    return { finding, report: writeReport(dir, report, finding.record, name).json };
  });
  return { runs: r.runs, failing };
}

/**
 * Registers one test that fuzzes the driver: it fails with one line per finding (the invariant, what broke, the
 * shrunk length) and the command that replays each report.
 */
export function fuzzTest(test: TestFunction, name: string, options: FuzzTestOptions): void {
  test(name, async () => {
    const { runs, failing } = await fuzzDriver(options);
    if (failing.length === 0) return;
    const lines = failing.map(({ finding: f, report }) => `- ${f.invariant.id}: ${shownViolation(f)?.message ?? ''} (${f.scenario.ops.length} ops on ${f.scenario.build})${report !== undefined ? `\n  replay: npx psharness replay ${report}` : ''}`);
    throw new Error(`psharness: ${failing.length} finding(s) in ${runs} run(s)\n${lines.join('\n')}`);
  }, options.timeout ?? FUZZ_TEST_TIMEOUT_MS);
}
