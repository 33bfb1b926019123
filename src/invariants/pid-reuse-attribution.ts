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
    // the evidence of a stale attribution: the driver logged that (non-empty) name right for a process that held
    // it. A name it never read right — an empty one from a wrong EPROCESS offset, even where an earlier owner's was
    // empty too — is process-name-correct's finding, not a reuse
    let read: Set<string> | undefined;
    const readRight = (name: string): boolean => {
      if (read === undefined) {
        read = new Set();
        record.callbacks.forEach((c, j) => {
          for (const e of logged[j]) if (e.name !== undefined && e.name !== '' && e.name === c.truth.name) read?.add(e.name);
        });
      }
      return read.has(name);
    };
    record.callbacks.forEach((cb, i) => {
      const prev = cb.truth.previousOwners;
      if (cb.outcome !== 'returned' || prev === undefined || cb.truth.name === undefined) return;
      for (const e of logged[i]) {
        if (e.name === undefined || e.name === cb.truth.name || !prev.includes(e.name) || !readRight(e.name)) continue;
        out.push({
          invariant: this.id,
          message: `${e.kind} of pid ${cb.truth.pid} attributed to its earlier owner ${JSON.stringify(e.name)} instead of ${JSON.stringify(cb.truth.name)} (the driver logged that name for the earlier owner)`,
          evidence: { op: cb.op, seq: cb.seq, event: describeCallback(cb), line: e.line, expected: cb.truth.name, actual: e.name },
        });
      }
    });
    return out;
  },
};
