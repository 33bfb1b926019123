/**
 * An invariant: a pure function from an observed run to violations, with a stable id, a one-line statement and
 * the documented rule it comes from. Evidence points at the kernel event and the output line.
 */
import type { DeviceDeclaration, DriverDeclarations, FileGuard, LoggedEvent, LoggedKind, RegistryGuard } from '../model/driver-output.js';
import { isOperationKind, linesOf } from '../model/driver-output.js';
import { reachabilityOf } from './reachability.js';
import { BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, routineUnloadedUnder } from '../model/ke/bugcheck.js';
import type { CallbackRecord, DdiCallRecord, PhaseRecord, RunRecord } from '../model/record.js';

export interface Evidence {
  /** Scenario op index (-1 = the boot-time driver load). */
  readonly op: number;
  /** seq of the callback or phase. */
  readonly seq?: number;
  /** The kernel event, in words. */
  readonly event?: string;
  /** The output line(s) concerned. */
  readonly line?: string;
  readonly expected?: unknown;
  readonly actual?: unknown;
}

export interface Violation {
  readonly invariant: string;
  readonly message: string;
  readonly evidence: Evidence;
  /**
   * What kind of failure this is, where the message names particulars (an event's kind and PID) that differ between
   * runs of one bug: the finding's signature then groups by it (one root cause, one finding).
   */
  readonly symptom?: string;
}

/** A run as the invariants see it: the record, and the driver's log read back per callback. */
export interface Observation {
  readonly record: RunRecord;
  /** logged[i] = events the driver logged during record.callbacks[i]. */
  readonly logged: readonly LoggedEvent[][];
  /** What the driver declares it monitors (DriverDeclarations.monitors), when it does. */
  readonly declared?: Pick<Required<DriverDeclarations>, 'monitors' | 'notMonitoring'>;
  /** The device the driver declares (DriverDeclarations.device), when it does. */
  readonly device?: DeviceDeclaration;
  /** The registry keys the driver declares it guards (DriverDeclarations.registryGuards), when it does. */
  readonly registryGuards?: readonly RegistryGuard[];
  /** The files the driver declares it guards (DriverDeclarations.fileGuards), when it does. */
  readonly fileGuards?: readonly FileGuard[];
  /**
   * Callbacks (indices into record.callbacks) whose output DbgPrint cut at 512 bytes: the cut is dbgprint-limit's
   * one finding; their lines (the newline lost, the next print run into the line, as the debugger shows it) are
   * not read as events, and no other invariant judges them.
   */
  readonly cut?: ReadonlySet<number>;
  /**
   * A driver whose log spec has registry or file operation kinds: what each registry callback and minifilter routine
   * logged (its phase's seq and op, and the events read from its lines), phases cut by DbgPrint's limit left out.
   */
  readonly operationsLogged?: readonly OperationsLogged[];
}

export interface OperationsLogged {
  readonly seq: number;
  readonly op: number;
  readonly events: readonly LoggedEvent[];
  /** A DbgPrint call of the phase was cut (dbgprint-limit's finding): its lines are not read. */
  readonly cut?: true;
}

export interface Invariant {
  readonly id: string;
  readonly statement: string;
  /** The documented rule it comes from. */
  readonly source: string;
  /** Which seed bug (DESIGN.md numbering) it is meant to catch, if any. */
  readonly seedBug?: number;
  /** True when it reads the driver's log (so it needs the driver's output parser). */
  readonly needsOutput: boolean;
  check(run: Observation): Violation[];
}

/** Invariants about how the run stopped: their signature carries the bug check code and the faulting function. */
export const HALTS: ReadonlySet<string> = new Set(['no-bugcheck', 'kernel-memory-owned', 'uninitialized-use', 'routine-returns']);

/** The operations a halt cut short: the one that halted, and those still in flight on other CPUs. */
export function cutShortOps(record: RunRecord): Set<number> {
  return new Set(record.ops.filter((o) => o.outcome === 'unfinished' || o.outcome === 'halted').map((o) => o.index));
}

/**
 * The driver action behind a reference finding: the routine that took a reference it did not drop. A leak in a
 * callback (references-balanced) and the object it leaves alive at the end (references-released: a zombie, an
 * active process, an unloaded driver's reference) are one bug, whichever invariant saw it first.
 */
function leakSite(v: Violation, record: RunRecord): string | undefined {
  const leaked = (c: CallbackRecord): boolean => c.refsTaken > c.refsDropped;
  if (v.invariant === 'references-balanced') {
    const cb = record.callbacks.find((c) => c.seq === v.evidence.seq);
    return cb !== undefined && leaked(cb) ? `${cb.kind} routine ${cb.routine}` : undefined;
  }
  if (v.invariant === 'references-released') {
    const m = /^end state: (process|thread) (\d+)/.exec(v.evidence.event ?? '');
    if (m === null) return undefined;
    const id = Number(m[2]);
    const on = record.callbacks.find((c) => leaked(c) && (m[1] === 'process' ? c.truth.pid === id : c.truth.tid === id));
    const cb = on ?? record.callbacks.find(leaked);
    return cb === undefined ? undefined : `${cb.kind} routine ${cb.routine}`;
  }
  return undefined;
}

/** A registration as the residue names it, without its slot: `process notify OnProcess`, `object callbacks at altitude 321000`. */
function registrationKey(r: string): string {
  return r.replace(/\s*\(slot \d+\)$/, '');
}

/**
 * The failure path of a failed DriverEntry: the call whose failure it returned on (the last that failed), or the
 * status it chose itself. Each such path that does not undo what came before is one omission in the code.
 */
function failurePath(phase: PhaseRecord): string {
  const failed = phase.ddi.filter((d) => (d.status !== undefined && d.status !== 'STATUS_SUCCESS') || d.result?.startsWith('NULL') === true).pop();
  return failed === undefined ? `the failed DriverEntry (${phase.status ?? '?'})` : `the failed DriverEntry's path after ${failed.name} fails`;
}

/**
 * The driver action behind a registration left in place (the whole signature). DriverUnload that does not remove a routine: the residue
 * (unload-clean, one violation per routine) and the bug check 0xCE when the kernel later calls the routine in the
 * freed image (no-bugcheck) are one bug; so is the 0xCE of a call of that routine still running on another CPU when
 * DriverUnload returned (its removal would have waited for it: [WRK] ps/psnotify.c ExWaitForCallBacks). A failed DriverEntry's failure path that undoes nothing: its residue
 * (failed-entry-clean, everything the path left) and a 0xCE through any routine it left are one bug.
 */
function unregisterSite(v: Violation, record: RunRecord): string | undefined {
  const by = (phase: PhaseRecord, key: string): string => (phase.phase === 'DriverEntry' ? `rollback|-|-|${failurePath(phase)} does not undo what came before` : `unregister|-|-|${key} is left registered by DriverUnload`);
  if (v.invariant === 'failed-entry-clean') {
    const phase = record.phases.find((p) => p.seq === v.evidence.seq);
    return phase === undefined ? undefined : by(phase, '');
  }
  if (v.invariant === 'unload-clean') {
    const phase = record.phases.find((p) => p.seq === v.evidence.seq);
    const [left]: unknown[] = Array.isArray(v.evidence.actual) ? v.evidence.actual : [];
    if (phase?.residue === undefined || typeof left !== 'string' || !phase.residue.registrations.includes(left)) return undefined;
    return by(phase, registrationKey(left));
  }
  const b = record.bugCheck;
  // any bug check in a registry callback the unload left running or registered (freed pool, the freed image)
  const registryLeft = v.invariant === 'no-bugcheck' && b !== null && b.seq !== null ? registryCallbackLeftUnder(record, b.seq) : undefined;
  if (registryLeft !== undefined) return by(registryLeft.unload, registryLeft.key);
  if (v.invariant !== 'no-bugcheck' || b === null || b.code !== BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS) return undefined;
  if (b.during === 'DriverUnload') {
    // a routine DriverUnload left registered was running when it returned: the registration left is the bug
    const running = routineUnloadedUnder(b.reason);
    const unload = record.phases.filter((p) => p.phase === 'DriverUnload' && p.residue !== undefined).pop();
    const key = unload?.residue?.registrations.map(registrationKey).find((r) => running !== undefined
      && (r.endsWith(` notify ${running}`) || r.startsWith(`registry callback ${running} `) || ((running === 'FltCallback' || running === 'FltPortCallback') && r.startsWith('minifilter at altitude '))));
    return unload === undefined || key === undefined ? undefined : by(unload, key);
  }
  if (b.seq === null) return undefined;
  const cb = b.during === 'callback' ? record.callbacks.find((c) => c.seq === b.seq) : undefined;
  const altitude = b.during === 'ObjectCallback' ? record.phases.find((p) => p.seq === b.seq)?.handle?.altitude : undefined;
  const registry = b.during === 'RegistryCallback' ? record.phases.find((p) => p.seq === b.seq)?.registry : undefined;
  const key = cb !== undefined ? `${cb.kind} notify ${cb.routine}` : altitude !== undefined ? `object callbacks at altitude ${altitude}`
    : registry !== undefined ? `registry callback ${registry.routine} at altitude ${registry.altitude}` : undefined;
  if (key === undefined) return undefined;
  // the last teardown before the call that left this registration in place
  const left = record.phases.filter((p) => p.seq < (b.seq as number) && p.residue?.registrations.some((r) => registrationKey(r) === key) === true).pop();
  return left === undefined ? undefined : by(left, key);
}

/**
 * A halt in a registry callback that was running while a DriverUnload that never called CmUnRegisterCallback ran
 * (or after it): the unload freed what the callback uses, and nothing waited for it — CmUnRegisterCallback would
 * have. The registration left is the bug, whatever the callback then touched.
 */
function registryCallbackLeftUnder(record: RunRecord, seq: number): { unload: PhaseRecord; key: string } | undefined {
  const phase = record.phases.find((p) => p.seq === seq);
  const r = phase?.phase === 'RegistryCallback' ? phase.registry : undefined;
  const f = phase?.phase === 'FltCallback' ? phase.flt : phase?.phase === 'FltPortCallback' ? phase.port : undefined;
  if (r === undefined && f === undefined) return undefined;
  if (r !== undefined) {
    const unload = record.phases.filter((p) => p.phase === 'DriverUnload' && p.seq < seq).pop();
    if (unload === undefined || unload.ddi.some((d) => d.name === 'CmUnRegisterCallback')) return undefined;
    return { unload, key: `registry callback ${r.routine} at altitude ${r.altitude}` };
  }
  // a minifilter: the last unload that finished and left its filter registered (not one still running, or refused)
  const key = `minifilter at altitude ${(f as { altitude: string }).altitude}`;
  const unload = record.phases.filter((p) => p.phase === 'DriverUnload' && p.seq < seq && p.residue?.registrations.includes(key) === true).pop();
  return unload === undefined ? undefined : { unload, key };
}

/**
 * What the driver still held when an unload finished (`unload` set), grouped by the routine that took it, in the
 * order first taken: one finding per routine that never gives back what it takes.
 */
export function heldAtUnloadByRoutine<T extends { readonly routine: string; readonly unload?: number }>(items: readonly T[]): [string, T[]][] {
  const byRoutine = new Map<string, T[]>();
  for (const n of items) if (n.unload !== undefined) byRoutine.set(n.routine, [...(byRoutine.get(n.routine) ?? []), n]);
  return [...byRoutine];
}

/** A lock as the race detector names it, `0x1A480 (proctable!gTableLock)`: its variable, else its address. */
function lockKey(text: string): string {
  return /\(([^()]+![^()]+)\)/.exec(text)?.[1] ?? text;
}

/**
 * The driver action behind a lock-order finding: two locks taken in both orders. The inversion seen in any pair of
 * routines (lock-order-consistent) and the deadlock it causes when their timing meets (no-deadlock, a wait cycle
 * through the same two locks) are one bug, named by the locks — their variables when the driver's debug
 * information names them, so the signature is the same on every build.
 */
function lockOrderSite(v: Violation, record: RunRecord): string | undefined {
  let locks: string[] = [];
  if (v.invariant === 'lock-order-consistent') {
    const l = record.concurrency?.lockOrder.find((x) => x.second.op === v.evidence.op);
    if (l === undefined) return undefined;
    locks = [...l.first.locks].map(lockKey);
  } else if (v.invariant === 'no-deadlock') {
    // the wait cycle's locks, by name: only a cycle through two named locks is an order inversion
    locks = [...v.message.matchAll(/\(([^()\s]+![^()\s]+)\)/g)].map((m) => m[1]);
  } else return undefined;
  const pair = [...new Set(locks)].sort();
  return pair.length === 2 ? `lock-order|-|-|${pair[0]} and ${pair[1]} are acquired in both orders` : undefined;
}

/**
 * A finding's stable signature: the invariant; for the invariants about a halt, the bug check code and the
 * faulting function; and the message with what varies between scenarios taken out (numbers, addresses, quoted names,
 * parenthesised detail, status, IRP major and build names), and '|defensive' when the run needed a failure Windows
 * does not produce (reachability.ts). Two findings with one signature are one bug; a campaign reports every distinct
 * signature once.
 */
export function signatureOf(v: Violation, record: RunRecord): string {
  // a symptom Windows cannot produce is its own finding: it must not hide the same symptom reached for real
  const symptom = symptomOf(v, record);
  return reachabilityOf(record).reachability === 'defensive' ? `${symptom}${DEFENSIVE_MARK}` : symptom;
}

/** The mark a defensive-only finding's signature ends with. */
export const DEFENSIVE_MARK = '|defensive';

/** A signature without its defensive mark: the symptom, however it was reached. */
export function baseSignature(signature: string): string {
  return signature.endsWith(DEFENSIVE_MARK) ? signature.slice(0, -DEFENSIVE_MARK.length) : signature;
}

/**
 * An operation a minifilter pended and never resumed: on one CPU its caller waits forever (routine-returns), on
 * several the wait is a deadlock once nothing else runs (no-deadlock). One bug, named by the pre- or post-operation.
 */
function pendedSite(v: Violation): string | undefined {
  const m = v.invariant === 'routine-returns' ? /^(\S+) returned (FLT_PREOP_PENDING|FLT_POSTOP_MORE_PROCESSING_REQUIRED) and nothing called FltCompletePended(?:Pre|Post)Operation/.exec(v.message)
    : v.invariant === 'no-deadlock' ? /waits for the \S+ (\S+) pended \(FltCompletePended(Pre|Post)Operation\)/.exec(v.message) : null;
  if (m === null || m === undefined) return undefined;
  const returned = m[2] === 'Pre' ? 'FLT_PREOP_PENDING' : m[2] === 'Post' ? 'FLT_POSTOP_MORE_PROCESSING_REQUIRED' : m[2];
  return `pended|-|-|${m[1]} returns ${returned} and nothing resumes the operation`;
}

function symptomOf(v: Violation, record: RunRecord): string {
  const site = leakSite(v, record);
  if (site !== undefined) return `references|-|-|a reference taken in ${site} is never dropped`;
  const unregistered = unregisterSite(v, record);
  if (unregistered !== undefined) return unregistered;
  const inversion = lockOrderSite(v, record);
  if (inversion !== undefined) return inversion;
  const pended = pendedSite(v);
  if (pended !== undefined) return pended;
  if (v.symptom !== undefined) return `${v.invariant}|-|-|${v.symptom}`;
  const halt = HALTS.has(v.invariant);
  const b = halt ? record.bugCheck : null;
  const fn = halt ? (b?.function ?? record.verifierStop?.function ?? '-') : '-';
  // parentheses hold detail, nested ones too (a race's two accesses, each with its operation and CPU): innermost first,
  // until none is left — a message of ours has two levels at most
  let plain = v.message;
  for (let level = 0; level < 4; level++) {
    const outer = plain.replace(/\s*\([^()]*\)/g, '');
    if (outer === plain) break;
    plain = outer;
  }
  const skeleton = plain
    .replace(/"[^"]*"/g, '"…"').replace(/\bIRP_MJ_[A-Z_]+/g, 'IRP_MJ_*')
    .replace(/\bSTATUS_[A-Z0-9_]+/g, 'STATUS_*').replace(/\bwin[0-9a-z]+-x(?:86|64)\b/g, 'win*')
    .replace(/0x[0-9A-Fa-f]+/g, '0x#').replace(/\d+/g, '#');
  return `${v.invariant}|${b !== null ? `0x${b.code.toString(16).toUpperCase()}` : '-'}|${fn}|${skeleton}`;
}

/** The phases whose output a registry or file event can be logged in. */
function logsOperations(ph: PhaseRecord): boolean {
  return ph.phase === 'RegistryCallback' || ph.phase === 'FltCallback';
}

export function observe(
  record: RunRecord, driver: Pick<DriverDeclarations, 'parse' | 'monitors' | 'notMonitoring' | 'device' | 'registryGuards' | 'fileGuards' | 'logsOperations'>,
): Observation {
  let cut: Set<number> | undefined;
  record.callbacks.forEach((c, i) => {
    if (c.prints.some((p) => p.fullLength > p.text.length)) (cut ??= new Set()).add(i);
  });
  return {
    record, logged: record.callbacks.map((c, i) => (cut?.has(i) === true ? [] : driver.parse(linesOf(c.prints)))),
    ...(cut !== undefined ? { cut } : {}),
    ...(driver.monitors !== undefined ? { declared: { monitors: driver.monitors, notMonitoring: driver.notMonitoring ?? [] } } : {}),
    ...(driver.device !== undefined ? { device: driver.device } : {}),
    ...(driver.registryGuards !== undefined ? { registryGuards: driver.registryGuards } : {}),
    ...(driver.fileGuards !== undefined ? { fileGuards: driver.fileGuards } : {}),
    ...(driver.logsOperations === true ? {
      operationsLogged: record.phases.filter((ph) => logsOperations(ph) && ph.prints.length > 0).map((ph): OperationsLogged => (
        ph.prints.some((p) => p.fullLength > p.text.length) ? { seq: ph.seq, op: ph.op, events: [], cut: true }
          : { seq: ph.seq, op: ph.op, events: driver.parse(linesOf(ph.prints)).filter((e) => isOperationKind(e.kind)) })),
    } : {}),
  };
}

export function expectedKind(cb: CallbackRecord): LoggedKind {
  if (cb.kind === 'image') return 'image-load';
  if (cb.kind === 'process') return cb.create ? 'process-create' : 'process-exit';
  return cb.create ? 'thread-create' : 'thread-exit';
}

export function describeCallback(cb: CallbackRecord): string {
  const t = cb.truth;
  switch (cb.kind) {
    case 'process':
      return `process ${cb.create ? 'create' : 'exit'} notify: pid ${t.pid}${t.name !== undefined ? ` (${t.name})` : ''}, parent ${t.ppid}`;
    case 'thread':
      return `thread ${cb.create ? 'create' : 'exit'} notify: tid ${t.tid} in pid ${t.pid}${t.name !== undefined ? ` (${t.name})` : ''}`;
    default:
      return `image notify: ${t.imagePath === null ? 'FullImageName NULL' : t.imagePath} in pid ${t.pid}, base ${t.imageBase}, size ${t.imageSize}`;
  }
}

export function callbackLines(cb: CallbackRecord): string {
  return linesOf(cb.prints).join('\n');
}

export function lookupFailed(cb: CallbackRecord): boolean {
  return cb.ddi.some((d) => d.name === 'PsLookupProcessByProcessId' && d.status !== undefined && d.status !== 'STATUS_SUCCESS');
}

/** A DDI call that gave the driver nothing: an injected fault, or a NULL result (pool quota, a missing export). */
export function gaveNothing(d: DdiCallRecord): boolean {
  return d.faulted === true || d.result?.startsWith('NULL') === true;
}
