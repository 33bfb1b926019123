/**
 * Minifilters: the file-name information and the context references a filter takes must go back.
 */
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
