/**
 * The CLI's options, one table per command: what parseArgs accepts and what `psharness <command> --help` says of
 * each. The descriptions are typed against the option tables, so an option without its line does not compile.
 */
import type { ParseArgsConfig } from 'node:util';
import { didYouMean } from '../model/did-you-mean.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export const FUZZ_OPTIONS = {
  driver: { type: 'string' }, seed: { type: 'string' }, runs: { type: 'string' }, 'time-limit': { type: 'string' },
  build: { type: 'string' }, profile: { type: 'string' }, invariant: { type: 'string', multiple: true },
  'max-ops': { type: 'string' }, reports: { type: 'string' }, junit: { type: 'string' }, sarif: { type: 'string' }, html: { type: 'string' },
  'no-reports': { type: 'boolean' }, path: { type: 'string' }, regressions: { type: 'string' }, verifier: { type: 'string' },
  'min-runs': { type: 'string' }, workers: { type: 'string' }, shard: { type: 'string' }, faults: { type: 'string' },
  crowding: { type: 'string' }, weights: { type: 'string' }, stats: { type: 'boolean' }, exhaustive: { type: 'string' },
  'max-findings': { type: 'string' }, 'from-report': { type: 'string' }, coverage: { type: 'string' }, guided: { type: 'boolean' },
  cpus: { type: 'string' }, configuration: { type: 'string' }, generator: { type: 'string' },
} satisfies Options;

export const TRACE_OPTIONS = {
  driver: { type: 'string' }, report: { type: 'string' }, seed: { type: 'string' }, run: { type: 'string' }, scenario: { type: 'string' },
  build: { type: 'string' }, profile: { type: 'string' }, 'max-ops': { type: 'string' }, verifier: { type: 'string' }, cpus: { type: 'string' },
  configuration: { type: 'string' }, generator: { type: 'string' },
} satisfies Options;

export const LIST_OPTIONS = { ddis: { type: 'boolean' } } satisfies Options;

export const REPLAY_OPTIONS = {} satisfies Options;

/** An option's argument and what it does. */
type Described<T extends Options> = { readonly [K in keyof T]: readonly [arg: string, text: string] };

const FUZZ_HELP: Described<typeof FUZZ_OPTIONS> = {
  driver: ['NAME|PATH', 'the driver: a built-in name (psharness list); C or C++ sources (a file, files joined by commas, a directory) or a Visual Studio .vcxproj, built for x86 and x64; or a .wasm module'],
  seed: ['N|random', 'the campaign seed (default 1): the same seed, options and driver give the same findings, byte for byte'],
  runs: ['N', 'scenarios to run (default 1000)'],
  'time-limit': ['S', 'stop after S seconds with what was found (exit 0 if nothing was)'],
  build: ['B,...', 'Windows builds: all (default), x86, x64, a family (win10), a build or release (win10-x64-22h2), a glob (win10-x64*)'],
  profile: ['P', 'documented (default: fails on what Windows can reach) or adversarial (every injected failure fails)'],
  invariant: ['ID', 'check only these invariants (repeat, or comma-separated; default: all that apply to the driver)'],
  'max-ops': ['N', 'operations per scenario at most (default 60)'],
  reports: ['DIR', 'where shrunk counterexamples are written, JSON and Markdown (default reports)'],
  junit: ['FILE', 'JUnit XML: one test case per invariant, with the file and line of its first finding'],
  sarif: ['FILE', 'SARIF 2.1.0 (GitHub code scanning): one result per finding at the driver routine it is about'],
  html: ['DIR', 'DIR/index.html: one self-contained page, findings grouped and classed, a timeline of the CPUs for each'],
  'no-reports': ['', 'write no report files (each finding is printed in full instead)'],
  path: ['P', 'replay one fast-check path of this campaign (from a report: psharness fuzz --from-report R is easier)'],
  regressions: ['DIR', 'replay the saved reports in DIR for this driver first; one that still fails fails the run'],
  verifier: ['on|off', 'Driver Verifier checks on every load, store and DDI call (default on)'],
  'min-runs': ['N', 'fail (exit 2) when fewer runs completed, e.g. under --time-limit (default 1)'],
  workers: ['N', 'threads (default: as many as the cores keep busy, 1 on 2 cores, 2 on 4, 5 on 8, started once the campaign is long enough to repay them); findings do not depend on it'],
  shard: ['i/n', 'run the i-th of n disjoint slices of the campaign (CI matrix jobs)'],
  faults: ['none|boot|all', 'which injected DDI failures scenarios draw (default all)'],
  crowding: ['on|off', 'other drivers\' notify routines filling the tables (default on)'],
  weights: ['kind=N,...', 'how often each operation kind is drawn (psharness list shows the kinds)'],
  stats: ['', 'print what the scenarios contained (operation kinds, builds, faults), as fast-check statistics'],
  exhaustive: ['K', 'check every scenario of a small universe up to K operations instead of sampling'],
  'max-findings': ['N', 'distinct findings per invariant at most (default 20); the summary still names every invariant'],
  'from-report': ['R', 'the fast-check round that found report R again, exactly (its seed, path and options)'],
  coverage: ['DIR', 'write DIR/lcov.info: the driver\'s lines and branches the campaign reached'],
  guided: ['', 'coverage-guided search: keep and mutate scenarios that reached new edges of the driver'],
  cpus: ['N', 'simulated CPUs (default 4): each scenario draws 1 to N and a schedule; 1 runs each operation to its end'],
  configuration: ['NAME', 'a .vcxproj driver\'s configuration (default Debug): its Win32 platform builds x86, its x64 platform x64'],
  generator: ['1|2', 'how a seed becomes scenarios: 2 (default), integer codes, four to five times cheaper to draw, or 1, the format before it (CHANGELOG.md)'],
};

const TRACE_HELP: Described<typeof TRACE_OPTIONS> = {
  driver: ['NAME|FILE', 'the driver (default: the report\'s)'],
  report: ['R', 'the scenario of a report'],
  seed: ['S', 'with --run: the K-th scenario the campaign with seed S draws'],
  run: ['K', 'with --seed: which scenario (1 is the first)'],
  scenario: ['FILE', 'a scenario as JSON (the report format\'s "scenario")'],
  build: ['B', 'builds to draw from, with --seed (default all)'],
  profile: ['P', 'documented or adversarial, with --seed'],
  'max-ops': ['N', 'operations per scenario at most, with --seed (default 60)'],
  verifier: ['on|off', 'Driver Verifier checks (default on)'],
  cpus: ['N', 'simulated CPUs, with --seed (default 4)'],
  configuration: ['NAME', 'a .vcxproj driver\'s configuration (default Debug)'],
  generator: ['1|2', 'how the seed becomes scenarios, with --seed (default 2)'],
};

const LIST_HELP: Described<typeof LIST_OPTIONS> = {
  ddis: ['', 'the routines a C driver can call: header, implementation, the builds exporting each'],
};

const REPLAY_HELP: Described<typeof REPLAY_OPTIONS> = {};

interface CommandHelp {
  readonly usage: string;
  readonly what: string;
  readonly options: Readonly<Record<string, readonly [string, string]>>;
}

export const COMMANDS: Readonly<Record<'fuzz' | 'replay' | 'trace' | 'list', CommandHelp>> = {
  fuzz: {
    usage: 'psharness fuzz --driver <name|driver.c|driver.wasm> [options]',
    what: 'Runs generated scenarios against the driver and checks every invariant; each finding is shrunk to a minimal, replayable report.\nExit 0: every invariant held; 1: a finding Windows can reach; 2: bad usage or input.',
    options: FUZZ_HELP,
  },
  replay: {
    usage: 'psharness replay <report.json>',
    what: 'Runs a report\'s scenario again against the driver as it is now: exit 1 while it still fails (or fails another invariant), 0 once fixed.',
    options: REPLAY_HELP,
  },
  trace: {
    usage: 'psharness trace --driver <name|file> (--report R | --seed S --run K | --scenario FILE) [options]',
    what: 'Shows one scenario whole: every DDI call, every line the driver printed, then the invariants it breaks.',
    options: TRACE_HELP,
  },
  list: {
    usage: 'psharness list [--ddis]',
    what: 'Lists the built-in drivers, the Windows builds and the invariants.',
    options: LIST_HELP,
  },
};

/** `psharness <command> --help`: usage, what it does, every option with its argument and meaning. */
export function commandHelp(command: keyof typeof COMMANDS): string {
  const c = COMMANDS[command];
  const rows = [...Object.entries(c.options).map(([name, [arg, text]]) => [`--${name}${arg === '' ? '' : ` ${arg}`}`, text] as const), ['--help', 'this text'] as const];
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [`usage: ${c.usage}`, '', c.what, '', 'options:', ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`)].join('\n');
}

/** The options of a command that take a value (a negative number after one is that value). */
export function valueOptions(options: Options): Set<string> {
  return new Set(Object.entries(options).filter(([, o]) => o.type === 'string').map(([n]) => `--${n}`));
}

/** `unknown option '--sed' (did you mean --seed?)` for a command's parse error, or the message unchanged. */
export function unknownOptionMessage(command: string, message: string): string {
  const m = /Unknown option '([^']{1,200})'/.exec(message);
  if (m === null || !(command in COMMANDS)) return message;
  const names = Object.keys(COMMANDS[command as keyof typeof COMMANDS].options).map((n) => `--${n}`);
  const typed = m[1];
  const guess = didYouMean(typed.startsWith('--') ? typed : `--${typed.replace(/^-/, '')}`, names);
  return `unknown option '${typed}' for ${command}${guess !== undefined ? ` (did you mean ${guess}?)` : ''}; see psharness ${command} --help`;
}
