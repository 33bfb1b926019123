import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import type { Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/** test/fixtures/flt/instcount.c: per-instance state set up in InstanceSetupCallback, freed at the instance's teardown. */
let count: DriverModule;
let early: DriverModule;
beforeAll(async () => {
  count = await loadWasmDriver('test/fixtures/flt/instcount.c', { fibers: true });
  // built to be switched out at a scheduling point, as the CLI builds it for several CPUs
  early = await loadWasmDriver('test/fixtures/flt/instcount-early-free.c', { fibers: true });
}, 240_000);

const write: Scenario['ops'][number] = { op: 'FileOp', process: 'P1', operation: 'Write', file: 'document-1' };
const ops: Scenario['ops'] = [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }, write, write, { op: 'UnloadDriver' }];

describe.each(['winvista-x86', 'win7-x64', 'win11-x64'])('instcount.c on %s', (build) => {
  test('FltUnregisterFilter calls InstanceTeardownStartCallback, then InstanceTeardownCompleteCallback, which frees the instance\'s pool', () => {
    const r = runAndCheck(count, scenario(build, ops), INVARIANTS);
    expect(r.violations).toEqual([]);
    const unload = r.record.phases.find((p) => p.phase === 'DriverUnload');
    expect(unload?.ddi.map((d) => d.name)).toEqual(['FltUnregisterFilter', 'ExFreePoolWithTag']);
    expect(unload?.prints.map((p) => p.text)).toEqual(['instcount: 2 write(s)\n']);
  });
});

describe('the instance\'s state freed at the teardown\'s start', () => {
  test('is used by a pre-write still running on another CPU: found and shrunk to the write and the unload; freed at its end, it passes', () => {
    const r = fuzz({ driver: early, seed: 1, runs: 1000, profile: 'adversarial', cpus: 4 });
    expect(r.findings.length).toBeGreaterThan(0);
    for (const f of r.findings) {
      expect(['no-bugcheck', 'no-data-race', 'kernel-memory-owned']).toContain(f.invariant.id);
      expect(f.scenario.ops.map((o) => o.op)).toEqual(expect.arrayContaining(['FileOp', 'UnloadDriver']));
      expect(f.scenario.schedule?.cpus).toBeGreaterThan(1);
    }
    expect(fuzz({ driver: count, seed: 1, runs: 1000, profile: 'adversarial', cpus: 4 }).findings).toEqual([]);
  });
});
