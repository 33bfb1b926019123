import { describeCallback, expectedKind, type Invariant, type Violation } from './types.js';

/**
 * Each notification delivered to the driver's routine is logged exactly once, with the PID, parent PID, TID,
 * image base and size the kernel passed ([DOC] nc-ntddk-pcreate_process_notify_routine.md,
 * nc-ntddk-pcreate_thread_notify_routine.md, nc-ntddk-pload_image_notify_routine.md).
 */
export const eventsLoggedOnce: Invariant = {
  id: 'events-logged-once',
  needsOutput: true,
  statement: 'every notification the driver received is logged exactly once, with the right PID, parent PID, TID, base and size',
  source: 'WDK: PCREATE_PROCESS_NOTIFY_ROUTINE, PCREATE_THREAD_NOTIFY_ROUTINE, PLOAD_IMAGE_NOTIFY_ROUTINE parameters',
  check({ record, logged, declared, cut }) {
    const out: Violation[] = [];
    // a driver (or its log spec) that says what it monitors is judged on those kinds only
    const scope = declared === undefined || declared.monitors.length === 0 ? null : new Set(declared.monitors);
    record.callbacks.forEach((cb, i) => {
      // several CPUs: a call that overlapped the driver's own load or unload may find it not ready, or going
      if (cb.outcome !== 'returned' || cb.lifecycle === true || cut?.has(i) === true) return;
      const kind = expectedKind(cb);
      if (scope !== null && !scope.has(kind)) return;
      const all = logged[i];
      const events = all.length === 1 && all[0].kind === kind ? all : all.filter((e) => e.kind === kind);
      if (events.length !== 1) {
        out.push({
          invariant: this.id,
          message: events.length === 0 ? `${kind} not logged` : `${kind} logged ${events.length} times`,
          evidence: { op: cb.op, seq: cb.seq, event: describeCallback(cb), line: events.map((e) => e.line).join('\n') || undefined },
        });
        return;
      }
      const e = events[0];
      const t = cb.truth;
      const wrong: string[] = [];
      if (e.pid !== undefined && e.pid !== t.pid) wrong.push(`pid ${e.pid} (expected ${t.pid})`);
      if (e.ppid !== undefined && t.ppid !== undefined && e.ppid !== t.ppid) wrong.push(`ppid ${e.ppid} (expected ${t.ppid})`);
      if (e.tid !== undefined && t.tid !== undefined && e.tid !== t.tid) wrong.push(`tid ${e.tid} (expected ${t.tid})`);
      if (e.base !== undefined && t.imageBase !== undefined && e.base !== t.imageBase) wrong.push(`base ${e.base} (expected ${t.imageBase})`);
      if (e.size !== undefined && t.imageSize !== undefined && e.size !== t.imageSize) wrong.push(`size ${e.size} (expected ${t.imageSize})`);
      if (wrong.length > 0) {
        out.push({ invariant: this.id, message: `${kind} logged with wrong ${wrong.join(', ')}`, evidence: { op: cb.op, seq: cb.seq, event: describeCallback(cb), line: e.line } });
      }
    });
    return out;
  },
};
