/**
 * Reachability (issue 23): each finding says whether Windows can reach it, and the default profile fails CI only on
 * what it can; the shrinker drops a failure Windows does not produce whenever the symptom does without it.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { shrinkFor } from '../../src/harness/fuzz.js';
import { getInvariant, reachabilityOf, signatureOf } from '../../src/invariants/index.js';
import { STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_COLLISION, type Scenario } from '../../src/model/index.js';
import { faultReachability } from '../../src/model/vf/fault-plan.js';
import { runCli, scenario, VOL } from '../helpers.js';

const createP1: Scenario['ops'] = [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }, { op: 'UnloadDriver' }];

/** Looks up the process it is told about (checking the status), and forgets DriverUnload: driver-unloadable. */
const noUnload: DriverModule = {
  name: 'no-unload', description: 'no-unload', imports: ['PsSetCreateProcessNotifyRoutine', 'PsLookupProcessByProcessId', 'ObDereferenceObject'], logsEvents: false, parse: () => [],
  instantiate: () => ({
    DriverEntry(ddi) {
      return ddi.PsSetCreateProcessNotifyRoutine((_ppid: number, pid: number, create: boolean) => {
        const p = { value: 0 };
        if (create && ddi.PsLookupProcessByProcessId(pid, p) === 0) ddi.ObDereferenceObject(p.value);
      }, false);
    },
  }),
};

describe('the reachability table (model/vf/fault-plan.ts)', () => {
  test('each routine and status is classed, with its reason', () => {
    expect(faultReachability('ExAllocatePoolWithTag', 'NULL').reachability).toBe('low-resources');
    expect(faultReachability('ExAllocatePool2', 'NULL').reachability).toBe('low-resources');
    expect(faultReachability('IoCreateDevice', 'STATUS_OBJECT_NAME_COLLISION').reachability).toBe('reachable');
    expect(faultReachability('IoCreateSymbolicLink', 'STATUS_INSUFFICIENT_RESOURCES').reachability).toBe('low-resources');
    expect(faultReachability('PsSetCreateProcessNotifyRoutineEx', 'STATUS_ACCESS_DENIED').reachability).toBe('reachable');
    expect(faultReachability('PsSetCreateProcessNotifyRoutine', 'STATUS_ACCESS_DENIED').reachability).toBe('defensive');
    expect(faultReachability('PsSetCreateProcessNotifyRoutine', 'STATUS_INVALID_PARAMETER').reachability).toBe('low-resources');
    expect(faultReachability('PsSetLoadImageNotifyRoutine', 'STATUS_INSUFFICIENT_RESOURCES').reachability).toBe('low-resources');
    expect(faultReachability('PsLookupProcessByProcessId', 'STATUS_INVALID_PARAMETER')).toMatchObject({ reachability: 'defensive', why: expect.stringMatching(/names no live process/) });
  });

  test('a run is as reachable as the least reachable thing it needed', () => {
    const plain = runAndCheck(noUnload, scenario('winxp-x86', createP1));
    expect(reachabilityOf(plain.record)).toEqual({ reachability: 'reachable', why: [] });
    const lookup = runAndCheck(noUnload, scenario('winxp-x86', createP1, { faults: [{ ddi: 'PsLookupProcessByProcessId', nth: 1, status: STATUS_INVALID_PARAMETER }] }));
    expect(reachabilityOf(lookup.record).reachability).toBe('defensive');
    // the same symptom through a defensive failure is its own signature (it must not hide the reachable one)
    const sig = (r: typeof plain) => signatureOf(r.violations.find((v) => v.invariant === 'driver-unloadable') as (typeof r.violations)[number], r.record);
    expect(sig(lookup)).toBe(`${sig(plain)}|defensive`);
    const collision = runAndCheck(noUnload, scenario('winxp-x86', createP1, { faults: [{ ddi: 'PsLookupProcessByProcessId', nth: 1, status: STATUS_OBJECT_NAME_COLLISION }], poolQuota: 0 }));
    expect(reachabilityOf(collision.record).reachability).toBe('defensive');
  });

  test('a registration refused for real is classed like an injected one: a full table is low resources', () => {
    const crowded = runAndCheck(noUnload, scenario('winxp-x86', createP1, { crowding: { process: 8, thread: 0, image: 0 } }));
    expect(crowded.record.phases.flatMap((p) => p.ddi).find((d) => d.name === 'PsSetCreateProcessNotifyRoutine')?.status).toBe('STATUS_INVALID_PARAMETER');
    expect(reachabilityOf(crowded.record)).toEqual({ reachability: 'low-resources', why: [expect.stringMatching(/every slot of the routine table is taken/)] });
  });

  test('the shrinker drops the defensive failure the symptom does not need: the finding is the reachable one', () => {
    const s = scenario('winxp-x86', createP1, { faults: [{ ddi: 'PsLookupProcessByProcessId', nth: 1, status: STATUS_INVALID_PARAMETER }] });
    const run = runAndCheck(noUnload, s, [getInvariant('driver-unloadable')]);
    const defensive = signatureOf(run.violations[0], run.record);
    expect(defensive).toMatch(/\|defensive$/);
    const f = shrinkFor(noUnload, getInvariant('driver-unloadable'), s, defensive);
    expect(f.scenario.faults).toEqual([]);
    expect(f.signature).toBe(defensive.replace(/\|defensive$/, ''));
    expect(reachabilityOf(f.record).reachability).toBe('reachable');
  });
});

describe('the gate: the default profile fails on what Windows can reach, adversarial on everything', () => {
  const fuzz = (driver: string, profile: string, reports?: string) =>
    runCli(['fuzz', '--driver', `test/fixtures/reachability/${driver}`, '--build', 'winxp-x86', '--runs', '300', '--profile', profile, ...(reports !== undefined ? ['--reports', reports] : ['--no-reports'])]);

  test('an unchecked lookup of the notified process crashes only under an injected failure: a warning, exit 0; adversarial: exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-reach-'));
    const documented = await fuzz('lookup-unchecked.c', 'documented', dir);
    expect(documented.code).toBe(0);
    expect(documented.out).toMatch(/^⚠ no-bugcheck \(defensive only: a warning\): STOP 0x00000050/m);
    expect(documented.out).toMatch(/psharness fuzz: passed .*; 1 defensive-only warning\(s\)/);
    const report = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.json')) as string), 'utf8')) as { reachability: { class: string; why: string[] }; signature: string };
    expect(report.reachability.class).toBe('defensive');
    expect(report.reachability.why[0]).toMatch(/^PsLookupProcessByProcessId returned STATUS_INVALID_PARAMETER for a process that exists/);
    expect(report.signature).toMatch(/\|defensive$/);
    const md = readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.md')) as string), 'utf8');
    expect(md).toContain('| on Windows | defensive only: it needs a failure Windows does not produce there');
    // the report replays (its schema takes the new field)
    expect((await runCli(['replay', join(dir, readdirSync(dir).find((f) => f.endsWith('.json')) as string)])).out).toContain('record identical');
    const adversarial = await fuzz('lookup-unchecked.c', 'adversarial');
    expect(adversarial.code).toBe(1);
    expect(adversarial.out).toMatch(/^✗ no-bugcheck: STOP 0x00000050 .*\[defensive\]$/m);
  }, 120_000);

  test('an unchecked pool allocation crashes when the pool is short: low resources, exit 1 in the default profile', async () => {
    const r = await fuzz('pool-unchecked.c', 'documented');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^✗ no-bugcheck: STOP 0x00000050 .*pool-unchecked\.c:11:5.*\[low-resources\]$/m);
  }, 120_000);
});
