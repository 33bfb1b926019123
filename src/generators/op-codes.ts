/**
 * Generator format 2: each raw operation is one integer in [0, 2^53) that fast-check draws uniformly and shrinks
 * field by field; `opCodes` decodes it by a pure function and hands the operation to an `OpResolver`. Drawing a plain
 * integer costs a fraction of drawing nested `oneof` / `tuple` / `map` arbitraries (format 1, `rawOpArbitrary`), with
 * the same mix of operation kinds, paths, races and rare flags (test/generators/op-codes.test.ts compares the two).
 *
 * The integer is read as mixed-radix digits. Its top band picks the kind by weight (so a smaller code is an earlier
 * kind: 0 is CreateProcess); the low digits are the kind's fields, least consequential first, each choice's first
 * option at digit 0. So the code 0 is the simplest operation — a process started by System from
 * `\Device\HarddiskVolume1\Windows\a.exe` — and fast-check's first shrink candidate for any element is that.
 */
import fc from 'fast-check';
import type { RegistryOperation } from '../model/cm/callbacks.js';
import { REGISTRY_KEY_LABELS, REGISTRY_VALUE_NAMES, type RegistryKeyLabel } from '../model/cm/registry.js';
import type { FileOperation } from '../model/flt/filters.js';
import { FILE_LABELS, type FileLabel } from '../model/flt/volume.js';
import type { ExitRace } from '../model/ops.js';
import {
  CLIENT_LENGTHS,
  DEFAULT_WEIGHTS,
  EXIT_RACES,
  FILE_USUAL,
  HANDLE_ACCESSES,
  IOCTL_FILLS,
  IRP_IOCTLS,
  IRP_MAJORS,
  REGISTRY_RARE,
  REGISTRY_USUAL,
  UNKNOWN_IOCTL,
  type OpSink,
  type OpWeights,
  type RawOp,
} from './ops.js';
import {
  BOUNDARY_PATH_LENGTHS,
  COMMON_PROCESS_NAMES,
  DBGPRINT_WINDOW_PATH_LENGTHS,
  DEEP_DIRECTORY,
  DLL_NAMES,
  DRIVER_NAMES,
  LONG_PROCESS_NAMES,
  pathOfLength,
  SHORT_DIRECTORIES,
} from './names.js';

/** Codes are the safe integers: every digit below is exact in a double. */
const CODE_SPACE = 2 ** 53;

/** The digits of one code, read lowest first (module state: decoding is synchronous and never re-entered). */
let rest = 0;
/** While shrinking: each digit read, as [digit, its place value], and the place value of what is left. */
let digitsRead: [digit: number, place: number][] | undefined;
let place = 1;
export function take(radix: number): number {
  // not `rest % radix`: on a double past 2^31 V8 calls fmod, several times slower; q × radix ≤ rest is exact
  const q = Math.floor(rest / radix);
  const d = rest - q * radix;
  rest = q;
  if (digitsRead !== undefined) {
    digitsRead.push([d, place]);
    place *= radix;
  }
  return d;
}
/** 1 time in 10, as format 1's `rare`. */
const rare = (): boolean => take(10) === 9;
/**
 * An index into the live objects, taken modulo what is live: format 1's `fc.nat({ max: 64 })` with fast-check's bias,
 * which draws 0 to 6 about 12% of the time and 58 to 64 about 7% beside a uniform draw — so an operation targets the
 * oldest objects (and System) more often, where races between routines meet (measured, 1,000 runs on 4 CPUs: the
 * gBuckets race of proctable-nolock.c is found by 3 of 6 seeds with a uniform index, 5 of 6 with this one, as with
 * format 1; over 24 other seeds by 20 with this one, 21 with format 1).
 */
function index(): number {
  const band = take(100);
  if (band < 12) return take(7);
  if (band < 19) return 58 + take(7);
  return take(65);
}

const REGEX_NAME_FIRST = 'abcdefghijklmnopqrstuvwxyz';
const REGEX_NAME_REST = 'abcdefghijklmnopqrstuvwxyz0123456789_';
/**
 * A name like format 1's `/^[a-z][a-z0-9_]{0,22}\.exe$/` at fast-check's default size (5 to 15 characters, lengths
 * equally likely), in `directory`: its characters come from what is left of the code after every digit, stretched
 * by an xorshift.
 */
function regexNamePath(directory: number): string {
  const first = REGEX_NAME_FIRST[take(26)];
  const length = take(11);
  const dir = DIRECTORIES[directory];
  let x = (rest % 0x7fffffff) + 1;
  let name = first;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    name += REGEX_NAME_REST[(x >>> 0) % 37];
  }
  return `${dir}\\${name}.exe`;
}

/**
 * Directories by index (format 1's `directory`): the two usual ones, then 20 to 70 levels deep. Made once: a path
 * is an index into these and a name, and its string is made once too.
 */
const DIRECTORIES: readonly string[] = [
  ...SHORT_DIRECTORIES,
  ...Array.from({ length: 51 }, (_, k) => DEEP_DIRECTORY.prefix + DEEP_DIRECTORY.level.repeat(20 + k)),
];
/** A usual directory 6 times in 7, else a deep one. */
const directoryIndex = (): number => (take(7) < 6 ? take(2) : 2 + take(51));

/** Paths made so far, by directory and name index; and paths of a given length, by length. */
class PathCache {
  private readonly joined: (string | undefined)[] = [];
  private readonly byLength = new Map<number, string>();
  constructor(private readonly names: readonly string[], private readonly file: string) {}
  join(dir: number, name: number): string {
    const i = dir * this.names.length + name;
    return (this.joined[i] ??= `${DIRECTORIES[dir]}\\${this.names[name]}`);
  }
  ofLength(length: number): string {
    let p = this.byLength.get(length);
    if (p === undefined) this.byLength.set(length, (p = pathOfLength(length, this.file)));
    return p;
  }
}
const PROCESS_NAMES: readonly string[] = [...COMMON_PROCESS_NAMES, ...LONG_PROCESS_NAMES];
const PROCESS_PATHS = new PathCache(PROCESS_NAMES, 'app.exe');
const DLL_PATHS = new PathCache(DLL_NAMES, 'x.dll');
const DRIVER_PATHS: readonly string[] = DRIVER_NAMES.map((n) => `\\SystemRoot\\System32\\drivers\\${n}`);

/** A boundary length 1 time in 11, one in DbgPrint's window 1 in 11; else undefined (a directory and a name). */
function lengthClassPath(paths: PathCache): string | undefined {
  const c = take(11);
  if (c < 9) return undefined;
  if (c === 9) return paths.ofLength(BOUNDARY_PATH_LENGTHS[take(BOUNDARY_PATH_LENGTHS.length)]);
  return paths.ofLength(DBGPRINT_WINDOW_PATH_LENGTHS.min + take(DBGPRINT_WINDOW_PATH_LENGTHS.max - DBGPRINT_WINDOW_PATH_LENGTHS.min + 1));
}
/** format 1's `processPath`: a name common 4 times in 8, long 2 in 8, else drawn like the regex. */
function processPath(): string {
  const special = lengthClassPath(PROCESS_PATHS);
  if (special !== undefined) return special;
  const c = take(8);
  if (c < 6) {
    const name = c < 4 ? take(COMMON_PROCESS_NAMES.length) : COMMON_PROCESS_NAMES.length + take(LONG_PROCESS_NAMES.length);
    return PROCESS_PATHS.join(directoryIndex(), name);
  }
  return regexNamePath(directoryIndex());
}
function dllPath(): string {
  const special = lengthClassPath(DLL_PATHS);
  if (special !== undefined) return special;
  const name = take(DLL_NAMES.length);
  return DLL_PATHS.join(directoryIndex(), name);
}

/** Picks among `weights` with a digit in [0, their sum): the index whose band holds it. */
function weighted(weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let d = take(total);
  for (let i = 0; i < weights.length; i++) {
    if (d < weights[i]) return i;
    d -= weights[i];
  }
  return weights.length - 1;
}

function clientLength(): number {
  const c = take(8);
  if (c < 2) return CLIENT_LENGTHS.small[take(CLIENT_LENGTHS.small.length)];
  if (c < 7) return CLIENT_LENGTHS.typical[take(CLIENT_LENGTHS.typical.length)];
  return CLIENT_LENGTHS.huge[0];
}


/** What one kind's fields decode to, from the digits `take` reads: the operation, handed to `sink`. */
type KindDecoder = (sink: OpSink) => void;

/** A configuration's operation codes: how fast-check draws and shrinks them, and what each one is. */
export interface OpCodes {
  readonly arbitrary: fc.Arbitrary<number>;
  /** Decodes `code` and hands the raw operation to `sink` (an `OpResolver`: no `RawOp` is made). Pure. */
  readonly decodeInto: (code: number, sink: OpSink) => void;
  /** The raw operation `code` is (format 1's form, for reading and tests). Pure. */
  readonly decode: (code: number) => RawOp;
}

/** Keeps the last raw operation handed to it. */
class RawOpSink implements OpSink {
  last: RawOp = { k: 'unload' };
  process(parent: number, path: string, unavailable: boolean, creator: number | null): void { this.last = { k: 'process', parent, path, unavailable, creator }; }
  thread(target: number): void { this.last = { k: 'thread', target }; }
  exitThread(target: number, race: ExitRace | undefined): void { this.last = { k: 'exit-thread', target, race }; }
  exitProcess(target: number, race: ExitRace | undefined): void { this.last = { k: 'exit-process', target, race }; }
  image(target: number, system: boolean, path: string, unavailable: boolean): void { this.last = { k: 'image', target, system, path, unavailable }; }
  irp(major: string, ioctl: number): void { this.last = { k: 'irp', major, ioctl }; }
  handle(requester: number, target: number, thread: boolean, access: number, duplicate: boolean, kernel: boolean): void {
    this.last = { k: 'handle', requester, target, thread, access, duplicate, kernel };
  }
  open(client: number, listen: boolean): void { this.last = { k: 'open', client, listen }; }
  ioctl(file: number, code: number, inputLength: number, outputLength: number, fill: number): void { this.last = { k: 'ioctl', file, code, inputLength, outputLength, fill }; }
  read(file: number, length: number): void { this.last = { k: 'read', file, length }; }
  close(file: number): void { this.last = { k: 'close', file }; }
  registry(caller: number, operation: RegistryOperation, key: RegistryKeyLabel, name: string, upper: boolean): void { this.last = { k: 'registry', caller, operation, key, name, upper }; }
  file(caller: number, operation: FileOperation, file: FileLabel, burst: boolean): void { this.last = { k: 'file', caller, operation, file, burst }; }
  portConnect(client: number): void { this.last = { k: 'port-connect', client }; }
  portDisconnect(connection: number): void { this.last = { k: 'port-disconnect', connection }; }
  unload(): void { this.last = { k: 'unload' }; }
  load(): void { this.last = { k: 'load' }; }
}

/** The codes of one configuration (profile and weights). */
export function opCodes(adversarial: boolean, w: OpWeights = DEFAULT_WEIGHTS): OpCodes {
  const race = (): ExitRace | undefined => (adversarial && take(4) === 3 ? EXIT_RACES[take(EXIT_RACES.length)] : undefined);
  const ioctls = w.ioctls ?? [];
  const eventsIoctl = w.eventsIoctl;
  const others = eventsIoctl === undefined ? [...ioctls, UNKNOWN_IOCTL] : [...ioctls.filter((c) => c !== eventsIoctl), UNKNOWN_IOCTL];
  const clientWeights = [2, w.readsEvents === true ? 2 : 6, w.readsEvents === true ? 6 : 1, 1];
  // each kind's fields, least consequential first (the lowest digits)
  const kinds: { weight: number; decode: KindDecoder }[] = [
    {
      weight: w.process,
      decode: (s) => {
        const unavailable = rare();
        const c = take(650);
        const creator = c < 585 ? null : c - 585; // none 9 times in 10, else an index
        const parent = index();
        s.process(parent, processPath(), unavailable, creator);
      },
    },
    { weight: w.thread, decode: (s) => s.thread(index()) },
    {
      weight: w.exitThread,
      decode: (s) => {
        const target = index();
        s.exitThread(target, race());
      },
    },
    {
      weight: w.exitProcess,
      decode: (s) => {
        const target = index();
        s.exitProcess(target, race());
      },
    },
    {
      weight: w.image,
      decode: (s) => {
        const unavailable = rare();
        const target = index();
        if (take(2) === 0) s.image(target, false, dllPath(), unavailable);
        else s.image(target, true, DRIVER_PATHS[take(DRIVER_PATHS.length)], unavailable);
      },
    },
    {
      weight: w.irp,
      decode: (s) => {
        const major = IRP_MAJORS[take(IRP_MAJORS.length)];
        s.irp(major, IRP_IOCTLS[take(IRP_IOCTLS.length)]);
      },
    },
    {
      weight: w.handle ?? 0,
      decode: (s) => {
        const duplicate = rare();
        const kernel = rare();
        const thread = take(2) === 1;
        const requester = index();
        const target = index();
        s.handle(requester, target, thread, HANDLE_ACCESSES[take(HANDLE_ACCESSES.length)], duplicate, kernel);
      },
    },
    {
      weight: w.client ?? 0,
      decode: (s) => {
        switch (weighted(clientWeights)) {
          case 0: {
            const client = index();
            s.open(client, eventsIoctl !== undefined && take(2) === 1);
            return;
          }
          case 1: {
            const file = index();
            const fill = IOCTL_FILLS[take(IOCTL_FILLS.length)];
            const inputLength = clientLength();
            const outputLength = clientLength();
            const code = eventsIoctl !== undefined && take(4) < 3 ? eventsIoctl : others[take(others.length)];
            s.ioctl(file, code, inputLength, outputLength, fill);
            return;
          }
          case 2: {
            const file = index();
            s.read(file, clientLength());
            return;
          }
          default:
            s.close(index());
        }
      },
    },
    {
      weight: w.registry ?? 0,
      decode: (s) => {
        const upper = rare();
        const caller = index();
        const o = take(7);
        const operation: RegistryOperation = o < 4 ? 'SetValue' : o < 6 ? REGISTRY_USUAL[take(3)] : REGISTRY_RARE[take(3)];
        const key = REGISTRY_KEY_LABELS[take(REGISTRY_KEY_LABELS.length)];
        s.registry(caller, operation, key, REGISTRY_VALUE_NAMES[take(REGISTRY_VALUE_NAMES.length)], upper);
      },
    },
    {
      weight: w.file ?? 0,
      decode: (s) => {
        // a burst: the same process writes every document at once, as ransomware does
        const burst = rare();
        const caller = index();
        const o = take(7);
        const operation: FileOperation = o < 4 ? 'Write' : o < 6 ? FILE_USUAL[take(3)] : 'Delete';
        s.file(caller, operation, FILE_LABELS[take(FILE_LABELS.length)], burst);
      },
    },
    {
      weight: w.port ?? 0,
      decode: (s) => {
        if (take(3) < 2) s.portConnect(index());
        else s.portDisconnect(index());
      },
    },
    { weight: w.unload, decode: (s) => s.unload() },
    { weight: w.load, decode: (s) => s.load() },
  ];
  // a weight of 0 switches a kind of operation off
  const on = kinds.filter((k) => k.weight > 0);
  if (on.length === 0) throw new RangeError('every operation weight is 0');
  const bands: number[] = [];
  let total = 0;
  for (const k of on) bands.push((total += k.weight));
  const perUnit = Math.floor(CODE_SPACE / total);
  /** The kind's index and the first code of its band. */
  const kindOf = (code: number): [kind: number, start: number] => {
    // the top band picks the kind; the codes past total × perUnit (fewer than `total`) fall in the last
    const unit = Math.min(Math.floor(code / perUnit), total - 1);
    let i = 0;
    while (unit >= bands[i]) i++;
    return [i, (bands[i] - on[i].weight) * perUnit];
  };
  const decodeInto = (code: number, sink: OpSink): void => {
    const [i, start] = kindOf(code);
    // the fields: the code's offset in its kind's band (weight × perUnit codes), read as digits
    rest = code - start;
    on[i].decode(sink);
  };
  const raw = new RawOpSink();
  const decode = (code: number): RawOp => {
    decodeInto(code, raw);
    return raw.last;
  };
  const simpler = (code: number): number[] => {
    const [i, start] = kindOf(code);
    return simplerCodes(code, start, () => on[i].decode(raw));
  };
  return { arbitrary: new OpCodeArbitrary(simpler), decodeInto, decode };
}

/**
 * Simpler codes than `code`, as a tuple of fields shrinks: the simplest (0), the first of its band (`start`: the
 * same kind with every field at its first choice), the lowest fields kept and the rest at their first choice (1,
 * 2 … fields), then the same value with one field at its first choice each (what is left after the last digit
 * first — a drawn name's characters — then the most consequential field first). `read` reads the fields past `start` with `take`. Every candidate is smaller, so shrinking ends.
 */
function simplerCodes(code: number, start: number, read: () => unknown): number[] {
  digitsRead = [];
  place = 1;
  rest = code - start;
  read();
  const digits = digitsRead;
  const tail = rest * place;
  digitsRead = undefined;
  const out: number[] = [];
  const push = (c: number): void => {
    if (c < code && (out.length === 0 || out[out.length - 1] !== c)) out.push(c);
  };
  push(0);
  push(start);
  // the lowest j fields kept, every higher one at its first choice: one step where a single field matters
  let kept = start;
  for (const [d, p] of digits) {
    kept += d * p;
    push(kept);
  }
  // then one field at a time
  if (tail > 0) push(code - tail);
  for (let j = digits.length - 1; j >= 0; j--) {
    const [d, p] = digits[j];
    if (d > 0) push(code - d * p);
  }
  return out;
}

/** Values read from a code's digits (`read` calls `take`), and how fast-check draws and shrinks the codes. */
export function digitCodes<T>(read: () => T): { readonly arbitrary: fc.Arbitrary<number>; readonly decode: (code: number) => T } {
  return {
    arbitrary: new OpCodeArbitrary((code) => simplerCodes(code, 0, read)),
    decode: (code) => {
      rest = code;
      return read();
    },
  };
}

/**
 * One operation's code: uniform over the safe integers (two fair draws of 26 and 27 bits: every digit is a fair
 * choice, and cheaper than one draw over 2^53), shrunk field by field (`simpler`), not by halving the integer.
 */
class OpCodeArbitrary extends fc.Arbitrary<number> {
  constructor(private readonly simpler: (code: number) => number[]) {
    super();
  }
  generate(mrng: fc.Random): fc.Value<number> {
    const high = mrng.nextInt(0, 0x3ffffff);
    return new fc.Value(high * 0x8000000 + mrng.nextInt(0, 0x7ffffff), undefined);
  }
  canShrinkWithoutContext(value: unknown): value is number {
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  }
  shrink(value: number): fc.Stream<fc.Value<number>> {
    return fc.Stream.of(...this.simpler(value).map((c) => new fc.Value(c, undefined)));
  }
}
