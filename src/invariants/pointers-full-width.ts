import type { LoggedEvent } from '../model/driver-output.js';
import type { CallbackRecord } from '../model/record.js';
import { describeCallback, type Invariant, type Violation } from './types.js';

/**
 * Pointers and handles are logged at full width: %d/%x take 32 bits, so on x64 a pointer loses its upper half
 * (use %p, %Iu) ([DOC] DbgPrint format: Microsoft CRT size prefixes I, I64).
 */
export const pointersFullWidth: Invariant = {
  id: 'pointers-full-width',
  needsOutput: true,
  statement: 'logged pointers (EPROCESS address, image base) are the full pointer value, not its low 32 bits',
  source: 'Microsoft CRT format specification (%p, I/I64 prefixes); x64 pointers are 64-bit',
  seedBug: 7,
  check({ record, logged }) {
    const out: Violation[] = [];
    record.callbacks.forEach((cb, i) => {
      if (cb.outcome !== 'returned') return;
      for (const e of logged[i]) {
        compare(out, this.id, cb, e, 'EPROCESS address', e.address, cb.truth.eprocess);
        compare(out, this.id, cb, e, 'image base', e.base, cb.truth.imageBase);
      }
    });
    return out;
  },
};

/** One logged pointer against the one the kernel passed (no tuple per event: this runs on every event of every run). */
function compare(out: Violation[], invariant: string, cb: CallbackRecord, e: LoggedEvent, what: string, got: string | undefined, want: string | undefined): void {
  if (got === undefined || want === undefined || got === want) return;
  const low = '0x' + (BigInt(want) & 0xffffffffn).toString(16).toUpperCase();
  out.push({
    invariant,
    message: got === low ? `${what} truncated to its low 32 bits (${got} for ${want})` : `${what} logged as ${got}, expected ${want}`,
    evidence: { op: cb.op, seq: cb.seq, event: describeCallback(cb), line: e.line, expected: want, actual: got },
  });
}
