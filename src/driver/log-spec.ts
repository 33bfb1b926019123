/**
 * Declarative output parsers: a driver written in C has no TypeScript parser for its DbgPrint lines, so its author
 * describes them in a small JSON file next to the driver (`<driver>.psharness.json`):
 *
 *   { "format": "psharness-log/1",
 *     "events": [
 *       { "kind": "process-create", "pattern": "^CREATE pid=(?<pid>\\d+) name=(?<name>.*)$" },
 *       { "kind": "image-load", "pattern": "^IMAGE (?<imagePath>.*)$", "next": "^BASE (?<base>[0-9a-f]+)$" } ] }
 *
 * Named groups: pid, ppid, tid, size (decimal unless listed in "hex"), base and address (hex), name, imagePath
 * (the "null" string, default "(null)", means no path). "next" is a second line the event needs; "continue" is a
 * pattern whose lines are appended to imagePath (paths split over several DbgPrint calls).
 */
import { readFileSync } from 'node:fs';
import { hexNorm, type LoggedEvent, type LoggedKind } from './types.js';

export const LOG_SPEC_FORMAT = 'psharness-log/1';
const KINDS: readonly LoggedKind[] = ['process-create', 'process-exit', 'thread-create', 'thread-exit', 'image-load'];
const FIELDS = new Set(['pid', 'ppid', 'tid', 'size', 'base', 'address', 'name', 'imagePath']);

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
}

export class LogSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogSpecError';
  }
}

function regex(where: string, src: unknown): RegExp {
  if (typeof src !== 'string') throw new LogSpecError(`${where} must be a string`);
  let re: RegExp;
  try {
    re = new RegExp(src, 's');
  } catch (e) {
    throw new LogSpecError(`${where} is not a valid regular expression: ${(e as Error).message}`);
  }
  for (const g of src.matchAll(/\(\?<([A-Za-z]+)>/g)) {
    if (!FIELDS.has(g[1])) throw new LogSpecError(`${where}: unknown field '${g[1]}' (known: ${[...FIELDS].join(', ')})`);
  }
  return re;
}

export function validateLogSpec(data: unknown, where: string): LogSpec {
  if (typeof data !== 'object' || data === null) throw new LogSpecError(`${where} is not an object`);
  const d = data as Record<string, unknown>;
  if (d.format !== LOG_SPEC_FORMAT) throw new LogSpecError(`${where}: "format" must be "${LOG_SPEC_FORMAT}"`);
  if (!Array.isArray(d.events) || d.events.length === 0) throw new LogSpecError(`${where}: "events" must be a non-empty array`);
  d.events.forEach((e: unknown, i) => {
    const at = `${where}: events[${i}]`;
    if (typeof e !== 'object' || e === null) throw new LogSpecError(`${at} is not an object`);
    const p = e as Record<string, unknown>;
    if (!KINDS.includes(p.kind as LoggedKind)) throw new LogSpecError(`${at}.kind must be one of ${KINDS.join(', ')}`);
    regex(`${at}.pattern`, p.pattern);
    if (p.next !== undefined) regex(`${at}.next`, p.next);
    if (p.continue !== undefined) regex(`${at}.continue`, p.continue);
    if (p.hex !== undefined && (!Array.isArray(p.hex) || p.hex.some((h) => !FIELDS.has(h as string)))) throw new LogSpecError(`${at}.hex must list field names`);
  });
  return data as LogSpec;
}

export function loadLogSpec(path: string): LogSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new LogSpecError(`cannot read ${path}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new LogSpecError(`${path} is not JSON`);
  }
  return validateLogSpec(data, path);
}

interface Compiled {
  readonly p: LogPattern;
  readonly re: RegExp;
  readonly next?: RegExp;
  readonly cont?: RegExp;
  readonly hex: ReadonlySet<string>;
}

function fields(groups: Record<string, string | undefined>, c: Compiled, into: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(groups)) {
    if (v === undefined) continue;
    if (k === 'base' || k === 'address') into[k] = /^[0-9a-fA-F]+$/.test(v) ? hexNorm(v) : v;
    else if (k === 'name') into.name = v;
    else if (k === 'imagePath') into.imagePath = v === (c.p.null ?? '(null)') ? null : v;
    else into[k] = c.hex.has(k) ? Number.parseInt(v, 16) : Number(v);
  }
}

export function parserFromSpec(spec: LogSpec): (lines: readonly string[]) => LoggedEvent[] {
  const compiled: Compiled[] = spec.events.map((p) => ({
    p, re: new RegExp(p.pattern, 's'), next: p.next === undefined ? undefined : new RegExp(p.next, 's'),
    cont: p.continue === undefined ? undefined : new RegExp(p.continue, 's'), hex: new Set(p.hex ?? []),
  }));
  return (lines) => {
    const out: LoggedEvent[] = [];
    for (let i = 0; i < lines.length; i++) {
      for (const c of compiled) {
        const m = c.re.exec(lines[i]);
        if (m === null) continue;
        const ev: Record<string, unknown> = { kind: c.p.kind };
        let text = lines[i];
        fields(m.groups ?? {}, c, ev);
        if (c.next !== undefined) {
          const m2 = i + 1 < lines.length ? c.next.exec(lines[i + 1]) : null;
          if (m2 !== null) {
            fields(m2.groups ?? {}, c, ev);
            text += '\n' + lines[++i];
          }
        }
        while (c.cont !== undefined && i + 1 < lines.length) {
          const m3 = c.cont.exec(lines[i + 1]);
          if (m3 === null) break;
          const more = m3.groups?.imagePath ?? '';
          ev.imagePath = `${typeof ev.imagePath === 'string' ? ev.imagePath : ''}${more}`;
          text += '\n' + lines[++i];
        }
        ev.line = text;
        out.push(ev as unknown as LoggedEvent);
        break;
      }
    }
    return out;
  };
}
