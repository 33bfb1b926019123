/**
 * Reports: the JSON a replay reads (the concrete shrunk scenario first, seed and path second — a path is only
 * valid while generators are unchanged) and a human-readable Markdown timeline of the minimal counterexample.
 * Writing never overwrites: a temp file is hard-linked into place, which fails if the name exists.
 */
import { createHash } from 'node:crypto';
import { INPUT_LIMITS, readInputFile } from '../driver/input-files.js';
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import { linesOf } from '../driver/types.js';
import { DRIVER_FILE, isDriverPath, isSingleSource, isSourceProject, projectSha256, resolveProject } from '../driver/index.js';
import { reachabilityOf, type Invariant, type Reachability, type Violation } from '../invariants/index.js';
import { getBuild } from '../model/builds.js';
import { BUGCHECK_DOCS, failureBucket, type SourceFrame } from '../model/ke/bugcheck.js';
import type { Op } from '../model/ops.js';
import type { CallbackRecord, ConcurrencyRecord, PhaseRecord, RunRecord } from '../model/record.js';
import type { AccessRecord } from '../model/ke/race-detector.js';
import { describeSchedule } from '../model/ke/schedule.js';
import type { TimelineEntry } from '../model/ke/scheduler.js';
import type { Scenario } from '../model/scenario.js';
import { statusName } from '../model/status.js';
import { VERSION } from '../version.js';
import type { GeneratorFormat } from '../generators/scenario.js';

export const REPORT_FORMAT = 'psharness-report/1';

export interface FuzzProvenance {
  /** The fast-check round's seed (a campaign derives one per chunk and round from its own). */
  readonly seed: number;
  /** The campaign's seed, as the user gave it (`--seed`). */
  readonly campaignSeed?: number;
  readonly path: string | null;
  readonly runsToFailure: number;
  readonly profile: string;
  readonly builds: readonly string[];
  readonly invariants: readonly string[];
  readonly maxOps: number;
  /** The most CPUs the campaign's scenarios drew (absent: one). */
  readonly cpus?: number;
  /** The generator format that drew the round's scenarios (absent: 1, before the field existed). */
  readonly generator?: GeneratorFormat;
  /** A Visual Studio project's configuration (`--configuration`): replay builds the same one. */
  readonly configuration?: string;
  /** Present (false) when the campaign ran with `--verifier off`: replay runs without it too. */
  readonly verifier?: false;
  /** Signatures the fast-check round already knew (its property looks for new ones): `--from-report` needs them. */
  readonly seen?: readonly string[];
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
  /** For a driver given as a file: its sha256 when the report was written (replay warns when it changed). */
  readonly driverSha256?: string;
  /** The distinct bug (invariant | bug check | function | message skeleton) the campaign deduplicated by. */
  readonly signature?: string;
  /** The other invariants the same root cause breaks (one finding, not one per invariant). */
  readonly alsoBreaks?: readonly string[];
  /** Whether Windows can reach it (invariants/reachability.ts), and what the counterexample needed that it may not. */
  readonly reachability?: { readonly class: Reachability; readonly why: readonly string[] };
}

const REACHABILITY_TEXT: Readonly<Record<Reachability, string>> = {
  reachable: 'reachable: the counterexample uses only documented behaviour of the build',
  'low-resources': 'under low resources: it needs a failure Windows produces when memory or a fixed table runs out',
  defensive: 'defensive only: it needs a failure Windows does not produce there (a warning in the default profile)',
};

/** The reachability class in words, for the report, the summary and JUnit. */
export function reachabilityText(r: Reachability): string {
  return REACHABILITY_TEXT[r];
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function recordHash(record: RunRecord): string {
  return sha256(JSON.stringify(record));
}

export function reportId(driver: string, invariant: string, scenario: Scenario): string {
  // a driver given as a path is named by its file stem; anything unsafe in a file name becomes '_'
  const stem = driver.replace(/^.*[\\/]/, '').replace(DRIVER_FILE, '').replace(/[^A-Za-z0-9_.-]/g, '_');
  return `${stem}-${invariant}-${sha256(JSON.stringify(scenario)).slice(0, 10)}`;
}

export function buildReport(args: {
  driver: string;
  invariant: Invariant;
  scenario: Scenario;
  shrunkFrom: number;
  violations: readonly Violation[];
  record: RunRecord;
  /** Where the finding came from; a report written now names its generator format (an old one may lack it). */
  fuzz: (FuzzProvenance & { readonly generator: GeneratorFormat }) | null;
  reportDir: string;
  signature?: string;
  alsoBreaks?: readonly string[];
}): Report {
  const id = reportId(args.driver, args.invariant.id, args.scenario);
  const file = isDriverPath(args.driver) ? fileSha256(args.driver, args.fuzz?.configuration) : undefined;
  return {
    format: REPORT_FORMAT,
    tool: { name: 'psharness', version: VERSION },
    id,
    driver: driverReference(args.driver, args.reportDir),
    invariant: { id: args.invariant.id, statement: args.invariant.statement, source: args.invariant.source },
    fuzz: args.fuzz,
    scenario: args.scenario,
    shrunkFrom: args.shrunkFrom,
    violations: args.violations,
    output: args.record.callbacks.filter((c) => c.prints.length > 0).map((c) => ({ seq: c.seq, op: c.op, routine: c.routine, lines: linesOf(c.prints) })),
    bugCheck: args.record.bugCheck,
    recordSha256: recordHash(args.record),
    replay: `npx psharness replay ${join(args.reportDir, `${id}.json`)}`,
    ...(file !== undefined ? { driverSha256: file } : {}),
    ...(args.signature !== undefined ? { signature: args.signature } : {}),
    ...(args.alsoBreaks !== undefined && args.alsoBreaks.length > 0 ? { alsoBreaks: args.alsoBreaks } : {}),
    reachability: (({ reachability, why }) => ({ class: reachability, why }))(reachabilityOf(args.record)),
  };
}

const REGISTRY_VERBS: Readonly<Record<string, string>> = {
  CreateKey: 'creates', OpenKey: 'opens', SetValue: 'sets a value of', DeleteValue: 'deletes a value of', QueryValue: 'queries a value of', DeleteKey: 'deletes', RenameKey: 'renames',
};

const FILE_VERBS: Readonly<Record<string, string>> = { Create: 'creates', Write: 'writes', Read: 'reads', Rename: 'renames (to .locked)', Delete: 'deletes' };

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
    case 'OpenHandle': return `${o.requester} ${o.duplicate === true ? 'duplicates a handle to' : 'opens'} ${o.target} for access 0x${o.access.toString(16).toUpperCase()}${o.kernelHandle === true ? ' (a kernel handle)' : ''}`;
    case 'OpenDevice': return `OpenDevice ${o.id}: ${o.process} opens the driver's device through its symbolic link${o.listen !== undefined ? `, and keeps a DeviceIoControl 0x${o.listen.ioctl.toString(16).toUpperCase()} (${o.listen.outputLength}-byte output) pending` : ''}`;
    case 'DeviceIoControl': return `DeviceIoControl on ${o.file}: code 0x${o.ioctl.toString(16).toUpperCase()}, input ${lengthText(o.inputLength)}${o.inputLength > 0 ? ` of 0x${o.fill.toString(16).toUpperCase()}` : ''}, output ${lengthText(o.outputLength)}`;
    case 'ReadFile': return `ReadFile on ${o.file}: ${lengthText(o.length)}`;
    case 'CloseHandle': return `CloseHandle ${o.file}`;
    case 'FileOp': return `${o.process} ${FILE_VERBS[o.operation]} the ${o.file} file`;
    case 'PortConnect': return `PortConnect ${o.id}: ${o.process}'s service connects to the minifilter's communication port and waits for its messages`;
    case 'PortDisconnect': return `PortDisconnect ${o.connection}: the service closes its connection`;
    case 'RegistryOp': return `${o.process} ${REGISTRY_VERBS[o.operation]} ${o.key === 'service' ? "the driver's service key" : `the ${o.key} key`}${o.name !== undefined ? ` (${o.operation === 'RenameKey' ? 'to ' : 'value '}${o.name})` : ''}${o.upperCase === true ? ', its path in capitals' : ''}`;
    default: return o.op;
  }
}

/** What became of an IRP: how often it was completed, when, with what, and what the caller got back. */
function irpText(i: NonNullable<PhaseRecord['irp']>): string {
  const parts = [`completed ${i.completions}×${i.completionStatus !== undefined ? ` with ${i.completionStatus}` : ''}`];
  if (i.completedAtOp !== undefined) parts.push(`at op ${i.completedAtOp}`);
  if (i.information !== undefined && i.information > 0) parts.push(`${i.information} bytes back`);
  if (i.cancelledAtOp !== undefined) parts.push(`cancelled at op ${i.cancelledAtOp}`);
  if (i.uncompletedAfterCancel === true) parts.push('never completed after its cancel');
  return `${i.major}${i.ioctl !== undefined ? ` ${i.ioctl}` : ''}: ${parts.join(', ')}`;
}

/** A buffer length a client passed; above 64 KB it claims more than its buffer holds. */
function lengthText(n: number): string {
  return n > 0x10000 ? `${n} bytes claimed (a 64-byte buffer)` : `${n} bytes`;
}

function cbTitle(cb: CallbackRecord): string {
  const a = Object.entries(cb.args).map(([k, v]) => `${k}=${v}`).join(', ');
  return `${cb.routine}(${a}) — ${cb.kind} ${cb.kind === 'image' ? 'load' : cb.create ? 'create' : 'exit'} notify, slot ${cb.slot}, in pid ${cb.context.pid} tid ${cb.context.tid}`;
}

/** Shows control and non-ASCII bytes as \xNN (a wrong read prints garbage), everything else as is. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** An inline code span whose delimiter is longer than any backtick run inside (CommonMark §6.1). */
function inlineCode(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const d = '`'.repeat(longest + 1);
  return longest === 0 ? `${d}${text}${d}` : `${d} ${text} ${d}`;
}

function fence(lines: readonly string[]): string {
  const body = lines.map(printable).join('\n');
  // a fence longer than any backtick run in the content: a driver's output cannot close it (CommonMark §4.5)
  const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(Math.max(3, longest + 1));
  return `${f}\n${body}\n${f}`;
}

/** The DDI calls a piece of driver code made and the lines it printed, indented under its timeline entry. */
function driverActivity(out: string[], code: Pick<CallbackRecord, 'ddi' | 'prints'>): void {
  for (const d of code.ddi) {
    out.push(`  - ${d.name}(${d.args.join(', ')})${d.status !== undefined ? ` → ${d.status}` : ''}${d.result !== undefined ? ` = ${d.result}` : ''}${d.faulted === true ? ' [injected fault]' : ''}`);
  }
  if (code.prints.length > 0) out.push('', fence(linesOf(code.prints)).split('\n').map((l) => '  ' + l).join('\n'));
}

/** The timeline of a run (every operation, the driver's phases and callbacks), how it stopped, its end state. */
export function renderRun(out: string[], record: RunRecord, flagged: ReadonlySet<number> = new Set()): void {
  out.push('', '## Timeline', '');
  for (const opr of record.ops) {
    const label = opr.index < 0 ? 'boot' : `op ${opr.index}`;
    out.push(`### ${label}: ${describeOp(opr.op as Op)}${opr.outcome === 'skipped' ? ` (skipped: ${opr.note ?? ''})` : opr.outcome === 'halted' ? ' (the machine stopped here)' : opr.outcome === 'unfinished' ? ' (in flight on another CPU when the machine stopped)' : ''}`, '');
    for (const ph of record.phases.filter((p) => p.op === opr.index)) {
      const h = ph.handle;
      const f = ph.flt;
      const r = ph.registry;
      const port = ph.port;
      const irp = ph.irp !== undefined ? ` ${irpText(ph.irp)}, returned`
        : f !== undefined ? ` ${f.routine} (${f.kind === 'context-cleanup' ? 'a context\'s cleanup, after' : `${f.kind}-operation,${f.draining === true ? ' draining (FLTFL_POST_OPERATION_DRAINING),' : ''}`} ${f.major}, at ${f.irql})`
        : port !== undefined ? ` ${port.routine} (${port.kind} of ${port.connection} on ${port.port}, at ${port.irql})`
        : r !== undefined ? ` ${r.routine} (${r.notifyClass}, altitude ${r.altitude})`
        : h !== undefined ? ` ${h.routine} (${h.callback}-operation, altitude ${h.altitude}): ${h.operation} of a ${h.objectType} handle to ${h.target} by ${h.requester}${h.kernelHandle ? ' (kernel handle)' : ''}, access ${h.desiredAccess}${h.desiredAccessAfter !== undefined ? ` → ${h.desiredAccessAfter}` : ''}`
          : '';
      out.push(`- **${ph.phase}**${irp}${ph.status !== undefined ? ` → ${ph.status}` : ''}${ph.note !== undefined ? ` — ${ph.note}` : ''}${flagged.has(ph.seq) ? ' ⚠' : ''}`);
      driverActivity(out, ph);
      if (ph.residue !== undefined && (ph.residue.registrations.length + ph.residue.devices.length + ph.residue.links.length) > 0) {
        out.push(`  - left behind: ${[...ph.residue.registrations, ...ph.residue.devices, ...ph.residue.links].join(', ')}`);
      }
    }
    for (const cb of record.callbacks.filter((c) => c.op === opr.index)) {
      out.push(`- ${flagged.has(cb.seq) ? '⚠ ' : ''}#${cb.seq} ${cbTitle(cb)}${cb.cpu !== undefined ? ` on CPU ${cb.cpu}` : ''}${cb.outcome !== 'returned' ? ` → ${cb.outcome}` : ''}`);
      driverActivity(out, cb);
    }
    out.push('');
  }
  if (record.concurrency !== undefined) renderCpus(out, record.concurrency);
  if (record.bugCheck !== null) {
    const b = record.bugCheck;
    out.push('## Bug check', '', `STOP 0x${b.code.toString(16).toUpperCase().padStart(8, '0')} ${b.name} (${b.parameters.join(', ')}) during ${b.during}: ${b.reason}`, '');
    analysis(out, record.driver, b.name, b.code, b.parameters, b.function, b.stack, b.check);
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
  const stop = record.verifierStop;
  if (stop !== undefined && stop !== null) {
    out.push('## Verifier stop', '', `${stop.check}: ${stop.reason}${stop.function !== undefined ? ` (in ${stop.function})` : ''}, during ${stop.during}`, '');
    analysis(out, record.driver, `VERIFIER ${stop.check}`, stop.check, null, stop.function, stop.stack, stop.check);
  }
  if (record.poolExhausted !== undefined) out.push('## Out of memory', '', record.poolExhausted, '');
}

/** A frame as WinDbg's stack shows it: `image!function [file @ line]`, an inlined function marked. */
export function stackLine(image: string, f: SourceFrame): string {
  return `${image}!${f.function}${f.line !== undefined ? ` [${f.file} @ ${f.line}]` : ''}${f.inlined === true ? ' (inline function)' : ''}`;
}

/**
 * The halt as WinDbg's `!analyze -v` lays it out: the bug check and what it means, its arguments explained (the
 * WDK's page for the code), the faulting source line, the driver's stack, and the failure bucket.
 */
function analysis(out: string[], image: string, name: string, code: number | string, parameters: readonly string[] | null,
  fn: string | undefined, stack: readonly SourceFrame[] | undefined, check: string | undefined): void {
  const doc = typeof code === 'number' ? BUGCHECK_DOCS.get(code) : undefined;
  const lines = [`${name}${typeof code === 'number' ? ` (${code.toString(16)})` : ''}`];
  if (doc !== undefined) lines.push(doc.meaning);
  if (parameters !== null) {
    lines.push('Arguments:');
    parameters.forEach((p, i) => lines.push(`Arg${i + 1}: ${p}${doc !== undefined ? `, ${doc.args[i]}` : ''}`));
  }
  if (check !== undefined) lines.push(`VERIFIER_CHECK: ${check} (docs/verifier.md)`);
  const top = stack?.find((f) => f.line !== undefined);
  if (top !== undefined) lines.push(`FAULTING_SOURCE_LINE: ${top.file}:${top.line}`);
  if (stack !== undefined && stack.length > 0) {
    lines.push('STACK_TEXT:');
    for (const f of stack) lines.push(`  ${stackLine(image, f)}`);
  }
  lines.push(`FAILURE_BUCKET_ID: ${failureBucket(code, image, fn ?? stack?.[0]?.function)}`);
  out.push('```', ...lines.map(printable), '```', '');
}

/** The interleaving, one column per CPU: which operation ran where, switched at which scheduling point. */
function renderCpus(out: string[], c: ConcurrencyRecord): void {
  const cpus = c.schedule.cpus;
  out.push('## CPUs', '', `${describeSchedule(c.schedule)}. Each row is a scheduling step; a cell says what the operation on that CPU did.`, '');
  out.push(`| step | ${Array.from({ length: cpus }, (_, i) => `CPU ${i}`).join(' | ')} |`, `|---|${'---|'.repeat(cpus)}`);
  const cell = (e: TimelineEntry): string => {
    const what = e.event === 'start' ? 'starts' : e.event === 'end' ? 'ends' : e.event === 'blocked' ? `waits for ${e.at}` : `runs from ${e.at}`;
    return `op ${e.op} ${what}`.replace(/\|/g, '\\|');
  };
  for (const e of c.timeline) out.push(`| ${e.step} | ${Array.from({ length: cpus }, (_, i) => (i === e.cpu ? cell(e) : '')).join(' | ')} |`);
  if (c.timelineDropped !== undefined) out.push(`| … | ${c.timelineDropped} more, not kept |${' |'.repeat(cpus - 1)}`);
  out.push('');
  for (const r of c.races) {
    const a = (x: AccessRecord): string => `${x.access} of ${x.size} in ${x.routine} (op ${x.op}, CPU ${x.cpu}, step ${x.step}${x.locks.length > 0 ? `, holding ${x.locks.join(', ')}` : ', no lock'})`;
    out.push(`- data race at ${r.address} (${r.what}): ${a(r.first)} — ${a(r.second)}`);
  }
  for (const l of c.lockOrder) out.push(`- lock order: ${l.first.locks.join(' → ')} in ${l.first.routine}; ${l.second.locks.join(' → ')} in ${l.second.routine}`);
  if (c.races.length + c.lockOrder.length > 0) out.push('');
}

/** `shownDriver`: the driver as the user named it (a path relative to where they ran the command); default the report's. */
export function renderMarkdown(report: Report, record: RunRecord, shownDriver = report.driver): string {
  const s = report.scenario;
  const build = getBuild(s.build);
  const flagged = new Set(report.violations.map((v) => v.evidence.seq).filter((x): x is number => x !== undefined));
  const out: string[] = [];
  out.push(`# ${shownDriver}: ${report.invariant.id}`, '');
  out.push(`> ${report.invariant.statement}`, '');
  out.push(`Rule: ${report.invariant.source}`, '');
  if (report.alsoBreaks !== undefined) out.push(`The same root cause also breaks: ${report.alsoBreaks.map((i) => `\`${i}\``).join(', ')}`, '');
  out.push('| | |', '|---|---|');
  out.push(`| build | ${build.title} (\`${build.id}\`) |`);
  out.push(`| profile | ${s.profile} |`);
  out.push(`| CID reuse | ${s.reusePolicy}${s.firstClientId === undefined ? '' : `; IDs after boot from ${s.firstClientId} (a long-running machine)`} |`);
  if (s.poolQuota !== undefined) out.push(`| pool quota | ${s.poolQuota} bytes |`);
  if (s.integrityCheck === false) out.push('| image | linked without /INTEGRITYCHECK (the Ex/Ex2 process registrations return STATUS_ACCESS_DENIED) |');
  out.push(`| other drivers' routines | process ${s.crowding.process}, thread ${s.crowding.thread}, image ${s.crowding.image} |`);
  out.push(`| fault plan | ${s.faults.length === 0 ? 'none' : s.faults.map((f) => `${f.ddi} call #${f.nth} → ${statusName(f.status)}`).join('; ')} |`);
  out.push(`| operations | ${s.ops.length} (shrunk from ${report.shrunkFrom}) |`);
  if (s.schedule !== undefined) out.push(`| CPUs | ${describeSchedule(s.schedule)} |`);
  if (report.fuzz !== null) {
    const f = report.fuzz;
    out.push(`| found by | ${f.campaignSeed !== undefined ? `\`--seed ${f.campaignSeed}\`: ` : ''}run ${f.runsToFailure} of the fast-check round with seed ${f.seed}, path \`${f.path ?? '-'}\` |`);
  }
  if (report.reachability !== undefined) out.push(`| on Windows | ${reachabilityText(report.reachability.class)}${report.reachability.why.map((w) => `; ${w}`).join('')} |`);
  out.push('', `Replay: \`${report.replay}\``, '');
  out.push('## Violations', '');
  for (const v of report.violations) {
    out.push(`- **${v.message}** (op ${v.evidence.op}${v.evidence.seq !== undefined ? `, event #${v.evidence.seq}` : ''})`);
    if (v.evidence.event !== undefined) out.push(`  - kernel: ${v.evidence.event}`);
    if (v.evidence.line !== undefined) out.push(`  - logged: ${inlineCode(printable(v.evidence.line.replace(/\n/g, ' | ')))}`);
  }
  renderRun(out, record, flagged);
  return out.join('\n') + '\n';
}

export class ReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportError';
  }
}

/**
 * Creates `dir` and its missing parents one level at a time (no recursive mkdir: on special file systems such as
 * /proc it can spin); a path that exists and is not a directory is an error.
 */
export function ensureDir(dir: string): void {
  const full = resolve(dir);
  const missing: string[] = [];
  for (let d = full; ; d = dirname(d)) {
    let st;
    try {
      st = lstatSync(d);
    } catch {
      missing.push(d);
      if (dirname(d) === d) break;
      continue;
    }
    if (!st.isDirectory()) throw new ReportError(`${d} is not a directory`);
    break;
  }
  for (const d of missing.reverse()) mkdirSync(d);
}

const TEMP = /^\..+\.(\d+)\.tmp$/;

/** Removes temp files a killed run left in `dir` (their process is gone). Returns how many. */
export function cleanStaleTemps(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    const m = TEMP.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (alive) continue;
    try {
      unlinkSync(join(dir, name));
      n++;
    } catch {
      // someone else cleaned it
    }
  }
  return n;
}

/** Writes `content` as `name` in `dir` unless the name is taken: temp file, then hard link (fails if it exists). */
function linkNew(dir: string, name: string, content: string): 'written' | 'same' | 'taken' {
  const target = join(dir, name);
  if (existsSync(target)) return readFileSync(target, 'utf8') === content ? 'same' : 'taken';
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  try {
    // inside the try: a write that fails part-way (a full disk) leaves no temp file behind
    writeFileSync(tmp, content);
    linkSync(tmp, target);
    return 'written';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return readFileSync(target, 'utf8') === content ? 'same' : 'taken';
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Writes `name` in `dir` without ever replacing an existing file; a taken name gets -2, -3 … */
export function writeNew(dir: string, name: string, content: string): string {
  ensureDir(dir);
  const { name: stem, ext } = parse(name);
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${stem}-${n}${ext}`;
    if (linkNew(dir, candidate, content) !== 'taken') return join(dir, candidate);
  }
}

/**
 * Writes `<id>.json` and `<id>.md` without replacing anything; when the id is taken by a different report, the
 * first free `<id>-N` is used and the report carries that id and replay command. Returns the paths.
 */
export function writeReport(dir: string, report: Report, record: RunRecord, shownDriver?: string): { json: string; md: string; report: Report } {
  ensureDir(dir);
  for (let n = 1; ; n++) {
    const id = n === 1 ? report.id : `${report.id}-${n}`;
    const r: Report = n === 1 ? report : { ...report, id, replay: report.replay.replace(`${report.id}.json`, `${id}.json`) };
    const jsonText = JSON.stringify(r, null, 2) + '\n';
    const json = linkNew(dir, `${id}.json`, jsonText);
    if (json === 'taken') continue;
    const md = linkNew(dir, `${id}.md`, renderMarkdown(r, record, shownDriver));
    if (md === 'taken') continue; // a stray .md with that name: move on (the .json just written stays valid)
    return { json: join(dir, `${id}.json`), md: join(dir, `${id}.md`), report: r };
  }
}

/**
 * How a report names a driver file: relative to the report's directory (so the report replays from anywhere),
 * with forward slashes. Built-in drivers keep their name.
 */
export function driverReference(driver: string, reportDir: string): string {
  if (!isDriverPath(driver)) return driver;
  // several sources joined by commas: each relative to the report
  return driver.split(',').map((d) => relative(resolve(reportDir), resolve(d.trim())).split(sep).join('/')).join(',');
}

/** Resolves a report's driver reference: relative to the report first, then (older reports) to the working directory. */
export function resolveDriverReference(driver: string, reportFile: string): string {
  const parts = driver.split(',');
  // a project directory is a path too, relative to the report like the rest
  const isDirectory = (p: string): boolean => { try { return statSync(resolve(dirname(reportFile), p)).isDirectory(); } catch { return false; } };
  if (!parts.every((p) => isDriverPath(p) || DRIVER_FILE.test(p) || isDirectory(p)) || parts.every((p) => isAbsolute(p))) return driver;
  const fromReport = parts.map((p) => (isAbsolute(p) ? p : resolve(dirname(reportFile), p)));
  return fromReport.every((p) => existsSync(p)) ? fromReport.join(',') : driver;
}

/**
 * The sha256 a report keeps of its driver: a single file's bytes; for a project (several files, a directory, a
 * .vcxproj), of every source and project header each target compiles, so that replay sees a change in any of them.
 */
export function fileSha256(path: string, configuration?: string): string | undefined {
  try {
    if (path.endsWith('.wasm') || isSingleSource(path)) {
      return createHash('sha256').update(readInputFile(path, 'driver', INPUT_LIMITS.wasm)).digest('hex');
    }
    if (!isSourceProject(path)) return undefined;
    const project = resolveProject(path, configuration);
    const h = createHash('sha256');
    for (const t of ['x86', 'x64'] as const) {
      const b = project.builds[t];
      if (b !== undefined) h.update(`${t}:${projectSha256(b)}:${JSON.stringify(b.defines)}\n`);
    }
    return h.digest('hex');
  } catch {
    return undefined;
  }
}
