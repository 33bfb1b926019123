import { sourceSuffix } from '../model/ke/bugcheck.js';
import type { Invariant } from './types.js';

/** The run ends without a bug check and without a JavaScript exception out of driver code (reported as 0x1E). */
export const noBugCheck: Invariant = {
  id: 'no-bugcheck',
  needsOutput: false,
  statement: 'no bug check, and no exception out of a driver',
  source: 'WDK Bug Check Code Reference (0x50, 0xCE, 0x18, 0xD5, 0xD6, 0xC2, 0xC4, 0xD1, 0x7F, 0x1E …); Driver Verifier',
  check({ record }) {
    const b = record.bugCheck;
    if (b === null) return [];
    return [{
      invariant: this.id,
      message: `STOP 0x${b.code.toString(16).toUpperCase().padStart(8, '0')} ${b.name} during ${b.during}: ${b.reason}` +
        `${b.function !== undefined ? ` (in ${b.function}${sourceSuffix(b.stack)})` : ''}${b.check !== undefined ? ` [verifier: ${b.check}]` : ''}`,
      evidence: { op: b.op, ...(b.seq !== null ? { seq: b.seq } : {}), event: `bug check (${b.parameters.join(', ')})`, actual: b.exception },
    }];
  },
};
