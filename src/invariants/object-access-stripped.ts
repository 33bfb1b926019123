import type { Invariant, Violation } from './types.js';

/**
 * A pre-operation object callback may only take access away: OB_PRE_CREATE_HANDLE_INFORMATION.DesiredAccess
 * "equals OriginalDesiredAccess, but the ObjectPreCallback routine can modify this value to restrict the access
 * that is granted" ([DOC] wdm/ns-wdm-_ob_pre_create_handle_information). A callback that adds bits (a protector
 * that ORs instead of ANDs NOT) is a bug: on Windows the extra rights are never granted, so its intent fails
 * silently — and on other builds the same code strips nothing.
 */
export const objectAccessStripped: Invariant = {
  id: 'object-access-stripped-only',
  statement: 'a pre-operation object callback only removes access bits from a handle request, never adds any',
  source: 'WDK: OB_PRE_CREATE_HANDLE_INFORMATION / OB_PRE_DUPLICATE_HANDLE_INFORMATION (DesiredAccess may only restrict)',
  needsOutput: false,
  check({ record }) {
    const out: Violation[] = [];
    for (const ph of record.phases) {
      const h = ph.handle;
      if (ph.phase !== 'ObjectCallback' || h === undefined || h.callback !== 'pre' || h.desiredAccessAfter === undefined || ph.outcome !== 'returned') continue;
      const before = Number.parseInt(h.desiredAccess, 16);
      const after = Number.parseInt(h.desiredAccessAfter, 16);
      const added = (after & ~before) >>> 0;
      if (added !== 0) {
        out.push({
          invariant: this.id,
          message: `${h.routine} added access 0x${added.toString(16).toUpperCase()} to a ${h.objectType} handle request (${h.desiredAccess} → ${h.desiredAccessAfter})`,
          evidence: { op: ph.op, seq: ph.seq, event: `${h.operation} of a ${h.objectType} handle by ${h.requester}`, expected: h.desiredAccess, actual: h.desiredAccessAfter },
        });
      }
    }
    return out;
  },
};
