/**
 * Reports: the JSON a replay reads (the concrete shrunk scenario first, seed and path second — a path is only
 * valid while generators are unchanged) and a human-readable Markdown timeline of the minimal counterexample.
 * Writing never overwrites: a temp file is hard-linked into place, which fails if the name exists.
 */
import { createHash } from 'node:crypto';
import { existsSync, linkSync, readFileSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { linesOf } from '../driver/types.js';
import type { Invariant, Violation } from '../invariants/index.js';
import { getBuild } from '../model/builds.js';
import type { Op } from '../model/ops.js';
import type { CallbackRecord, RunRecord } from '../model/record.js';
import type { Scenario } from '../model/scenario.js';
import { statusName } from '../model/status.js';
import { VERSION } from '../version.js';

export const REPORT_FORMAT = 'psharness-report/1';

export interface FuzzProvenance {
  readonly seed: number;
  readonly path: string | null;
  readonly runsToFailure: number;
  readonly profile: string;
  readonly builds: readonly string[];
  readonly invariants: readonly string[];
  readonly maxOps: number;
  /** Present (false) when the campaign ran with `--verifier off`: replay runs without it too. */
  readonly verifier?: false;
}

export interface Report {
  readonly format: typeof REPORT_FORMAT;
  readonly tool: { readonly name: 'psharness'; readonly version: string };
  readonly id: string;
  readonly driver: string;
  readonly invariant: { readonly id: string; readonly statement: string; readonly source: string };
  readonly fuzz: FuzzProvenance | null;
  readonly scenario: Scenario;
  readonly shrunkFrom: number;
  readonly violations: readonly Violation[];
  readonly output: readonly { readonly seq: number; readonly op: number; readonly routine: string; readonly lines: readonly string[] }[];
  readonly bugCheck: RunRecord['bugCheck'];
  /** sha256 of the run record's JSON: a replay must produce the same bytes. */
  readonly recordSha256: string;
  readonly replay: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function recordHash(record: RunRecord): string {
  return sha256(JSON.stringify(record));
}

export function reportId(driver: string, invariant: string, scenario: Scenario): string {
  // a driver given as a path is named by its file stem; anything unsafe in a file name becomes '_'
  const stem = driver.replace(/^.*[\\/]/, '').replace(/\.(c|wasm)$/, '').replace(/[^A-Za-z0-9_.-]/g, '_');
  return `${stem}-${invariant}-${sha256(JSON.stringify(scenario)).slice(0, 10)}`;
}

export function buildReport(args: {
  driver: string;
  invariant: Invariant;
  scenario: Scenario;
  shrunkFrom: number;
  violations: readonly Violation[];
  record: RunRecord;
  fuzz: FuzzProvenance | null;
  reportDir: string;
}): Report {
  const id = reportId(args.driver, args.invariant.id, args.scenario);
  return {
    format: REPORT_FORMAT,
    tool: { name: 'psharness', version: VERSION },
    id,
    driver: args.driver,
    invariant: { id: args.invariant.id, statement: args.invariant.statement, source: args.invariant.source },
    fuzz: args.fuzz,
    scenario: args.scenario,
    shrunkFrom: args.shrunkFrom,
    violations: args.violations,
    output: args.record.callbacks.filter((c) => c.prints.length > 0).map((c) => ({ seq: c.seq, op: c.op, routine: c.routine, lines: linesOf(c.prints) })),
    bugCheck: args.record.bugCheck,
    recordSha256: recordHash(args.record),
    replay: `npx psharness replay ${join(args.reportDir, `${id}.json`)}`,
  };
}

export function describeOp(op: Op | { op: string }): string {
  const o = op as Op;
  switch (o.op) {
    case 'CreateProcess':
      return `CreateProcess ${o.id} (initial thread ${o.thread}) parent=${o.parent}${o.creator !== undefined ? ` creator=${o.creator}` : ''} image=${o.path}${o.pathUnavailable === true ? ' [name unavailable: FullImageName NULL]' : ''}`;
    case 'CreateThread': return `CreateThread ${o.id} in ${o.process}`;
    case 'ExitThread': return `ExitThread ${o.thread}${o.race !== undefined ? ` [race: PID ${o.race} at lookup]` : ''}`;
    case 'ExitProcess': return `ExitProcess ${o.process}${o.race !== undefined ? ` [race: PID ${o.race} at lookup]` : ''}`;
    case 'LoadImage': return `LoadImage ${o.path} into ${o.process}${o.pathUnavailable === true ? ' [FullImageName NULL]' : ''}`;
    case 'DeviceRequest': return `DeviceRequest ${o.major}${o.ioctl !== undefined ? ` ioctl 0x${o.ioctl.toString(16).toUpperCase()}` : ''} to the driver's device`;
    default: return o.op;
  }
}

function cbTitle(cb: CallbackRecord): string {
  const a = Object.entries(cb.args).map(([k, v]) => `${k}=${v}`).join(', ');
  return `${cb.routine}(${a}) — ${cb.kind} ${cb.kind === 'image' ? 'load' : cb.create ? 'create' : 'exit'} notify, slot ${cb.slot}, in pid ${cb.context.pid} tid ${cb.context.tid}`;
}

/** Shows control and non-ASCII bytes as \xNN (a wrong read prints garbage), everything else as is. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function fence(lines: readonly string[]): string {
  const body = lines.map(printable).join('\n');
  return '```\n' + body + '\n```';
}

/** The DDI calls a piece of driver code made and the lines it printed, indented under its timeline entry. */
function driverActivity(out: string[], code: Pick<CallbackRecord, 'ddi' | 'prints'>): void {
  for (const d of code.ddi) {
    out.push(`  - ${d.name}(${d.args.join(', ')})${d.status !== undefined ? ` → ${d.status}` : ''}${d.result !== undefined ? ` = ${d.result}` : ''}${d.faulted === true ? ' [injected fault]' : ''}`);
  }
  if (code.prints.length > 0) out.push('', fence(linesOf(code.prints)).split('\n').map((l) => '  ' + l).join('\n'));
}

export function renderMarkdown(report: Report, record: RunRecord): string {
  const s = report.scenario;
  const build = getBuild(s.build);
  const flagged = new Set(report.violations.map((v) => v.evidence.seq).filter((x): x is number => x !== undefined));
  const out: string[] = [];
  out.push(`# ${report.driver}: ${report.invariant.id}`, '');
  out.push(`> ${report.invariant.statement}`, '');
  out.push(`Rule: ${report.invariant.source}`, '');
  out.push('| | |', '|---|---|');
  out.push(`| build | ${build.title} (\`${build.id}\`) |`);
  out.push(`| profile | ${s.profile} |`);
  out.push(`| CID reuse | ${s.reusePolicy} |`);
  out.push(`| other drivers' routines | process ${s.crowding.process}, thread ${s.crowding.thread}, image ${s.crowding.image} |`);
  out.push(`| fault plan | ${s.faults.length === 0 ? 'none' : s.faults.map((f) => `${f.ddi} call #${f.nth} → ${statusName(f.status)}`).join('; ')} |`);
  out.push(`| operations | ${s.ops.length} (shrunk from ${report.shrunkFrom}) |`);
  if (report.fuzz !== null) out.push(`| found by | seed ${report.fuzz.seed}, run ${report.fuzz.runsToFailure}, path \`${report.fuzz.path ?? '-'}\` |`);
  out.push('', `Replay: \`${report.replay}\``, '');
  out.push('## Violations', '');
  for (const v of report.violations) {
    out.push(`- **${v.message}** (op ${v.evidence.op}${v.evidence.seq !== undefined ? `, event #${v.evidence.seq}` : ''})`);
    if (v.evidence.event !== undefined) out.push(`  - kernel: ${v.evidence.event}`);
    if (v.evidence.line !== undefined) out.push(`  - logged: \`${printable(v.evidence.line.replace(/\n/g, ' | '))}\``);
  }
  out.push('', '## Timeline', '');
  for (const opr of record.ops) {
    const label = opr.index < 0 ? 'boot' : `op ${opr.index}`;
    out.push(`### ${label}: ${describeOp(opr.op as Op)}${opr.outcome === 'skipped' ? ` (skipped: ${opr.note ?? ''})` : opr.outcome === 'halted' ? ' (the machine stopped here)' : ''}`, '');
    for (const ph of record.phases.filter((p) => p.op === opr.index)) {
      const irp = ph.irp === undefined ? '' : ` ${ph.irp.major}: completed ${ph.irp.completions}×${ph.irp.completionStatus !== undefined ? ` with ${ph.irp.completionStatus}` : ''}, returned`;
      out.push(`- **${ph.phase}**${irp}${ph.status !== undefined ? ` → ${ph.status}` : ''}${ph.note !== undefined ? ` — ${ph.note}` : ''}${flagged.has(ph.seq) ? ' ⚠' : ''}`);
      driverActivity(out, ph);
      if (ph.residue !== undefined && (ph.residue.registrations.length + ph.residue.devices.length + ph.residue.links.length) > 0) {
        out.push(`  - left behind: ${[...ph.residue.registrations, ...ph.residue.devices, ...ph.residue.links].join(', ')}`);
      }
    }
    for (const cb of record.callbacks.filter((c) => c.op === opr.index)) {
      out.push(`- ${flagged.has(cb.seq) ? '⚠ ' : ''}#${cb.seq} ${cbTitle(cb)}${cb.outcome !== 'returned' ? ` → ${cb.outcome}` : ''}`);
      driverActivity(out, cb);
    }
    out.push('');
  }
  if (record.bugCheck !== null) {
    const b = record.bugCheck;
    out.push('## Bug check', '', `STOP 0x${b.code.toString(16).toUpperCase().padStart(8, '0')} ${b.name} (${b.parameters.join(', ')}) during ${b.during}: ${b.reason}`, '');
  }
  const end = record.end;
  if (end !== null) {
    out.push('## End state', '');
    out.push(`- driver image: ${end.driver.image}; DriverUnload: ${end.driver.hasUnload ? 'set' : 'NULL'}`);
    out.push(`- registrations: ${end.registrations.length === 0 ? 'none' : end.registrations.map((r) => `${r.kind} slot ${r.slot} ${r.routine}`).join(', ')}`);
    out.push(`- devices: ${end.devices.length === 0 ? 'none' : end.devices.map((d) => d.name).join(', ')}; links: ${end.links.length === 0 ? 'none' : end.links.map((l) => l.name).join(', ')}`);
    const held = end.processes.filter((p) => p.driverRefs !== 0);
    out.push(`- references the driver holds: ${held.length === 0 ? 'none' : held.map((p) => `process ${p.pid} (${p.name}, ${p.state}): ${p.driverRefs}`).join(', ')}`);
  }
  return out.join('\n') + '\n';
}

export class ReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportError';
  }
}

/** Writes `name` in `dir` without ever replacing an existing file: temp file, then hard link, which fails if taken. */
export function writeNew(dir: string, name: string, content: string): string {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, content);
  try {
    const dot = name.lastIndexOf('.');
    const stem = dot < 0 ? name : name.slice(0, dot);
    const ext = dot < 0 ? '' : name.slice(dot);
    for (let n = 1; ; n++) {
      const candidate = join(dir, n === 1 ? name : `${stem}-${n}${ext}`);
      if (existsSync(candidate) && readFileSync(candidate, 'utf8') === content) return candidate; // already there, same bytes
      try {
        linkSync(tmp, candidate);
        return candidate;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  } finally {
    unlinkSync(tmp);
  }
}

/** Writes `<id>.json` and `<id>.md`; returns their paths. */
export function writeReport(dir: string, report: Report, record: RunRecord): { json: string; md: string } {
  const json = writeNew(dir, `${report.id}.json`, JSON.stringify(report, null, 2) + '\n');
  const md = writeNew(dir, `${report.id}.md`, renderMarkdown(report, record));
  return { json, md };
}
