import { DBGPRINT_MAX_BYTES } from '../model/dbg/debugger.js';
import type { Invariant, Violation } from './types.js';

/** No DbgPrint call exceeds what one call transmits (512 bytes; the rest is lost) ([DOC] wdm/nf-wdm-dbgprint.md). */
export const dbgPrintLimit: Invariant = {
  id: 'dbgprint-limit',
  needsOutput: false,
  statement: `no DbgPrint call produces more than ${DBGPRINT_MAX_BYTES} bytes (the rest would be lost)`,
  source: 'WDK: DbgPrint — "Any single call to DbgPrint will only transmit 512 bytes"',
  check({ record }) {
    const out: Violation[] = [];
    const scan = (op: number, seq: number, prints: readonly { text: string; fullLength: number }[]): void => {
      for (const p of prints) {
        if (p.fullLength > DBGPRINT_MAX_BYTES) {
          out.push({ invariant: this.id, message: `a DbgPrint call produced ${p.fullLength} bytes; ${p.fullLength - DBGPRINT_MAX_BYTES} were lost`, evidence: { op, seq, line: p.text } });
        }
      }
    };
    for (const cb of record.callbacks) scan(cb.op, cb.seq, cb.prints);
    for (const ph of record.phases) scan(ph.op, ph.seq, ph.prints);
    return out;
  },
};
