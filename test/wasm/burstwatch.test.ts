import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz, weightsFor } from '../../src/harness/fuzz.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import type { Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/** examples/drivers/burstwatch.c: a minifilter that reports a burst of writes, and its broken twins. */
let watch: DriverModule;
const twins = new Map<number, DriverModule>();
beforeAll(async () => {
  watch = await loadWasmDriver('examples/drivers/burstwatch.c');
  for (const n of [1, 2, 3, 4, 5, 6]) twins.set(n, await loadWasmDriver('examples/drivers/burstwatch.c', { defines: { BURSTWATCH_BROKEN: String(n) } }));
}, 240_000);

const writes = (process: string): Scenario['ops'] => (['document-1', 'document-2', 'document-3', 'document-4'] as const).map((file) => ({ op: 'FileOp', process, operation: 'Write', file }));
const ops: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\encrypt.exe` },
  { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\burstsvc.exe` },
  { op: 'PortConnect', id: 'C1', process: 'P2' },
  { op: 'FileOp', process: 'P1', operation: 'Create', file: 'temp' },
  ...writes('P1'),
  { op: 'FileOp', process: 'P1', operation: 'Rename', file: 'document-1' },
  { op: 'FileOp', process: 'P1', operation: 'Delete', file: 'document-2' },
  { op: 'UnloadDriver' },
  { op: 'FileOp', process: 'P1', operation: 'Write', file: 'program' },
];

describe.each(['winvista-x86', 'win7-x64', 'win10-x86', 'win11-x64'])('burstwatch.c on %s', (build) => {
  test('reports the third write of a process, naming the file at PASSIVE_LEVEL; unregisters on unload', () => {
    const r = runAndCheck(watch, scenario(build, ops), INVARIANTS);
    expect(r.violations).toEqual([]);
    expect(r.record.phases.flatMap((p) => p.prints.map((l) => l.text))).toEqual(['burstwatch: burst pid=12 writes=3 last=photo.jpg\n']);
    expect(r.record.files?.map((f) => f.status)).toEqual(Array(8).fill('STATUS_SUCCESS'));
    expect(r.record.files?.map((f) => f.filtered)).toEqual([true, true, true, true, true, true, true, false]);
    expect(r.record.phases.filter((p) => p.flt?.kind === 'safe-post').map((p) => p.flt?.irql)).toEqual(['PASSIVE_LEVEL']);
    // the service got the burst: BURST_MESSAGE { Pid 12, Writes 3, LastFile L"photo.jpg" }
    const photo = [...'photo.jpg'].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0') + '00').join('');
    expect(r.record.portMessages?.map((m) => `${m.connection} ${m.event}${m.length !== undefined ? ` ${m.length}` : ''}`)).toEqual(['C1 connect', 'C1 message 72']);
    expect(r.record.portMessages?.[1].bytes).toBe(`0c00000003000000${photo}`.padEnd(128, '0'));
  });
});

describe('burstwatch.c\'s broken twins are caught by the fuzzer and shrunk, one finding each', () => {
  const campaign = (d: DriverModule) => fuzz({ driver: d, seed: 1, runs: 1000, profile: 'adversarial' });

  test('its scenarios draw file operations; a driver that registers no minifilter draws none', () => {
    expect(weightsFor(watch)?.file).toBeGreaterThan(0);
    expect(weightsFor(watch)?.port).toBeGreaterThan(0);
    const { x64: _x64, ...x86Only } = watch;
    expect(weightsFor({ ...x86Only, imports: watch.imports.filter((i) => !i.startsWith('Flt')) })).toBeUndefined();
    expect(campaign(watch).findings).toEqual([]);
  });

  test('twin 1 never releases the name information: flt-file-names-released', () => {
    const r = campaign(twins.get(1) as DriverModule);
    expect(r.findings.map((f) => f.invariant.id)).toEqual(['flt-file-names-released']);
    expect(r.findings[0].violations[0].message).toMatch(/^ReportBurst took 1 file-name information reference\(s\) with FltGetFileNameInformation and never released them/);
    expect(r.findings[0].scenario.ops.map((o) => o.op)).toContain('UnloadDriver');
  });

  test('twin 2 takes the name in its post-write, at DISPATCH_LEVEL: the verifier\'s IRQL check', () => {
    const r = campaign(twins.get(2) as DriverModule);
    expect(r.findings.map((f) => f.signature)).toEqual([expect.stringMatching(/^no-bugcheck\|0xC4\|PostWrite\|/)]);
    expect(r.findings[0].violations[0].message).toMatch(/FltGetFileNameInformation called at DISPATCH_LEVEL/);
  });

  test('twin 3 keeps its table in paged pool, which the post-write touches at DISPATCH_LEVEL: bug check 0xD1', () => {
    const r = campaign(twins.get(3) as DriverModule);
    expect(r.findings.map((f) => f.signature)).toEqual([expect.stringMatching(/^no-bugcheck\|0xD1\|PostWrite\|/)]);
    expect(r.findings[0].scenario.ops.filter((o) => o.op === 'FileOp')).toEqual([expect.objectContaining({ operation: 'Write' })]);
  });

  test('twin 5 leaves its communication port open at FltUnregisterFilter: the unload hangs (routine-returns)', () => {
    const r = campaign(twins.get(5) as DriverModule);
    expect(r.findings.map((f) => f.invariant.id)).toEqual(['routine-returns']);
    expect(r.findings[0].violations[0].message).toMatch(/FltUnregisterFilter\(0x[0-9A-F]+\) with its communication server port \\BurstwatchPort still open/);
    expect(r.findings[0].scenario.ops).toEqual([{ op: 'UnloadDriver' }]);
  });

  test('twin 6 sends the burst from its post-write, at DISPATCH_LEVEL: the verifier\'s IRQL check', () => {
    const r = campaign(twins.get(6) as DriverModule);
    expect(r.findings.map((f) => f.signature)).toEqual([expect.stringMatching(/^no-bugcheck\|0xC4\|PostWrite\|/)]);
    expect(r.findings[0].violations[0].message).toMatch(/FltSendMessage called at DISPATCH_LEVEL/);
  });

  test('twin 4 forgets FltUnregisterFilter: unload-clean, and the 0xCE or freed-pool read it leads to is the same finding', () => {
    const r = campaign(twins.get(4) as DriverModule);
    expect(r.findings.map((f) => f.signature)).toEqual(['unregister|-|-|minifilter at altitude 370020 is left registered by DriverUnload']);
    const ce = fuzz({ driver: twins.get(4) as DriverModule, seed: 1, runs: 1000, invariants: INVARIANTS.filter((i) => i.id === 'no-bugcheck') });
    expect(ce.findings.map((f) => f.signature)).toEqual([r.findings[0].signature]);
  });
});
