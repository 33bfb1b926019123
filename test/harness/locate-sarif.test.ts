/**
 * Where a finding points (harness/locate.ts) and how SARIF and GitHub annotations say it (harness/sarif.ts), for
 * every kind of evidence: a halt in a named function, a race's two accesses, a lock-order inversion, a callback, a
 * DriverEntry phase, an object callback; a driver outside the working directory; a TypeScript driver; escaping.
 */
import { describe, expect, test } from 'vitest';
import type { Finding } from '../../src/harness/fuzz.js';
import { findingRoutines, shownViolation } from '../../src/harness/locate.js';
import { findingLocation, githubAnnotations, sarifLog } from '../../src/harness/sarif.js';
import { getInvariant } from '../../src/invariants/index.js';
import type { RunRecord } from '../../src/model/record.js';

/** A finding with just the fields locating reads (the rest as a real one has them, empty). */
function finding(invariant: string, message: string, evidence: Finding['violations'][number]['evidence'], record: Partial<RunRecord>, extra: Partial<Finding> = {}): Finding {
  const r = { callbacks: [], phases: [], bugCheck: null, ops: [], build: 'win10-x64', driver: 'd', ...record } as unknown as RunRecord;
  return {
    invariant: getInvariant(invariant), signature: `${invariant}|x`, scenario: { build: 'win10-x64', profile: 'documented', reusePolicy: 'nt52', crowding: { process: 0, thread: 0, image: 0 }, faults: [], ops: [] },
    shrunkFrom: 1, violations: [{ invariant, message, evidence }], record: r, shrinkAttempts: 0, seed: 1, path: null, runsToFailure: 1,
    roundInvariants: [], roundSeen: [], ...extra,
  };
}

const access = (routine: string, op: number, line?: string) => ({ op, cpu: op, routine, access: 'write' as const, size: 4, locks: [], step: op, ...(line !== undefined ? { line } : {}) });

describe('findingRoutines: most specific first', () => {
  test('each kind of evidence', () => {
    const halt = finding('no-bugcheck', 'STOP', { op: 0, seq: 3 }, { bugCheck: { code: 0x50, name: 'x', parameters: [], reason: '', during: 'callback', seq: 3, op: 0, function: 'Store' }, callbacks: [{ seq: 3, routine: 'OnProcess', ddi: [], prints: [], truth: {} }] as unknown as RunRecord['callbacks'] });
    expect(findingRoutines(halt)).toEqual(['Store', 'OnProcess']);
    const race = finding('no-data-race', 'race', { op: 1, actual: '0x10' }, { concurrency: { races: [{ address: '0x10', what: 'g', first: access('A', 0), second: access('B', 1) }], lockOrder: [] } as unknown as RunRecord['concurrency'] });
    expect(findingRoutines(race)).toEqual(['A', 'B']);
    const order = finding('lock-order-consistent', 'inv', { op: 2 }, { concurrency: { races: [], lockOrder: [{ first: { locks: ['a', 'b'], op: 1, routine: 'X' }, second: { locks: ['b', 'a'], op: 2, routine: 'Y' } }] } as unknown as RunRecord['concurrency'] });
    expect(findingRoutines(order)).toEqual(['Y', 'X']);
    const entry = finding('failed-entry-clean', 'left', { op: -1, seq: 1 }, { phases: [{ seq: 1, phase: 'DriverEntry', ddi: [], prints: [] }] as unknown as RunRecord['phases'] });
    expect(findingRoutines(entry)).toEqual(['DriverEntry']);
    const ob = finding('object-access-stripped-only', 'added', { op: 0, seq: 2 }, { phases: [{ seq: 2, phase: 'ObjectCallback', handle: { routine: 'OnHandle' }, ddi: [], prints: [] }] as unknown as RunRecord['phases'] });
    expect(findingRoutines(ob)).toEqual(['OnHandle']);
    const none = { ...entry, violations: [] };
    expect(shownViolation(none)).toBeUndefined();
    expect(findingRoutines(none)).toEqual([]);
  });
});

describe('SARIF locations and GitHub annotations', () => {
  const lines = new Map([['A', { file: 'd.c', line: 10 }], ['B', { file: 'd.c', line: 20 }], ['Store', { file: 'd.c', line: 30 }]]);

  test('a race: each access at its own line (a shim header line is not the user own one), the routine line otherwise', () => {
    const race = finding('no-data-race', 'race', { op: 1, actual: '0x10' }, { concurrency: { races: [{ address: '0x10', what: 'g', first: access('A', 0, 'd.c:11'), second: access('B', 1, 'include/ntddk.h:238') }], lockOrder: [] } as unknown as RunRecord['concurrency'] });
    expect(findingLocation(race, '/src/d.c', lines)).toEqual([{ file: '/src/d.c', line: 11, routine: 'A' }, { file: '/src/d.c', line: 20, routine: 'B' }]);
    // no lines known: the file alone; no source file: nothing
    expect(findingLocation(race, '/src/d.c')).toEqual([{ file: '/src/d.c', line: 11, routine: 'A' }]);
    expect(findingLocation(finding('driver-unloadable', 'x', { op: 0 }, {}), '/src/d.c', lines)).toEqual([{ file: '/src/d.c' }]);
    expect(findingLocation(race, null, lines)).toEqual([]);
  });

  test('the log: related locations, a driver outside the working directory as a file URI, the also-breaks text; annotations escaped', () => {
    const halt = finding('no-bugcheck', 'a%b\nc', { op: 0 }, { bugCheck: { code: 0x50, name: 'x', parameters: [], reason: '', during: 'callback', seq: null, op: 0, function: 'Store', stack: [{ function: 'Store', file: 'd.c', line: 31 }, { function: 'A', file: 'd.c', line: 12 }] } }, { alsoBreaks: ['unload-clean'], path: '3:1' });
    const log = JSON.parse(sarifLog({ invariants: [getInvariant('no-bugcheck')], result: { failed: true, interrupted: false, seed: 1, runs: 1, path: null, findings: [halt] } as never, driverFile: '/elsewhere/d.c', lines, cwd: '/work/proj', gates: () => false, replayOf: () => undefined })) as { runs: { results: { level: string; message: { text: string }; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[]; relatedLocations?: unknown[]; properties: { path?: string } }[] }[] };
    const [res] = log.runs[0].results;
    expect(res.level).toBe('warning');
    expect(res.message.text).toContain('(the same root cause also breaks unload-clean)');
    expect(res.locations[0].physicalLocation.artifactLocation.uri).toBe('file:///elsewhere/d.c');
    expect(res.locations[0].physicalLocation.region.startLine).toBe(31);
    expect(res.properties.path).toBe('3:1');
    const odd = { ...halt, record: { ...halt.record, bugCheck: { ...halt.record.bugCheck, stack: [{ function: 'Store', file: 'a,b:c.c', line: 31 }] } } as RunRecord };
    const [ann] = githubAnnotations([odd], '/work/proj/src/x.c', undefined, '/work/proj', () => true);
    expect(ann).toBe('::error file=src/a%2Cb%3Ac.c,line=31,title=psharness no-bugcheck::a%25b%0Ac');
    expect(githubAnnotations([halt], null, undefined, '/work/proj', () => false)[0]).toBe('::warning title=psharness no-bugcheck::a%25b%0Ac');
  });
});
