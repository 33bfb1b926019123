import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import type { Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/** test/fixtures/flt/pendcreate.c: a C minifilter that pends every create to a deferred-I/O work item, and its bug. */
let pend: DriverModule;
let forget: DriverModule;
beforeAll(async () => {
  pend = await loadWasmDriver('test/fixtures/flt/pendcreate.c');
  forget = await loadWasmDriver('test/fixtures/flt/pendcreate-forget.c');
}, 240_000);

const ops: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
  { op: 'FileOp', process: 'P1', operation: 'Write', file: 'document-1' },
  { op: 'FileOp', process: 'System', operation: 'Create', file: 'temp' },
  { op: 'FileOp', process: 'P1', operation: 'Create', file: 'temp' },
  { op: 'UnloadDriver' },
];

describe.each(['winvista-x86', 'win10-x64'])('pendcreate.c on %s', (build) => {
  test('every create is pended, resumed by the work routine, and then goes on as the file system says', () => {
    const r = runAndCheck(pend, scenario(build, ops), INVARIANTS);
    expect(r.violations).toEqual([]);
    expect(r.record.files?.map((f) => f.status)).toEqual(['STATUS_SUCCESS', 'STATUS_SUCCESS', 'STATUS_OBJECT_NAME_COLLISION']);
    expect(r.record.phases.filter((p) => p.flt?.kind === 'work-item').map((p) => `${p.flt?.routine} ${p.flt?.irql}`)).toEqual(Array(3).fill('ResumeCreate PASSIVE_LEVEL'));
    expect(r.record.phases.flatMap((p) => p.prints.map((l) => l.text))).toEqual(['pendcreate: 2 create(s)\n']);
  });
});

describe('a create never resumed', () => {
  test('is one finding on one CPU and on several (the caller waits forever), shrunk to one user-mode create; the correct filter passes', () => {
    const r = fuzz({ driver: forget, seed: 1, runs: 500, profile: 'adversarial' });
    expect(r.findings.map((f) => f.signature)).toEqual(['pended|-|-|PreCreate returns FLT_PREOP_PENDING and nothing resumes the operation']);
    expect(r.findings[0].scenario.ops.map((o) => o.op)).toEqual(['CreateProcess', 'FileOp']);
    const one = fuzz({ driver: forget, seed: 1, runs: 200, cpus: 1 });
    expect(one.findings.map((f) => `${f.invariant.id} ${f.signature}`)).toEqual(['routine-returns pended|-|-|PreCreate returns FLT_PREOP_PENDING and nothing resumes the operation']);
    expect(fuzz({ driver: pend, seed: 1, runs: 500, profile: 'adversarial' }).findings).toEqual([]);
  });
});

/** test/fixtures/flt/postscan.c: a post-write pended to a deferred-I/O work item that logs the write and resumes it. */
describe('a post-operation pended (FLT_POSTOP_MORE_PROCESSING_REQUIRED, FltCompletePendedPostOperation)', () => {
  let scan: DriverModule;
  let scanForget: DriverModule;
  beforeAll(async () => {
    scan = await loadWasmDriver('test/fixtures/flt/postscan.c', { fibers: true });
    scanForget = await loadWasmDriver('test/fixtures/flt/postscan-forget.c', { fibers: true });
  }, 240_000);
  test.each(['winvista-x86', 'win10-x64'])('on %s, the work routine logs the write and resumes its completion; the writer gets its status', (build) => {
    const r = runAndCheck(scan, scenario(build, ops), INVARIANTS);
    expect(r.violations).toEqual([]);
    expect(r.record.files?.map((f) => f.status)).toEqual(['STATUS_SUCCESS', 'STATUS_SUCCESS', 'STATUS_OBJECT_NAME_COLLISION']);
    const post = r.record.phases.find((p) => p.flt?.kind === 'post');
    expect(post?.flt?.returned).toBe('FLT_POSTOP_MORE_PROCESSING_REQUIRED');
    const work = r.record.phases.filter((p) => p.flt?.kind === 'work-item');
    expect(work.map((p) => `${p.flt?.routine} ${p.flt?.irql}`)).toEqual(['ScanWorker PASSIVE_LEVEL']);
    expect(work[0].ddi.map((d) => d.name)).toEqual(['FltGetFileNameInformation', 'FltReleaseFileNameInformation', 'FltFreeDeferredIoWorkItem', 'ExFreePoolWithTag', 'FltCompletePendedPostOperation']);
    expect(r.record.phases.flatMap((p) => p.prints.map((l) => l.text))).toEqual([expect.stringMatching(/^POSTSCAN write pid=\d+ path=\\Device\\HarddiskVolume3\\Users\\Alice\\Documents\\budget\.xlsx\n$/)]);
  });
  test('one never resumed is one finding on one CPU and on several, named by the post-operation; the correct filter passes', () => {
    const signature = 'pended|-|-|PostWrite returns FLT_POSTOP_MORE_PROCESSING_REQUIRED and nothing resumes the operation';
    const r = fuzz({ driver: scanForget, seed: 1, runs: 500, profile: 'adversarial', cpus: 4 });
    expect(r.findings.map((f) => f.signature)).toEqual([signature]);
    expect(r.findings[0].scenario.ops.filter((o) => o.op === 'FileOp')).toEqual([expect.objectContaining({ operation: 'Write' })]);
    const one = fuzz({ driver: scanForget, seed: 1, runs: 200, cpus: 1 });
    expect(one.findings.map((f) => `${f.invariant.id} ${f.signature}`)).toEqual([`routine-returns ${signature}`]);
    expect(fuzz({ driver: scan, seed: 1, runs: 500, profile: 'adversarial', cpus: 4 }).findings).toEqual([]);
  });
});
