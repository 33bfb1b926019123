import { describeCallback, type Invariant, type Violation } from './types.js';

/**
 * The logged image path is FullImageName's Length/2 characters: not one character (%s on UTF-16), not more
 * (reading past Length into an unterminated buffer), not cut ([DOC] ntdef UNICODE_STRING: Buffer need not be
 * NUL-terminated; DbgPrint %wZ).
 */
export const imagePathFull: Invariant = {
  id: 'image-path-full',
  needsOutput: true,
  statement: 'the logged image path is the full path: not one character, not read past the buffer\'s Length, not split with empty pieces',
  source: 'WDK: UNICODE_STRING (Length excludes any terminator; Buffer need not be NUL-terminated); DbgPrint %wZ',
  seedBug: 4,
  check({ record, logged }) {
    const out: Violation[] = [];
    record.callbacks.forEach((cb, i) => {
      if (cb.outcome !== 'returned' || cb.kind !== 'image') return;
      const want = cb.truth.imagePath ?? null;
      for (const e of logged[i]) {
        if (e.kind === 'image-load' && (e.emptyContinuations ?? 0) > 0) {
          out.push({
            invariant: this.id,
            message: `logged image path is followed by ${e.emptyContinuations} empty continuation line(s): the split loop runs a chunk too far`,
            evidence: { op: cb.op, seq: cb.seq, event: describeCallback(cb), line: e.line, expected: want, actual: e.imagePath ?? null },
          });
        }
        if (e.kind !== 'image-load' || e.imagePath === undefined || e.imagePath === want) continue;
        const got = e.imagePath;
        let how = 'differs';
        if (want !== null && got !== null) {
          if (got.length === 1 && want.startsWith(got)) how = 'is one character (a UTF-16 buffer printed as a narrow string)';
          else if (got.startsWith(want)) how = `runs ${got.length - want.length} characters past Length`;
          else if (want.startsWith(got)) how = `is cut after ${got.length} of ${want.length} characters`;
        }
        out.push({
          invariant: this.id,
          message: `logged image path ${how}`,
          evidence: { op: cb.op, seq: cb.seq, event: describeCallback(cb), line: e.line, expected: want, actual: got },
        });
      }
    });
    return out;
  },
};
