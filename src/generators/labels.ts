/**
 * What a generated scenario covers, as labels (fast-check's `fc.statistics` idea, over a whole campaign): builds,
 * fault plans, table occupancy, low memory, operation kinds, and the boundary values the generators aim for —
 * path lengths, 14/15/16-character names. `psharness fuzz --stats` prints their shares; a test holds the
 * generators to a minimum share of each boundary.
 */
import { getBuild } from '../model/builds.js';
import type { Scenario } from '../model/scenario.js';
import { BOUNDARY_PATH_LENGTHS, DBGPRINT_WINDOW_PATH_LENGTHS } from './names.js';

export function scenarioLabels(s: Scenario): string[] {
  const labels = new Set<string>([`build ${s.build}`, `CID reuse ${s.reusePolicy}`]);
  labels.add(s.faults.length === 0 ? 'faults: none' : s.faults.some((f) => f.nth === 1) ? 'faults: a first call fails' : 'faults: an n-th call fails');
  const cap = getBuild(s.build).capacity;
  for (const t of ['process', 'thread', 'image'] as const) {
    if (s.crowding[t] === cap[t]) labels.add(`crowding: ${t} table full`);
    else if (s.crowding[t] === cap[t] - 1) labels.add(`crowding: ${t} table one slot short`);
  }
  if (s.poolQuota !== undefined) labels.add('low memory (pool quota)');
  if (s.firstClientId !== undefined) labels.add('client IDs past 16 bits (long-running machine)');
  if (s.integrityCheck === false) labels.add('image linked without /INTEGRITYCHECK');
  const n = s.ops.length;
  labels.add(n === 0 ? 'ops: none' : n <= 10 ? 'ops: 1-10' : n <= 30 ? 'ops: 11-30' : 'ops: 31+');
  for (const op of s.ops) {
    labels.add(`op ${op.op}`);
    if (op.op === 'CreateProcess' || op.op === 'LoadImage') {
      if (BOUNDARY_PATH_LENGTHS.includes(op.path.length)) labels.add(`path of ${op.path.length} characters`);
      const w = DBGPRINT_WINDOW_PATH_LENGTHS;
      if (op.path.length >= w.min && op.path.length <= w.max) labels.add(`path of ${w.min}-${w.max} characters (a log line near 512 bytes)`);
      if (op.pathUnavailable === true) labels.add('FullImageName NULL');
    }
    if (op.op === 'CreateProcess') {
      const name = op.path.slice(op.path.lastIndexOf('\\') + 1);
      if (name.length >= 14 && name.length <= 16) labels.add(`name of ${name.length} characters`);
    }
    if ((op.op === 'ExitProcess' || op.op === 'ExitThread') && op.race !== undefined) labels.add(`exit race: PID ${op.race}`);
    if (op.op === 'RegistryOp') {
      labels.add(`registry: ${op.operation} on the ${op.key} key${op.process === 'System' ? ' (kernel-mode caller)' : ''}`);
      if (op.upperCase === true) labels.add('registry: a path in capitals');
    }
    if (op.op === 'FileOp') {
      labels.add(`file: ${op.operation} on ${op.file}${op.process === 'System' ? ' (kernel-mode caller)' : ''}`);
    }
    if (op.op === 'OpenHandle') {
      if (op.requester === op.target) labels.add('handle: a process opens itself');
      if (op.kernelHandle === true) labels.add('handle: a kernel handle');
      if (op.duplicate === true) labels.add('handle: a duplicate');
      if (op.target.startsWith('T')) labels.add('handle: to a thread');
    }
  }
  return [...labels];
}

/** A campaign's label counts as one table, most frequent first (ties by name). */
export function statisticsTable(counts: ReadonlyMap<string, number>, scenarios: number): string[] {
  const rows = [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  const width = Math.max(5, ...rows.map(([l]) => l.length));
  return [`${'label'.padEnd(width)}  share   scenarios (of ${scenarios})`,
    ...rows.map(([l, c]) => `${l.padEnd(width)}  ${((100 * c) / Math.max(1, scenarios)).toFixed(2).padStart(6)}%  ${c}`)];
}
