/**
 * The recorder of ground truth: the RunRecord a run writes as it goes — the operations, the driver's phases and
 * callbacks in sequence, the DDI calls and prints of the driver code now running (its frame), and how the run
 * halted. Not an executive component: what the invariants read, kept apart from what the kernel does.
 */
import { bugCheckName, faultingFunction, type BugCheck, type VerifierStop } from './ke/bugcheck.js';
import {
  RUN_RECORD_FORMAT,
  type CallbackRecord,
  type DdiCallRecord,
  type OpRecord,
  type PhaseRecord,
  type PrintRecord,
  type RunRecord,
} from './record.js';
import { statusName, type NTSTATUS } from './status.js';

/** Where the DDI calls and prints of the driver code now running are recorded. */
export interface Frame {
  ddi: DdiCallRecord[];
  prints: PrintRecord[];
  cb: CallbackRecord | null;
  phase?: PhaseRecord;
}

export class Recorder {
  readonly record: RunRecord;
  /** The last callback's or phase's sequence number. */
  private seq = 0;
  /** @internal the scenario operation running now (-1: the boot-time load) */
  opIndex = -1;
  /** @internal its record */
  opRecord: OpRecord | null = null;
  /** @internal where DDI calls and prints of the driver code now running are recorded */
  frame: Frame | null = null;
  /** A bug check, a verifier stop or pool exhaustion ended the run. */
  halted = false;

  constructor(header: Pick<RunRecord, 'build' | 'profile' | 'reusePolicy' | 'driver' | 'uninitializedPointer'>) {
    this.record = {
      format: RUN_RECORD_FORMAT,
      build: header.build,
      profile: header.profile,
      reusePolicy: header.reusePolicy,
      driver: header.driver,
      uninitializedPointer: header.uninitializedPointer,
      ops: [],
      phases: [],
      callbacks: [],
      bugCheck: null,
      events: [],
      verifierStop: null,
      end: null,
    };
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** Marks the start of scenario operation `index` (for the record's timeline). */
  beginOp(index: number, op: unknown): void {
    this.opIndex = index;
    this.opRecord = { index, op, outcome: 'unfinished' };
    this.record.ops.push(this.opRecord);
  }

  endOp(outcome: 'done' | 'skipped', note?: string): void {
    const r = this.opRecord;
    if (r === null || this.halted) return;
    r.outcome = outcome;
    if (note !== undefined) r.note = note;
  }

  /** A phase of the driver's (DriverEntry, Dispatch, ...): recorded, and the frame its calls go to. */
  beginPhase(phase: PhaseRecord['phase']): PhaseRecord {
    const r: PhaseRecord = { seq: ++this.seq, op: this.opIndex, phase, ddi: [], prints: [], outcome: 'returned' };
    this.record.phases.push(r);
    this.frame = { ddi: r.ddi, prints: r.prints, cb: null, phase: r };
    return r;
  }

  /** Records a DDI call of the driver in the frame of the code running now. */
  log(name: string, args: string[], status?: NTSTATUS, result?: string, faulted?: boolean): void {
    const f = this.frame;
    if (f === null) return;
    const r: { -readonly [K in keyof DdiCallRecord]: DdiCallRecord[K] } = { name, args };
    if (status !== undefined) r.status = statusName(status);
    if (result !== undefined) r.result = result;
    if (faulted === true) r.faulted = true;
    f.ddi.push(r);
  }

  /** The first bug check of the run (a later one, while it unwinds, changes nothing). */
  bugCheck(b: BugCheck, during: string, seq: number | null, exception?: string): void {
    if (this.halted) return;
    this.halted = true;
    const fn = b.function ?? faultingFunction(b.stack);
    this.record.bugCheck = {
      code: b.code, name: bugCheckName(b.code), parameters: b.parameters, reason: b.reason, during, seq,
      op: this.opIndex, ...(exception !== undefined ? { exception } : {}),
      ...(b.check !== undefined ? { check: b.check } : {}), ...(fn !== undefined ? { function: fn } : {}),
      ...(b.frames !== undefined && b.frames.length > 0 ? { stack: b.frames } : {}),
    };
    this.haltOp();
  }

  /** The verifier stopped the run (no bug check on Windows at this instant, but the driver broke a rule). */
  verifierStop(v: VerifierStop, during: string, seq: number | null): void {
    if (this.halted) return;
    this.halted = true;
    const fn = v.function ?? faultingFunction(v.stack);
    this.record.verifierStop = {
      check: v.check, reason: v.reason, ...(v.address !== undefined ? { address: v.address } : {}),
      ...(fn !== undefined ? { function: fn } : {}), during, seq, op: this.opIndex,
      ...(v.frames !== undefined && v.frames.length > 0 ? { stack: v.frames } : {}),
    };
    this.haltOp();
  }

  /** The machine ran out of memory for kernel objects: the run ends, as an outcome, not a finding. */
  poolExhausted(message: string): void {
    if (this.halted) return;
    this.halted = true;
    this.record.poolExhausted = message;
    this.haltOp();
  }

  private haltOp(): void {
    const r = this.opRecord ?? this.record.ops[this.record.ops.length - 1];
    if (r !== undefined) r.outcome = 'halted';
  }
}
