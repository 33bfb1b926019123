/**
 * What the kernel debugger receives of DbgPrint and DbgPrintEx: the print filter that decides whether a message is
 * sent, and the 512 bytes a single call transmits at most — the rest is lost ([DOC] nf-wdm-dbgprint.md,
 * devtest/reading-and-filtering-debugging-messages).
 */
import type { KernelMemory } from '../mm/memory.js';
import { formatBounded, type DbgArg, type FormattedText } from '../rtl/printf.js';

export const DBGPRINT_MAX_BYTES = 512;

/** dpfilter.h: the component DbgPrint is on Vista+, and the levels ([DOC] reading-and-filtering-debugging-messages). */
export const DPFLTR_DEFAULT_ID = 101;
export const DPFLTR_INFO_LEVEL = 3;

/**
 * The kernel debugger's print filter: a message goes out when its importance ANDed with its component's mask or
 * with the system-wide WIN2000 mask is non-zero. Importance: `1 << Level` for Level 0-31, Level itself above
 * ([DOC] devtest/reading-and-filtering-debugging-messages).
 */
export interface DebugPrintFilter {
  /** Kd_WIN2000_Mask: applies to every component. */
  readonly win2000: number;
  /** Kd_<component>_Mask by DPFLTR_TYPE value; a component not listed has `others`. */
  readonly components: ReadonlyMap<number, number>;
  readonly others: number;
}

/**
 * CHOICE (the default): a driver developer's test machine, "Debug Print Filter" set to 0xFFFFFFFF for every
 * component — every message reaches the debugger, as the harness needs to read the driver's output.
 */
export const TEST_MACHINE_FILTER: DebugPrintFilter = { win2000: 0xffffffff, components: new Map(), others: 0xffffffff };
/** Windows out of the box: WIN2000 mask 0x1 (errors only), every component mask 0 ([DOC] same page). */
export const OUT_OF_BOX_FILTER: DebugPrintFilter = { win2000: 0x1, components: new Map(), others: 0 };

/** Whether DbgPrintEx(ComponentId, Level, ...) reaches the debugger under `filter`. */
export function debugPrintSends(filter: DebugPrintFilter, componentId: number, level: number): boolean {
  const l = level >>> 0;
  const importance = l <= 31 ? (1 << l) >>> 0 : l;
  const mask = filter.components.get(componentId >>> 0) ?? filter.others;
  return ((importance & mask) >>> 0) !== 0 || ((importance & filter.win2000) >>> 0) !== 0;
}

/** What the debugger receives (at most DBGPRINT_MAX_BYTES characters) and the length the message would have had. */
export type FormatResult = FormattedText;

/**
 * Formats one DbgPrint call. Reading a bad string pointer faults like the kernel would (BugCheck from memory);
 * a NULL string pointer prints "(null)" as the Microsoft CRT does.
 */
export function formatDbgPrint(mem: KernelMemory, format: string, args: readonly DbgArg[]): FormatResult {
  // only what the debugger receives is made: a width or precision the driver chose costs nothing past it
  return formatBounded(mem, format, args, false, DBGPRINT_MAX_BYTES);
}
