/**
 * psharness's Driver Verifier: what the driver may touch (the memory map in mm/memory.ts's shadow), the IRQL it runs
 * at, the locks it holds, and the values it reads from pool it never wrote. Each check is named; each names the
 * bug check Windows raises for it (or, where Windows would corrupt silently, stops the run as a verifier finding).
 * The catalogue with sources: docs/verifier.md.
 */
import {
  BugCheck,
  BUGCHECK_ATTEMPTED_WRITE_TO_READONLY_MEMORY,
  BUGCHECK_DRIVER_IRQL_NOT_LESS_OR_EQUAL,
  BUGCHECK_DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION,
  BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL,
  BUGCHECK_DPC_WATCHDOG_VIOLATION,
  BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION,
  BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA,
  BUGCHECK_PAGE_FAULT_BEYOND_END_OF_ALLOCATION,
  BUGCHECK_PAGE_FAULT_IN_FREED_SPECIAL_POOL,
  BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP,
  VerifierStop,
} from '../ke/bugcheck.js';
import type { EprocessLayout } from '../builds.js';
import { type IrqlRule, APC_LEVEL, DDI_IRQL, DISPATCH_LEVEL, HIGH_LEVEL, irqlName, PASSIVE_LEVEL } from '../ke/irql.js';
import { KernelMemory, Shadow } from '../mm/memory.js';
import { KLDR_DATA_TABLE_ENTRY, LOADER_ENTRY_TYPE } from '../mm/loader-entry.js';

/** The verifier's checks, as reports name them. */
export const CHECKS = {
  specialPool: 'special-pool',
  poolTracking: 'pool-tracking',
  memoryMap: 'memory-map',
  kernelMemory: 'kernel-memory-owned',
  uninitialised: 'uninitialized-use',
  stack: 'stack-overflow',
  irql: 'irql',
  locks: 'locks',
  watchdog: 'watchdog',
  deadlock: 'deadlock',
  io: 'io-verification',
} as const;

/** One thread of execution's share of the verifier's state (several CPUs: each has its own). */
export interface VerifierThreadState {
  readonly irql: number;
  readonly held: Map<number, HeldLock>;
  readonly depth: number;
  readonly uninitialised: Map<string, string>;
  readonly forKernel: boolean;
  readonly ddiCalls: number;
  readonly routine: string;
  readonly criticalRegions: number;
}

/** Units of a routine's own work (loop iterations and calls of a C driver) before the watchdog fires. */
export const WORK_BUDGET = 1_000_000;
/** DDI calls one routine invocation may make before the watchdog fires (the only count a TypeScript driver has). */
export const DDI_CALL_BUDGET = 100_000;

const EXCEPTION_DOUBLE_FAULT = 8;
const KIND = Shadow.KindMask;

interface HeldLock {
  readonly kind: 'spin lock' | 'fast mutex' | 'guarded mutex';
  readonly oldIrql: number;
  /** Depth of driver routine it was acquired in. */
  readonly depth: number;
}

export interface RoutineFrame {
  readonly irql: number;
  readonly depth: number;
  readonly name: string;
  /** KeEnterCriticalRegion nesting when the routine was entered. */
  readonly criticalRegions: number;
}

export interface VerifierHost {
  readonly mem: KernelMemory;
  readonly eprocess: EprocessLayout;
  readonly pointerSize: number;
}

/** The locks a routine returned holding, when it held none (the common case: no array per return). */
const NONE_HELD: readonly (readonly [number, HeldLock])[] = [];

export class Verifier {
  /** The current CPU's IRQL. */
  irql = PASSIVE_LEVEL;
  private held = new Map<number, HeldLock>();
  private depth = 0;
  /** Values read from uninitialised pool in the routine now running (key: value as decimal), with where from. */
  private uninitialised = new Map<string, string>();
  /** Several CPUs: told of a driver access to memory shared between them (the race detector's input). */
  sharedObserver: { sharedAccess(va: number, len: number, write: boolean): void } | null = null;

  saveThread(): VerifierThreadState {
    return {
      irql: this.irql, held: this.held, depth: this.depth, uninitialised: this.uninitialised, forKernel: this.forKernel,
      ddiCalls: this.ddiCalls, routine: this.routine, criticalRegions: this.criticalRegions,
    };
  }

  /** Switches to a thread's state; `null`: a new thread at PASSIVE_LEVEL holding nothing. */
  restoreThread(t: VerifierThreadState | null): void {
    this.irql = t?.irql ?? PASSIVE_LEVEL;
    this.held = t?.held ?? new Map();
    this.depth = t?.depth ?? 0;
    this.uninitialised = t?.uninitialised ?? new Map();
    this.forKernel = t?.forKernel ?? false;
    this.ddiCalls = t?.ddiCalls ?? 0;
    this.routine = t?.routine ?? 'driver';
    this.criticalRegions = t?.criticalRegions ?? 0;
  }

  /** Set while the kernel itself reads driver memory for a DDI (DbgPrint's strings): faults are the system's. */
  private forKernel = false;

  constructor(private readonly host: VerifierHost, readonly enabled: boolean) {
    host.mem.violation = (va, len, write) => this.access(va, len, write);
  }

  // ------------------------------------------------------------------ memory

  /** A driver access whose bytes the shadow flags (or that lies outside the address space). */
  access(va: number, len: number, write: boolean): void {
    const mem = this.host.mem;
    const rw = write ? 1 : 0;
    if (mem.offsetOf(va, len) < 0 || !Number.isFinite(va)) {
      const at = Number.isFinite(va) ? mem.firstUnmapped(Math.max(0, va), len) : 0;
      throw this.bugCheck(BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, [mem.canonical(at), rw, 0, 0],
        `${write ? 'write to' : 'read from'} unmapped address ${mem.format(at)}`, CHECKS.memoryMap);
    }
    if (this.sharedObserver !== null) {
      // several CPUs: the driver's shared data and pool (the hot path of a C driver's fibers build)
      let shared = 0;
      for (let i = 0; i < len; i++) {
        const s = mem.shadowAt(va + i);
        if (s === Shadow.Shared) shared++;
        else if ((s & KIND) === (Shadow.Shared & KIND) || (s & KIND) === (Shadow.Uninitialised & KIND)) shared = -len;
      }
      if (shared !== 0) this.sharedObserver.sharedAccess(va, len, write);
      if (shared === len) return; // all of it plain shared memory, not pageable: nothing else to check
    }
    let worst = 0;
    let at = va;
    for (let i = 0; i < len; i++) {
      const s = mem.shadowAt(va + i);
      const rank = RANK[(s & KIND) >> 2] ?? 0;
      if (rank > worst || (rank === worst && rank > 0 && i === 0)) {
        if (rank > worst) at = va + i;
        worst = rank;
      }
    }
    const kind = mem.shadowAt(at) & KIND;
    if (kind === (Shadow.Unmapped & KIND)) {
      const what = mem.offsetOf(at, 1) < 0x1000 ? 'the NULL page' : 'unallocated kernel address space';
      throw this.bugCheck(BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, [mem.canonical(at), rw, 0, 0],
        `${write ? 'write to' : 'read from'} ${mem.format(at)} in ${what}`, CHECKS.memoryMap);
    }
    if (!this.enabled) {
      // Without the verifier: what a machine without special pool or tracking would notice (freed pool faults).
      if (kind === (Shadow.Freed & KIND)) {
        throw this.bugCheck(BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, [mem.canonical(at), rw, 0, 0],
          `${write ? 'write to' : 'read from'} freed pool at ${mem.format(at)}`, CHECKS.specialPool);
      }
      if (write) mem.markWritten(va, len);
      return;
    }
    switch (kind) {
      case Shadow.StackGuard & KIND:
        throw this.bugCheck(BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP, [EXCEPTION_DOUBLE_FAULT, 0, 0, 0],
          `kernel stack overflow: ${write ? 'write to' : 'read from'} ${mem.format(at)}, in the guard page below the driver's stack`, CHECKS.stack);
      case Shadow.Freed & KIND:
        throw this.bugCheck(this.forKernel ? BUGCHECK_PAGE_FAULT_IN_FREED_SPECIAL_POOL : BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, [mem.canonical(at), rw, 0, 0],
          `${this.forKernel ? 'the kernel, for the driver: ' : ''}${write ? 'write to' : 'read from'} freed pool at ${mem.format(at)}${this.blockText(at)}`, CHECKS.specialPool);
      case Shadow.PoolGuard & KIND:
        throw this.bugCheck(this.forKernel ? BUGCHECK_PAGE_FAULT_BEYOND_END_OF_ALLOCATION : BUGCHECK_DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION, [mem.canonical(at), rw, 0, 0],
          `${this.forKernel ? 'the kernel, for the driver: ' : ''}${write ? 'write to' : 'read from'} ${mem.format(at)}, ${this.guardText(at)}`, CHECKS.specialPool);
      default:
        break;
    }
    if (write && kind === (Shadow.ImageReadOnly & KIND)) {
      throw this.bugCheck(BUGCHECK_ATTEMPTED_WRITE_TO_READONLY_MEMORY, [mem.canonical(at), 0, 0, 0],
        `write to ${mem.format(at)} in the driver image's read-only data (.rodata)`, CHECKS.memoryMap);
    }
    if (write && kind === (Shadow.Kernel & KIND)) {
      throw new VerifierStop(CHECKS.kernelMemory,
        `the driver wrote ${len} byte${len === 1 ? '' : 's'} at ${mem.format(at)}: ${this.describe(at)}, which it does not own`, mem.format(at));
    }
    if (this.irql >= DISPATCH_LEVEL) {
      for (let i = 0; i < len; i++) {
        if ((mem.shadowAt(va + i) & 0x80) !== 0) {
          throw this.bugCheck(BUGCHECK_DRIVER_IRQL_NOT_LESS_OR_EQUAL, [mem.canonical(va + i), this.irql, rw, 0],
            `${write ? 'write to' : 'read from'} paged pool at ${mem.format(va + i)}${this.blockText(va + i)} at ${irqlName(this.irql)}`, CHECKS.irql);
        }
      }
    }
    if (write) mem.markWritten(va, len);
    else if (len >= 2 && len <= 8 && mem.anyUninitialised(va, len)) this.noteUninitialised(va, len);
  }

  private noteUninitialised(va: number, len: number): void {
    const mem = this.host.mem;
    let v = 0n;
    for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(mem.u8(va + i));
    if (this.uninitialised.size >= 64) this.uninitialised.clear();
    this.uninitialised.set(v.toString(), `${len} bytes at ${mem.format(va)}${this.blockText(va)}`);
  }

  /**
   * A value the driver passes to a DDI (or prints): if it is exactly what it just read from pool it never wrote,
   * the verifier stops. Values are compared at full width, so arithmetic on them is not followed (docs/verifier.md).
   * `position`: the argument's, 1-based (put into words only for a report).
   */
  checkValue(ddi: string, position: number, value: number | bigint): void {
    if (!this.enabled || this.uninitialised.size === 0) return;
    const key = (typeof value === 'bigint' ? value : BigInt(value >= 0 && value < 2 ** 32 ? value >>> 0 : Math.trunc(value))).toString();
    const from = this.uninitialised.get(key);
    if (from === undefined) return;
    throw new VerifierStop(CHECKS.uninitialised,
      `${ddi} argument ${position} is 0x${BigInt(key).toString(16).toUpperCase()}, read from uninitialised pool (${from}): the allocation was never written there`);
  }

  /** The fields the verifier names in a kernel structure of this type: [name, offset, size]. */
  private fieldsOf(type: string | undefined): readonly (readonly [string, number, number])[] {
    const ps = this.host.pointerSize;
    if (type === LOADER_ENTRY_TYPE) return KLDR_DATA_TABLE_ENTRY[ps === 8 ? 8 : 4].fields;
    if (type !== 'EPROCESS') return [];
    const e = this.host.eprocess;
    return [
      ['UniqueProcessId', e.UniqueProcessId, ps], ['ActiveProcessLinks', e.ActiveProcessLinks, 2 * ps],
      ['InheritedFromUniqueProcessId', e.InheritedFromUniqueProcessId, ps], ['ImageFileName', e.ImageFileName, e.ImageFileNameSize],
    ];
  }

  /** Naming what lies at `va`: the structure and field, for reports. */
  describe(va: number): string {
    const mem = this.host.mem;
    const found = mem.blockAt(va);
    if (found === undefined) return 'kernel memory';
    const b = found.block;
    const off = va - b.va;
    let field = `+0x${off.toString(16).toUpperCase()}`;
    for (const [name, at, size] of this.fieldsOf(b.type)) if (off >= at && off < at + size) field = `${name} (+0x${at.toString(16).toUpperCase()})`;
    const owner = b.owner === 'kernel' ? '' : ` of ${b.owner}`;
    return `${b.type}${owner} at ${mem.format(b.va)}, field ${field}`;
  }

  private blockText(va: number): string {
    const f = this.host.mem.blockAt(va);
    if (f === undefined) return '';
    const b = f.block;
    return ` (pool block '${b.tag}' of ${b.owner}, ${b.size} bytes at ${this.host.mem.format(b.va)}${f.freed ? ', freed' : ''})`;
  }

  private guardText(va: number): string {
    const f = this.host.mem.blockAt(va);
    if (f === undefined) return 'in pool guard bytes';
    const b = f.block;
    const off = va - b.va;
    return off < 0
      ? `${-off} byte${off === -1 ? '' : 's'} before the start of pool block '${b.tag}' (${b.size} bytes at ${this.host.mem.format(b.va)})`
      : `offset ${off} of pool block '${b.tag}' (${b.size} bytes at ${this.host.mem.format(b.va)}): past its end`;
  }

  /** Runs `fn` as kernel code touching the driver's memory for it (special pool's 0xCC/0xCD instead of 0xD5/0xD6). */
  onBehalfOfDriver<T>(fn: () => T): T {
    const saved = this.forKernel;
    this.forKernel = true;
    try {
      return fn();
    } finally {
      this.forKernel = saved;
    }
  }

  // ------------------------------------------------------------------ IRQL and locks

  /** A DDI call: the routine's documented maximum IRQL. */
  checkIrql(ddi: string, override?: IrqlRule): void {
    if (!this.enabled) return;
    const rule = override ?? DDI_IRQL[ddi];
    if (rule === undefined || this.irql <= rule.max) return;
    if (rule.rule !== undefined) {
      throw this.bugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [rule.rule[0], 0, 0, 0],
        `${rule.rule[1]}: ${ddi} called at ${irqlName(this.irql)} (allowed up to ${irqlName(rule.max)})`, CHECKS.irql);
    }
    throw this.bugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0xe5, this.irql, 0, 0],
      `${ddi} called at ${irqlName(this.irql)} (allowed up to ${irqlName(rule.max)})`, CHECKS.irql);
  }

  /** DV 0xC4 with a Parameter 1 of the classic table (0x30-0x42). */
  violation(p1: number, p3: number | bigint, reason: string, p4: number | bigint = 0): never {
    throw this.bugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [p1, this.irql, p3, p4], reason, CHECKS.irql);
  }

  acquired(lock: number, kind: HeldLock['kind'], newIrql: number): number {
    const old = this.irql;
    this.held.set(lock, { kind, oldIrql: old, depth: this.depth });
    this.irql = newIrql;
    return old;
  }

  released(lock: number): HeldLock | undefined {
    const h = this.held.get(lock);
    this.held.delete(lock);
    return h;
  }

  isHeld(lock: number): boolean {
    return this.held.has(lock);
  }

  private ddiCalls = 0;
  private routine = 'driver';

  /** Entering a driver routine (callback, dispatch, DriverEntry, DriverUnload). */
  enter(name: string): RoutineFrame {
    this.uninitialised.clear();
    this.ddiCalls = 0;
    this.routine = name;
    return { irql: this.irql, depth: ++this.depth, name, criticalRegions: this.criticalRegions };
  }

  /** One DDI call of the routine now running (the watchdog's count for code it cannot instrument). */
  countDdiCall(): void {
    if (++this.ddiCalls > DDI_CALL_BUDGET) this.workExceeded(`${DDI_CALL_BUDGET.toLocaleString('en-US')} DDI calls`);
  }

  /**
   * A function of a PAGE or INIT section runs (code-sections.ts). INIT is freed once DriverEntry has returned
   * ([WRK] mm/sysload.c MiFindInitializationCode frees 'INIT'): its code is unmapped memory, 0x50 with P2 0x10
   * (execute) from Windows 10 1507 on; before it P2 says only read (0) or write (1) ([DOC] bug-check-0x50). PAGE code
   * at DISPATCH_LEVEL or above is 0xD1 with P3 8 (execute) when the verifier runs: Force IRQL Checking trims the
   * driver's pageable code whenever it raises the IRQL ([DOC] force-irql-checking), so the fault is certain; without
   * the verifier it depends on whether the page happens to be resident, and nothing is said.
   */
  executeSection(fn: string, kind: 'pageable' | 'discardable', section: string, address: () => bigint, initDiscarded: boolean, buildNumber: number): void {
    if (kind === 'discardable' && initDiscarded) {
      const at = address();
      throw this.named(fn, BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, [at, buildNumber >= 10240 ? 0x10 : 0, at, 0],
        `${fn} runs after DriverEntry returned, but it is in the ${section} section (#pragma alloc_text / code_seg), which the memory manager freed then: a routine called after initialisation must not be INIT code`, CHECKS.memoryMap);
    }
    if (kind === 'pageable' && this.enabled && this.irql >= DISPATCH_LEVEL) {
      const at = address();
      throw this.named(fn, BUGCHECK_DRIVER_IRQL_NOT_LESS_OR_EQUAL, [at, this.irql, 8, at],
        `${fn} runs at ${irqlName(this.irql)}, but it is in the pageable ${section} section (#pragma alloc_text / code_seg): Force IRQL Checking trimmed its page when the IRQL was raised`, CHECKS.irql);
    }
  }

  /**
   * The routine ran out of its work budget: Windows' DPC watchdog bug-checks a routine that runs too long at
   * DISPATCH_LEVEL (0x133, P1 0: a single DPC or ISR exceeded its time allotment); below DISPATCH_LEVEL nothing
   * stops it — the process or system thread that called it hangs — so the run stops as a verifier finding.
   * Deterministic: the budget counts the driver's own work, not time.
   */
  workExceeded(what = `${WORK_BUDGET.toLocaleString('en-US')} units of work (loop iterations and calls; an access the kernel checks costs 10)`): never {
    if (this.irql >= DISPATCH_LEVEL) {
      throw this.named(this.routine, BUGCHECK_DPC_WATCHDOG_VIOLATION, [0, 0, 0, 0],
        `${this.routine} ran past ${what} at ${irqlName(this.irql)}: the DPC watchdog`, CHECKS.watchdog);
    }
    throw new VerifierStop(CHECKS.watchdog, `${this.routine} did not return within ${what} at ${irqlName(this.irql)}: a hang`);
  }

  /** A driver routine returned: it must leave the IRQL as it found it, and hold no spin lock it took. */
  leave(frame: RoutineFrame): void {
    this.depth = frame.depth - 1;
    const mine = this.held.size === 0 ? NONE_HELD : [...this.held].filter(([, h]) => h.depth >= frame.depth);
    for (const [va] of mine) if (!this.enabled) this.held.delete(va);
    if (!this.enabled) {
      this.irql = frame.irql;
      this.criticalRegions = frame.criticalRegions;
      return;
    }
    if (this.criticalRegions !== frame.criticalRegions) {
      const left = this.criticalRegions - frame.criticalRegions;
      this.criticalRegions = frame.criticalRegions;
      throw this.named(frame.name, BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x00040003, 0, 0, 0],
        `CriticalRegions: ${frame.name} returned with ${left} KeEnterCriticalRegion call(s) not matched by KeLeaveCriticalRegion`, CHECKS.locks);
    }
    const spin = mine.find(([, h]) => h.kind === 'spin lock');
    if (spin !== undefined) {
      throw this.named(frame.name, BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x00040009, 0, 0, 0],
        `SpinLock: ${frame.name} returned holding spin lock ${this.host.mem.hex(spin[0])}`, CHECKS.locks);
    }
    if (this.irql !== frame.irql) {
      const mutex = mine.find(([, h]) => h.kind === 'fast mutex');
      throw this.named(frame.name, BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x0002001d, 0, 0, 0],
        `IrqlReturn: ${frame.name} was called at ${irqlName(frame.irql)} and returned at ${irqlName(this.irql)}` +
        (mutex !== undefined ? ` holding fast mutex ${this.host.mem.hex(mutex[0])}` : ''), CHECKS.locks);
    }
  }

  /** KeEnterCriticalRegion nesting of the thread now running (normal kernel APCs disabled while > 0). */
  criticalRegions = 0;

  enterCriticalRegion(): void {
    this.criticalRegions++;
  }

  /** CriticalRegions (0xC4, 0x00040003): a KeLeaveCriticalRegion without its KeEnterCriticalRegion. */
  leaveCriticalRegion(): void {
    if (this.criticalRegions === 0) {
      if (this.enabled) {
        throw this.bugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x00040003, 0, 0, 0],
          `CriticalRegions: KeLeaveCriticalRegion in ${this.routine} without a KeEnterCriticalRegion`, CHECKS.locks);
      }
      return;
    }
    this.criticalRegions--;
  }

  /** KeRaiseIrql / KeLowerIrql (0xC4 0x30 / 0x31). */
  raise(newIrql: number): number {
    if (this.enabled && (newIrql < this.irql || newIrql > HIGH_LEVEL)) {
      this.violation(0x30, newIrql, `KeRaiseIrql to ${irqlName(newIrql)} from ${irqlName(this.irql)}`);
    }
    const old = this.irql;
    this.irql = newIrql;
    return old;
  }

  lower(newIrql: number): void {
    if (this.enabled && (newIrql > this.irql || newIrql > HIGH_LEVEL)) {
      this.violation(0x31, newIrql, `KeLowerIrql to ${irqlName(newIrql)} from ${irqlName(this.irql)}`);
    }
    this.irql = newIrql;
  }

  private named(fn: string, code: number, params: (number | bigint)[], reason: string, check: string): BugCheck {
    const b = this.bugCheck(code, params, reason, check);
    b.function = fn;
    return b;
  }

  private bugCheck(code: number, params: (number | bigint)[], reason: string, check: string): BugCheck {
    return new BugCheck(code, params, reason, check);
  }
}

/** How bad each shadow kind is, to report the worst byte of an access. */
const RANK: readonly number[] = (() => {
  const r: number[] = [];
  r[(Shadow.Owned & KIND) >> 2] = 0;
  r[(Shadow.Shared & KIND) >> 2] = 0;
  r[(Shadow.Uninitialised & KIND) >> 2] = 1;
  r[(Shadow.Kernel & KIND) >> 2] = 2;
  r[(Shadow.ImageReadOnly & KIND) >> 2] = 3;
  r[(Shadow.PoolGuard & KIND) >> 2] = 5;
  r[(Shadow.Freed & KIND) >> 2] = 6;
  r[(Shadow.StackGuard & KIND) >> 2] = 7;
  r[(Shadow.Unmapped & KIND) >> 2] = 8;
  return r;
})();

export { APC_LEVEL, DISPATCH_LEVEL, PASSIVE_LEVEL };
