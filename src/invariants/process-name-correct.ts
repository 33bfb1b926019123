import { describeCallback, type Invariant, type Violation } from './types.js';

/**
 * A logged process name is the process's ImageFileName as this build stores it (the last path component,
 * at most 15 characters on 5.x/6.0, 14 from 6.1). A hard-coded EPROCESS offset is right on one build only.
 */
export const processNameCorrect: Invariant = {
  id: 'process-name-correct',
  needsOutput: true,
  statement: "the logged process name is the process's real image name for the build in use",
  source: 'EPROCESS.ImageFileName offsets per build ([GC] eprocess layouts; [DOC] debuggercmds/-processfields.md)',
  seedBug: 3,
  check({ record, logged }) {
    const out: Violation[] = [];
    record.callbacks.forEach((cb, i) => {
      if (cb.outcome !== 'returned' || cb.kind === 'image' || cb.truth.name === undefined) return;
      for (const e of logged[i]) {
        if (e.name === undefined || e.name === cb.truth.name) continue;
        out.push({
          invariant: this.id,
          message: `${e.kind} logged name ${JSON.stringify(e.name)}, expected ${JSON.stringify(cb.truth.name)} on ${record.build}`,
          evidence: { op: cb.op, seq: cb.seq, event: describeCallback(cb), line: e.line, expected: cb.truth.name, actual: e.name },
        });
      }
    });
    return out;
  },
};
