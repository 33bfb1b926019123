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

/** The choices both generator formats draw from, in the order they draw them (format 2 reads digits as indexes). */
export const EXIT_RACES: readonly ExitRace[] = ['gone', 'reused'];
export const IRP_MAJORS: readonly string[] = ['IRP_MJ_CREATE', 'IRP_MJ_CLOSE', 'IRP_MJ_CLEANUP', 'IRP_MJ_DEVICE_CONTROL', 'IRP_MJ_READ'];
export const IRP_IOCTLS: readonly number[] = [0x222000, 0x222004, 0x22e003];
// PROCESS_ALL_ACCESS, TERMINATE, VM_READ | QUERY_INFORMATION, QUERY_LIMITED_INFORMATION, VM_WRITE | VM_OPERATION,
// THREAD_SUSPEND_RESUME | THREAD_GET_CONTEXT | THREAD_SET_CONTEXT
export const HANDLE_ACCESSES: readonly number[] = [0x1fffff, 0x0001, 0x0410, 0x1000, 0x0028, 0x001a];
export const IOCTL_FILLS: readonly number[] = [0, 0x41, 0xff];
/** Registry operations drawn 2 in 7 (each a third of that) and 1 in 7; SetValue is the other 4. */
export const REGISTRY_USUAL: readonly RegistryOperation[] = ['QueryValue', 'DeleteValue', 'CreateKey'];
export const REGISTRY_RARE: readonly RegistryOperation[] = ['OpenKey', 'DeleteKey', 'RenameKey'];
/** File operations drawn 2 in 7 (each a third of that); Write is 4 in 7, Delete 1. */
export const FILE_USUAL: readonly FileOperation[] = ['Create', 'Read', 'Rename'];

export const DEFAULT_WEIGHTS: OpWeights = { process: 5, thread: 3, exitThread: 2, exitProcess: 4, image: 3, unload: 1, load: 1, irp: 1 };

export function rawOpArbitrary(adversarial: boolean, w: OpWeights = DEFAULT_WEIGHTS): fc.Arbitrary<RawOp> {
  const index = fc.nat({ max: 64 });
  const race: fc.Arbitrary<ExitRace | undefined> = adversarial
    ? fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom<ExitRace>(...EXIT_RACES) })
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
        fc.constantFrom(...IRP_MAJORS),
        fc.constantFrom(...IRP_IOCTLS),
        prototypeChoice,
      ).map(([major, ioctl]): RawOp => ({ k: 'irp', major, ioctl })),
    },
    {
      weight: w.handle ?? 0,
      arbitrary: fc.tuple(
        index, index, fc.boolean(),
        fc.constantFrom(...HANDLE_ACCESSES),
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
            clientLength, clientLength, fc.constantFrom(...IOCTL_FILLS), prototypeChoice,
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
          { weight: 2, arbitrary: fc.constantFrom<RegistryOperation>(...REGISTRY_USUAL) },
          { weight: 1, arbitrary: fc.constantFrom<RegistryOperation>(...REGISTRY_RARE) },
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
          { weight: 2, arbitrary: fc.constantFrom<FileOperation>(...FILE_USUAL) },
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

/** Labels made so far (`P1`, `T7` …), by prefix and number: most scenarios use the same few hundred. */
const LABELS: Record<string, (string | undefined)[]> = { P: [], T: [], F: [], C: [] };
function label(prefix: 'P' | 'T' | 'F' | 'C', n: number): string {
  const made = LABELS[prefix];
  return (made[n] ??= `${prefix}${n}`);
}

/**
 * The live objects a scenario's operations act on, turning index-based raw operations into labelled operations
 * (`out`); an operation with no possible target is dropped. One method per kind of raw operation, with its fields:
 * format 1 calls them from `RawOp`s (`resolveOps`), format 2 straight from the decoded digits (op-codes.ts).
 */
export class OpResolver {
  readonly out: Op[] = [];
  private readonly live: { label: string; threads: string[] }[] = [];
  /** Open files, with the process whose handle they are (closed with it when it exits). */
  private files: { label: string; process: string }[] = [];
  /** The service's connections to the minifilter's port (closed with its process). */
  private connections: { label: string; process: string }[] = [];
  private nextConnection = 1;
  private nextProcess = 1;
  private nextThread = 1;
  private nextFile = 1;
  /** A listening client's requests use `eventsIoctl`. */
  constructor(private readonly eventsIoctl?: number) {}

  private gone(process: string): void {
    if (this.files.length > 0) this.files = this.files.filter((f) => f.process !== process);
    if (this.connections.length > 0) this.connections = this.connections.filter((c) => c.process !== process);
  }
  /** A live process by index, or System at 0 (`index` modulo live + 1). */
  private processOrSystem(index: number): string {
    const i = index % (this.live.length + 1);
    return i === 0 ? SYSTEM_LABEL : this.live[i - 1].label;
  }

  process(parentIndex: number, path: string, unavailable: boolean, creatorIndex: number | null): void {
    const parent = this.processOrSystem(parentIndex);
    const id = label('P', this.nextProcess++);
    const thread = label('T', this.nextThread++);
    const creator = creatorIndex === null ? SYSTEM_LABEL : this.processOrSystem(creatorIndex);
    // properties in the order reports have always had them: id, thread, parent, path, pathUnavailable, creator
    const op: { -readonly [K in keyof CreateProcessOp]: CreateProcessOp[K] } = { op: 'CreateProcess', id, thread, parent, path };
    if (unavailable) op.pathUnavailable = true;
    if (creatorIndex !== null && creator !== parent) op.creator = creator;
    this.out.push(op);
    this.live.push({ label: id, threads: [thread] });
  }
  thread(target: number): void {
    if (this.live.length === 0) return;
    const p = this.live[target % this.live.length];
    const id = label('T', this.nextThread++);
    this.out.push({ op: 'CreateThread', id, process: p.label });
    p.threads.push(id);
  }
  exitThread(target: number, race: ExitRace | undefined): void {
    // the (target mod all live threads)-th thread, in process order: counted, not listed (a list per operation
    // was an eighth of generation's time)
    const live = this.live;
    let all = 0;
    for (const q of live) all += q.threads.length;
    if (all === 0) return;
    let k = target % all;
    let p = live[0];
    for (const q of live) {
      if (k < q.threads.length) {
        p = q;
        break;
      }
      k -= q.threads.length;
    }
    const t = p.threads[k];
    this.out.push(race !== undefined ? { op: 'ExitThread', thread: t, race } : { op: 'ExitThread', thread: t });
    p.threads.splice(p.threads.indexOf(t), 1);
    if (p.threads.length === 0) {
      live.splice(live.indexOf(p), 1);
      this.gone(p.label);
    }
  }
  exitProcess(target: number, race: ExitRace | undefined): void {
    if (this.live.length === 0) return;
    const i = target % this.live.length;
    const process = this.live[i].label;
    this.out.push(race !== undefined ? { op: 'ExitProcess', process, race } : { op: 'ExitProcess', process });
    this.gone(process);
    this.live.splice(i, 1);
  }
  image(target: number, system: boolean, path: string, unavailable: boolean): void {
    if (!system && this.live.length === 0) return;
    const process = system ? SYSTEM_LABEL : this.live[target % this.live.length].label;
    this.out.push(unavailable ? { op: 'LoadImage', process, path, pathUnavailable: true } : { op: 'LoadImage', process, path });
  }
  irp(major: string, ioctl: number): void {
    this.out.push(major === 'IRP_MJ_DEVICE_CONTROL' ? { op: 'DeviceRequest', major, ioctl } : { op: 'DeviceRequest', major });
  }
  handle(requesterIndex: number, targetIndex: number, thread: boolean, access: number, duplicate: boolean, kernel: boolean): void {
    // the requester: a live process or System (a kernel-mode open comes from System); the target: a live process,
    // or one of its threads; itself included (the self-open case)
    const requester = kernel ? SYSTEM_LABEL : this.processOrSystem(requesterIndex);
    if (this.live.length === 0) return;
    const p = this.live[targetIndex % this.live.length];
    const target = thread && p.threads.length > 0 ? p.threads[targetIndex % p.threads.length] : p.label;
    this.out.push({ op: 'OpenHandle', requester, target, access, ...(duplicate ? { duplicate: true } : {}), ...(kernel ? { kernelHandle: true } : {}) });
  }
  open(client: number, listen: boolean): void {
    if (this.live.length === 0) return;
    const p = this.live[client % this.live.length];
    const id = label('F', this.nextFile++);
    this.out.push({ op: 'OpenDevice', id, process: p.label, ...(listen && this.eventsIoctl !== undefined ? { listen: { ioctl: this.eventsIoctl, outputLength: 4096 } } : {}) });
    this.files.push({ label: id, process: p.label });
  }
  ioctl(file: number, code: number, inputLength: number, outputLength: number, fill: number): void {
    if (this.files.length === 0) return;
    this.out.push({ op: 'DeviceIoControl', file: this.files[file % this.files.length].label, ioctl: code, inputLength, outputLength, fill });
  }
  read(file: number, length: number): void {
    if (this.files.length === 0) return;
    this.out.push({ op: 'ReadFile', file: this.files[file % this.files.length].label, length });
  }
  close(file: number): void {
    if (this.files.length === 0) return;
    const i = file % this.files.length;
    this.out.push({ op: 'CloseHandle', file: this.files[i].label });
    this.files.splice(i, 1);
  }
  registry(caller: number, operation: RegistryOperation, key: RegistryKeyLabel, name: string, upper: boolean): void {
    // the caller: a live process, or System (a kernel-mode caller)
    const process = this.processOrSystem(caller);
    const named = operation === 'SetValue' || operation === 'QueryValue' || operation === 'DeleteValue';
    this.out.push({
      op: 'RegistryOp', process, operation, key,
      ...(named ? { name } : operation === 'RenameKey' ? { name: `${name}Old` } : {}), ...(upper ? { upperCase: true } : {}),
    });
  }
  file(caller: number, operation: FileOperation, file: FileLabel, burst: boolean): void {
    // the caller: a live process (file I/O from user mode), or System
    const process = this.processOrSystem(caller);
    if (burst) {
      for (const f of DOCUMENTS) this.out.push({ op: 'FileOp', process, operation: 'Write', file: f });
    } else {
      this.out.push({ op: 'FileOp', process, operation, file });
    }
  }
  portConnect(client: number): void {
    if (this.live.length === 0) return;
    const p = this.live[client % this.live.length];
    const id = label('C', this.nextConnection++);
    this.out.push({ op: 'PortConnect', id, process: p.label });
    this.connections.push({ label: id, process: p.label });
  }
  portDisconnect(connection: number): void {
    if (this.connections.length === 0) return;
    const i = connection % this.connections.length;
    this.out.push({ op: 'PortDisconnect', connection: this.connections[i].label });
    this.connections.splice(i, 1);
  }
  unload(): void {
    this.out.push({ op: 'UnloadDriver' });
  }
  load(): void {
    this.out.push({ op: 'LoadDriver' });
  }

  /** One raw operation (format 1). */
  add(r: RawOp): void {
    switch (r.k) {
      case 'process': return this.process(r.parent, r.path, r.unavailable, r.creator);
      case 'thread': return this.thread(r.target);
      case 'exit-thread': return this.exitThread(r.target, r.race);
      case 'exit-process': return this.exitProcess(r.target, r.race);
      case 'image': return this.image(r.target, r.system, r.path, r.unavailable);
      case 'irp': return this.irp(r.major, r.ioctl);
      case 'handle': return this.handle(r.requester, r.target, r.thread, r.access, r.duplicate, r.kernel);
      case 'open': return this.open(r.client, r.listen);
      case 'ioctl': return this.ioctl(r.file, r.code, r.inputLength, r.outputLength, r.fill);
      case 'read': return this.read(r.file, r.length);
      case 'close': return this.close(r.file);
      case 'registry': return this.registry(r.caller, r.operation, r.key, r.name, r.upper);
      case 'file': return this.file(r.caller, r.operation, r.file, r.burst);
      case 'port-connect': return this.portConnect(r.client);
      case 'port-disconnect': return this.portDisconnect(r.connection);
      case 'unload': return this.unload();
      case 'load': return this.load();
    }
  }
}

/** What a decoder hands each raw operation to: an `OpResolver`'s methods, one per kind. */
export type OpSink = { readonly [K in Exclude<keyof OpResolver, 'out' | 'add'>]: OpResolver[K] };

/** The documents a burst writes, every one at once. */
const DOCUMENTS: readonly FileLabel[] = FILE_LABELS.filter((l) => l.startsWith('document-'));

/**
 * Turns index-based raw ops into labelled ops on live objects; ops with no possible target are dropped. A listening
 * client's requests use `eventsIoctl`.
 */
export function resolveOps(raw: readonly RawOp[], eventsIoctl?: number): Op[] {
  const resolver = new OpResolver(eventsIoctl);
  for (const r of raw) resolver.add(r);
  return resolver.out;
}
