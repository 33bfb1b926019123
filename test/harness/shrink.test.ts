/** The domain shrinker's schedule steps, on a synthetic failure (what must hold is written in the predicate). */
import { describe, expect, test } from 'vitest';
import { shrinkScenario } from '../../src/harness/shrink.js';
import type { Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

const ops: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
  { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\b.exe` },
  { op: 'CreateThread', id: 'T3', process: 'P2' },
];

describe('shrinking a schedule', () => {
  test('fewer CPUs, fewer and earlier preemptions, priorities of the operations that need not outrank to 0', () => {
    const start = scenario('win10-x64', ops, { schedule: { cpus: 4, kind: 'pct', priorities: [7, 9, 3], preemptions: [5, 17, 30] } });
    // "fails" while P2 outranks P1 and some preemption is left: the shape of a depth-2 concurrency bug
    const fails = (s: Scenario): boolean => {
      const sch = s.schedule;
      if (sch === undefined || s.ops.length < 2 || (sch.preemptions ?? []).length === 0) return false;
      return (sch.priorities?.[1] ?? 0) > (sch.priorities?.[0] ?? 0);
    };
    const r = shrinkScenario(start, fails);
    expect(r.scenario.ops).toHaveLength(2);
    expect(r.scenario.schedule).toEqual({ cpus: 2, kind: 'pct', priorities: [0, 9], preemptions: [1] });
  });

  test('a bug that needs no second CPU loses its schedule; removing an operation removes its priority', () => {
    const start = scenario('win10-x64', ops, { schedule: { cpus: 3, kind: 'random', seed: 5 } });
    expect(shrinkScenario(start, (s) => s.ops.some((o) => o.op === 'CreateThread')).scenario.schedule).toBeUndefined();
    const pct = scenario('win10-x64', ops, { schedule: { cpus: 2, kind: 'pct', priorities: [1, 2, 3] } });
    const r = shrinkScenario(pct, (s) => s.schedule !== undefined && s.ops.some((o) => o.op === 'CreateThread') && (s.schedule.priorities ?? []).includes(3));
    // both creations go (a thread of a process that never started is a legal no-op); its priority stays its own
    expect(r.scenario.ops.map((o) => o.op)).toEqual(['CreateThread']);
    expect(r.scenario.schedule?.priorities).toEqual([3]);
  });
});
