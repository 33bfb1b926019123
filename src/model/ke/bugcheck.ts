/**
 * A simulated bug check (KeBugCheckEx). Thrown by the kernel; the run ends there, as the machine would.
 * Codes and meanings from the WDK "Bug Check Code Reference".
 */
export const BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED = 0x1e;
export const BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS = 0x44;
export const BUGCHECK_DRIVER_VERIFIER_IOMANAGER_VIOLATION = 0xc9;
export const BUGCHECK_REFERENCE_BY_POINTER = 0x18;
export const BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA = 0x50;
export const BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION = 0xc4;
export const BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS = 0xce;
export const BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL = 0xd5;
export const BUGCHECK_DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION = 0xd6;
export const BUGCHECK_PAGE_FAULT_IN_FREED_SPECIAL_POOL = 0xcc;
export const BUGCHECK_DPC_WATCHDOG_VIOLATION = 0x133;
export const BUGCHECK_PAGE_FAULT_BEYOND_END_OF_ALLOCATION = 0xcd;
export const BUGCHECK_IRQL_NOT_LESS_OR_EQUAL = 0x0a;
export const BUGCHECK_DRIVER_IRQL_NOT_LESS_OR_EQUAL = 0xd1;
export const BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP = 0x7f;
export const BUGCHECK_ATTEMPTED_WRITE_TO_READONLY_MEMORY = 0xbe;
/** DRIVER_OVERRAN_STACK_BUFFER: a /GS security cookie changed ([DOC] bug-check-0xf7). */
export const BUGCHECK_DRIVER_OVERRAN_STACK_BUFFER = 0xf7;

const NAMES: ReadonlyMap<number, string> = new Map([
  [BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, 'KMODE_EXCEPTION_NOT_HANDLED'],
  [BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS, 'MULTIPLE_IRP_COMPLETE_REQUESTS'],
  [BUGCHECK_DRIVER_VERIFIER_IOMANAGER_VIOLATION, 'DRIVER_VERIFIER_IOMANAGER_VIOLATION'],
  [BUGCHECK_REFERENCE_BY_POINTER, 'REFERENCE_BY_POINTER'],
  [BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, 'PAGE_FAULT_IN_NONPAGED_AREA'],
  [BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, 'DRIVER_VERIFIER_DETECTED_VIOLATION'],
  [BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, 'DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS'],
  [BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, 'DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL'],
  [0xc2, 'BAD_POOL_CALLER'],
  [BUGCHECK_DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION, 'DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION'],
  [BUGCHECK_IRQL_NOT_LESS_OR_EQUAL, 'IRQL_NOT_LESS_OR_EQUAL'],
  [BUGCHECK_PAGE_FAULT_IN_FREED_SPECIAL_POOL, 'PAGE_FAULT_IN_FREED_SPECIAL_POOL'],
  [BUGCHECK_DPC_WATCHDOG_VIOLATION, 'DPC_WATCHDOG_VIOLATION'],
  [BUGCHECK_PAGE_FAULT_BEYOND_END_OF_ALLOCATION, 'PAGE_FAULT_BEYOND_END_OF_ALLOCATION'],
  [BUGCHECK_DRIVER_IRQL_NOT_LESS_OR_EQUAL, 'DRIVER_IRQL_NOT_LESS_OR_EQUAL'],
  [BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP, 'UNEXPECTED_KERNEL_MODE_TRAP'],
  [BUGCHECK_ATTEMPTED_WRITE_TO_READONLY_MEMORY, 'ATTEMPTED_WRITE_TO_READONLY_MEMORY'],
  [BUGCHECK_DRIVER_OVERRAN_STACK_BUFFER, 'DRIVER_OVERRAN_STACK_BUFFER'],
]);

export function bugCheckName(code: number): string {
  return NAMES.get(code) ?? `BUGCHECK_${code.toString(16).toUpperCase()}`;
}

/** One frame of a driver's stack at a fault, innermost first (driver/wasm/source-lines.ts names them). */
export interface SourceFrame {
  readonly function: string;
  /** The source file (relative to the driver's directory, or a shim header's path), when known. */
  readonly file?: string;
  readonly line?: number;
  /** A function the compiler inlined into the frame below it (WinDbg's "Inline Function" frame). */
  readonly inlined?: true;
}

export class BugCheck extends Error {
  /** The driver's stack at the fault, when the image can name it. */
  frames?: readonly SourceFrame[];
  readonly code: number;
  /** The four bug-check parameters, as hex strings (they may be 64-bit). */
  readonly parameters: readonly string[];
  readonly reason: string;
  /** The verifier check that raised it (docs/verifier.md), when one did. */
  check?: string;
  /** The driver function that faulted, when known. */
  function?: string;
  constructor(code: number, parameters: readonly (number | bigint)[], reason: string, check?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 40; // deep enough to reach the driver's own frame (rare: once per failing run)
    super(`STOP 0x${code.toString(16).toUpperCase().padStart(8, '0')} ${bugCheckName(code)}: ${reason}`);
    Error.stackTraceLimit = limit;
    this.name = 'BugCheck';
    this.code = code;
    this.reason = reason;
    const p = [...parameters];
    while (p.length < 4) p.push(0);
    this.parameters = p.slice(0, 4).map((v) => '0x' + v.toString(16).toUpperCase());
    if (check !== undefined) this.check = check;
  }
}

/**
 * A finding of psharness's verifier that Windows would not stop on at that instant (a store into an EPROCESS, an
 * uninitialised value logged): the run stops here all the same, so the report shows the first wrong step.
 */
export class VerifierStop extends Error {
  function?: string;
  /** The driver's stack at the stop, when the image can name it. */
  frames?: readonly SourceFrame[];
  constructor(readonly check: string, readonly reason: string, readonly address?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 40;
    super(`verifier: ${check}: ${reason}`);
    Error.stackTraceLimit = limit;
    this.name = 'VerifierStop';
  }
}

export const BUGCHECK_BAD_POOL_CALLER = 0xc2;

/**
 * The innermost WebAssembly function on a stack trace: the driver function that was running when the kernel
 * raised the bug check (V8 names wasm frames from the module's name section).
 */
export function faultingFunction(stack: string | undefined): string | undefined {
  if (stack === undefined) return undefined;
  for (const line of stack.split('\n')) {
    // a C++ frame's name is its demangled signature, spaces and parentheses included
    const m = /^\s*at (?:\$)?(.+?) \(wasm:\/\/[^)]*\)$/.exec(line);
    if (m === null) continue;
    const name = v8FunctionName(m[1]);
    if (name !== 'load_ptr' && name !== 'store_ptr') return name; // the verifier's own checks, where not inlined
  }
  return undefined;
}

/**
 * A function's name from a V8 stack frame, which prefixes the module's name (`driver.wasm.Foo`,
 * `driver.wasm.mon::OnProcess(void*, void*, unsigned char)`): the prefix ends at the last dot before the first `::`
 * or `(` (a C++ name has no dot before them), and a C++ signature is shortened as WinDbg shows it.
 */
export function v8FunctionName(raw: string): string {
  const cut = raw.search(/::|\(/);
  const head = cut < 0 ? raw : raw.slice(0, cut);
  return shortFunctionName(raw.slice(head.lastIndexOf('.') + 1));
}

/**
 * A C++ function as WinDbg names it in a stack: wasm-ld writes the demangled signature into the name section
 * (`mon::OnProcess(void*, void*, unsigned char)`); reports show the qualified name without its parameters and
 * qualifiers (`mon::OnProcess`, `AutoLock<FastMutex>::~AutoLock`, `operator new`). A C name is unchanged.
 */
export function shortFunctionName(name: string): string {
  let end = name.length;
  // trailing qualifiers: const, volatile, &, &&, noexcept
  for (;;) {
    const m = /\s*(?:const|volatile|noexcept|&&|&)$/.exec(name.slice(0, end));
    if (m === null || m[0].length === 0) break;
    end -= m[0].length;
  }
  if (name[end - 1] !== ')') return name;
  let depth = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (name[i] === ')') depth++;
    else if (name[i] === '(' && --depth === 0) return i > 0 ? name.slice(0, i) : name;
  }
  return name;
}

/** Thrown after a bug check to unwind the operation in progress; the machine is dead. */
export class KernelHalted extends Error {
  constructor() {
    // thrown once per halted run to unwind it (shrinking replays many): its stack would never be read
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('the kernel has bug-checked');
    Error.stackTraceLimit = limit;
    this.name = 'KernelHalted';
  }
}

/**
 * What each bug check this kernel raises means, and its four parameters, as the WDK's Bug Check Code Reference
 * gives them (learn.microsoft.com/windows-hardware/drivers/debugger/bug-check-code-reference2, one page per code):
 * what `!analyze -v` prints under the bug check's name.
 */
export const BUGCHECK_DOCS: ReadonlyMap<number, { readonly meaning: string; readonly args: readonly [string, string, string, string] }> = new Map([
  [BUGCHECK_IRQL_NOT_LESS_OR_EQUAL, { meaning: 'Kernel-mode code accessed paged memory at DISPATCH_LEVEL or above, or an invalid address.', args: ['memory referenced', 'IRQL at the time of the reference', 'bit 0: 0 read, 1 write; bit 3: execute', 'address that referenced the memory'] }],
  [BUGCHECK_REFERENCE_BY_POINTER, { meaning: 'An object\'s reference count went below zero: it was dereferenced more often than referenced.', args: ['object type of the object whose reference count is being lowered', 'object whose reference count is being lowered', 'reserved', 'reserved'] }],
  [BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, { meaning: 'A kernel-mode program generated an exception the error handler did not catch.', args: ['exception code that was not handled', 'address where the exception occurred', 'parameter 0 of the exception', 'parameter 1 of the exception'] }],
  [BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS, { meaning: 'A driver asked to complete an IRP that was already complete.', args: ['address of the IRP', 'reserved', 'reserved', 'reserved'] }],
  [BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, { meaning: 'Invalid system memory was referenced.', args: ['memory address referenced', 'read or write: 0 read, 1 or 2 write, 10 execute', 'address that referenced the memory, if known', 'type of page fault'] }],
  [BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP, { meaning: 'The CPU generated a trap the kernel did not catch (8: a double fault, typically a kernel stack overflow).', args: ['trap number', 'reserved', 'reserved', 'reserved'] }],
  [BUGCHECK_ATTEMPTED_WRITE_TO_READONLY_MEMORY, { meaning: 'A driver tried to write to read-only memory.', args: ['virtual address of the attempted write', 'PTE contents', 'reserved', 'reserved'] }],
  [BUGCHECK_BAD_POOL_CALLER, { meaning: 'The current thread made a bad pool request (a bad free, a wrong tag, a double free, a wrong IRQL).', args: ['type of violation', 'depends on parameter 1', 'depends on parameter 1', 'depends on parameter 1'] }],
  [BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, { meaning: 'Driver Verifier caught the driver breaking a rule (parameter 1 says which).', args: ['type of violation (the verifier\'s subcode)', 'depends on parameter 1', 'depends on parameter 1', 'depends on parameter 1'] }],
  [BUGCHECK_DRIVER_VERIFIER_IOMANAGER_VIOLATION, { meaning: 'Driver Verifier\'s I/O checks caught the driver mishandling an IRP.', args: ['type of violation', 'depends on parameter 1', 'depends on parameter 1', 'depends on parameter 1'] }],
  [BUGCHECK_PAGE_FAULT_IN_FREED_SPECIAL_POOL, { meaning: 'The system referenced memory that had been freed (special pool).', args: ['memory referenced', '0 read, 1 write', 'address that referenced the memory, if known', 'reserved'] }],
  [BUGCHECK_PAGE_FAULT_BEYOND_END_OF_ALLOCATION, { meaning: 'The system accessed memory beyond the end of a pool allocation (special pool).', args: ['memory referenced', '0 read, 1 write', 'address that referenced the memory, if known', 'reserved'] }],
  [BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, { meaning: 'A driver unloaded without cancelling timers, DPCs, worker threads or callbacks, and the system then called into its freed image.', args: ['memory referenced', '0 read, 1 write', 'address that referenced the memory, if nonzero', 'reserved'] }],
  [BUGCHECK_DRIVER_IRQL_NOT_LESS_OR_EQUAL, { meaning: 'A driver accessed paged memory at DISPATCH_LEVEL or above, or an invalid address.', args: ['memory referenced', 'IRQL at the time of the reference', '0 read, 1 write, 8 execute', 'address that referenced the memory'] }],
  [BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, { meaning: 'A driver referenced memory it had freed (special pool).', args: ['memory referenced', '0 read, 1 write', 'address that referenced the memory, if known', 'reserved'] }],
  [BUGCHECK_DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION, { meaning: 'A driver accessed memory beyond the end of its pool allocation (special pool).', args: ['memory referenced', '0 read, 1 write', 'address that referenced the memory, if known', 'reserved'] }],
  [BUGCHECK_DRIVER_OVERRAN_STACK_BUFFER, { meaning: 'A driver overran a stack-based buffer: its /GS security cookie changed.', args: ['actual security check cookie from the stack', 'expected security check cookie', 'bit-complement of the expected cookie', '0'] }],
  [BUGCHECK_DPC_WATCHDOG_VIOLATION, { meaning: 'The DPC watchdog detected a DPC, ISR or code at DISPATCH_LEVEL running too long.', args: ['0: one DPC or ISR ran past its time; 1: the system spent too long at DISPATCH_LEVEL', 'time count (ticks)', 'time allotment (ticks)', 'reserved'] }],
]);

/** `at vfmon.c:43` for a fault whose innermost frame has a source line; empty otherwise. */
export function sourceSuffix(frames: readonly SourceFrame[] | undefined): string {
  const f = frames?.[0];
  return f?.file !== undefined && f.line !== undefined ? ` at ${f.file}:${f.line}` : '';
}

/** The failure bucket `!analyze` files a bug check under: `0xD5_vfmon!OnProcess` (`_VRF` for a verifier's). */
export function failureBucket(code: number | string, image: string, fn: string | undefined): string {
  const head = typeof code === 'number' ? `0x${code.toString(16).toUpperCase()}` : `VRF_${code}`;
  return `${head}_${image}!${fn ?? 'unknown'}`;
}

/** 0xCE at DriverUnload's return: the reason, naming the routine of the image still running on another CPU. */
export function unloadedUnderReason(routine: string, op: number, cpu: number): string {
  return `DriverUnload returned while ${routine} (operation ${op}) was still running on CPU ${cpu}: the image was unloaded under it`;
}

/** The routine an unloadedUnderReason names (the invariants group the bug check with what left it running). */
export function routineUnloadedUnder(reason: string): string | undefined {
  return /^DriverUnload returned while (.+) \(operation \d+\) was still running on CPU \d+: the image was unloaded under it$/.exec(reason)?.[1];
}
