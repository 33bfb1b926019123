/**
 * Minifilters: the file-name information and the context references a filter takes must go back.
 */
import type { FileGuard } from '../model/driver-output.js';
import type { FileOpRecord } from '../model/record.js';
import { heldAtUnloadByRoutine, type Invariant, type Violation } from './types.js';

/**
 * FltGetFileNameInformation returns a referenced FLT_FILE_NAME_INFORMATION, and "the caller must release the returned
 * structure by calling FltReleaseFileNameInformation when it is no longer needed" ([DOC]
 * fltkernel/nf-fltkernel-fltgetfilenameinformation); FltReferenceFileNameInformation adds a reference the same way.
 * A reference still held when the driver's unload finished can never be released: paged pool lost for good, once per
 * file operation on Windows (the Filter Verifier reports it at unload). References held while the driver stays loaded
 * are not judged (a filter may cache names until it unloads).
 */
export const fltFileNamesReleased: Invariant = {
  id: 'flt-file-names-released',
  statement: 'every FLT_FILE_NAME_INFORMATION reference the driver takes is released with FltReleaseFileNameInformation before it unloads',
  source: 'WDK: FltGetFileNameInformation ("must release the returned structure by calling FltReleaseFileNameInformation"), FltReferenceFileNameInformation',
  needsOutput: false,
  check({ record }) {
    return heldAtUnloadByRoutine(record.end?.fileNameInfos ?? []).map(([routine, names]): Violation => ({
      invariant: this.id,
      message: `${routine} took ${names.reduce((t, n) => t + n.refs, 0)} file-name information reference(s) with FltGetFileNameInformation and never released them (first: ${names[0].file}, op ${names[0].op}); the driver unloaded holding them`,
      evidence: { op: names[0].op, ...(names[0].seq !== undefined ? { seq: names[0].seq } : {}), event: `FltGetFileNameInformation for ${names[0].file}`, expected: 'FltReleaseFileNameInformation', actual: `${names.length} unreleased at unload` },
      symptom: routine,
    }));
  },
};

/**
 * "Every successful call to FltAllocateContext, FltGetXxxContext, or FltReferenceContext must eventually be matched by
 * a call to FltReleaseContext", and so must a set's OldContext ([DOC] fltkernel/nf-fltkernel-fltreleasecontext;
 * ifs/referencing-contexts). A reference held when the unload finished keeps the context forever; on Windows the
 * filter's FltUnregisterFilter waits for it and the driver never unloads (microsoft/Windows-driver-samples#1360).
 */
export const fltContextsReleased: Invariant = {
  id: 'flt-contexts-released',
  statement: 'every minifilter context reference the driver takes (allocate, get, reference, a set\'s OldContext) is released with FltReleaseContext before it unloads',
  source: 'WDK: FltReleaseContext ("every successful call to FltAllocateContext, FltGetXxxContext, or FltReferenceContext must eventually be matched"), Referencing Contexts',
  needsOutput: false,
  check({ record }) {
    return heldAtUnloadByRoutine(record.end?.fltContexts ?? []).map(([routine, refs]): Violation => ({
      invariant: this.id,
      message: `${routine} took ${refs.length} ${refs[0].context} context reference(s) and never released them (first: op ${refs[0].op}); the driver unloaded holding them (on Windows FltUnregisterFilter waits for them and never returns)`,
      evidence: { op: refs[0].op, ...(refs[0].seq !== undefined ? { seq: refs[0].seq } : {}), event: `a ${refs[0].context} context reference taken in ${routine}`, expected: 'FltReleaseContext', actual: `${refs.length} unreleased at unload` },
      symptom: routine,
    }));
  },
};

/** The file operations that change a file: a create (FILE_CREATE), a write, a rename, a delete. */
const FILE_WRITES: ReadonlySet<string> = new Set(['Create', 'Write', 'Rename', 'Delete']);

/** A guard's path for this driver, in capitals (file names are case-insensitive). */
function guardedFile(g: FileGuard, driver: string): string {
  return g.path.replace(/%SERVICE%/gi, driver).toUpperCase();
}

/** The guard an operation falls under as a change its caller may not make, if any. */
function forbiddingFile(op: FileOpRecord, guards: readonly FileGuard[], driver: string): FileGuard | undefined {
  if (!FILE_WRITES.has(op.operation)) return undefined;
  const path = op.file.toUpperCase();
  return guards.find((g) => {
    const guarded = guardedFile(g, driver);
    if (path !== guarded && !path.startsWith(guarded.endsWith('\\') ? guarded : `${guarded}\\`)) return false;
    return !g.writers.some((w) => (w === 'System' ? op.process === 'System' : w.toLowerCase() === op.process.toLowerCase()));
  });
}

/**
 * A file guard's contract, as its log spec declares it (`files.guards`): a change to a guarded file (created, written,
 * renamed or deleted) by a caller that is not one of its writers fails, and no other operation fails because of the
 * driver — a pre-operation that completes an operation with an error fails it for its caller ([DOC]
 * ifs/completing-an-i-o-operation-in-a-preoperation-callback-routine), so a guard that blocks the wrong caller (a
 * kernel-mode writer, a reader) breaks that caller on Windows, and one that misses a change lets the tampering through.
 */
export const fileGuardExact: Invariant = {
  id: 'file-guard-exact',
  statement: 'changes to a guarded file by callers that are not its writers fail, and the driver blocks no other file operation',
  source: 'WDK: Completing an I/O Operation in a Preoperation Callback Routine (FLT_PREOP_COMPLETE); the log spec\'s files.guards',
  needsOutput: false,
  check({ record, fileGuards }) {
    if (fileGuards === undefined || record.files === undefined) return [];
    const out: Violation[] = [];
    for (const op of record.files) {
      // a filter not running (unloaded, or not started) guards nothing: Windows lets the change through
      if (!op.filtered) continue;
      const guard = forbiddingFile(op, fileGuards, record.driver);
      const what = `${op.operation} of ${op.file} by ${op.process} (pid ${op.pid})`;
      const blockedWithError = op.blocked !== undefined && op.status !== 'STATUS_SUCCESS';
      if (guard !== undefined && !blockedWithError && op.status === 'STATUS_SUCCESS') {
        out.push({
          invariant: this.id,
          message: `${what} went through: ${guardedFile(guard, record.driver)} is guarded, and ${op.process} is not one of its writers (${guard.writers.join(', ')})`,
          evidence: { op: op.op, event: what, expected: 'an error status', actual: op.status },
          symptom: 'a guarded change went through',
        });
      } else if (guard === undefined && blockedWithError && op.blocked !== undefined) {
        out.push({
          invariant: this.id,
          message: `${op.blocked.routine} blocked ${what} with ${op.blocked.returned} at ${op.blocked.major}: the guard covers no such operation`,
          evidence: { op: op.op, event: what, expected: 'the file system\'s own outcome', actual: op.status },
          symptom: 'an operation the guard does not cover was blocked',
        });
      }
    }
    return out;
  },
};
