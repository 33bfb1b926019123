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

describe('an image linked without /INTEGRITYCHECK: PsSetCreateProcessNotifyRoutineEx returns STATUS_ACCESS_DENIED', () => {
  const ops = [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }] as const;
  test('procwatch.c fails DriverEntry cleanly with that status; the classic registration is not affected', () => {
    const r = runAndCheck(pw, { ...sc('win10-x64', [...ops]), integrityCheck: false });
    expect(r.violations).toEqual([]);
    const entry = r.record.phases.find((p) => p.phase === 'DriverEntry');
    expect(entry?.status).toBe('STATUS_ACCESS_DENIED');
    expect(entry?.ddi.find((d) => d.name === 'PsSetCreateProcessNotifyRoutineEx')?.result).toBe('linked without /INTEGRITYCHECK');
  });

  test('a driver that ignores the status is caught by the fuzzer (the generators draw unlinked images)', async () => {
    const { mutatedCopy } = await import('../helpers.js');
    const file = await mutatedCopy('examples/drivers/procwatch.c',
      '    status = PsSetCreateProcessNotifyRoutineEx(OnProcess, FALSE);\n    if (!NT_SUCCESS(status))\n        goto undo_link;\n',
      '    PsSetCreateProcessNotifyRoutineEx(OnProcess, FALSE);\n');
    const ignoring = await loadWasmDriver(file);
    const r = fuzz({ driver: ignoring, seed: 1, runs: 1000, builds: ['win10-x64', 'win7-x86'], faults: 'none', invariants: [getInvariant('events-complete')] });
    expect(r.findings[0]?.scenario.integrityCheck).toBe(false);
    expect(r.findings[0]?.violations[0].message).toMatch(/was never logged, though the driver monitors/);
  }, 60_000);

  test('a log spec that says the image is linked without the flag: every run sees it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-ic-'));
    copyFileSync('examples/drivers/procwatch.c', join(dir, 'procwatch.c'));
    const spec = JSON.parse(readFileSync('examples/drivers/procwatch.psharness.json', 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'procwatch.psharness.json'), JSON.stringify({ ...spec, integrityCheck: false }));
    const unlinked = await loadWasmDriver(join(dir, 'procwatch.c'));
    const r = runAndCheck(unlinked, sc('win10-x64', [...ops]));
    expect(r.record.phases.find((p) => p.phase === 'DriverEntry')?.status).toBe('STATUS_ACCESS_DENIED');
  }, 60_000);
});
