/**
 * A user-mode client on the driver's device (docs/concurrency.md § A user-mode client): file objects, buffered and
 * neither I/O, pending requests, cancellation when the client's thread exits, cancel-safe queues, the deferred
 * unload, and what the client reads back (device-events-delivered), on x86 and x64.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import type { DriverModule } from '../../src/driver/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { recordHash } from '../../src/harness/report.js';
import { getInvariant } from '../../src/invariants/index.js';
import { simulate, type PhaseRecord, type RunRecord, type Scenario } from '../../src/model/index.js';
import { runCli, scenario, VOL } from '../helpers.js';

const GET_EVENTS = 0x222000;
const QUERY = 0x222004;
const BUILDS = ['win10-x86', 'win10-x64'] as const;

let table: DriverModule;
let noCancel: DriverModule;
let cancelRace: DriverModule;
let csq: DriverModule;
const drivers = new Map<string, DriverModule>();
beforeAll(async () => {
  table = await loadWasmDriver('examples/drivers/proctable.c', { fibers: true });
  noCancel = await loadWasmDriver('examples/drivers/proctable-no-cancel.c', { fibers: true });
  cancelRace = await loadWasmDriver('examples/drivers/proctable-cancel-race.c', { fibers: true });
  csq = await loadWasmDriver('test/fixtures/io/csqqueue.c', { fibers: true });
  for (const d of ['silent-drop', 'counted-drop', 'twice']) drivers.set(d, await loadWasmDriver(`examples/drivers/proctable-${d}.c`, { fibers: true }));
}, 300_000);

const service: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\svc.exe` },
  { op: 'OpenDevice', id: 'F1', process: 'P1' },
];
const dispatches = (r: RunRecord, major: string): PhaseRecord[] => r.phases.filter((p) => p.phase === 'Dispatch' && p.irp?.major === major);
const violations = (d: DriverModule, s: Scenario, id: string) => runAndCheck(d, s, [getInvariant(id)]).violations;

describe('a client on the device', () => {
  test('opens it through the symbolic link and reads the process table back (METHOD_BUFFERED)', () => {
    for (const build of BUILDS) {
      const r = simulate(table, scenario(build, [...service, { op: 'DeviceIoControl', file: 'F1', ioctl: QUERY, inputLength: 0, outputLength: 256, fill: 0 }]));
      const [create] = dispatches(r, 'IRP_MJ_CREATE');
      expect(create.irp).toMatchObject({ completionStatus: 'STATUS_SUCCESS', file: 1 });
      const [query] = dispatches(r, 'IRP_MJ_DEVICE_CONTROL');
      expect(query.irp).toMatchObject({ ioctl: '0x222004', buffers: { method: 'METHOD_BUFFERED', inputLength: 0, outputLength: 256 }, completionStatus: 'STATUS_SUCCESS' });
      // a ULONG count, padding, then one 24-byte entry: svc.exe itself (its PID little-endian at offset 8)
      const out = query.irp?.output ?? '';
      expect(out.length).toBe(2 * (8 + 24));
      expect(Number.parseInt(out.slice(0, 2), 16)).toBe(1);
      expect(Number.parseInt(out.slice(16, 18), 16)).toBe(r.events?.find((e) => e.kind === 'process-create')?.pid);
    }
  });

  test('a buffer too small for one entry, and a caller that claims more than its buffer holds', () => {
    const r = simulate(table, scenario('win10-x64', [...service,
      { op: 'DeviceIoControl', file: 'F1', ioctl: QUERY, inputLength: 0, outputLength: 4, fill: 0 },
      { op: 'DeviceIoControl', file: 'F1', ioctl: QUERY, inputLength: 0x7ffffff0, outputLength: 0x7ffffff0, fill: 0x41 },
      { op: 'DeviceIoControl', file: 'F1', ioctl: 0x223ffc, inputLength: 16, outputLength: 16, fill: 0xff },
    ]));
    const [small, huge, unknown] = dispatches(r, 'IRP_MJ_DEVICE_CONTROL');
    expect(small.irp?.completionStatus).toBe('STATUS_BUFFER_TOO_SMALL');
    // the probe of a buffered request fails in the I/O manager: the driver never sees it
    expect(huge).toMatchObject({ outcome: 'refused', status: 'STATUS_ACCESS_VIOLATION' });
    expect(huge.ddi).toEqual([]);
    expect(unknown.irp?.completionStatus).toBe('STATUS_INVALID_DEVICE_REQUEST');
  });

  test('a request with nothing to return pends; the next event completes it and the client reads it', () => {
    for (const build of BUILDS) {
      const r = simulate(table, scenario(build, [...service,
        { op: 'DeviceIoControl', file: 'F1', ioctl: GET_EVENTS, inputLength: 0, outputLength: 256, fill: 0 },
        { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\b.exe` },
      ]));
      const [wait] = dispatches(r, 'IRP_MJ_DEVICE_CONTROL');
      expect(wait.irp).toMatchObject({ returned: 'STATUS_PENDING', markedPending: true, completionStatus: 'STATUS_SUCCESS', completedAtOp: 3 });
      // the process-create of b.exe completes it, with one 32-byte record
      expect(wait.irp?.information).toBe(32);
      expect(runAndCheck(table, scenario(build, r.ops.map((o) => o.op as Scenario['ops'][number]))).violations).toEqual([]);
    }
  });

  test('the client\'s thread exits: the I/O manager cancels its request, the cancel routine completes it, the handle closes', () => {
    for (const build of BUILDS) {
      const s = scenario(build, [...service,
        { op: 'DeviceIoControl', file: 'F1', ioctl: GET_EVENTS, inputLength: 0, outputLength: 256, fill: 0 },
        { op: 'ExitProcess', process: 'P1' },
      ]);
      const r = simulate(table, s);
      const [wait] = dispatches(r, 'IRP_MJ_DEVICE_CONTROL');
      expect(wait.irp).toMatchObject({ returned: 'STATUS_PENDING', cancelledAtOp: 3, completionStatus: 'STATUS_CANCELLED' });
      expect(r.phases.filter((p) => p.phase === 'Cancel')).toHaveLength(1);
      expect(dispatches(r, 'IRP_MJ_CLEANUP')).toHaveLength(1);
      expect(dispatches(r, 'IRP_MJ_CLOSE')).toHaveLength(1);
      expect(runAndCheck(table, s).violations).toEqual([]);
      // without a cancel routine nothing can end it: the thread's exit hangs (irp-completion)
      const broken = violations(noCancel, s, 'irp-completion');
      expect(broken.map((v) => v.message)).toEqual([expect.stringContaining('cancelled by the I/O manager when its thread exited, and never completed')]);
    }
  });

  test('on several CPUs the hang is a wait that never ends, reported with its chain', () => {
    const s = scenario('win10-x64', [...service,
      { op: 'DeviceIoControl', file: 'F1', ioctl: GET_EVENTS, inputLength: 0, outputLength: 256, fill: 0 },
      { op: 'ExitProcess', process: 'P1' },
    ], { schedule: { cpus: 2, kind: 'pct', priorities: [], preemptions: [] } });
    const v = violations(noCancel, s, 'no-deadlock');
    expect(v[0]?.message).toMatch(/IoCancelThreadIo.*waits for the IRP_MJ_DEVICE_CONTROL it issued \(op 2\), cancelled and not completed/);
    expect(violations(table, s, 'no-deadlock')).toEqual([]);
  });

  test('NtUnloadDriver with a handle open is deferred until the last file object closes', () => {
    for (const build of BUILDS) {
      const r = simulate(table, scenario(build, [...service, { op: 'UnloadDriver' }, { op: 'OpenDevice', id: 'F2', process: 'P1' }, { op: 'CloseHandle', file: 'F1' }]));
      const names = r.phases.map((p) => (p.phase === 'Dispatch' ? p.irp?.major : p.phase));
      expect(names.slice(names.indexOf('Unload'))).toEqual(['Unload', 'IRP_MJ_CLEANUP', 'IRP_MJ_CLOSE', 'DriverUnload']);
      expect(r.phases.find((p) => p.phase === 'Unload')?.note).toMatch(/^deferred/);
      // the open during the pending unload fails in the I/O manager
      expect(r.ops.find((o) => o.index === 3)).toMatchObject({ outcome: 'skipped', note: expect.stringContaining('STATUS_DELETE_PENDING') });
      expect(r.end?.driver.image).toBe('unloaded');
    }
  });

  test('a listening client keeps one request outstanding and reads every event exactly once', () => {
    const r = simulate(table, scenario('win10-x86', [
      { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\svc.exe` },
      { op: 'OpenDevice', id: 'F1', process: 'P1', listen: { ioctl: GET_EVENTS, outputLength: 4096 } },
      { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\b.exe` },
      { op: 'CreateThread', id: 'T3', process: 'P2' },
      { op: 'ExitProcess', process: 'P2' },
      { op: 'ExitProcess', process: 'P1' },
    ]));
    const waits = dispatches(r, 'IRP_MJ_DEVICE_CONTROL');
    // each request is completed by the next event, then sent again; the last one is cancelled when svc.exe exits
    expect(waits.at(-1)?.irp?.completionStatus).toBe('STATUS_CANCELLED');
    expect(waits.slice(0, -1).every((p) => p.irp?.completionStatus === 'STATUS_SUCCESS')).toBe(true);
    // b.exe: 4 events at its start, 1 thread start, 2 thread exits and its exit
    expect(waits.reduce((n, p) => n + (p.irp?.information ?? 0) / 32, 0)).toBe(8);
    expect(runAndCheck(table, scenario('win10-x86', r.ops.map((o) => o.op as Scenario['ops'][number]))).violations).toEqual([]);
  });

  test('a cancel-safe queue (IoCsq*) completes a cancelled request through CompleteCanceledIrp, on one and four CPUs', () => {
    for (const build of BUILDS) {
      const s = scenario(build, [...service,
        { op: 'DeviceIoControl', file: 'F1', ioctl: GET_EVENTS, inputLength: 0, outputLength: 4, fill: 0 },
        { op: 'DeviceIoControl', file: 'F1', ioctl: GET_EVENTS, inputLength: 0, outputLength: 4, fill: 0 },
        { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\b.exe` },
        { op: 'ExitProcess', process: 'P1' },
      ]);
      const r = simulate(csq, s);
      expect(dispatches(r, 'IRP_MJ_DEVICE_CONTROL').map((p) => p.irp?.completionStatus)).toEqual(['STATUS_SUCCESS', 'STATUS_CANCELLED']);
      expect(r.phases.filter((p) => p.phase === 'Cancel')).toHaveLength(1);
      expect(runAndCheck(csq, s).violations).toEqual([]);
    }
    const f = fuzz({ driver: csq, seed: 3, runs: 300, cpus: 4, builds: [...BUILDS] });
    expect(f.findings.map((x) => x.violations[0].message)).toEqual([]);
  });
});

describe('a cancel routine racing the completion path', () => {
  // the completion path takes the request off the queue, releases the lock, and only then clears its cancel routine:
  // a preemption there lets the client's exit on the other CPU cancel it and complete it first
  const ops: Scenario['ops'] = [
    { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\svc.exe` },
    { op: 'OpenDevice', id: 'F1', process: 'P1' },
    { op: 'DeviceIoControl', file: 'F1', ioctl: GET_EVENTS, inputLength: 0, outputLength: 256, fill: 0 },
    { op: 'ExitProcess', process: 'P1' },
    { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\b.exe` },
  ];
  const crashing = (d: DriverModule, build: string): number[] => {
    const steps: number[] = [];
    for (let step = 1; step <= 60; step++) {
      const r = simulate(d, scenario(build, ops, { reusePolicy: 'fifo', schedule: { cpus: 2, kind: 'pct', priorities: [0, 0, 0, 1, 2], preemptions: [step] } }));
      if (r.bugCheck !== null) steps.push(step);
    }
    return steps;
  };

  test('the racy driver crashes at a preemption in that window only; the correct one at none', () => {
    for (const build of BUILDS) {
      const steps = crashing(cancelRace, build);
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.length).toBeLessThan(5);
      expect(crashing(table, build)).toEqual([]);
    }
  });

  test('the campaign finds it within the default budget, and the record replays byte for byte', () => {
    const f = fuzz({ driver: cancelRace, seed: 1, runs: 1000, cpus: 4, invariants: [getInvariant('no-bugcheck')] });
    expect(f.failed).toBe(true);
    const found = f.findings[0];
    expect(found.scenario.schedule?.cpus).toBeGreaterThanOrEqual(2);
    expect(recordHash(simulate(cancelRace, found.scenario))).toBe(recordHash(simulate(cancelRace, found.scenario)));
  });
});

describe('device-events-delivered', () => {
  const listening: Scenario['ops'] = [
    { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\svc.exe` },
    { op: 'OpenDevice', id: 'F1', process: 'P1' },
    { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\b.exe` },
    { op: 'CreateThread', id: 'T3', process: 'P2' },
    { op: 'DeviceIoControl', file: 'F1', ioctl: GET_EVENTS, inputLength: 0, outputLength: 96, fill: 0 },
    { op: 'CreateThread', id: 'T4', process: 'P2' },
    { op: 'DeviceIoControl', file: 'F1', ioctl: GET_EVENTS, inputLength: 0, outputLength: 4096, fill: 0 },
  ];
  test('holds for the correct driver and for one that counts what it drops', () => {
    for (const build of BUILDS) {
      expect(violations(table, scenario(build, listening), 'device-events-delivered')).toEqual([]);
      expect(violations(drivers.get('counted-drop') as DriverModule, scenario(build, listening), 'device-events-delivered')).toEqual([]);
    }
  });

  test('fails for one that drops events without counting them, and for one that returns an event twice', () => {
    for (const build of BUILDS) {
      const lost = violations(drivers.get('silent-drop') as DriverModule, scenario(build, listening), 'device-events-delivered');
      expect(lost.map((v) => v.message)).toEqual([expect.stringMatching(/^1 event\(s\) raised while a client had the device open never reached it, though later ones did; its drop counter says 0/)]);
      const twice = violations(drivers.get('twice') as DriverModule, scenario(build, listening), 'device-events-delivered');
      expect(twice.map((v) => v.message)).toEqual([expect.stringMatching(/a second time$/)]);
    }
  });

  test('the CLI kills the IRP mutants and passes the correct driver', async () => {
    const ok = await runCli(['fuzz', '--driver', 'examples/drivers/proctable.c', '--runs', '300', '--no-reports', '--build', 'win10-x64']);
    expect(ok.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'psh-client-'));
    const bad = await runCli(['fuzz', '--driver', 'examples/drivers/proctable-no-cancel.c', '--runs', '1000', '--reports', dir, '--build', 'win10-x64', '--max-findings', '1']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/irp-completion|no-deadlock/);
    // the report, client operations and all, passes the schema and replays
    const report = readdirSync(dir).find((f) => f.endsWith('.json')) as string;
    const replay = await runCli(['replay', join(dir, report)]);
    expect(replay.code).toBe(1);
    expect(replay.out).toMatch(/still violated/);
  });
});
