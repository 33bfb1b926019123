import { describeCallback, type Invariant, type Violation } from './types.js';

/**
 * PIDs are reused once a process object is deleted ([WRK] ps/psdelete.c; Raymond Chen 2011): events of a reused
 * PID belong to the process that holds it now, not to an earlier owner (a stale PID→name cache).
 */
export const pidReuseAttribution: Invariant = {
  id: 'pid-reuse-attribution',
  needsOutput: true,
  statement: 'events of a reused PID are attributed to the process that holds it now, not to an earlier owner',
  source: 'CID table reuse ([WRK] ex/handle.c, ps/psdelete.c); field reports: kernel-event-collector #3, drakvuf-sandbox #958',
  check({ record, logged }) {
    const out: Violation[] = [];
    record.callbacks.forEach((cb, i) => {
      const prev = cb.truth.previousOwners;
      if (cb.outcome !== 'returned' || prev === undefined || cb.truth.name === undefined) return;
      for (const e of logged[i]) {
        if (e.name === undefined || e.name === cb.truth.name || !prev.includes(e.name)) continue;
        out.push({
          invariant: this.id,
          message: `${e.kind} of pid ${cb.truth.pid} attributed to its earlier owner ${JSON.stringify(e.name)} instead of ${JSON.stringify(cb.truth.name)}`,
          evidence: { op: cb.op, seq: cb.seq, event: describeCallback(cb), line: e.line, expected: cb.truth.name, actual: e.name },
        });
      }
    });
    return out;
  },
};
