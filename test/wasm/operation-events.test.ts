import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { getInvariant, INVARIANTS } from '../../src/invariants/index.js';
import { simulate, type Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/**
 * The registry and file operations a sensor logs (operation-events-complete, operation-events-exact):
 * test/fixtures/flt/filelog.c (file telemetry from a minifilter) and test/fixtures/cm/reglog.c (registry telemetry
 * from a registry callback), and their broken twins.
 */
const drivers = new Map<string, DriverModule>();
beforeAll(async () => {
  for (const d of ['flt/filelog', 'flt/filelog-worker-pid', 'flt/filelog-empty', 'cm/reglog', 'cm/reglog-twice', 'cm/reglog-no-system']) {
    drivers.set(d, await loadWasmDriver(`test/fixtures/${d}.c`));
  }
  // built to be switched out at a wait (several CPUs' schedules in runAndCheck)
  drivers.set('flt/filelog fibers', await loadWasmDriver('test/fixtures/flt/filelog.c', { fibers: true }));
}, 240_000);
const driver = (d: string): DriverModule => drivers.get(d) as DriverModule;

const P1: Scenario['ops'][number] = { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` };
const file = (process: string, operation: 'Create' | 'Write' | 'Read' | 'Rename' | 'Delete', f: 'document-1' | 'temp' = 'document-1'): Scenario['ops'][number] => ({ op: 'FileOp', process, operation, file: f });
const files: Scenario['ops'] = [P1, file('P1', 'Write'), file('P1', 'Read'), file('P1', 'Rename'), file('System', 'Write', 'temp'), file('P1', 'Delete', 'temp'), file('P1', 'Delete')];
const registry: Scenario['ops'] = [
  P1, { op: 'RegistryOp', process: 'P1', operation: 'SetValue', key: 'run', name: 'Updater' },
  { op: 'RegistryOp', process: 'System', operation: 'SetValue', key: 'service', name: 'Start' },
  { op: 'RegistryOp', process: 'P1', operation: 'QueryValue', key: 'run', name: 'Updater' },
  { op: 'RegistryOp', process: 'P1', operation: 'DeleteValue', key: 'run', name: 'Updater', upperCase: true },
];

describe.each(['winvista-x86', 'win10-x64', 'win11-x64'])('filelog.c on %s', (build) => {
  test('each write, rename and delete that succeeded is logged once, with the requester\'s PID and the normalized name', () => {
    const r = runAndCheck(driver('flt/filelog'), scenario(build, files), INVARIANTS);
    expect(r.violations).toEqual([]);
    const pid = r.record.files?.[0].pid;
    // the rename of document-1 leaves no document-1 for the last delete (STATUS_OBJECT_NAME_NOT_FOUND): nothing to log
    expect(r.record.phases.flatMap((p) => p.prints.map((l) => l.text.trim()))).toEqual([
      `FILELOG write pid=${pid} path=\\Device\\HarddiskVolume3\\Users\\Alice\\Documents\\budget.xlsx`,
      `FILELOG rename pid=${pid} path=\\Device\\HarddiskVolume3\\Users\\Alice\\Documents\\budget.xlsx`,
      'FILELOG write pid=4 path=\\Device\\HarddiskVolume3\\Users\\Alice\\AppData\\Local\\Temp\\~setup.tmp',
      `FILELOG delete pid=${pid} path=\\Device\\HarddiskVolume3\\Users\\Alice\\AppData\\Local\\Temp\\~setup.tmp`,
    ]);
  });
});

describe.each(['win8-x86', 'win10-x64'])('reglog.c on %s', (build) => {
  test('each value set or deleted is logged once, with the caller, the key\'s full name and the value', () => {
    const r = runAndCheck(driver('cm/reglog'), scenario(build, registry), INVARIANTS);
    expect(r.violations).toEqual([]);
    expect(r.record.phases.flatMap((p) => p.prints.map((l) => l.text.trim()))).toEqual([
      expect.stringMatching(/^REGLOG set pid=\d+ key=\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run value=Updater$/),
      'REGLOG set pid=4 key=\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\reglog value=Start',
      expect.stringMatching(/^REGLOG delete pid=\d+ key=\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run value=Updater$/),
    ]);
  });
});

describe('what each invariant asks, on a run read back', () => {
  test('a line with the wrong PID is operation-events-exact\'s, not a missing event as well', () => {
    // the twin prints System's PID from the worker that runs its logging routine when the post-operation was at DISPATCH_LEVEL
    const r = runAndCheck(driver('flt/filelog-worker-pid'), scenario('win10-x64', [P1, file('P1', 'Write')]), [getInvariant('operation-events-complete'), getInvariant('operation-events-exact')]);
    expect(r.violations.map((v) => `${v.invariant}: ${v.message}`)).toEqual([
      expect.stringMatching(/^operation-events-exact: file-write \(pid 4, path .*budget\.xlsx\) was logged for Write of .*budget\.xlsx by a\.exe \(pid \d+\): pid 4, not \d+$/),
    ]);
  });
  test('an operation that failed, or that the callback never saw, is not asked for', () => {
    const inv = [getInvariant('operation-events-complete')];
    // no document-1 to delete after its rename; the temporary file does not exist yet for a read
    expect(runAndCheck(driver('flt/filelog-empty'), scenario('win10-x64', [P1, file('P1', 'Read', 'temp'), file('P1', 'Write')]), inv).violations).toEqual([]);
    // unloaded: nothing is owed
    expect(runAndCheck(driver('flt/filelog-empty'), scenario('win10-x64', [P1, { op: 'UnloadDriver' }, file('P1', 'Delete')]), inv).violations).toEqual([]);
    expect(runAndCheck(driver('flt/filelog-empty'), scenario('win10-x64', [P1, file('P1', 'Delete')]), inv).violations.map((v) => v.message)).toEqual([
      expect.stringMatching(/^Delete of \\Users\\Alice\\Documents\\budget\.xlsx by a\.exe \(pid \d+\) was never logged, though the driver monitors file-delete$/),
    ]);
  });
});

describe('a post-operation owed when the filter unregisters is drained (FLTFL_POST_OPERATION_DRAINING)', () => {
  test('on two CPUs, an unload that overtakes a write between its pre- and post-operation: the post-operation frees the name, nothing is logged or leaked', () => {
    const ops: Scenario['ops'] = [file('System', 'Write'), { op: 'UnloadDriver' }];
    let drained = 0;
    for (let step = 1; step <= 12; step++) {
      for (const priorities of [[1, 0], [0, 1]]) {
        const s = scenario('win10-x64', ops, { schedule: { cpus: 2, kind: 'pct', priorities, preemptions: [step] } });
        const r = runAndCheck(driver('flt/filelog fibers'), s, INVARIANTS);
        expect(r.violations, `step ${step}, priorities ${priorities.join(',')}`).toEqual([]);
        const post = r.record.phases.find((p) => p.flt?.kind === 'post');
        if (post?.flt?.draining === true) {
          drained++;
          expect(post.flt.irql).toBe('PASSIVE_LEVEL');
          expect(post.ddi.map((d) => d.name)).toEqual(['FltReleaseFileNameInformation']);
          expect(r.record.phases.some((p) => p.prints.length > 0)).toBe(false);
        }
        // byte for byte again
        expect(JSON.stringify(simulate(driver('flt/filelog fibers'), s))).toBe(JSON.stringify(r.record));
      }
    }
    expect(drained).toBeGreaterThan(0);
  });
});

describe('the twins are caught, one finding each, and shrunk; the correct drivers pass', () => {
  const campaign = (d: string) => fuzz({ driver: driver(d), seed: 1, runs: 1000, profile: 'adversarial' });
  test('filelog.c and reglog.c pass', () => {
    expect(campaign('flt/filelog').findings).toEqual([]);
    expect(campaign('cm/reglog').findings).toEqual([]);
  });
  test('filelog-worker-pid.c logs System\'s PID from the worker: operation-events-exact', () => {
    const r = campaign('flt/filelog-worker-pid');
    expect(r.findings.map((f) => f.signature)).toEqual(['operation-events-exact|-|-|the logged pid is not the operation\'s']);
  });
  test('filelog-empty.c drops what moved no bytes, renames and deletes: operation-events-complete, shrunk to the one operation', () => {
    const r = campaign('flt/filelog-empty');
    expect(r.findings.map((f) => f.signature)).toEqual(['operation-events-complete|-|-|an operation of a monitored kind was not logged']);
    expect(r.findings[0].scenario.ops.filter((o) => o.op === 'FileOp')).toEqual([expect.objectContaining({ operation: expect.stringMatching(/^(Rename|Delete)$/) })]);
  });
  test('reglog-twice.c logs at the pre- and the post-notification: operation-events-exact', () => {
    const r = campaign('cm/reglog-twice');
    expect(r.findings.map((f) => f.signature)).toEqual(['operation-events-exact|-|-|an operation logged twice']);
    expect(r.findings[0].scenario.ops.filter((o) => o.op === 'RegistryOp')).toEqual([expect.objectContaining({ operation: 'SetValue' })]);
  });
  test('reglog-no-system.c leaves out kernel-mode callers: operation-events-complete', () => {
    const r = campaign('cm/reglog-no-system');
    expect(r.findings.map((f) => f.signature)).toEqual(['operation-events-complete|-|-|an operation of a monitored kind was not logged']);
    expect(r.findings[0].violations[0].message).toMatch(/by System \(pid 4\) was never logged/);
  });
});
