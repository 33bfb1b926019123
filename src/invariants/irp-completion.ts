import type { Invariant, Violation } from './types.js';

const POISON = '0xDFDFDFDF';

/**
 * A dispatch routine that does not pend an IRP completes it exactly once, returns the status it completed it with,
 * and does not touch it after IoCompleteRequest ([DOC] kernel/completing-irps.md: "the driver must not access the
 * IRP after calling IoCompleteRequest"; a dispatch routine returns the status it set in IoStatus.Status).
 */
export const irpCompletion: Invariant = {
  id: 'irp-completion',
  statement: 'every IRP the driver handles is completed exactly once, and its dispatch routine returns the status it completed it with, without touching the IRP afterwards',
  source: 'WDK: Completing IRPs (IoCompleteRequest; do not access the IRP after completing it); bug check 0x44',
  needsOutput: false,
  check({ record }) {
    const out: Violation[] = [];
    for (const ph of record.phases) {
      const irp = ph.irp;
      if (ph.phase !== 'Dispatch' || irp === undefined || ph.outcome !== 'returned') continue;
      const where = { op: ph.op, seq: ph.seq, event: `${irp.major} sent to the driver's device` };
      if (irp.returned === 'STATUS_PENDING') continue; // completion later is not modelled
      if (irp.completions === 0) {
        out.push({ invariant: this.id, message: `${irp.major}: the dispatch routine returned ${irp.returned} without completing the IRP (the requester waits forever)`, evidence: where });
      } else if (irp.returned !== irp.completionStatus) {
        const touched = irp.returned === POISON;
        out.push({
          invariant: this.id,
          message: touched
            ? `${irp.major}: the dispatch routine returned ${POISON}, read from the IRP after IoCompleteRequest (it was completed with ${irp.completionStatus})`
            : `${irp.major}: the dispatch routine returned ${irp.returned} but completed the IRP with ${irp.completionStatus}`,
          evidence: { ...where, expected: irp.completionStatus, actual: irp.returned },
        });
      }
    }
    return out;
  },
};
