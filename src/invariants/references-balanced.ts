import { describeCallback, type Invariant, type Violation } from './types.js';

/**
 * Every reference PsLookupProcessByProcessId (or ObReferenceObject) gives the driver is dropped with
 * ObDereferenceObject before the callback returns, and none is dropped twice ([DOC] PsLookupProcessByProcessId:
 * "the caller must call ObDereferenceObject"). Assumes the monitor pattern: no reference outlives its callback;
 * a driver that keeps references on purpose can deselect it and keep `references-released`.
 */
export const referencesBalanced: Invariant = {
  id: 'references-balanced',
  needsOutput: false,
  statement: 'every reference the driver takes in a callback is dropped before the callback returns, and no other',
  source: 'WDK: PsLookupProcessByProcessId / ObDereferenceObject; Verifier object reference tracing',
  seedBug: 1,
  check({ record }) {
    const out: Violation[] = [];
    for (const cb of record.callbacks) {
      if (cb.outcome !== 'returned' || cb.refsTaken === cb.refsDropped) continue;
      const n = cb.refsTaken - cb.refsDropped;
      out.push({
        invariant: this.id,
        message: n > 0 ? `callback leaked ${n} object reference${n > 1 ? 's' : ''}` : `callback dropped ${-n} reference${n < -1 ? 's' : ''} it did not take`,
        evidence: { op: cb.op, seq: cb.seq, event: describeCallback(cb), expected: cb.refsTaken, actual: cb.refsDropped },
      });
    }
    return out;
  },
};

/** At the end of the run the driver holds no reference on an exited object, and none once it is unloaded. */
export const referencesReleased: Invariant = {
  id: 'references-released',
  needsOutput: false,
  statement: 'no reference the driver took keeps an exited process or thread alive, or outlives the driver',
  source: 'WDK: ObDereferenceObject; a leaked reference keeps a zombie EPROCESS and its PID (Raymond Chen 2011)',
  seedBug: 1,
  check({ record }) {
    const end = record.end;
    if (end === null || record.bugCheck !== null) return [];
    const out: Violation[] = [];
    const unloaded = end.driver.image !== 'loaded';
    for (const p of end.processes) {
      if (p.driverRefs > 0 && (p.state !== 'active' || unloaded)) {
        out.push({
          invariant: this.id,
          message: `${p.driverRefs} reference(s) held on ${p.state} process ${p.pid} (${p.name})${unloaded ? ' by an unloaded driver' : ': a zombie whose PID is never freed'}`,
          evidence: { op: record.ops.length - 1, event: `end state: process ${p.pid} PointerCount ${p.pointerCount}`, actual: p.driverRefs, expected: 0 },
        });
      }
    }
    for (const t of end.threads) {
      if (t.driverRefs > 0 && (t.state !== 'active' || unloaded)) {
        out.push({ invariant: this.id, message: `${t.driverRefs} reference(s) held on ${t.state} thread ${t.tid}`, evidence: { op: record.ops.length - 1, event: `end state: thread ${t.tid}`, actual: t.driverRefs, expected: 0 } });
      }
    }
    return out;
  },
};
