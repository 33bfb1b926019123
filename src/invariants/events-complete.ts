import type { NotificationKind } from '../model/record.js';
import { isOperationKind, linesOf, type LoggedKind } from '../model/driver-output.js';
import { cutShortOps, expectedKind, type Invariant, type Violation } from './types.js';

const WHAT: Readonly<Record<NotificationKind, string>> = {
  'process-create': 'process creation', 'process-exit': 'process exit', 'thread-create': 'thread creation',
  'thread-exit': 'thread exit', 'image-load': 'image loads',
};

const KIND_INDEX: Readonly<Record<NotificationKind, number>> = { 'process-create': 0, 'process-exit': 1, 'thread-create': 2, 'thread-exit': 3, 'image-load': 4 };
const ID_LIMIT = 0x100_0000;

/**
 * What a logged event must match: kind, PID, and for threads the TID. A number when the IDs fit in 24 bits (no
 * string built per event: this runs for every event of every run), a string for anything else a driver logged.
 */
function key(kind: NotificationKind, pid: number | undefined, tid: number | undefined): number | string {
  const thread = kind === 'thread-create' || kind === 'thread-exit';
  const t = thread ? tid : 0;
  if (pid !== undefined && t !== undefined && Number.isInteger(pid) && Number.isInteger(t) && pid >= 0 && t >= 0 && pid < ID_LIMIT && t < ID_LIMIT) {
    return (KIND_INDEX[kind] * ID_LIMIT + pid) * ID_LIMIT + t;
  }
  return `${kind}:${pid ?? '?'}:${thread ? (tid ?? '?') : ''}`;
}

/**
 * A monitor logs every notification of the kinds it is loaded to see, not only those its routines happened to
 * receive: between a successful DriverEntry and unload, each process, thread and image event the kernel raised
 * must appear in the log — unless DriverEntry said it goes on without that kind (a registration that failed). A
 * driver that registers nothing and logs nothing fails here ([DOC] PsSetCreateProcessNotifyRoutine: the routine is
 * called for every process created or deleted; likewise thread and image notifications).
 */
export const eventsComplete: Invariant = {
  id: 'events-complete',
  needsOutput: true,
  statement: 'every kernel event of the kinds the driver declares it monitors is logged while the driver is loaded',
  source: 'WDK: PsSetCreateProcessNotifyRoutine / PsSetCreateThreadNotifyRoutine / PsSetLoadImageNotifyRoutine ("called whenever …")',
  check({ record, logged, declared, cut }) {
    if (declared === undefined || declared.monitors.length === 0 || record.events === undefined) return [];
    const monitors = new Set(declared.monitors);
    // per load (its DriverEntry phase), the kinds DriverEntry said it runs without
    const without = new Map<number, Set<LoggedKind>>();
    for (const ph of record.phases) {
      if (ph.phase !== 'DriverEntry') continue;
      const lines = linesOf(ph.prints);
      without.set(ph.seq, new Set(declared.notMonitoring.filter((n) => lines.some((l) => n.pattern.test(l))).map((n) => n.kind)));
    }
    const pool = new Map<number | string, number>();
    for (const events of logged) {
      for (const e of events) {
        // registry and file operations are operation-events-complete's
        if (isOperationKind(e.kind)) continue;
        const k = key(e.kind, e.pid, e.tid);
        pool.set(k, (pool.get(k) ?? 0) + 1);
      }
    }
    // a run that halted (bug check, verifier stop) lost what it was doing: no-bugcheck reports that, not this. On
    // several CPUs that includes the operations still in flight on the other CPUs, whatever their index
    const halt = record.bugCheck?.op ?? record.verifierStop?.op ?? Number.POSITIVE_INFINITY;
    const unfinished = cutShortOps(record);
    // an event whose callback's output was cut (dbgprint-limit's finding) is not asked for again
    const cutEvents = new Set<string>();
    for (const i of cut ?? []) cutEvents.add(`${record.callbacks[i].op}:${expectedKind(record.callbacks[i])}`);
    const missing: string[] = [];
    let first: { op: number; event: string } | null = null;
    for (const e of record.events) {
      if (cutEvents.size > 0 && cutEvents.has(`${e.op}:${e.kind}`)) continue;
      if (!e.whileLoaded || e.op >= halt || unfinished.has(e.op) || !monitors.has(e.kind) || without.get(e.load ?? -1)?.has(e.kind) === true) continue;
      const k = key(e.kind, e.pid, e.tid);
      const n = pool.get(k) ?? 0;
      if (n > 0) {
        pool.set(k, n - 1);
        continue;
      }
      // a line that carries no PID (or TID) — the log spec's pattern does not capture it, e.g. a system image's
      // load, PID 0 — matches any event of its kind
      const thread = e.kind === 'thread-create' || e.kind === 'thread-exit';
      const loose = [key(e.kind, undefined, undefined), ...(thread ? [key(e.kind, e.pid, undefined)] : [])].find((x) => (pool.get(x) ?? 0) > 0);
      if (loose !== undefined) {
        pool.set(loose, (pool.get(loose) ?? 0) - 1);
        continue;
      }
      const event = `${e.kind} pid ${e.pid}${e.tid !== undefined ? ` tid ${e.tid}` : ''}`;
      missing.push(event);
      first ??= { op: e.op, event };
    }
    if (first === null) return [];
    const v: Violation = {
      invariant: this.id,
      message: `${first.event} was never logged, though the driver monitors ${WHAT[first.event.split(' ')[0] as NotificationKind]}` +
        (missing.length > 1 ? ` (${missing.length} events missing in all)` : ''),
      evidence: { op: first.op, event: first.event },
    };
    return [v];
  },
};
