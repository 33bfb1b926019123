import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import type { Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/** test/fixtures/flt/streamcount.c: a C minifilter counting each file's writes in a stream context, and its leak. */
let count: DriverModule;
let leak: DriverModule;
beforeAll(async () => {
  count = await loadWasmDriver('test/fixtures/flt/streamcount.c');
  leak = await loadWasmDriver('test/fixtures/flt/streamcount-leak.c');
}, 240_000);

const write: Scenario['ops'][number] = { op: 'FileOp', process: 'P1', operation: 'Write', file: 'document-1' };
const ops: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
  write, write, { op: 'FileOp', process: 'P1', operation: 'Delete', file: 'document-1' }, write, { op: 'UnloadDriver' },
];

describe.each(['winvista-x86', 'win7-x64', 'win11-x64'])('streamcount.c on %s', (build) => {
  test('FLT_CONTEXT_REGISTRATION read from the image; the count lives with the file and its cleanup routine runs when it goes', () => {
    const r = runAndCheck(count, scenario(build, ops), INVARIANTS);
    expect(r.violations).toEqual([]);
    // each later open's new context is kept out (KEEP_IF_EXISTS) and freed at once (0); the file's goes when it is
    // deleted, after two writes; the recreated file's at unload
    expect(r.record.phases.flatMap((p) => p.prints.map((l) => l.text))).toEqual(['streamcount: 0 write(s)\n', 'streamcount: 0 write(s)\n', 'streamcount: 2 write(s)\n', 'streamcount: 1 write(s)\n']);
    expect(r.record.phases.filter((p) => p.flt?.kind === 'context-cleanup').map((p) => `${p.flt?.routine} ${p.flt?.irql}`)).toEqual(['CleanupCount PASSIVE_LEVEL']);
  });
});

describe('a context reference never released', () => {
  test('is flt-contexts-released, naming PreWrite, shrunk to a write and the unload; the correct filter passes', () => {
    const r = fuzz({ driver: leak, seed: 1, runs: 500, profile: 'adversarial' });
    expect(r.findings.map((f) => f.invariant.id)).toEqual(['flt-contexts-released']);
    expect(r.findings[0].violations[0].message).toMatch(/^PreWrite took \d+ stream context reference\(s\) and never released them/);
    expect(r.findings[0].scenario.ops.map((o) => o.op)).toEqual(['FileOp', 'UnloadDriver']);
    expect(fuzz({ driver: count, seed: 1, runs: 500, profile: 'adversarial' }).findings).toEqual([]);
  });
});
