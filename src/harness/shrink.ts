/**
 * The domain shrinker, run after fast-check's own: (1) remove an object's whole lifetime (the op that creates it
 * and every op that touches it or its threads), (2) remove single ops, (3) simplify the rest of the scenario
 * (faults, crowded tables, races, NULL image names, CID reuse order), to a fixpoint. Labelled references make every
 * candidate legal. The result is 1-minimal: no single op can be removed and still fail (research §5.3).
 */
import { labelsOf, type Op } from '../model/ops.js';
import type { Scenario } from '../model/scenario.js';
import type { Schedule } from '../model/ke/schedule.js';

export interface ShrinkResult {
  readonly scenario: Scenario;
  /** Scenario executions the shrinker spent. */
  readonly attempts: number;
}

function withOps(s: Scenario, ops: readonly Op[]): Scenario {
  return { ...s, ops };
}

/** The scenario without the ops at `remove`; a schedule's per-operation priorities go with them. */
function dropOps(s: Scenario, remove: ReadonlySet<number>): Scenario {
  const ops = s.ops.filter((_, i) => !remove.has(i));
  const p = s.schedule?.priorities;
  if (s.schedule === undefined || p === undefined) return withOps(s, ops);
  return { ...s, ops, schedule: { ...s.schedule, priorities: p.filter((_, i) => !remove.has(i)) } };
}

/** Ops to remove with `label`: its creation, every use, and the lifetimes of the threads of a process. */
function lifetime(ops: readonly Op[], label: string): Set<number> {
  const doomed = new Set<string>([label]);
  for (const op of ops) {
    if (op.op === 'CreateProcess' && op.id === label) doomed.add(op.thread);
    if (op.op === 'CreateThread' && op.process === label) doomed.add(op.id);
  }
  const remove = new Set<number>();
  ops.forEach((op, i) => {
    const { creates, uses } = labelsOf(op);
    // a child process only falls back to System as parent: it is not part of the lifetime
    const touches = op.op === 'CreateProcess' ? false : uses.some((u) => doomed.has(u));
    if (touches || creates.some((c) => doomed.has(c))) remove.add(i);
  });
  return remove;
}

export function shrinkScenario(start: Scenario, fails: (s: Scenario) => boolean, maxAttempts = 5000): ShrinkResult {
  let best = start;
  let attempts = 0;
  const tryIt = (candidate: Scenario): boolean => {
    if (attempts >= maxAttempts) return false;
    attempts++;
    if (fails(candidate)) {
      best = candidate;
      return true;
    }
    return false;
  };
  let changed = true;
  while (changed && attempts < maxAttempts) {
    changed = false;
    // (1) whole lifetimes, newest first
    const labels = best.ops.flatMap((op) => (op.op === 'CreateProcess' ? [op.id] : op.op === 'CreateThread' ? [op.id] : []));
    for (const label of labels.reverse()) {
      const remove = lifetime(best.ops, label);
      if (remove.size === 0) continue;
      if (tryIt(dropOps(best, remove))) changed = true;
    }
    // (2) single ops, last first; with a fault plan, also with the failing call renumbered, since removing an op
    // can shift which call the fault must hit (a local minimum otherwise)
    for (let i = best.ops.length - 1; i >= 0; i--) {
      if (i >= best.ops.length) continue;
      const without = dropOps(best, new Set([i]));
      if (tryIt(without)) {
        changed = true;
        continue;
      }
      search: for (let f = 0; f < best.faults.length; f++) {
        for (const delta of [1, 2, 3, -1, -2]) {
          const nth = best.faults[f].nth + delta;
          if (nth < 1) continue;
          const faults = best.faults.map((x, j) => (j === f ? { ...x, nth } : x));
          if (tryIt({ ...without, faults })) {
            changed = true;
            break search;
          }
        }
      }
    }
    // (3) the rest of the scenario
    for (let i = best.faults.length - 1; i >= 0; i--) {
      if (tryIt({ ...best, faults: best.faults.filter((_, j) => j !== i) })) changed = true;
    }
    for (let i = 0; i < best.faults.length; i++) {
      // an earlier call to fail needs fewer ops before it
      for (let nth = 1; nth < best.faults[i].nth; nth++) {
        const faults = best.faults.map((f, j) => (j === i ? { ...f, nth } : f));
        if (tryIt({ ...best, faults })) {
          changed = true;
          break;
        }
      }
    }
    for (const table of ['process', 'thread', 'image'] as const) {
      if (best.crowding[table] !== 0 && tryIt({ ...best, crowding: { ...best.crowding, [table]: 0 } })) changed = true;
    }
    if (best.firstClientId !== undefined) {
      const { firstClientId: _f, ...fresh } = best;
      if (tryIt(fresh)) changed = true;
    }
    if (best.integrityCheck === false) {
      const { integrityCheck: _i, ...linked } = best;
      if (tryIt(linked)) changed = true;
    }
    if (best.poolQuota !== undefined) {
      const { poolQuota: _q, ...plenty } = best;
      if (tryIt(plenty)) changed = true;
    }
    for (let i = 0; i < best.ops.length; i++) {
      // each simplification re-reads the op: an earlier one may have replaced it
      const replace = (op: Op): boolean => tryIt(withOps(best, best.ops.map((o, j) => (j === i ? op : o))));
      let op = best.ops[i];
      if ((op.op === 'ExitThread' || op.op === 'ExitProcess') && op.race !== undefined) {
        const { race: _race, ...plain } = op;
        if (replace(plain as Op)) changed = true;
      }
      op = best.ops[i];
      if ((op.op === 'CreateProcess' || op.op === 'LoadImage') && op.pathUnavailable === true) {
        const { pathUnavailable: _u, ...plain } = op;
        if (replace(plain as Op)) changed = true;
      }
      op = best.ops[i];
      if (op.op === 'CreateProcess' || op.op === 'LoadImage') {
        // shorter paths make readable reports: first drop the directories, then the file name too
        const file = op.path.slice(op.path.lastIndexOf('\\') + 1);
        const ext = file.includes('.') ? file.slice(file.lastIndexOf('.')) : '';
        for (const path of [`\\Device\\HarddiskVolume1\\Windows\\${file}`, `\\Device\\HarddiskVolume1\\Windows\\a${ext}`]) {
          if (path.length >= op.path.length) continue;
          if (replace({ ...op, path })) {
            changed = true;
            break;
          }
        }
      }
      op = best.ops[i];
      if (op.op === 'CreateProcess' && op.creator !== undefined) {
        const { creator: _c, ...plain } = op;
        if (replace(plain as Op)) changed = true;
      }
      op = best.ops[i];
      if (op.op === 'CreateProcess' && op.parent !== 'System') {
        if (replace({ ...op, parent: 'System' })) changed = true;
      }
    }
    if (best.reusePolicy !== 'nt52' && tryIt({ ...best, reusePolicy: 'nt52' })) changed = true;
    if (shrinkSchedule(best, tryIt)) changed = true;
  }
  return { scenario: best, attempts };
}

/**
 * A schedule, simplest first (the CHESS/PCT order of what makes an interleaving easy to read): none at all (the
 * bug needs no second CPU), fewer CPUs, fewer preemptions, earlier ones, then fewer operations that overlap (their
 * priorities to 0: an operation that does not outrank the one running waits for it).
 */
function shrinkSchedule(best: Scenario, tryIt: (s: Scenario) => boolean): boolean {
  const s = best.schedule;
  if (s === undefined) return false;
  const { schedule: _s, ...sequential } = best;
  if (tryIt(sequential)) return true;
  let changed = false;
  let cur = s;
  const attempt = (next: Schedule): boolean => {
    if (!tryIt({ ...best, schedule: next })) return false;
    cur = next;
    changed = true;
    return true;
  };
  while (cur.cpus > 2 && attempt({ ...cur, cpus: cur.cpus - 1 }));
  const pre = (): readonly number[] => cur.preemptions ?? [];
  for (let i = pre().length - 1; i >= 0; i--) attempt({ ...cur, preemptions: pre().filter((_, j) => j !== i) });
  for (let i = 0; i < pre().length; i++) {
    for (const step of [1, Math.floor(pre()[i] / 2), pre()[i] - 1]) {
      if (step < 1 || step >= pre()[i] || pre().includes(step)) continue;
      if (attempt({ ...cur, preemptions: pre().map((x, j) => (j === i ? step : x)) })) break;
    }
  }
  const pr = cur.priorities ?? [];
  for (let i = pr.length - 1; i >= 0; i--) {
    const now = cur.priorities ?? [];
    if ((now[i] ?? 0) !== 0) attempt({ ...cur, priorities: now.map((x, j) => (j === i ? 0 : x)) });
  }
  return changed;
}

/** True when no single op can be removed with the scenario still failing. */
export function isOneMinimal(s: Scenario, fails: (s: Scenario) => boolean): boolean {
  return s.ops.every((_, i) => !fails(withOps(s, s.ops.filter((__, j) => j !== i))));
}
