/**
 * Minifilters: the file-name information a filter takes must go back.
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
