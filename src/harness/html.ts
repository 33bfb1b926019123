/**
 * The campaign as one self-contained HTML page (`psharness fuzz --html DIR` → DIR/index.html): no script or style
 * from anywhere else, nothing fetched. Findings grouped by invariant and classed by what Windows can reach, each
 * with its shrunk scenario, the driver's output, the evidence, the `!analyze`-style block of a halt, the replay
 * command, and — for a run on several CPUs — a timeline picture: one lane per CPU, each operation's routine a bar
 * where it ran, its scheduling points (DDI calls, shared accesses) marks, the racing pair of accesses highlighted.
 */
import { linesOf } from '../driver/types.js';
import { reachabilityOf, type Invariant } from '../invariants/index.js';
import type { RunRecord } from '../model/record.js';
import type { RaceRecord } from '../model/ke/race-detector.js';
import { VERSION } from '../version.js';
import type { Finding, FuzzResult } from './fuzz.js';
import { shownViolation } from './locate.js';
import { reachabilityText, stackLine } from './report.js';

export interface HtmlInput {
  readonly driver: string;
  readonly invariants: readonly Invariant[];
  readonly result: FuzzResult;
  readonly gates: (f: Finding) => boolean;
  readonly replayOf: (signature: string) => string | undefined;
  /** What the summary line says ran: builds, CPUs, profile. */
  readonly scope: string;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    // control characters a driver logged are shown, not interpreted
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1em 2em;color:#1b1f23}
h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.summary{display:flex;gap:1em;flex-wrap:wrap}.summary span{padding:.3em .7em;border-radius:4px;background:#f0f0f0}
.finding{border-left:5px solid #b31d28;margin:1em 0;padding:.2em 1em;background:#fdf7f7}
.finding.low-resources{border-color:#d97706;background:#fffaf0}.finding.defensive{border-color:#888;background:#f6f6f6}
.finding summary{cursor:pointer;font-weight:600}.class{font-size:.85em;font-weight:normal;color:#555}
pre,code{font:12px/1.4 ui-monospace,monospace}pre{background:#fff;border:1px solid #e1e4e8;padding:.6em;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #e1e4e8;padding:.2em .5em;text-align:left;vertical-align:top}
svg.timeline{background:#fff;border:1px solid #e1e4e8;max-width:100%}
svg .lane{fill:#f6f8fa}svg .bar{fill:#79b8ff;stroke:#2188ff}svg .bar.blocked{fill:#f9c513;stroke:#b08800}
svg .mark{fill:#24292e}svg .mark.race{fill:#d73a49;stroke:#86181d;stroke-width:2}svg line.race{stroke:#d73a49;stroke-width:2;stroke-dasharray:4 3}
svg text{font:11px ui-monospace,monospace;fill:#24292e}
`;

interface Segment {
  readonly cpu: number;
  readonly op: number;
  readonly from: number;
  readonly to: number;
  readonly blocked: boolean;
}

/** One lane per CPU: where each operation ran (bars), its scheduling points (marks), the racing pair (red). */
export function timelineSvg(record: RunRecord, race?: RaceRecord): string {
  const c = record.concurrency;
  if (c === undefined || c.timeline.length === 0) return '';
  const cpus = c.schedule.cpus;
  const last = c.timeline[c.timeline.length - 1].step;
  const dx = Math.max(4, Math.min(24, Math.floor(900 / Math.max(1, last + 1))));
  const lane = 34;
  const left = 60;
  const width = left + (last + 2) * dx;
  const height = 20 + cpus * lane;
  const y = (cpu: number): number => 10 + cpu * lane;
  const x = (step: number): number => left + step * dx;
  const kind = (op: number): string => {
    const r = record.ops.find((o) => o.index === op)?.op as { op?: unknown } | undefined;
    return typeof r?.op === 'string' ? r.op : `op ${op}`;
  };
  // an operation runs several routines (a process create: its process, thread and image notify routines)
  const routines = (op: number): string => [...new Set(record.callbacks.filter((cb) => cb.op === op).map((cb) => cb.routine))].join(', ');
  const label = (op: number): string => `${op} ${kind(op)}`;
  // each operation's stretches on its CPU: from an entry to the next entry of the same operation
  const segments: Segment[] = [];
  const open = new Map<number, { cpu: number; from: number; blocked: boolean }>();
  for (const e of c.timeline) {
    const o = open.get(e.op);
    if (o !== undefined) segments.push({ cpu: o.cpu, op: e.op, from: o.from, to: e.step, blocked: o.blocked });
    if (e.event === 'end') open.delete(e.op);
    else open.set(e.op, { cpu: e.cpu, from: e.step, blocked: e.event === 'blocked' });
  }
  for (const [op, o] of open) segments.push({ cpu: o.cpu, op, from: o.from, to: last + 1, blocked: o.blocked });
  const out: string[] = [`<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="timeline of ${cpus} CPUs">`];
  for (let cpu = 0; cpu < cpus; cpu++) {
    out.push(`<rect class="lane" x="${left}" y="${y(cpu)}" width="${width - left}" height="${lane - 6}"/><text x="4" y="${y(cpu) + 18}">CPU ${cpu}</text>`);
  }
  for (const s of segments) {
    const w = Math.max(2, (s.to - s.from) * dx);
    const runs = routines(s.op);
    out.push(`<rect class="bar${s.blocked ? ' blocked' : ''}" data-op="${s.op}" x="${x(s.from)}" y="${y(s.cpu) + 4}" width="${w}" height="${lane - 14}"><title>${esc(`operation ${label(s.op)}${runs !== '' ? ` (${runs})` : ''}${s.blocked ? ', waiting' : ''}, steps ${s.from}–${s.to}`)}</title></rect>`);
    if (w >= 40) out.push(`<text x="${x(s.from) + 3}" y="${y(s.cpu) + 18}">${esc(label(s.op).slice(0, Math.floor(w / 7)))}</text>`);
  }
  const racing = (e: { step: number; cpu: number; op: number }): boolean => race !== undefined
    && [race.first, race.second].some((a) => a.step === e.step && a.cpu === e.cpu && a.op === e.op);
  for (const e of c.timeline) {
    if (e.event !== 'run' && e.event !== 'blocked') continue;
    const r = racing(e);
    out.push(`<circle class="mark${r ? ' race' : ''}" data-step="${e.step}" cx="${x(e.step)}" cy="${y(e.cpu) + 4 + (lane - 14) / 2}" r="${r ? 5 : 2.5}"><title>${esc(`step ${e.step}, CPU ${e.cpu}, operation ${e.op}: ${e.at}`)}</title></circle>`);
  }
  if (race !== undefined) {
    // the pair joined, whether or not both accesses were scheduling points the timeline kept
    const [a, b] = [race.first, race.second];
    out.push(`<line class="race" x1="${x(a.step)}" y1="${y(a.cpu) + 11}" x2="${x(b.step)}" y2="${y(b.cpu) + 11}"><title>${esc(`data race on ${race.what}`)}</title></line>`);
  }
  out.push('</svg>');
  return out.join('');
}

function findingSection(f: Finding, o: HtmlInput): string {
  const v = shownViolation(f);
  const reach = reachabilityOf(f.record);
  const gates = o.gates(f);
  const out: string[] = [];
  out.push(`<details class="finding ${reach.reachability}" data-invariant="${esc(f.invariant.id)}" data-gates="${gates}" open>`);
  out.push(`<summary>${gates ? '✗' : '⚠'} ${esc(v?.message ?? 'violated')} <span class="class">— ${esc(reachabilityText(reach.reachability))}</span></summary>`);
  if (f.alsoBreaks !== undefined && f.alsoBreaks.length > 0) out.push(`<p>The same root cause also breaks: ${f.alsoBreaks.map((i) => `<code>${esc(i)}</code>`).join(', ')}</p>`);
  if (reach.why.length > 0) out.push(`<p>On Windows: ${reach.why.map(esc).join('; ')}</p>`);
  const replay = o.replayOf(f.signature);
  out.push(`<p>${f.scenario.ops.length} operation(s) on <code>${esc(f.scenario.build)}</code> (shrunk from ${f.shrunkFrom}); ${replay !== undefined ? `replay: <code>${esc(replay)}</code>` : 'no report written'}</p>`);
  const race = f.invariant.id === 'no-data-race' ? f.record.concurrency?.races.find((r) => r.address === v?.evidence.actual) : undefined;
  const svg = timelineSvg(f.record, race);
  if (svg !== '') out.push(`<h4>CPUs</h4>${svg}`);
  out.push('<h4>Scenario</h4><table><tr><th>#</th><th>operation</th><th>what the driver printed</th></tr>');
  f.scenario.ops.forEach((op, i) => {
    const printed = f.record.callbacks.filter((cb) => cb.op === i).map((cb) => `${cb.routine}: ${linesOf(cb.prints).join(' | ')}`).filter((l) => !l.endsWith(': '));
    const { op: kind, ...rest } = op as { op: string } & Record<string, unknown>;
    out.push(`<tr><td>${i}</td><td><code>${esc(kind)}</code> ${esc(JSON.stringify(rest))}</td><td><code>${esc(printed.join('\n'))}</code></td></tr>`);
  });
  out.push('</table>');
  out.push(`<h4>Evidence</h4><ul>${f.violations.map((x) => `<li>${esc(x.invariant)}: ${esc(x.message)}${x.evidence.event !== undefined ? ` <br><small>kernel: ${esc(x.evidence.event)}</small>` : ''}</li>`).join('')}</ul>`);
  const halt = f.record.bugCheck ?? null;
  if (halt !== null) {
    const stack = (halt.stack ?? []).map((s) => `  ${stackLine(f.record.driver, s)}`);
    out.push(`<h4>Bug check</h4><pre>${esc([`${halt.name} (${halt.code.toString(16)})`, `Arguments: ${halt.parameters.join(', ')}`, halt.reason, ...(stack.length > 0 ? ['STACK_TEXT:', ...stack] : [])].join('\n'))}</pre>`);
  }
  out.push('</details>');
  return out.join('\n');
}

/** The page. */
export function htmlReport(o: HtmlInput): string {
  const { result } = o;
  const failing = result.findings.filter(o.gates).length;
  const byInvariant = new Map<string, Finding[]>();
  for (const f of result.findings) byInvariant.set(f.invariant.id, [...(byInvariant.get(f.invariant.id) ?? []), f]);
  const out: string[] = [
    '<!doctype html>', '<html lang="en"><head><meta charset="utf-8">',
    // nothing from elsewhere may load: the page is the report, offline
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">',
    `<title>psharness: ${esc(o.driver)}</title><style>${STYLE}</style></head><body>`,
    `<h1>psharness ${esc(VERSION)}: ${esc(o.driver)}</h1>`,
    `<p>${esc(o.scope)}; seed ${result.seed}; ${result.runs} run(s)${result.interrupted ? ' (stopped early)' : ''}</p>`,
    `<div class="summary"><span id="failing">${failing} failing</span><span id="warnings">${result.findings.length - failing} warning(s)</span><span>${byInvariant.size} of ${o.invariants.length} invariants violated</span></div>`,
  ];
  if (result.findings.length === 0) out.push('<p id="clean">No violation: every invariant held.</p>');
  for (const [id, fs] of byInvariant) {
    const inv = o.invariants.find((i) => i.id === id) ?? fs[0].invariant;
    out.push(`<h2 id="${esc(id)}">${esc(id)} <span class="class">(${fs.length})</span></h2>`, `<p>${esc(inv.statement)}<br><small>Rule: ${esc(inv.source)}</small></p>`);
    for (const f of fs) out.push(findingSection(f, o));
  }
  out.push('</body></html>', '');
  return out.join('\n');
}
