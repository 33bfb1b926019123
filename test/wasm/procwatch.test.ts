import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import type { DriverModule } from '../../src/driver/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { applicableBuilds, fuzz } from '../../src/harness/fuzz.js';
import { getInvariant } from '../../src/invariants/index.js';
import { BUILDS } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

let pw: DriverModule;
let leaky: DriverModule;
beforeAll(async () => {
  pw = await loadWasmDriver('examples/drivers/procwatch.c');
  // The same driver with its DriverUnload forgetting to free the tracked records: a pool leak at unload.
  const dir = mkdtempSync(join(tmpdir(), 'psh-pw-'));
  const src = readFileSync('examples/drivers/procwatch.c', 'utf8').replace('        ExFreePoolWithTag(record, PW_TAG);\n    }\n    gTracked = 0;', '    }\n    gTracked = 0;');
  expect(src).not.toBe(readFileSync('examples/drivers/procwatch.c', 'utf8'));
  writeFileSync(join(dir, 'procwatch.c'), src);
  copyFileSync('examples/drivers/procwatch.psharness.json', join(dir, 'procwatch.psharness.json'));
  leaky = await loadWasmDriver(join(dir, 'procwatch.c'));
}, 120_000);

const sc = scenario;

describe('procwatch.c: PsSetCreateProcessNotifyRoutineEx, a list under a fast mutex, pool, DriverUnload', () => {
  test('runs only where its imports exist: Vista+ builds, x86 and x64', () => {
    const vistaSp1On = BUILDS.filter((b) => b.major >= 6).map((b) => b.id);
    expect(vistaSp1On).toContain('winvista-x64');
    expect(applicableBuilds(pw, BUILDS.map((b) => b.id)).builds).toEqual(vistaSp1On);
    expect(pw.imports).toContain('PsSetCreateProcessNotifyRoutineEx');
  });

  test('logs what PS_CREATE_NOTIFY_INFO says: parent and creator differ when the parent is spoofed', () => {
    const r = runAndCheck(pw, sc('win10-x86', [
      { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\broker.exe` },
      { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', creator: 'P1', path: `${VOL}\\child.exe` },
      { op: 'ExitProcess', process: 'P2' },
      { op: 'UnloadDriver' },
    ]));
    expect(r.violations).toEqual([]);
    const start = r.record.callbacks.filter((c) => c.kind === 'process' && c.create)[1];
    expect(start.prints[0].text).toMatch(/^procwatch: start pid=\d+ parent=4 creator=(\d+)\n$/);
    expect(start.prints[0].text).toContain(`creator=${r.record.callbacks[0].truth.pid}`);
    expect(r.record.phases.find((p) => p.phase === 'DriverUnload')?.residue?.pool).toEqual([]);
  });

  test('passes the adversarial profile', () => {
    const r = fuzz({ driver: pw, seed: 9, runs: 300, profile: 'adversarial' });
    expect(r.findings.map((f) => f.violations[0]?.message)).toEqual([]);
  });

  test('the leaky variant is caught by pool-released and shrunk', () => {
    const r = fuzz({ driver: leaky, seed: 9, runs: 300, invariants: [getInvariant('pool-released')] });
    expect(r.failed).toBe(true);
    const f = r.findings[0];
    expect(f.violations[0].message).toMatch(/after DriverUnload: 1 pool block\(s\) not freed \(PWch:/);
    expect(f.scenario.ops.map((o) => o.op)).toEqual(['CreateProcess', 'UnloadDriver']);
  });
});
