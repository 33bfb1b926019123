import { statusFromRecord } from '../model/status.js';
import type { Invariant, Violation } from './types.js';

const POISON = '0xDFDFDFDF';

/**
 * A dispatch routine that does not pend an IRP completes it exactly once, returns the status it completed it with,
 * and does not touch it after IoCompleteRequest ([DOC] kernel/completing-irps.md: "the driver must not access the
 * IRP after calling IoCompleteRequest"; a dispatch routine returns the status it set in IoStatus.Status). One it pends
 * is marked pending first ([DOC] IoMarkIrpPending), and is completed once the I/O manager cancels it ([DOC]
 * Cancel routines: the exiting thread waits for it). A buffered request returns no more bytes than the caller's
 * output buffer holds: the I/O manager copies IoStatus.Information bytes of the system buffer back to it.
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
      if (irp.uncompletedAfterCancel === true) {
        out.push({
          invariant: this.id,
          message: `${irp.major}: pended, then cancelled by the I/O manager when its thread exited, and never completed: the thread's exit hangs (Windows waits five minutes) and the file, and so the driver, stay held`,
          evidence: { ...where, event: `${irp.major} cancelled at op ${irp.cancelledAtOp}` },
        });
      }
      // the copy back happens for a status that is not an error (success, information, warning)
      const completed = irp.completionStatus === undefined ? undefined : statusFromRecord(irp.completionStatus);
      if (irp.buffers?.method === 'METHOD_BUFFERED' && irp.information !== undefined && irp.information > irp.buffers.outputLength
        && completed !== undefined && completed < 0xc0000000) {
        out.push({
          invariant: this.id,
          message: `${irp.major}: completed with IoStatus.Information ${irp.information}, more than the caller's ${irp.buffers.outputLength}-byte output buffer: the I/O manager copies that many bytes of pool out to the caller`,
          evidence: { ...where, expected: `<= ${irp.buffers.outputLength}`, actual: irp.information },
        });
      }
      if (irp.returned === 'STATUS_PENDING') {
        if (irp.markedPending === false) {
          out.push({ invariant: this.id, message: `${irp.major}: the dispatch routine returned STATUS_PENDING without calling IoMarkIrpPending`, evidence: where });
        }
        continue;
      }
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
