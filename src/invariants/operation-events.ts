/**
 * The registry and file operations a sensor logs (its log spec's operation kinds): every operation of a kind it
 * monitors that Windows carried out while its routine was registered is logged, and every line it logs names an
 * operation its caller really made — the caller's process, the key and value, the file.
 */
import { isOperationKind, type LoggedEvent, type OperationKind } from '../model/driver-output.js';
import { RENAME_SUFFIX, VOLUME_NAME } from '../model/flt/volume.js';
import type { FileOpRecord, RegistryOpRecord, RunRecord } from '../model/record.js';
import { cutShortOps, type Invariant, type Violation } from './types.js';

/** A scenario's registry or file operation as a log line can name it. */
interface Operation {
  readonly op: number;
  readonly kind: OperationKind;
  readonly pid: number;
  readonly process: string;
  readonly operation: string;
  /** Upper-cased names a line may give it: the key as named and as opened; the file's name on the volume and in full (a rename's old and new). */
  readonly names: readonly string[];
  /** The value's name (a rename: the key's new name), upper case. */
  readonly value?: string;
  /** Windows carried it out: the caller got STATUS_SUCCESS. */
  readonly done: boolean;
  /** The driver's routine saw it: its registry callback registered, or its filter attached, from start to end. */
  readonly watched: boolean;
  readonly what: string;
}

const REGISTRY_KIND: Readonly<Record<string, OperationKind>> = {
  CreateKey: 'registry-create-key', OpenKey: 'registry-open-key', SetValue: 'registry-set-value', DeleteValue: 'registry-delete-value',
  QueryValue: 'registry-query-value', DeleteKey: 'registry-delete-key', RenameKey: 'registry-rename-key',
};
const FILE_KIND: Readonly<Record<string, OperationKind>> = {
  Create: 'file-create', Read: 'file-read', Write: 'file-write', Rename: 'file-rename', Delete: 'file-delete',
};

function registryOperation(r: RegistryOpRecord): Operation {
  const names = [r.key.toUpperCase(), ...(r.target !== undefined ? [r.target.toUpperCase()] : [])];
  return {
    op: r.op, kind: REGISTRY_KIND[r.operation], pid: r.pid, process: r.process, operation: r.operation, names,
    ...(r.name !== undefined ? { value: r.name.toUpperCase() } : {}), done: r.status === 'STATUS_SUCCESS', watched: r.registered,
    what: `${r.operation} on ${r.target ?? r.key}${r.name !== undefined ? ` (${r.name})` : ''} by ${r.process} (pid ${r.pid})`,
  };
}

function fileOperation(f: FileOpRecord): Operation {
  const paths = [f.file, ...(f.operation === 'Rename' ? [`${f.file}${RENAME_SUFFIX}`] : [])].map((p) => p.toUpperCase());
  return {
    op: f.op, kind: FILE_KIND[f.operation], pid: f.pid, process: f.process, operation: f.operation,
    names: [...paths, ...paths.map((p) => `${VOLUME_NAME.toUpperCase()}${p}`)], done: f.status === 'STATUS_SUCCESS', watched: f.filtered,
    what: `${f.operation} of ${f.file} by ${f.process} (pid ${f.pid})`,
  };
}

/**
 * The names a key had in the run: a key renamed while another operation held it open (several CPUs) has its new
 * name when the routine asks for it (CmCallbackGetKeyObjectIDEx names the key as it is now).
 */
function renamed(names: readonly string[], registry: readonly RegistryOpRecord[]): string[] {
  const out = [...names];
  for (const r of registry) {
    if (r.operation !== 'RenameKey' || r.status !== 'STATUS_SUCCESS' || r.target === undefined || r.name === undefined) continue;
    const from = r.target.toUpperCase();
    const to = `${from.slice(0, from.lastIndexOf('\\') + 1)}${r.name.toUpperCase()}`;
    for (const n of [...out]) if (n === from || n.startsWith(`${from}\\`)) out.push(`${to}${n.slice(from.length)}`);
  }
  return out;
}

function operationsOf(record: RunRecord): Operation[] {
  const registry = record.registry ?? [];
  const renames = registry.some((r) => r.operation === 'RenameKey');
  return [
    ...registry.map(registryOperation).map((o) => (renames ? { ...o, names: renamed(o.names, registry) } : o)),
    ...(record.files ?? []).map(fileOperation),
  ].sort((a, b) => a.op - b.op);
}

/**
 * The kinds a logged line may stand for, given the operation: its own; and the open every operation begins with —
 * the configuration manager opens the key (RegNtPreOpenKeyEx) before it sets, queries, deletes or renames, and the
 * I/O manager sends IRP_MJ_CREATE before every read, write, rename and delete — so a line that logs every open names
 * a real open of any operation.
 */
function mayLog(o: Operation, kind: OperationKind): boolean {
  if (kind === o.kind) return true;
  if (kind === 'registry-open-key') return o.kind.startsWith('registry-') && o.kind !== 'registry-create-key';
  if (kind === 'file-create') return o.kind.startsWith('file-');
  return false;
}

/** The fields of a logged line that differ from the operation's (none: it names that operation). */
function mismatches(e: LoggedEvent, o: Operation): string[] {
  const out: string[] = [];
  if (e.pid !== undefined && e.pid !== o.pid) out.push(`pid ${e.pid}, not ${o.pid}`);
  const name = e.key ?? e.path;
  if (name !== undefined && !o.names.includes(name.toUpperCase())) out.push(`${e.key !== undefined ? 'key' : 'path'} "${name}"`);
  if (e.value !== undefined && e.value.toUpperCase() !== o.value) out.push(`value "${e.value}"`);
  return out;
}

function describe(e: LoggedEvent): string {
  const fields = [
    e.pid !== undefined ? `pid ${e.pid}` : '', e.key !== undefined ? `key ${e.key}` : '', e.value !== undefined ? `value ${e.value}` : '',
    e.path !== undefined ? `path ${e.path}` : '',
  ].filter((f) => f !== '');
  return `${e.kind}${fields.length > 0 ? ` (${fields.join(', ')})` : ''}`;
}

/** The operations cut short by a halt (no-bugcheck's), and those whose routine's output DbgPrint cut (dbgprint-limit's). */
function notJudged(run: { record: RunRecord; operationsLogged?: readonly { op: number; cut?: true }[] }): (op: number) => boolean {
  const halt = run.record.bugCheck?.op ?? run.record.verifierStop?.op ?? Number.POSITIVE_INFINITY;
  const unfinished = cutShortOps(run.record);
  const cut = new Set((run.operationsLogged ?? []).filter((l) => l.cut === true).map((l) => l.op));
  return (op) => op >= halt || unfinished.has(op) || cut.has(op);
}

/**
 * A sensor that declares it monitors a kind of operation logs each one Windows carried out while its routine was
 * registered: a registry callback is called for every registry operation of every thread ([DOC]
 * kernel/registering-for-notifications: "the configuration manager calls the routine each time that a thread attempts
 * to perform a registry operation"), a minifilter for every I/O operation it registered for on a volume it is attached to
 * ([DOC] ifs/filter-manager-concepts). One it misses — a name compared case-sensitively, a major function it did not
 * register for, a line dropped when a name lookup failed — is an event the EDR never sees.
 */
export const operationEventsComplete: Invariant = {
  id: 'operation-events-complete',
  needsOutput: true,
  statement: 'every registry and file operation of the kinds the driver declares it monitors, carried out while its routine was registered, is logged',
  source: 'WDK: Registering for Notifications (RegistryCallback "each time that a thread attempts to perform a registry operation"); Filter Manager Concepts (pre/post-operation callbacks)',
  check(run) {
    const { record, declared, operationsLogged } = run;
    if (declared === undefined || operationsLogged === undefined) return [];
    const monitors = new Set(declared.monitors.filter(isOperationKind));
    if (monitors.size === 0) return [];
    const skip = notJudged(run);
    const expected = operationsOf(record).filter((o) => o.done && o.watched && monitors.has(o.kind) && !skip(o.op));
    if (expected.length === 0) return [];
    const pool = operationsLogged.flatMap((l) => l.events);
    const used = new Set<LoggedEvent>();
    // a line naming the operation exactly first, then any line of its kind (one that names it wrongly is
    // operation-events-exact's finding, not a missing event)
    const unlogged = expected.filter((o) => {
      const e = pool.find((x) => !used.has(x) && x.kind === o.kind && mismatches(x, o).length === 0);
      if (e !== undefined) used.add(e);
      return e === undefined;
    });
    const missing = unlogged.filter((o) => {
      const e = pool.find((x) => !used.has(x) && x.kind === o.kind);
      if (e !== undefined) used.add(e);
      return e === undefined;
    });
    if (missing.length === 0) return [];
    const kinds = [...new Set(missing.map((o) => o.kind))];
    const first = missing[0];
    // one finding, whatever the kinds: a driver that drops one kind often drops another for the same reason
    const v: Violation = {
      invariant: this.id,
      message: `${first.what} was never logged, though the driver monitors ${first.kind}` +
        (missing.length > 1 ? ` (${missing.length} operations missing in all: ${kinds.join(', ')})` : ''),
      evidence: { op: first.op, event: first.what, expected: `a ${first.kind} line`, actual: 'none' },
      symptom: 'an operation of a monitored kind was not logged',
    };
    return [v];
  },
};

/**
 * Each registry or file line a driver logs names an operation that happened, by the process that made it: a minifilter
 * that reports PsGetCurrentProcessId() from a deferred work item or a safe post-operation names the System process
 * (those run in a system worker thread: [DOC] nf-fltkernel-fltqueuedeferredioworkitem,
 * nf-fltkernel-fltdocompletionprocessingwhensafe — nf-fltkernel-fltgetrequestorprocessid names the requester), and a registry callback that prints the wrong UNICODE_STRING names
 * another key. Each operation is logged once per kind: a line from the pre- and one from the post-operation for the
 * same event is the same event twice.
 */
export const operationEventsExact: Invariant = {
  id: 'operation-events-exact',
  needsOutput: true,
  statement: 'every registry and file line the driver logs names an operation that happened (its caller\'s PID, its key, value or file), once',
  source: 'WDK: FltGetRequestorProcessId, FltQueueDeferredIoWorkItem, FltDoCompletionProcessingWhenSafe; REG_*_INFORMATION',
  check(run) {
    const { record, operationsLogged } = run;
    if (operationsLogged === undefined || operationsLogged.length === 0) return [];
    const skip = notJudged(run);
    const ops = operationsOf(record);
    const index = new Map(ops.map((o, i) => [o, i]));
    // (operation, kind) pairs a line has already named
    const named = new Set<string>();
    const out: Violation[] = [];
    const seen = new Set<string>();
    const lines = operationsLogged.filter((l) => !skip(l.op)).flatMap((l) => l.events.map((e) => {
      const kind = e.kind as OperationKind;
      return { l, e, kind, own: ops.filter((o) => o.op === l.op && mayLog(o, kind)), earlier: ops.filter((o) => o.op < l.op && mayLog(o, kind)).reverse() };
    }));
    // each line names the operation its routine ran for; then, for the lines left, an earlier one (logged late)
    const left = new Set(lines);
    for (const pick of [(x: (typeof lines)[number]) => x.own, (x: (typeof lines)[number]) => x.earlier]) {
      for (const x of lines) {
        if (!left.has(x)) continue;
        const o = pick(x).find((c) => mismatches(x.e, c).length === 0 && !named.has(`${index.get(c)}:${x.kind}`));
        if (o === undefined) continue;
        named.add(`${index.get(o)}:${x.kind}`);
        left.delete(x);
      }
    }
    for (const { l, e, kind, own, earlier } of left) {
      const candidates = own.length > 0 ? own : earlier;
      const exact = candidates.filter((o) => mismatches(e, o).length === 0);
      let v: Violation;
      if (exact.length > 0) {
        v = {
          invariant: this.id,
          message: `${describe(e)} was logged twice for ${exact[0].what}`,
          evidence: { op: l.op, seq: l.seq, line: e.line, event: exact[0].what, expected: 'one line', actual: 'two' },
          symptom: 'an operation logged twice',
        };
      } else {
        const nearest = candidates[0];
        const wrong = nearest === undefined ? [] : mismatches(e, nearest);
        v = {
          invariant: this.id,
          message: nearest === undefined
            ? `${describe(e)} was logged, but no ${kind} operation had happened`
            : `${describe(e)} was logged for ${nearest.what}: ${wrong.join(', ')}`,
          evidence: { op: l.op, seq: l.seq, line: e.line, ...(nearest !== undefined ? { event: nearest.what } : {}), expected: nearest?.what ?? 'an operation', actual: e.line },
          // by the field that is wrong, not the kind: one mistake (the worker's PID) shows in every kind it logs
          symptom: nearest === undefined ? 'a line for an operation that never happened' : `the logged ${wrong.map((w) => w.split(' ')[0]).join(' and ')} is not the operation's`,
        };
      }
      // one violation per symptom per run
      if (!seen.has(v.symptom as string)) {
        seen.add(v.symptom as string);
        out.push(v);
      }
    }
    return out;
  },
};
