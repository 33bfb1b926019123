import { describeCallback, gaveNothing, type Invariant, type Violation } from './types.js';

/**
 * A process-exit line that reports a thread count (a log spec's `threads` field) reports the threads the driver saw
 * start in that process: the thread-create notifications delivered to it for that PID since it saw the process start
 * ([DOC] PCREATE_THREAD_NOTIFY_ROUTINE: called for every thread created, with its process's ID). Checked only where
 * the count is defined: the driver saw the start, stayed loaded since, and every DDI of that start succeeded (a
 * failed allocation leaves the process untracked by design).
 */
export const threadCountCorrect: Invariant = {
  id: 'thread-count-correct',
  needsOutput: true,
  statement: 'a logged per-process thread count at exit equals the thread starts the driver was notified of in that process',
  source: 'WDK: PCREATE_THREAD_NOTIFY_ROUTINE (ProcessId, Create)',
  check({ record, logged }) {
    const out: Violation[] = [];
    record.callbacks.forEach((cb, i) => {
      if (cb.outcome !== 'returned' || cb.kind !== 'process' || cb.create) return;
      const counted = logged[i].filter((e) => e.kind === 'process-exit' && e.threads !== undefined);
      if (counted.length === 0) return;
      const pid = cb.truth.pid;
      const start = record.callbacks.slice(0, i).reverse().find((c) => c.kind === 'process' && c.create && c.truth.pid === pid);
      if (start === undefined || start.outcome !== 'returned') return;
      if (start.ddi.some(gaveNothing)) return;
      if (record.phases.some((ph) => (ph.phase === 'DriverUnload' || ph.phase === 'DriverEntry') && ph.seq > start.seq && ph.seq < cb.seq)) return;
      const want = record.callbacks.filter((c) => c.kind === 'thread' && c.create && c.outcome === 'returned' && c.truth.pid === pid && c.seq > start.seq && c.seq < cb.seq).length;
      for (const e of counted) {
        if (e.threads === want) continue;
        out.push({
          invariant: this.id,
          message: `process ${pid} exit logged threads=${e.threads}, but the driver was notified of ${want} thread start(s) in it`,
          evidence: { op: cb.op, seq: cb.seq, event: describeCallback(cb), line: e.line, expected: String(want), actual: String(e.threads) },
        });
      }
    });
    return out;
  },
};
