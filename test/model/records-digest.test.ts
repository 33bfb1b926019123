/**
 * Nothing observable changes when the kernel's code moves: the RunRecords, the observations (what each driver
 * logged) and the violations of 1,700+ scenarios hash to digests recorded before the kernel was split by executive
 * component (issue 25). TypeScript and C drivers, x86 and x64 builds, one CPU and four, the client's IRPs, object
 * callbacks, the Rtl/Ps/Ke/Ex routine groups, runs that bug-check or stop the verifier.
 *
 * Each case hashes its scenarios apart from its results: when a digest changes, the failure says whether the
 * generator drew other scenarios (`scenarios`) or the same scenarios gave other results (`results`). A change that
 * means to alter what a run records updates the digests here, and says so in its commit.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { MUTANTS, reference, VERIFIER_MUTANTS, loadVerifierMutant, wssprocmon, type DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { scenarioArbitrary } from '../../src/generators/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { applicableInvariants, weightsFor } from '../../src/harness/fuzz.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import type { Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

interface Case {
  readonly id: string;
  readonly driver: () => DriverModule;
  readonly scenarios: () => Scenario[];
}

const c = new Map<string, DriverModule>();
const loaded = (name: string) => (): DriverModule => c.get(name) as DriverModule;

beforeAll(async () => {
  c.set('psrefmon', await loadWasmDriver('examples/drivers/psrefmon.c'));
  c.set('proctable', await loadWasmDriver('examples/drivers/proctable.c', { fibers: true }));
  c.set('proctable-nolock', await loadWasmDriver('examples/drivers/proctable-nolock.c', { fibers: true }));
  c.set('obguard', await loadWasmDriver('examples/drivers/obguard.c'));
  c.set('timeline', await loadWasmDriver('examples/drivers/timeline.c'));
  c.set('procwatch', await loadWasmDriver('examples/drivers/procwatch.c'));
  c.set('vfmon', await loadWasmDriver('examples/drivers/vfmon.c'));
  c.set('imagegate', await loadWasmDriver('examples/drivers/imagegate.c'));
  c.set('wssprocmon.c', await loadWasmDriver('examples/drivers/wssprocmon.c'));
  c.set('csqqueue', await loadWasmDriver('test/fixtures/io/csqqueue.c', { fibers: true }));
  for (const f of ['rtl', 'procinfo', 'sync']) c.set(f, await loadWasmDriver(`test/fixtures/ddi/${f}.c`));
  for (const m of VF_MUTANTS) c.set(`vfmon-${m.id}`, await loadVerifierMutant(m.schema));
}, 600_000);

/** Verifier mutants of each kind of check: pool tracking, special pool, uninitialised use, IRQL, kernel memory, locks. */
const VF_MUTANTS = VERIFIER_MUTANTS.filter((m) => [3, 5, 7, 8, 12, 10].includes(m.schema));

/** Generator format 1, where these scenarios were recorded (format 2 draws others from the same seeds). */
const sample = (options: Parameters<typeof scenarioArbitrary>[0], seed: number, n: number): Scenario[] =>
  fc.sample(scenarioArbitrary({ ...options, generator: 1 }), { seed, numRuns: n });
const weighted = (name: string): { weights?: NonNullable<ReturnType<typeof weightsFor>> } => {
  const w = weightsFor(c.get(name) as DriverModule);
  return w === undefined ? {} : { weights: w };
};
const X86_X64 = ['win10-x86', 'win10-x64', 'win7-x64', 'winxp-x86'];
/** Scripted runs of the DDI fixtures (their DriverEntry calls most of a group), then a process's life. */
const scripted = (): Scenario[] => ['win10-x86', 'win10-x64', 'win7-x86', 'win11-x64'].map((b) => scenario(b, [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
  { op: 'CreateThread', id: 'T2', process: 'P1' },
  { op: 'LoadImage', process: 'P1', path: `${VOL}\\System32\\kernel32.dll` },
  { op: 'ExitProcess', process: 'P1' },
  { op: 'UnloadDriver' },
]));

const CASES: readonly Case[] = [
  { id: 'reference, adversarial, every build', driver: () => reference, scenarios: () => sample({ profile: 'adversarial' }, 101, 400) },
  { id: 'reference, 4 CPUs', driver: () => reference, scenarios: () => sample({ cpus: 4 }, 102, 120) },
  { id: 'wssprocmon (TypeScript seed)', driver: () => wssprocmon, scenarios: () => sample({}, 103, 150) },
  ...MUTANTS.map((m, i): Case => ({ id: `mutant ${m.id}`, driver: () => m.driver, scenarios: () => sample({ profile: 'adversarial' }, 200 + i, 12) })),
  { id: 'psrefmon.c, x86 and x64', driver: loaded('psrefmon'), scenarios: () => sample({ builds: X86_X64, profile: 'adversarial' }, 104, 150) },
  { id: 'psrefmon.c, 4 CPUs', driver: loaded('psrefmon'), scenarios: () => sample({ builds: X86_X64, cpus: 4 }, 105, 60) },
  { id: 'wssprocmon.c (C seed)', driver: loaded('wssprocmon.c'), scenarios: () => sample({ builds: X86_X64 }, 106, 100) },
  { id: 'proctable.c with its client, 4 CPUs', driver: loaded('proctable'), scenarios: () => sample({ builds: X86_X64, cpus: 4, ...weighted('proctable') }, 107, 120) },
  { id: 'proctable.c with its client, 1 CPU', driver: loaded('proctable'), scenarios: () => sample({ builds: X86_X64, profile: 'adversarial', ...weighted('proctable') }, 108, 60) },
  { id: 'proctable-nolock.c, 4 CPUs (races)', driver: loaded('proctable-nolock'), scenarios: () => sample({ builds: X86_X64, cpus: 4, ...weighted('proctable-nolock') }, 109, 60) },
  { id: 'obguard.c (object callbacks)', driver: loaded('obguard'), scenarios: () => sample({ builds: X86_X64, ...weighted('obguard') }, 110, 100) },
  { id: 'obguard.c, 4 CPUs', driver: loaded('obguard'), scenarios: () => sample({ builds: X86_X64, cpus: 4, ...weighted('obguard') }, 111, 40) },
  { id: 'timeline.c', driver: loaded('timeline'), scenarios: () => sample({ builds: X86_X64, profile: 'adversarial', ...weighted('timeline') }, 112, 100) },
  { id: 'procwatch.c', driver: loaded('procwatch'), scenarios: () => sample({ builds: X86_X64, profile: 'adversarial', ...weighted('procwatch') }, 113, 80) },
  { id: 'vfmon.c', driver: loaded('vfmon'), scenarios: () => sample({ builds: ['win10-x86', 'winxp-x86', 'win7-x86'], profile: 'adversarial', ...weighted('vfmon') }, 114, 80) },
  { id: 'imagegate.c', driver: loaded('imagegate'), scenarios: () => sample({ builds: X86_X64, ...weighted('imagegate') }, 115, 60) },
  { id: 'csqqueue.c, 1 and 4 CPUs', driver: loaded('csqqueue'), scenarios: () => [...sample({ builds: X86_X64, ...weighted('csqqueue') }, 116, 30), ...sample({ builds: X86_X64, cpus: 4, ...weighted('csqqueue') }, 117, 30)] },
  ...VF_MUTANTS.map((m, i): Case => ({
    id: `verifier mutant ${m.id}`, driver: loaded(`vfmon-${m.id}`), scenarios: () => [m.minimal, ...sample({ builds: ['winxp-x86', 'win10-x86', 'win10-x64'] }, 130 + i, 11)],
  })),
  ...['rtl', 'procinfo', 'sync'].map((f, i): Case => ({ id: `ddi fixture ${f}.c`, driver: loaded(f), scenarios: () => [...scripted(), ...sample({ builds: X86_X64 }, 120 + i, 16)] })),
];

/**
 * The digests (`scenarios` and `results`, 16 hex digits of a SHA-256 each): recorded before the kernel split and
 * unchanged through it; C drivers' results changed once since, when they were built with the WDK's /GS
 * (-fstack-protector-strong) and their outermost frame moved 256 bytes down (the callers' frames): stack addresses
 * in the records moved, and every verdict — each scenario's violated invariants, bug check, logged events — stayed.
 */
const EXPECTED: Readonly<Record<string, readonly [string, string]>> = {
  "reference, adversarial, every build": ["5a4f0894aa42cd7f", "070eb37b3b167aa2"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "reference, 4 CPUs": ["bca9bb91ff83740a", "97f98d7288e3e537"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "wssprocmon (TypeScript seed)": ["e7ddd05361a71622", "d5d4c2864ebe975f"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant no-deref-process-create": ["a853790ef823117c", "e7918752fb8a83ee"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant no-deref-thread-create": ["be7d89765f311db9", "720c1002f98ef3d6"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant double-deref": ["8155db215b35371d", "041d4847a7e840e6"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant deref-after-failed-lookup": ["4eb1486eb211a9dd", "a1c712fa7530fa78"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant unset-pointer-after-failed-lookup": ["f63bd79bdb57af05", "c4908bc038b9043c"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant offset-xp": ["4388dfd0c639ac14", "ee520c2d39faa6db"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant offset-win7": ["76e6fbc65d48c7c6", "e547f641ad83cbfc"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant name-buffer-off-by-one": ["edbf0d898b4561b9", "d9acb51b39defc92"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant path-as-narrow": ["b9836a1f7ab99f01", "1d7b96e65b44e8be"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant path-ws-ignores-length": ["e4bf71e1b0081c98", "9afe07a21f583980"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant path-wz-on-buffer": ["93145d3bc195aeae", "85564d9062854cae"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant path-length-as-chars": ["8db6c810c4b79ff8", "b206f814301626e0"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant no-rollback-link": ["1a759ee791b4a364", "4436aca8094e8c97"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant no-rollback-process": ["510f818501c182f6", "2bbac7512448c741"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant no-rollback-thread": ["75cd1292acacc03b", "e13ca3d9675162e1"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant no-rollback-image": ["a9e64155375dd4d5", "7dd0761aa4b177cb"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant rollback-undoes-failed-step": ["8a8f904e4095cfb3", "a6656139a6f94682"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant rollback-wrong-order": ["f85506beb266b083", "9ed82636b99f98c9"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant unload-forgets-image": ["442ecaa345181ad8", "6f3c2ae122392f71"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant unload-forgets-thread": ["2c22b45d22c66f12", "f206b860687551a8"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant unload-wrong-order": ["7b959c74cc4f188f", "c78c74086c2b4001"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant unload-leaks-link": ["d6e0d0c6ff7a8f60", "277789e784506664"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant no-unload-routine": ["b7f5d5197ed6ea53", "48b3de353a53fa29"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant stale-name-cache": ["e21ad4f01558250a", "216d77f80c924ea0"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant exit-only-if-lookup": ["a9ac452bd96f2c30", "c63047448755dad9"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant skip-system-images": ["a8c6f29d96d6d002", "557cc9322259f0e2"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant parent-is-creator": ["9b13c885db635366", "d78c7a1988ff96ac"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant thread-exit-as-process-exit": ["15b51b2ad9343b74", "11e988478ab4dd76"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant long-path-one-call": ["5cb965fb2bf0b221", "7dde0787c8b8f45e"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant pointer-as-ulong": ["aa038dcad40182e4", "06c6f832eaa38b46"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant pool-leak-on-unload": ["2e4f4fd8a44f9c59", "de6205e26865b030"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant irp-read-after-complete": ["3fd2f992b7b910a1", "fc66f1fa3668e720"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "mutant irp-not-completed": ["a96a9a89bf8689f9", "bcb720b37fe6e98e"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "psrefmon.c, x86 and x64": ["ddddfcb7620ef38c", "bea84950c2277e03"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "psrefmon.c, 4 CPUs": ["82ab79ef5d20884c", "1a3ded8094468b31"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "wssprocmon.c (C seed)": ["84fdf35479d35e8a", "97b84b246f47a590"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "proctable.c with its client, 4 CPUs": ["3b7d3e2ec06245e8", "bb98b3058f817c70"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "proctable.c with its client, 1 CPU": ["a36633e4482c1420", "4b60969a3d6c2f7e"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "proctable-nolock.c, 4 CPUs (races)": ["dc6d75307864ddca", "cd3c1b97878fced8"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "obguard.c (object callbacks)": ["e68f9784b7d0b91a", "e54f67dc0c47ab69"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "obguard.c, 4 CPUs": ["aba65075b8e829f8", "757a3336f4a21763"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "timeline.c": ["dcc4af7d913c3d88", "836e3c7715d84f65"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "procwatch.c": ["d4f933ae7b99fb2d", "4f87dd1454d9e571"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "vfmon.c": ["c1cd19ce38579e0f", "36393f3ba92582da"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "imagegate.c": ["6b73706343175d6f", "2f64c97711b167c4"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "csqqueue.c, 1 and 4 CPUs": ["58c193cb2d7fb2a5", "126fb50c1870a0b7"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "verifier mutant free-wrong-tag": ["1843dc9608d2116d", "c7b35506b53be3f7"], // issue 22/24: the bug check's stack names the helper clang inlined as an inline frame over its caller (records gain the frame; verdicts unchanged, diffed against bac6a25)
  "verifier mutant name-terminator-past-end": ["45eda08c397277e6", "b23ffc9d4b4c0ce8"], // issue 22/24: the bug check's stack names the helper clang inlined as an inline frame over its caller (records gain the frame; verdicts unchanged, diffed against bac6a25)
  "verifier mutant log-uninitialised-field": ["82de23c9928a2cee", "32dcea621c95bd46"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "verifier mutant wz-under-spin-lock": ["839243d122dde14e", "71c0d4f406eff7d8"], // issue 22/24: the bug check's stack names the helper clang inlined as an inline frame over its caller (records gain the frame; verdicts unchanged, diffed against bac6a25)
  "verifier mutant return-holding-fast-mutex": ["cc11468c192649b4", "b2f009fa22ac4006"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "verifier mutant write-into-eprocess": ["0a864e910d7a82e5", "92c0522390580fdb"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "ddi fixture rtl.c": ["3108578b5a1a097d", "9b4c0ce21381281c"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "ddi fixture procinfo.c": ["f05cdc4a2ec1323b", "ca0ece139ca5b289"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
  "ddi fixture sync.c": ["47998ca692368fed", "88c480895894c514"], // issue 22: DriverSection's loader entry is kernel pool made at load, so later blocks lie higher (verdicts unchanged; the TS seed's verdict digest moves only by the EPROCESS addresses it logs, diffed run by run)
};

/** JSON with bigints as text (a logged field or an argument may hold one). */
const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

/**
 * What a run concluded, without the addresses and texts a build change moves: the bug check's code, check and op,
 * the violated invariants, the logged events (their addresses masked). Printed beside the digests (PSHARNESS_PRINT_DIGESTS=1) so a change of
 * the C drivers' code generation can show every verdict unchanged while the results digest moves.
 */
function verdict(run: ReturnType<typeof runAndCheck>): unknown {
  const b = run.record.bugCheck;
  return {
    bugCheck: b === undefined || b === null ? null : [b.code, b.check ?? null, b.op, b.function ?? null],
    stop: run.record.verifierStop === undefined || run.record.verifierStop === null ? null : [run.record.verifierStop.check, run.record.verifierStop.op],
    violated: run.violations.map((v) => v.invariant),
    // an EPROCESS a driver logs sits where the pool put it, which moves with the size of the driver's image
    logged: json(run.observation.logged).replace(/"address":"0x[0-9A-F]+"|\b[0-9A-Fa-f]{5,16}\b/g, '*'),
  };
}

function digests(k: Case): readonly [string, string, number, string] {
  const driver = k.driver();
  const invariants = applicableInvariants(driver, INVARIANTS);
  const scenarios = k.scenarios();
  const sHash = createHash('sha256');
  const rHash = createHash('sha256');
  const vHash = createHash('sha256');
  for (const s of scenarios) {
    sHash.update(json(s)).update('\n');
    const run = runAndCheck(driver, s, invariants);
    rHash.update(json(run.record)).update('\n');
    rHash.update(json({ logged: run.observation.logged, declared: run.observation.declared, device: run.observation.device })).update('\n');
    rHash.update(json(run.violations)).update('\n');
    vHash.update(json(verdict(run))).update('\n');
  }
  return [sHash.digest('hex').slice(0, 16), rHash.digest('hex').slice(0, 16), scenarios.length, vHash.digest('hex').slice(0, 16)];
}

describe('records, observations and violations are what they were before the kernel split', () => {
  test('the cases cover at least 1,600 scenarios', () => {
    const n = CASES.reduce((sum, k) => sum + k.scenarios().length, 0);
    expect(n).toBeGreaterThanOrEqual(1600);
  });
  test.each(CASES.map((k) => [k.id, k] as const))('%s', (_id, k) => {
    const [scenarios, results, , verdicts] = digests(k);
    const expected = EXPECTED[k.id];
    if (process.env.PSHARNESS_PRINT_DIGESTS === '1') console.log(`  ${JSON.stringify(k.id)}: [${JSON.stringify(scenarios)}, ${JSON.stringify(results)}], // verdicts ${verdicts}`);
    expect({ scenarios, results }).toEqual({ scenarios: expected?.[0], results: expected?.[1] });
  });
  test('a digest is a function of the run (the same case twice gives the same digest; a changed record another)', () => {
    const k = CASES[0];
    const once = { ...k, scenarios: () => k.scenarios().slice(0, 40) };
    expect(digests(once)).toEqual(digests(once));
    const other = { ...once, scenarios: () => once.scenarios().map((s) => ({ ...s, reusePolicy: s.reusePolicy === 'fifo' ? 'lifo' as const : 'fifo' as const })) };
    expect(digests(other)[1]).not.toEqual(digests(once)[1]);
  });
});
