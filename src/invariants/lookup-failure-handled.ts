import { describeCallback, expectedKind, lookupFailed, type Invariant, type Violation } from './types.js';

/**
 * After PsLookupProcessByProcessId fails, the output pointer is not set: the driver must not read through it,
 * and must still log the event it was notified of ([DOC] ntifs/nf-ntifs-pslookupprocessbyprocessid.md).
 */
/** The faulting address is the unset pointer or a field of the structure it would point to. */
function nearUnset(address: string, unset: string): boolean {
  const d = BigInt(address) - BigInt(unset);
  return d >= 0n && d < 0x1000n;
}

export const lookupFailureHandled: Invariant = {
  id: 'lookup-failure-handled',
  needsOutput: true,
  statement: 'a failed PsLookupProcessByProcessId never leads to a read through the unset pointer, and never silently drops the event',
  source: 'WDK: PsLookupProcessByProcessId (Process is set only on success; failure STATUS_INVALID_PARAMETER / STATUS_INVALID_CID)',
  seedBug: 2,
  check({ record, logged }) {
    const out: Violation[] = [];
    const bc = record.bugCheck;
    record.callbacks.forEach((cb, i) => {
      if (!lookupFailed(cb)) return;
      const event = describeCallback(cb);
      if (cb.outcome === 'bugcheck' && bc !== null && bc.seq === cb.seq && nearUnset(bc.parameters[0], record.uninitializedPointer)) {
        out.push({ invariant: this.id, message: `read through the unset output pointer ${record.uninitializedPointer} after the failed lookup (${bc.name})`, evidence: { op: cb.op, seq: cb.seq, event } });
        return;
      }
      if (cb.outcome === 'returned' && !logged[i].some((e) => e.kind === expectedKind(cb))) {
        out.push({ invariant: this.id, message: `the ${expectedKind(cb)} event was dropped after the lookup failed`, evidence: { op: cb.op, seq: cb.seq, event } });
      }
    });
    return out;
  },
};
