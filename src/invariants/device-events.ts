import { FIELD_SIZE, perSize, type DeviceEventsDeclaration, type LoggedKind } from '../model/driver-output.js';
import { getBuild } from '../model/builds.js';
import type { KernelEventRecord, PhaseRecord, RunRecord } from '../model/record.js';
import type { Invariant, Violation } from './types.js';

/** One record a client read back, decoded with the driver's declaration. */
export interface DeliveredEvent {
  readonly kind: LoggedKind;
  readonly pid: number;
  readonly tid?: number;
  readonly ppid?: number;
  readonly dropped?: number;
  /** The Dispatch phase of the request that returned it. */
  readonly phase: PhaseRecord;
}

/**
 * A client's open file: who opened it, and when, as positions in the run's list of kernel events: its IRP_MJ_CREATE
 * sent and completed, its IRP_MJ_CLEANUP sent and completed.
 */
interface Session {
  readonly pid: number;
  readonly load: number;
  readonly openSent: number;
  readonly opened: number;
  cleanupSent: number;
  cleanedUp: number;
}

function readField(bytes: Uint8Array, at: number, type: DeviceEventsDeclaration['fields'][number]['type'], ps: 4 | 8): number {
  let v = 0;
  for (let i = FIELD_SIZE[type](ps) - 1; i >= 0; i--) v = v * 256 + bytes[at + i];
  return v;
}

function hexToBytes(hex: string): Uint8Array {
  const b = new Uint8Array(hex.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}

/** The records the client got back, in the order the requests that returned them completed. */
export function deliveredEvents(record: RunRecord, spec: DeviceEventsDeclaration): { events: DeliveredEvent[]; unknownKinds: { kind: number; phase: PhaseRecord }[] } {
  const ps = getBuild(record.build).pointerSize;
  const size = perSize(spec.size, ps);
  const code = spec.ioctl === undefined ? undefined : `0x${Number.parseInt(spec.ioctl, 16).toString(16).toUpperCase()}`;
  const returning = record.phases
    .filter((ph) => ph.phase === 'Dispatch' && ph.irp?.output !== undefined && ph.irp.completionOrder !== undefined
      && ((ph.irp.major === 'IRP_MJ_DEVICE_CONTROL' && ph.irp.ioctl === code) || (ph.irp.major === 'IRP_MJ_READ' && spec.read === true)))
    .sort((a, b) => (a.irp?.completionOrder ?? 0) - (b.irp?.completionOrder ?? 0));
  const events: DeliveredEvent[] = [];
  const unknownKinds: { kind: number; phase: PhaseRecord }[] = [];
  for (const ph of returning) {
    const bytes = hexToBytes(ph.irp?.output ?? '');
    for (let at = 0; at + size <= bytes.length; at += size) {
      const f: Record<string, number> = {};
      for (const d of spec.fields) f[d.name] = readField(bytes, at + perSize(d.offset, ps), d.type, ps);
      const kind = spec.kinds[String(f.kind)];
      if (kind === undefined) {
        unknownKinds.push({ kind: f.kind, phase: ph });
        continue;
      }
      events.push({
        kind, pid: f.pid, phase: ph,
        ...(f.tid !== undefined && kind.startsWith('thread') ? { tid: f.tid } : {}),
        ...(f.ppid !== undefined && kind === 'process-create' ? { ppid: f.ppid } : {}),
        ...(f.dropped !== undefined ? { dropped: f.dropped } : {}),
      });
    }
  }
  return { events, unknownKinds };
}

function sessionsOf(record: RunRecord): Session[] {
  const byFile = new Map<number, Session>();
  for (const ph of record.phases) {
    const irp = ph.irp;
    if (ph.phase !== 'Dispatch' || irp?.file === undefined || irp.pid === undefined || irp.load === undefined) continue;
    const sent = irp.eventsAtSend ?? 0;
    const done = irp.eventsAtCompletion ?? Number.POSITIVE_INFINITY;
    if (irp.major === 'IRP_MJ_CREATE') {
      if (irp.completionStatus === 'STATUS_SUCCESS') byFile.set(irp.file, { pid: irp.pid, load: irp.load, openSent: sent, opened: done, cleanupSent: Number.POSITIVE_INFINITY, cleanedUp: Number.POSITIVE_INFINITY });
    } else if (irp.major === 'IRP_MJ_CLEANUP') {
      const s = byFile.get(irp.file);
      if (s !== undefined) {
        s.cleanupSent = sent;
        s.cleanedUp = done;
      }
    }
  }
  return [...byFile.values()];
}

function describe(e: { kind: LoggedKind; pid: number; tid?: number }): string {
  return `${e.kind} of PID ${e.pid}${e.tid !== undefined ? ` TID ${e.tid}` : ''}`;
}

function sameEvent(k: KernelEventRecord, d: DeliveredEvent): boolean {
  return k.kind === d.kind && k.pid === d.pid && (d.tid === undefined || k.tid === d.tid);
}

/** The kinds of failure (a finding's signature: the same bug reads different events in different runs). */
const SYMPTOM = {
  phantom: 'the client read an event the kernel never raised',
  duplicate: 'the client read an event more times than the kernel raised it',
  order: 'the client read a process\'s events out of the order the kernel raised them',
  lost: 'events raised while a client had the device open never reached it, beyond the drop counter',
} as const;

/**
 * A driver that hands its events to a user-mode service (an "inverted call" through its device) instead of printing
 * them: every event the kernel raised while a service had the device open reaches a service exactly once, in the
 * order Windows guarantees for that process, or is accounted for by the drop counter the driver reports.
 */
export const deviceEventsDelivered: Invariant = {
  id: 'device-events-delivered',
  statement: 'every event the kernel raised while a client had the device open is read back by a client exactly once, in the order Windows guarantees per process, or counted as dropped by the driver',
  source: 'the driver\'s declared event records (its .psharness.json "device.events"); ordering: PsSetCreateProcessNotifyRoutineEx, PsSetCreateThreadNotifyRoutine (docs/kernel-semantics.md § Several CPUs)',
  needsOutput: false,
  check({ record, device }) {
    const spec = device?.events;
    if (spec === undefined || record.events === undefined) return [];
    const out: Violation[] = [];
    const { events: delivered, unknownKinds } = deliveredEvents(record, spec);
    for (const u of unknownKinds.slice(0, 1)) {
      out.push({ invariant: this.id, message: `a record the client read has kind ${u.kind}, which the declaration does not know`, evidence: { op: u.phase.op, seq: u.phase.seq }, symptom: 'a record of an unknown kind' });
    }
    const kinds = new Set(Object.values(spec.kinds));
    const sessions = sessionsOf(record);
    // expected: raised while the driver was loaded, after a client's IRP_MJ_CREATE completed and before its
    // IRP_MJ_CLEANUP was sent (an event raised on another CPU while either was in progress is not claimed either way)
    const excluded = (e: KernelEventRecord, i: number): boolean => spec.excludeClients === true && sessions.some((s) => s.pid === e.pid && i >= s.openSent && i < s.cleanedUp);
    const expectedAt = (e: KernelEventRecord, i: number): boolean => kinds.has(e.kind) && e.whileLoaded && e.load !== undefined
      && sessions.some((s) => s.load === e.load && i >= s.opened && i < s.cleanupSent) && !excluded(e, i);
    const kernel = record.events.map((e, i) => ({ e, i, expected: expectedAt(e, i) })).filter(({ e }) => kinds.has(e.kind));
    let dropped = 0;
    for (const d of delivered) if (d.dropped !== undefined) dropped = Math.max(dropped, d.dropped);
    const sameLoad = (d: DeliveredEvent, e: KernelEventRecord): boolean => d.phase.irp?.load === undefined || e.load === undefined || e.load === d.phase.irp.load;
    const concurrent = record.concurrency !== undefined && record.concurrency.schedule.cpus > 1;
    if (concurrent) {
      // several CPUs: routines of one process's operations may run in any order, so only what counting shows is
      // claimed: no event is read more times than the kernel raised it
      const withTid = spec.fields.some((f) => f.name === 'tid');
      const keyOf = (kind: string, pid: number, tid: number | undefined): string => `${kind}:${pid}:${withTid && kind.startsWith('thread') ? tid : ''}`;
      const raised = new Map<string, number>();
      for (const { e } of kernel) raised.set(keyOf(e.kind, e.pid, e.tid), (raised.get(keyOf(e.kind, e.pid, e.tid)) ?? 0) + 1);
      const read = new Map<string, number>();
      for (const d of delivered) {
        const key = keyOf(d.kind, d.pid, d.tid);
        const n = (read.get(key) ?? 0) + 1;
        read.set(key, n);
        const limit = raised.get(key) ?? 0;
        if (n > limit) {
          out.push({
            invariant: this.id,
            message: limit === 0 ? `the client read a ${describe(d)} the kernel never raised` : `the client read the ${describe(d)} ${n} times; the kernel raised it ${limit} time(s)`,
            evidence: { op: d.phase.op, seq: d.phase.seq, event: `${d.phase.irp?.major} completed (completion ${d.phase.irp?.completionOrder})` },
            symptom: limit === 0 ? SYMPTOM.phantom : SYMPTOM.duplicate,
          });
          break;
        }
      }
      return out;
    }
    // one CPU: every routine runs in the order the kernel raised it, so each process's records are the kernel's events
    // for it in order, some left out. The embedding is found greedily, each record matched to the earliest event it
    // can be: first preferring events a client was connected for (so a record is not taken for an earlier, unread
    // event of a reused PID or TID), else plainly (which finds one whenever one exists).
    const embed = (prefer: boolean): { matched: Set<number>; failure?: Violation } => {
      const matched = new Set<number>();
      const lastByPid = new Map<number, number>();
      for (const d of delivered) {
        const last = lastByPid.get(d.pid) ?? -1;
        const fits = (j: number): boolean => j > last && sameEvent(kernel[j].e, d) && sameLoad(d, kernel[j].e) && kernel[j].e.op <= (d.phase.irp?.completedAtOp ?? d.phase.op);
        let at = prefer ? kernel.findIndex((k, j) => fits(j) && k.expected) : -1;
        if (at < 0) at = kernel.findIndex((_, j) => fits(j));
        if (at < 0) {
          // an earlier event it could be that a record already stands for: read again (preferred to an unread one)
          const earlierOf = (read: boolean): number => kernel.findIndex(({ e }, j) => j <= last && sameEvent(e, d) && sameLoad(d, e) && matched.has(j) === read);
          const again = earlierOf(true);
          const earlier = again >= 0 ? again : earlierOf(false);
          return {
            matched,
            failure: {
              invariant: this.id,
              message: earlier < 0 ? `the client read a ${describe(d)} the kernel never raised`
                : again >= 0 ? `the client read the ${describe(d)} a second time`
                  : `the client read the ${describe(d)} after the ${describe(kernel[last].e)}, which the kernel raised later`,
              evidence: { op: d.phase.op, seq: d.phase.seq, event: `${d.phase.irp?.major} completed (completion ${d.phase.irp?.completionOrder})` },
              symptom: earlier < 0 ? SYMPTOM.phantom : again >= 0 ? SYMPTOM.duplicate : SYMPTOM.order,
            },
          };
        }
        matched.add(at);
        lastByPid.set(d.pid, at);
      }
      return { matched };
    };
    const preferred = embed(true);
    const plain = preferred.failure === undefined ? preferred : embed(false);
    if (plain.failure !== undefined) {
      out.push(plain.failure);
      return out;
    }
    // lost: an event a client was connected for, of a kind and process of which a later one was read (claimed
    // only from the preferred embedding: the plain one may have read an earlier event in its place)
    const matched = plain.matched;
    let missing = 0;
    let firstMissing: KernelEventRecord | undefined;
    if (plain === preferred) {
      kernel.forEach(({ e, expected }, j) => {
        if (matched.has(j) || !expected) return;
        const later = kernel.some(({ e: f }, k) => k > j && matched.has(k) && f.kind === e.kind && f.pid === e.pid && f.load === e.load);
        if (!later) return;
        missing++;
        firstMissing ??= e;
      });
    }
    if (missing > dropped && firstMissing !== undefined) {
      const counter = spec.fields.some((f) => f.name === 'dropped') ? `its drop counter says ${dropped}` : 'it reports no drop counter';
      out.push({
        invariant: this.id,
        message: `${missing} event(s) raised while a client had the device open never reached it, though later ones did; ${counter} (first lost: the ${describe(firstMissing)})`,
        evidence: { op: firstMissing.op, event: describe(firstMissing), expected: `at most ${dropped} missing`, actual: missing },
        symptom: SYMPTOM.lost,
      });
    }
    return out;
  },
};
