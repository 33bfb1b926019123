import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { reference } from '../../src/driver/index.js';
import { resolveOps, scenarioArbitrary } from '../../src/generators/index.js';
import { labelsOf, simulate, type Scenario } from '../../src/model/index.js';

const sample = fc.sample(scenarioArbitrary({ profile: 'adversarial' }), { seed: 11, numRuns: 400 });

describe('scenario generator', () => {
  test('every op refers only to labels created before it', () => {
    for (const s of sample) {
      const known = new Set(['System']);
      for (const op of s.ops) {
        const { creates, uses } = labelsOf(op);
        for (const u of uses) expect(known.has(u), `${JSON.stringify(op)}`).toBe(true);
        for (const c of creates) known.add(c);
      }
    }
  });

  test('generated ops never target an object that is gone (only driver load/unload and requests to a missing device may be no-ops)', () => {
    for (const s of sample.slice(0, 150)) {
      const r = simulate(reference, s);
      for (const o of r.ops) {
        if (o.outcome !== 'skipped') continue;
        expect(['LoadDriver', 'UnloadDriver', 'DeviceRequest']).toContain((o.op as { op: string }).op);
      }
    }
  });

  test('any subsequence stays legal: removed targets become recorded no-ops', () => {
    fc.assert(fc.property(scenarioArbitrary(), fc.array(fc.nat(), { maxLength: 10 }), (s, drops) => {
      const ops = s.ops.filter((_, i) => !drops.some((d) => s.ops.length > 0 && d % s.ops.length === i));
      const r = simulate(reference, { ...s, ops });
      expect(r.ops.length).toBe(ops.length + 1);
      expect(r.bugCheck).toBeNull();
    }), { seed: 5, numRuns: 100 });
  });

  test('coverage: the scenario classes the invariants need each appear often enough', () => {
    const share = (pred: (s: Scenario) => boolean) => sample.filter(pred).length / sample.length;
    const has = (s: Scenario, kind: string) => s.ops.some((o) => o.op === kind);
    const classes: Record<string, number> = {
      'process exit': share((s) => has(s, 'ExitProcess')),
      'driver unload': share((s) => has(s, 'UnloadDriver')),
      'driver image load': share((s) => s.ops.some((o) => o.op === 'LoadImage' && o.process === 'System')),
      'fault plan': share((s) => s.faults.length > 0),
      'lookup fault': share((s) => s.faults.some((f) => f.ddi === 'PsLookupProcessByProcessId')),
      'crowded table': share((s) => s.crowding.process + s.crowding.thread + s.crowding.image > 0),
      'exit race': share((s) => s.ops.some((o) => (o.op === 'ExitProcess' || o.op === 'ExitThread') && o.race !== undefined)),
      'lifo reuse': share((s) => s.reusePolicy === 'lifo'),
      'long path': share((s) => s.ops.some((o) => (o.op === 'CreateProcess' || o.op === 'LoadImage') && o.path.length > 300)),
      'name past 15 chars': share((s) => s.ops.some((o) => o.op === 'CreateProcess' && o.path.slice(o.path.lastIndexOf('\\') + 1).length > 15)),
      'parent is not creator': share((s) => s.ops.some((o) => o.op === 'CreateProcess' && o.creator !== undefined)),
      'device request': share((s) => has(s, 'DeviceRequest')),
      'NULL image name': share((s) => s.ops.some((o) => (o.op === 'CreateProcess' || o.op === 'LoadImage') && o.pathUnavailable === true)),
    };
    for (const [name, v] of Object.entries(classes)) expect(v, name).toBeGreaterThan(0.05);
  });

  test('resolveOps drops ops that have nothing to act on', () => {
    expect(resolveOps([{ k: 'thread', target: 3 }, { k: 'exit-process', target: 0 }])).toEqual([]);
    expect(resolveOps([{ k: 'process', parent: 0, path: '\\a.exe', unavailable: false, creator: null }, { k: 'exit-thread', target: 9 }]))
      .toEqual([{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: '\\a.exe' }, { op: 'ExitThread', thread: 'T1' }]);
  });
});

describe('boundaries the generators must reach (minimum shares over 3,000 scenarios)', () => {
  test('every boundary path length, 14/15/16-character names, full tables, first and n-th faults, low memory', async () => {
    const { scenarioLabels } = await import('../../src/generators/labels.js');
    const { BOUNDARY_PATH_LENGTHS } = await import('../../src/generators/names.js');
    const samples = fc.sample(scenarioArbitrary(), { seed: 42, numRuns: 3000 });
    const counts = new Map<string, number>();
    for (const s of samples) for (const l of scenarioLabels(s)) counts.set(l, (counts.get(l) ?? 0) + 1);
    const share = (label: string): number => (counts.get(label) ?? 0) / samples.length;
    for (const n of BOUNDARY_PATH_LENGTHS) expect(share(`path of ${n} characters`), `path of ${n}`).toBeGreaterThan(0.03);
    for (const n of [14, 15, 16]) expect(share(`name of ${n} characters`), `name of ${n}`).toBeGreaterThan(0.1);
    expect(share('path of 430-500 characters (a log line near 512 bytes)')).toBeGreaterThan(0.1);
    expect(share('client IDs past 16 bits (long-running machine)')).toBeGreaterThan(0.05);
    for (const l of ['crowding: process table full', 'crowding: process table one slot short', 'faults: a first call fails', 'faults: an n-th call fails', 'low memory (pool quota)', 'FullImageName NULL', 'image linked without /INTEGRITYCHECK']) {
      expect(share(l), l).toBeGreaterThan(0.01);
    }
  });

  test('psharness fuzz --stats prints the shares in one table', async () => {
    const { main } = await import('../../src/cli/main.js');
    const out: string[] = [];
    const code = await main(['fuzz', '--driver', 'reference', '--runs', '300', '--stats', '--workers', '1'], { out: (l) => out.push(l), err: () => {}, now: () => 0 });
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^label +share +scenarios \(of 300\)$/);
    expect(out.some((l) => /^path of 512 characters +\d+\.\d\d% +\d+$/.test(l))).toBe(true);
  });
});

describe('DbgPrint output at 511, 512 and 513 bytes', () => {
  test('a driver that prints the whole path in one call is run at each byte count around the limit', async () => {
    const { MUTANTS } = await import('../../src/driver/index.js');
    const { runAndCheck } = await import('../../src/harness/check.js');
    const { getInvariant } = await import('../../src/invariants/index.js');
    const m = MUTANTS.find((x) => x.id === 'long-path-one-call');
    if (m === undefined) throw new Error('mutant missing');
    const hits = new Map<number, number>();
    let violations = 0;
    for (const s of fc.sample(scenarioArbitrary({ builds: ['win10-x86'] }), { seed: 7, numRuns: 1500 })) {
      const r = runAndCheck(m.driver, s, [getInvariant('dbgprint-limit')]);
      for (const cb of r.record.callbacks) for (const p of cb.prints) if (p.fullLength >= 511 && p.fullLength <= 513) hits.set(p.fullLength, (hits.get(p.fullLength) ?? 0) + 1);
      violations += r.violations.filter((v) => /produced 513 bytes; 1 were lost/.test(v.message)).length;
    }
    for (const n of [511, 512, 513]) expect(hits.get(n) ?? 0, `${n} bytes`).toBeGreaterThan(0);
    expect(violations).toBeGreaterThan(0);
  });
});
