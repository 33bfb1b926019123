/**
 * Kernel operation sequences. fast-check generates raw operations whose targets are plain indexes; `resolveOps`
 * turns them into symbolic operations on live objects (labels), so every generated scenario is legal by
 * construction. Shrinking of the raw array by fast-check keeps that property; the harness's domain shrinker then
 * works on the labelled form, where removing an op never changes what the others refer to.
 */
import fc from 'fast-check';
import type { RegistryOperation } from '../model/cm/callbacks.js';
import { REGISTRY_KEY_LABELS, REGISTRY_VALUE_NAMES, type RegistryKeyLabel } from '../model/cm/registry.js';
import type { FileOperation } from '../model/flt/filters.js';
import { FILE_LABELS, type FileLabel } from '../model/flt/volume.js';
import { SYSTEM_LABEL, type ExitRace, type Op } from '../model/ops.js';
import { dllPath, driverPath, processPath } from './names.js';

type CreateProcessOp = Extract<Op, { op: 'CreateProcess' }>;

export type RawOp =
  | { readonly k: 'process'; readonly parent: number; readonly path: string; readonly unavailable: boolean; readonly creator: number | null }
  | { readonly k: 'thread'; readonly target: number }
  | { readonly k: 'exit-thread'; readonly target: number; readonly race?: ExitRace }
  | { readonly k: 'exit-process'; readonly target: number; readonly race?: ExitRace }
  | { readonly k: 'image'; readonly target: number; readonly system: boolean; readonly path: string; readonly unavailable: boolean }
  | { readonly k: 'irp'; readonly major: string; readonly ioctl: number }
  | { readonly k: 'handle'; readonly requester: number; readonly target: number; readonly thread: boolean; readonly access: number; readonly duplicate: boolean; readonly kernel: boolean }
  | { readonly k: 'open'; readonly client: number; readonly listen: boolean }
  | { readonly k: 'ioctl'; readonly file: number; readonly code: number; readonly inputLength: number; readonly outputLength: number; readonly fill: number }
  | { readonly k: 'read'; readonly file: number; readonly length: number }
  | { readonly k: 'close'; readonly file: number }
  | { readonly k: 'registry'; readonly caller: number; readonly operation: RegistryOperation; readonly key: RegistryKeyLabel; readonly name: string; readonly upper: boolean }
  | { readonly k: 'file'; readonly caller: number; readonly operation: FileOperation; readonly file: FileLabel; readonly burst: boolean }
  | { readonly k: 'port-connect'; readonly client: number }
  | { readonly k: 'port-disconnect'; readonly connection: number }
  | { readonly k: 'unload' }
  | { readonly k: 'load' };

export interface OpWeights {
  readonly process: number;
  readonly thread: number;
  readonly exitThread: number;
  readonly exitProcess: number;
  readonly image: number;
  readonly unload: number;
  readonly load: number;
  readonly irp: number;
  /** Handle opens and duplicates (object callbacks see them); 0 unless the driver registers object callbacks. */
  readonly handle?: number;
  /** Registry operations (registry callbacks see them); 0 unless the driver registers registry callbacks. */
  readonly registry?: number;
  /** File operations (minifilters see them); 0 unless the driver registers a minifilter. */
  readonly file?: number;
  /** A user-mode service on the minifilter's communication port (connect, close); 0 unless the driver makes one. */
  readonly port?: number;
  /** A user-mode client on the driver's device (open, DeviceIoControl, ReadFile, close); 0 unless it declares one. */
  readonly client?: number;
  /** The I/O control codes the client sends (the driver's declared ones; one it does not know is added). */
  readonly ioctls?: readonly number[];
  /** The code that reads the driver's events back: a client sends it three times as often as each other one. */
  readonly eventsIoctl?: number;
  /** The driver's events are read with ReadFile (and no code): a client reads three times as often as it sends a code. */
  readonly readsEvents?: boolean;
}

/** Buffer lengths a client passes: none or too small for anything, typical and large, and more than its buffer holds. */
export const CLIENT_LENGTHS = { small: [0, 1, 4, 8, 16, 24], typical: [32, 64, 256, 4096], huge: [0x7ffffff0] } as const;
const clientLength = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...CLIENT_LENGTHS.small) },
  { weight: 5, arbitrary: fc.constantFrom(...CLIENT_LENGTHS.typical) },
  { weight: 1, arbitrary: fc.constantFrom(...CLIENT_LENGTHS.huge) },
);
/** A code no driver declares: CTL_CODE(FILE_DEVICE_UNKNOWN, 0xFFF, METHOD_BUFFERED, FILE_ANY_ACCESS). */
export const UNKNOWN_IOCTL = 0x223ffc;

export const DEFAULT_WEIGHTS: OpWeights = { process: 5, thread: 3, exitThread: 2, exitProcess: 4, image: 3, unload: 1, load: 1, irp: 1 };

export function rawOpArbitrary(adversarial: boolean, w: OpWeights = DEFAULT_WEIGHTS): fc.Arbitrary<RawOp> {
  const index = fc.nat({ max: 64 });
  const race: fc.Arbitrary<ExitRace | undefined> = adversarial
    ? fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom<ExitRace>('gone', 'reused') })
    : fc.constant(undefined);
  const rare = fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
  // fc.record(model) draws each value in key order, then a boolean (whether the object has a null prototype): these
  // tuples draw the same (constants draw nothing), so every seed's scenarios stay as they were, without the record's
  // general-purpose object mapper (a tenth of generation's time)
  const prototypeChoice = fc.boolean();
  const entries = [
    {
      weight: w.process,
      arbitrary: fc.tuple(index, processPath, rare, fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: index }), prototypeChoice)
        .map(([parent, path, unavailable, creator]): RawOp => ({ k: 'process', parent, path, unavailable, creator })),
    },
    { weight: w.thread, arbitrary: fc.tuple(index, prototypeChoice).map(([target]): RawOp => ({ k: 'thread', target })) },
    { weight: w.exitThread, arbitrary: fc.tuple(index, race, prototypeChoice).map(([target, r]): RawOp => ({ k: 'exit-thread', target, race: r })) },
    { weight: w.exitProcess, arbitrary: fc.tuple(index, race, prototypeChoice).map(([target, r]): RawOp => ({ k: 'exit-process', target, race: r })) },
    {
      weight: w.image,
      // a DLL or a driver: two records, not a `.chain` on a boolean (a chain costs generation time and shrinks worse)
      arbitrary: fc.oneof(
        fc.tuple(index, dllPath, rare, prototypeChoice).map(([target, path, unavailable]): RawOp => ({ k: 'image', target, system: false, path, unavailable })),
        fc.tuple(index, driverPath, rare, prototypeChoice).map(([target, path, unavailable]): RawOp => ({ k: 'image', target, system: true, path, unavailable })),
      ),
    },
    {
      weight: w.irp,
      arbitrary: fc.tuple(
        fc.constantFrom('IRP_MJ_CREATE', 'IRP_MJ_CLOSE', 'IRP_MJ_CLEANUP', 'IRP_MJ_DEVICE_CONTROL', 'IRP_MJ_READ'),
        fc.constantFrom(0x222000, 0x222004, 0x22e003),
        prototypeChoice,
      ).map(([major, ioctl]): RawOp => ({ k: 'irp', major, ioctl })),
    },
    {
      weight: w.handle ?? 0,
      arbitrary: fc.tuple(
        index, index, fc.boolean(),
        // PROCESS_ALL_ACCESS, TERMINATE, VM_READ | QUERY_INFORMATION, QUERY_LIMITED_INFORMATION, VM_WRITE | VM_OPERATION,
        // THREAD_SUSPEND_RESUME | THREAD_GET_CONTEXT | THREAD_SET_CONTEXT
        fc.constantFrom(0x1fffff, 0x0001, 0x0410, 0x1000, 0x0028, 0x001a),
        rare, rare, prototypeChoice,
      ).map(([requester, target, thread, access, duplicate, kernel]): RawOp => ({ k: 'handle', requester, target, thread, access, duplicate, kernel })),
    },
    {
      weight: w.client ?? 0,
      arbitrary: fc.oneof(
        { weight: 2, arbitrary: fc.tuple(index, w.eventsIoctl === undefined ? fc.constant(false) : fc.boolean(), prototypeChoice).map(([client, listen]): RawOp => ({ k: 'open', client, listen })) },
        {
          weight: w.readsEvents === true ? 2 : 6,
          arbitrary: fc.tuple(
            index,
            w.eventsIoctl === undefined ? fc.constantFrom(...(w.ioctls ?? []), UNKNOWN_IOCTL)
              : fc.oneof({ weight: 3, arbitrary: fc.constant(w.eventsIoctl) }, { weight: 1, arbitrary: fc.constantFrom(...(w.ioctls ?? []).filter((c) => c !== w.eventsIoctl), UNKNOWN_IOCTL) }),
            clientLength, clientLength, fc.constantFrom(0, 0x41, 0xff), prototypeChoice,
          ).map(([file, code, inputLength, outputLength, fill]): RawOp => ({ k: 'ioctl', file, code, inputLength, outputLength, fill })),
        },
        { weight: w.readsEvents === true ? 6 : 1, arbitrary: fc.tuple(index, clientLength, prototypeChoice).map(([file, length]): RawOp => ({ k: 'read', file, length })) },
        { weight: 1, arbitrary: fc.tuple(index, prototypeChoice).map(([file]): RawOp => ({ k: 'close', file })) },
      ),
    },
    {
      weight: w.registry ?? 0,
      arbitrary: fc.tuple(
        index,
        fc.oneof(
          { weight: 4, arbitrary: fc.constant<RegistryOperation>('SetValue') },
          { weight: 2, arbitrary: fc.constantFrom<RegistryOperation>('QueryValue', 'DeleteValue', 'CreateKey') },
          { weight: 1, arbitrary: fc.constantFrom<RegistryOperation>('OpenKey', 'DeleteKey', 'RenameKey') },
        ),
        fc.constantFrom(...REGISTRY_KEY_LABELS), fc.constantFrom(...REGISTRY_VALUE_NAMES), rare, prototypeChoice,
      ).map(([caller, operation, key, name, upper]): RawOp => ({ k: 'registry', caller, operation, key, name, upper })),
    },
    {
      weight: w.file ?? 0,
      arbitrary: fc.tuple(
        index,
        fc.oneof(
          { weight: 4, arbitrary: fc.constant<FileOperation>('Write') },
          { weight: 2, arbitrary: fc.constantFrom<FileOperation>('Create', 'Read', 'Rename') },
          { weight: 1, arbitrary: fc.constant<FileOperation>('Delete') },
        ),
        fc.constantFrom(...FILE_LABELS),
        // a burst: the same process writes every document at once, as ransomware does
        rare, prototypeChoice,
      ).map(([caller, operation, file, burst]): RawOp => ({ k: 'file', caller, operation, file, burst })),
    },
    {
      weight: w.port ?? 0,
      arbitrary: fc.oneof(
        { weight: 2, arbitrary: fc.tuple(index, prototypeChoice).map(([client]): RawOp => ({ k: 'port-connect', client })) },
        { weight: 1, arbitrary: fc.tuple(index, prototypeChoice).map(([connection]): RawOp => ({ k: 'port-disconnect', connection })) },
      ),
    },
    { weight: w.unload, arbitrary: fc.constant<RawOp>({ k: 'unload' }) },
    { weight: w.load, arbitrary: fc.constant<RawOp>({ k: 'load' }) },
  ];
  // a weight of 0 switches a kind of operation off
  return fc.oneof(...entries.filter((e) => e.weight > 0));
}

/**
 * Turns index-based raw ops into labelled ops on live objects; ops with no possible target are dropped. A listening
 * client's requests use `eventsIoctl`.
 */
export function resolveOps(raw: readonly RawOp[], eventsIoctl?: number): Op[] {
  const out: Op[] = [];
  const live: { label: string; threads: string[] }[] = [];
  /** Open files, with the process whose handle they are (closed with it when it exits). */
  let files: { label: string; process: string }[] = [];
  /** The service's connections to the minifilter's port (closed with its process). */
  let connections: { label: string; process: string }[] = [];
  const gone = (process: string): void => {
    if (files.length > 0) files = files.filter((f) => f.process !== process);
    if (connections.length > 0) connections = connections.filter((c) => c.process !== process);
  };
  let nextConnection = 1;
  let nextProcess = 1;
  let nextThread = 1;
  let nextFile = 1;
  for (const r of raw) {
    switch (r.k) {
      case 'process': {
        const parentIdx = r.parent % (live.length + 1);
        const parent = parentIdx === 0 ? SYSTEM_LABEL : live[parentIdx - 1].label;
        const id = `P${nextProcess++}`;
        const thread = `T${nextThread++}`;
        const creatorIdx = r.creator === null ? 0 : r.creator % (live.length + 1);
        const creator = creatorIdx === 0 ? SYSTEM_LABEL : live[creatorIdx - 1].label;
        // properties in the order reports have always had them: id, thread, parent, path, pathUnavailable, creator
        const op: { -readonly [K in keyof CreateProcessOp]: CreateProcessOp[K] } = { op: 'CreateProcess', id, thread, parent, path: r.path };
        if (r.unavailable) op.pathUnavailable = true;
        if (r.creator !== null && creator !== parent) op.creator = creator;
        out.push(op);
        live.push({ label: id, threads: [thread] });
        break;
      }
      case 'thread': {
        if (live.length === 0) break;
        const p = live[r.target % live.length];
        const id = `T${nextThread++}`;
        out.push({ op: 'CreateThread', id, process: p.label });
        p.threads.push(id);
        break;
      }
      case 'exit-thread': {
        // the (target mod all live threads)-th thread, in process order: counted, not listed (a list per operation
        // was an eighth of generation's time)
        let all = 0;
        for (const q of live) all += q.threads.length;
        if (all === 0) break;
        let k = r.target % all;
        let p = live[0];
        for (const q of live) {
          if (k < q.threads.length) {
            p = q;
            break;
          }
          k -= q.threads.length;
        }
        const t = p.threads[k];
        out.push(r.race !== undefined ? { op: 'ExitThread', thread: t, race: r.race } : { op: 'ExitThread', thread: t });
        p.threads.splice(p.threads.indexOf(t), 1);
        if (p.threads.length === 0) {
          live.splice(live.indexOf(p), 1);
          gone(p.label);
        }
        break;
      }
      case 'exit-process': {
        if (live.length === 0) break;
        const i = r.target % live.length;
        out.push(r.race !== undefined ? { op: 'ExitProcess', process: live[i].label, race: r.race } : { op: 'ExitProcess', process: live[i].label });
        gone(live[i].label);
        live.splice(i, 1);
        break;
      }
      case 'image': {
        if (!r.system && live.length === 0) break;
        const process = r.system ? SYSTEM_LABEL : live[r.target % live.length].label;
        out.push(r.unavailable ? { op: 'LoadImage', process, path: r.path, pathUnavailable: true } : { op: 'LoadImage', process, path: r.path });
        break;
      }
      case 'irp':
        out.push(r.major === 'IRP_MJ_DEVICE_CONTROL' ? { op: 'DeviceRequest', major: r.major, ioctl: r.ioctl } : { op: 'DeviceRequest', major: r.major });
        break;
      case 'handle': {
        // the requester: a live process or System (a kernel-mode open comes from System); the target: a live process,
        // or one of its threads; itself included (the self-open case)
        const requesterIdx = r.kernel ? 0 : r.requester % (live.length + 1);
        const requester = requesterIdx === 0 ? SYSTEM_LABEL : live[requesterIdx - 1].label;
        if (live.length === 0) break;
        const p = live[r.target % live.length];
        const target = r.thread && p.threads.length > 0 ? p.threads[r.target % p.threads.length] : p.label;
        out.push({ op: 'OpenHandle', requester, target, access: r.access, ...(r.duplicate ? { duplicate: true } : {}), ...(r.kernel ? { kernelHandle: true } : {}) });
        break;
      }
      case 'open': {
        if (live.length === 0) break;
        const p = live[r.client % live.length];
        const id = `F${nextFile++}`;
        out.push({ op: 'OpenDevice', id, process: p.label, ...(r.listen && eventsIoctl !== undefined ? { listen: { ioctl: eventsIoctl, outputLength: 4096 } } : {}) });
        files.push({ label: id, process: p.label });
        break;
      }
      case 'ioctl':
        if (files.length === 0) break;
        out.push({ op: 'DeviceIoControl', file: files[r.file % files.length].label, ioctl: r.code, inputLength: r.inputLength, outputLength: r.outputLength, fill: r.fill });
        break;
      case 'read':
        if (files.length === 0) break;
        out.push({ op: 'ReadFile', file: files[r.file % files.length].label, length: r.length });
        break;
      case 'close': {
        if (files.length === 0) break;
        const i = r.file % files.length;
        out.push({ op: 'CloseHandle', file: files[i].label });
        files.splice(i, 1);
        break;
      }
      case 'registry': {
        // the caller: a live process, or System (a kernel-mode caller)
        const i = r.caller % (live.length + 1);
        const process = i === 0 ? SYSTEM_LABEL : live[i - 1].label;
        const named = r.operation === 'SetValue' || r.operation === 'QueryValue' || r.operation === 'DeleteValue';
        out.push({
          op: 'RegistryOp', process, operation: r.operation, key: r.key,
          ...(named ? { name: r.name } : r.operation === 'RenameKey' ? { name: `${r.name}Old` } : {}), ...(r.upper ? { upperCase: true } : {}),
        });
        break;
      }
      case 'file': {
        // the caller: a live process (file I/O from user mode), or System
        const i = r.caller % (live.length + 1);
        const process = i === 0 ? SYSTEM_LABEL : live[i - 1].label;
        if (r.burst) {
          for (const file of FILE_LABELS.filter((l) => l.startsWith('document-'))) out.push({ op: 'FileOp', process, operation: 'Write', file });
        } else {
          out.push({ op: 'FileOp', process, operation: r.operation, file: r.file });
        }
        break;
      }
      case 'port-connect': {
        if (live.length === 0) break;
        const p = live[r.client % live.length];
        const id = `C${nextConnection++}`;
        out.push({ op: 'PortConnect', id, process: p.label });
        connections.push({ label: id, process: p.label });
        break;
      }
      case 'port-disconnect': {
        if (connections.length === 0) break;
        const i = r.connection % connections.length;
        out.push({ op: 'PortDisconnect', connection: connections[i].label });
        connections.splice(i, 1);
        break;
      }
      case 'unload':
        out.push({ op: 'UnloadDriver' });
        break;
      case 'load':
        out.push({ op: 'LoadDriver' });
        break;
    }
  }
  return out;
}
