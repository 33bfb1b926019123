/**
 * DbgPrint and DbgPrintEx: to Windows Server 2003 DbgPrint is unconditional; from Vista it is DbgPrintEx(DPFLTR_DEFAULT_ID,
 * DPFLTR_INFO_LEVEL, ...), and the debugger's print filter decides what is sent ([DOC] DbgPrint, DbgPrintEx, Reading and
 * Filtering Debugging Messages). A message sent is formatted (at most 512 bytes) into the frame's output; one held back
 * is recorded as a call. Unicode conversions are allowed at PASSIVE_LEVEL only.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { STATUS_SUCCESS, type NTSTATUS } from '../status.js';
import { irqlName, PASSIVE_LEVEL } from '../ke/irql.js';
import { requireExport } from '../mm/sysldr.js';
import type { DbgArg } from '../rtl/printf.js';
import { debugPrintSends, DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, formatDbgPrint } from './debugger.js';

/** DbgPrint's Unicode conversions, allowed at PASSIVE_LEVEL only ([DOC] DbgPrint remarks). */
const UNICODE_FORMAT = /%[-+ #0]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:wZ|ws|S|ls|C|lc|wc)/;

export type DbgPrintDdis = Pick<Ddi, 'DbgPrint' | 'DbgPrintEx'>;

export function dbgPrintDdis(b: DdiBinding): DbgPrintDdis {
  /** A message the debugger receives: formatted (at most 512 bytes) into the callback's output. */
  const print = (routine: string, format: string, args: DbgArg[]): NTSTATUS => {
    const v = b.v;
    if (v.enabled && v.irql > PASSIVE_LEVEL && UNICODE_FORMAT.test(format)) {
      v.violation(0xe5, 0, `${routine} with a Unicode conversion (${UNICODE_FORMAT.exec(format)?.[0] ?? ''}) at ${irqlName(v.irql)}: allowed at PASSIVE_LEVEL only`);
    }
    for (let i = 0; i < args.length; i++) v.checkValue(routine, i + 2, args[i]);
    const r = v.onBehalfOfDriver(() => formatDbgPrint(b.mem, format, args));
    const f = b.k.rec.frame;
    if (f !== null) f.prints.push(r); // its only fields, text then fullLength: the record's print as it is
    return STATUS_SUCCESS;
  };
  /** A message the filter holds back: recorded as a call, not as output (the debugger never sees it). */
  const filtered = (routine: string, format: string, componentId?: number, level?: number): NTSTATUS => {
    b.k.rec.log(routine, componentId === undefined ? [JSON.stringify(format)] : [String(componentId), String(level), JSON.stringify(format)], STATUS_SUCCESS, 'filtered');
    return STATUS_SUCCESS;
  };
  return {
    DbgPrint: (format: string, ...args: DbgArg[]) => {
      // to Windows Server 2003 unconditional; from Vista DbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, ...)
      if (b.k.ke.build.major >= 6 && !debugPrintSends(b.k.dbg.filter, DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL)) return filtered('DbgPrint', format);
      return print('DbgPrint', format, args);
    },
    DbgPrintEx: (componentId: number, level: number, format: string, ...args: DbgArg[]) => {
      requireExport(b.k.ke.build, 'DbgPrintEx');
      if (!debugPrintSends(b.k.dbg.filter, componentId, level)) return filtered('DbgPrintEx', format, componentId, level);
      return print('DbgPrintEx', format, args);
    },
  };
}
