/**
 * Declarative output parsers: a driver written in C has no TypeScript parser for its DbgPrint lines, so its author
 * describes them in a small JSON file next to the driver (`<driver>.psharness.json`):
 *
 *   { "format": "psharness-log/1",
 *     "events": [
 *       { "kind": "process-create", "pattern": "^CREATE pid=(?<pid>\\d+) name=(?<name>.*)$" },
 *       { "kind": "image-load", "pattern": "^IMAGE (?<imagePath>.*)$", "next": "^BASE (?<base>[0-9a-f]+)$" } ] }
 *
 * Named groups: pid, ppid, tid, size and threads (decimal unless listed in "hex"), base and address (hex), name, imagePath
 * (the "null" string, default "(null)", means no path). "next" is a second line the event needs; "continue" is a
 * pattern whose lines are appended to imagePath (paths split over several DbgPrint calls).
 *
 * Registry and file operations a registry callback or a minifilter logs have kinds of their own (registry-set-value,
 * file-write, …: OPERATION_KINDS) and fields pid, key and value (registry) or pid and path (files).
 */
import { INPUT_LIMITS, parseInputJson, readInputText } from './input-files.js';
import v8 from 'node:v8';
import { Ajv, type ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import { FIELD_SIZE, OPERATION_KINDS, hexNorm, perSize, type DeviceDeclaration, type LoggedEvent, type FileGuard, type LoggedKind, type RegistryGuard } from './types.js';

export const LOG_SPEC_FORMAT = 'psharness-log/1';
const NOTIFICATION_KINDS: readonly LoggedKind[] = ['process-create', 'process-exit', 'thread-create', 'thread-exit', 'image-load'];
const KINDS: readonly LoggedKind[] = [...NOTIFICATION_KINDS, ...OPERATION_KINDS];
/** The fields an event of each family can carry: a registry line names its key and value, a file line its path. */
const NOTIFICATION_FIELDS = new Set(['pid', 'ppid', 'tid', 'size', 'base', 'address', 'name', 'imagePath', 'threads']);
const REGISTRY_FIELDS = new Set(['pid', 'key', 'value']);
const FILE_FIELDS = new Set(['pid', 'path']);
const FIELDS = new Set([...NOTIFICATION_FIELDS, ...REGISTRY_FIELDS, ...FILE_FIELDS]);

function fieldsOf(kind: LoggedKind): ReadonlySet<string> {
  return kind.startsWith('registry-') ? REGISTRY_FIELDS : kind.startsWith('file-') ? FILE_FIELDS : NOTIFICATION_FIELDS;
}

export interface LogPattern {
  readonly kind: LoggedKind;
  readonly pattern: string;
  readonly next?: string;
  readonly continue?: string;
  readonly hex?: readonly string[];
  readonly null?: string;
}

export interface LogSpec {
  readonly format: typeof LOG_SPEC_FORMAT;
  readonly events: readonly LogPattern[];
  /** The kinds the driver is loaded to see (events-complete checks every one of them is logged). */
  readonly monitors?: readonly LoggedKind[];
  /** Lines DriverEntry prints when it goes on without one kind (a failed registration it lives without). */
  readonly notMonitoring?: readonly { readonly kind: LoggedKind; readonly pattern: string }[];
  /**
   * The device a successful DriverEntry leaves: name, symbolic link, exclusivity (device-interface); the I/O control
   * codes a client sends it; and the event records a client reads back (device-events-delivered).
   */
  readonly device?: DeviceDeclaration;
  /** How the image is linked: false when without /INTEGRITYCHECK (default true). */
  readonly integrityCheck?: boolean;
  /** Registry keys the driver guards and who may write them (registry-guard-exact). */
  readonly registry?: { readonly guards: readonly RegistryGuard[] };
  /** Files the driver's minifilter guards and who may change them (file-guard-exact). */
  readonly files?: { readonly guards: readonly FileGuard[] };
}

export class LogSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogSpecError';
  }
}

// Matching never takes more than linear time on a line, whatever the pattern (docs/writing-drivers.md, "log specs"):
// a pattern V8's linear-time engine accepts runs on V8's fast backtracking engine with the fallback to the linear one
// when it backtracks excessively (`(a+)+$` on a long line); one that engine refuses — counted repetition of a group
// that can match much (`(.*a){20}`, `(a{1,20}){1,20}`), which V8 would otherwise backtrack through for minutes —
// runs on RE2 (re2js), slower but linear. Either way the pattern must parse as RE2: no backreferences or lookarounds.
v8.setFlagsFromString('--enable-experimental-regexp-engine');
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** A compiled line pattern: what the parser and the invariants ask of it. */
export interface LinePattern {
  exec(line: string): { readonly groups?: Record<string, string | undefined> } | null;
  test(line: string): boolean;
}

/** A pattern on RE2 (re2js): its named groups in the order they appear, as a JavaScript match lists them. */
class Re2LinePattern implements LinePattern {
  private readonly re: ReturnType<typeof RE2JS.compile>;
  private readonly names: readonly string[];
  constructor(src: string) {
    this.re = RE2JS.compile(src, RE2JS.DOTALL);
    this.names = Object.entries(this.re.namedGroups()).sort((a, b) => a[1] - b[1]).map(([n]) => n);
  }
  exec(line: string): { readonly groups?: Record<string, string | undefined> } | null {
    const m = this.re.matcher(line);
    if (!m.find()) return null;
    if (this.names.length === 0) return {};
    const groups: Record<string, string | undefined> = {};
    for (const n of this.names) groups[n] = m.group(n) ?? undefined;
    return { groups };
  }
  test(line: string): boolean {
    return this.re.matcher(line).find();
  }
}

/** Compiles a spec pattern for matching in linear time (the engine as above); `src` has passed regex(). */
export function linePattern(src: string, flags = 's'): LinePattern {
  try {
    new RegExp(src, `${flags}l`); // only asks whether V8's linear engine takes it
  } catch {
    return new Re2LinePattern(src);
  }
  return new RegExp(src, flags);
}

function regex(where: string, src: string, kind?: LoggedKind): void {
  try {
    new RegExp(src, 's'); // the syntax check
  } catch (e) {
    throw new LogSpecError(`${where} is not a valid regular expression: ${(e as Error).message}`);
  }
  try {
    RE2JS.compile(src, RE2JS.DOTALL);
  } catch (e) {
    throw new LogSpecError(`${where} is not a linear-time (RE2) regular expression — no backreferences or lookarounds: ${(e as Error).message.split('\n')[0]}`);
  }
  for (const g of src.matchAll(/\(\?P?<([A-Za-z]+)>/g)) {
    if (!FIELDS.has(g[1])) throw new LogSpecError(`${where}: unknown field '${g[1]}' (known: ${[...FIELDS].join(', ')})`);
    if (kind !== undefined && !fieldsOf(kind).has(g[1])) throw new LogSpecError(`${where}: a ${kind} event has no field '${g[1]}' (its fields: ${[...fieldsOf(kind)].join(', ')})`);
  }
}

const HEX32 = { type: 'string', pattern: '^0x[0-9A-Fa-f]{1,8}$' } as const;
function perPointerSize(minimum: number, maximum: number) {
  const n = { type: 'integer', minimum, maximum } as const;
  return { oneOf: [n, { type: 'object', additionalProperties: false, required: ['x86', 'x64'], properties: { x86: n, x64: n } }] } as const;
}

/** `{ guards: [{ <what>, writers }] }`: a registry or file guard's declaration (what it guards, and who may change it). */
function guardsSchema<K extends string, W extends object>(what: K, schema: W) {
  return {
    type: 'object', additionalProperties: false, required: ['guards'],
    properties: {
      guards: {
        type: 'array', minItems: 1, maxItems: 16,
        items: {
          type: 'object', additionalProperties: false, required: [what, 'writers'],
          properties: { [what]: schema, writers: { type: 'array', maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 64 } } },
        },
      },
    },
  } as const;
}

/** The log spec's JSON Schema (draft-07): structure and sizes; patterns are checked by regex() above. */
export const LOG_SPEC_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  required: ['format', 'events'],
  properties: {
    format: { const: LOG_SPEC_FORMAT },
    monitors: { type: 'array', maxItems: KINDS.length, uniqueItems: true, items: { enum: KINDS } },
    integrityCheck: { type: 'boolean' },
    registry: guardsSchema('key', { type: 'string', minLength: 10, maxLength: 512, pattern: '^\\\\REGISTRY\\\\' }),
    files: guardsSchema('path', { type: 'string', minLength: 2, maxLength: 512, pattern: '^\\\\[^\\\\]' }),
    device: {
      type: 'object', additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 512 }, link: { type: 'string', minLength: 1, maxLength: 512 }, exclusive: { type: 'boolean' },
        ioctls: {
          type: 'array', minItems: 1, maxItems: 64,
          items: { type: 'object', additionalProperties: false, required: ['code'], properties: { name: { type: 'string', maxLength: 128 }, code: HEX32 } },
        },
        events: {
          type: 'object', additionalProperties: false, required: ['size', 'fields', 'kinds'],
          properties: {
            ioctl: HEX32, read: { type: 'boolean' }, excludeClients: { type: 'boolean' }, size: perPointerSize(1, 4096),
            fields: {
              type: 'array', minItems: 2, maxItems: 5,
              items: {
                type: 'object', additionalProperties: false, required: ['name', 'offset', 'type'],
                properties: { name: { enum: ['kind', 'pid', 'tid', 'ppid', 'dropped'] }, offset: perPointerSize(0, 4095), type: { enum: ['UCHAR', 'USHORT', 'ULONG', 'ULONG64', 'ULONG_PTR'] } },
              },
            },
            kinds: { type: 'object', minProperties: 1, maxProperties: 16, propertyNames: { pattern: '^[0-9]{1,10}$' }, additionalProperties: { enum: NOTIFICATION_KINDS } },
          },
        },
      },
    },
    notMonitoring: {
      // notifications only: a registry or file operation carries no load of its own to excuse it for
      type: 'array', maxItems: NOTIFICATION_KINDS.length,
      items: { type: 'object', additionalProperties: false, required: ['kind', 'pattern'], properties: { kind: { enum: NOTIFICATION_KINDS }, pattern: { type: 'string', minLength: 1, maxLength: 4096 } } },
    },
    events: {
      // empty for a driver that prints nothing and hands its events to a client (device.events)
      type: 'array', minItems: 0, maxItems: 64,
      items: {
        type: 'object', additionalProperties: false, required: ['kind', 'pattern'],
        properties: {
          kind: { enum: KINDS },
          pattern: { type: 'string', minLength: 1, maxLength: 4096 },
          next: { type: 'string', minLength: 1, maxLength: 4096 },
          continue: { type: 'string', minLength: 1, maxLength: 4096 },
          hex: { type: 'array', maxItems: 8, items: { enum: [...FIELDS] } },
          null: { type: 'string', maxLength: 256 },
        },
      },
    },
  },
} as const;

let validate: ValidateFunction | null = null;

export function validateLogSpec(data: unknown, where: string): LogSpec {
  validate ??= new Ajv({ strict: false, verbose: true }).compile(LOG_SPEC_SCHEMA);
  if (!validate(data)) {
    const e = [...(validate.errors ?? [])].sort((x, y) => y.instancePath.length - x.instancePath.length)[0];
    const at = e === undefined || e.instancePath === '' ? '' : `: ${e.instancePath.slice(1).replace(/\//g, '.')}`;
    if (e?.instancePath === '' && e.keyword === 'type') throw new LogSpecError(`${where} is not an object`);
    const detail = e?.keyword === 'minItems' ? 'must be a non-empty array' : e?.keyword === 'enum' ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
      : e?.keyword === 'additionalProperties' ? `has an unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`
        : e?.keyword === 'const' ? `must be "${LOG_SPEC_FORMAT}"` : (e?.message ?? 'is not a log spec');
    throw new LogSpecError(`${where}${at} ${detail}`);
  }
  const d = data as unknown as LogSpec;
  if (d.events.length === 0 && d.device?.events === undefined && d.registry === undefined && d.files === undefined) {
    throw new LogSpecError(`${where}: events is empty and none of device.events, registry and files declares anything: the spec describes nothing the driver does`);
  }
  d.events.forEach((p, i) => {
    const at = `${where}: events.${i}`;
    regex(`${at}.pattern`, p.pattern, p.kind);
    if (p.next !== undefined) regex(`${at}.next`, p.next, p.kind);
    if (p.continue !== undefined) regex(`${at}.continue`, p.continue, p.kind);
  });
  d.notMonitoring?.forEach((n, i) => regex(`${where}: notMonitoring.${i}.pattern`, n.pattern));
  const ev = d.device?.events;
  if (ev !== undefined) {
    const names = ev.fields.map((f) => f.name);
    for (const need of ['kind', 'pid'] as const) if (!names.includes(need)) throw new LogSpecError(`${where}: device.events.fields has no "${need}" field`);
    if (new Set(names).size !== names.length) throw new LogSpecError(`${where}: device.events.fields names a field twice`);
    if (ev.ioctl === undefined && ev.read !== true) throw new LogSpecError(`${where}: device.events says neither which ioctl nor whether ReadFile returns the records`);
    for (const ps of [4, 8] as const) {
      const size = perSize(ev.size, ps);
      for (const f of ev.fields) {
        if (perSize(f.offset, ps) + FIELD_SIZE[f.type](ps) > size) throw new LogSpecError(`${where}: device.events field "${f.name}" ends past the record's ${size} bytes (${ps === 4 ? 'x86' : 'x64'})`);
      }
    }
    for (const m of ev.ioctl === undefined ? [] : [ev.ioctl]) {
      if ((Number.parseInt(m, 16) & 3) === 1 || (Number.parseInt(m, 16) & 3) === 2) throw new LogSpecError(`${where}: device.events.ioctl ${m} uses direct I/O (MDLs), which is not modelled`);
    }
  }
  return d;
}

export function loadLogSpec(path: string): LogSpec {
  let text: string;
  try {
    text = readInputText(path, 'log spec', INPUT_LIMITS.logSpec);
  } catch (e) {
    throw new LogSpecError((e as Error).message);
  }
  const data = parseInputJson(text, path, 'log spec', (line) => new LogSpecError(line));
  return validateLogSpec(data, path);
}

interface Compiled {
  readonly p: LogPattern;
  readonly re: LinePattern;
  readonly next?: LinePattern;
  readonly cont?: LinePattern;
  readonly hex: ReadonlySet<string>;
  /** The pattern, its next or its continuation captures imagePath. */
  readonly logsPath: boolean;
  /** The named groups of `re` and of `next`, in order (a match's `groups` has each as a key): set at the first match. */
  reNames?: readonly string[];
  nextNames?: readonly string[];
}

function fields(names: readonly string[], groups: Record<string, string | undefined>, c: Compiled, into: Record<string, unknown>): void {
  for (const k of names) {
    const v = groups[k];
    if (v === undefined) continue;
    if (k === 'base' || k === 'address') into[k] = /^[0-9a-fA-F]+$/.test(v) ? hexNorm(v) : v;
    else if (k === 'name' || k === 'key' || k === 'value' || k === 'path') into[k] = v;
    else if (k === 'imagePath') into.imagePath = v === (c.p.null ?? '(null)') ? null : v;
    else into[k] = c.hex.has(k) ? Number.parseInt(v, 16) : Number(v);
  }
}

export function parserFromSpec(spec: LogSpec): (lines: readonly string[]) => LoggedEvent[] {
  const compiled: Compiled[] = spec.events.map((p) => ({
    p, re: linePattern(p.pattern), next: p.next === undefined ? undefined : linePattern(p.next),
    cont: p.continue === undefined ? undefined : linePattern(p.continue), hex: new Set(p.hex ?? []),
    logsPath: [p.pattern, p.next ?? '', p.continue ?? ''].some((x) => x.includes('(?<imagePath>')),
  }));
  return (lines) => {
    const out: LoggedEvent[] = [];
    for (let i = 0; i < lines.length; i++) {
      for (const c of compiled) {
        const m = c.re.exec(lines[i]);
        if (m === null) continue;
        const ev: Record<string, unknown> = { kind: c.p.kind };
        let text = lines[i];
        if (m.groups !== undefined) fields((c.reNames ??= Object.keys(m.groups)), m.groups, c, ev);
        if (c.next !== undefined) {
          const m2 = i + 1 < lines.length ? c.next.exec(lines[i + 1]) : null;
          if (m2 !== null) {
            if (m2.groups !== undefined) fields((c.nextNames ??= Object.keys(m2.groups)), m2.groups, c, ev);
            text += '\n' + lines[++i];
          }
        }
        while (c.cont !== undefined && i + 1 < lines.length) {
          const m3 = c.cont.exec(lines[i + 1]);
          if (m3 === null) break;
          const more = m3.groups?.imagePath ?? '';
          ev.imagePath = `${typeof ev.imagePath === 'string' ? ev.imagePath : ''}${more}`;
          if (more === '') ev.emptyContinuations = (typeof ev.emptyContinuations === 'number' ? ev.emptyContinuations : 0) + 1;
          text += '\n' + lines[++i];
        }
        // a spec that logs the path and printed none of it logged an empty path (not "no claim")
        if (ev.imagePath === undefined && c.logsPath) ev.imagePath = '';
        ev.line = text;
        out.push(ev as unknown as LoggedEvent);
        break;
      }
    }
    return out;
  };
}
