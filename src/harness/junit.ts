/** JUnit XML for CI: one test case per invariant checked, failed when violated. */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Invariant } from '../invariants/index.js';
import { reachabilityOf } from '../invariants/index.js';
import type { Finding, FuzzResult } from './fuzz.js';
import { reachabilityText } from './report.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    // XML 1.0 forbids most control characters: logged garbage can contain them
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Where a JUnit test case points (its first failing finding's source location), and how long the campaign took. */
export interface JunitExtras {
  /** The source location of a finding: a file (as the user named it) and a line when known. */
  readonly locate?: (f: Finding) => { readonly file: string; readonly line?: number } | undefined;
  /**
   * The campaign's wall time in seconds: the suite's time. Every invariant was checked on every run, together, so
   * each test case's time is an equal share of it (the cases' times add up to the suite's, as JUnit readers expect).
   */
  readonly seconds?: string;
}

/**
 * `gates` says which findings fail the suite (the default profile: those Windows can reach); the others are listed
 * in the test case's system-out as warnings.
 */
export function junitXml(driver: string, invariants: readonly Invariant[], result: FuzzResult, replayOf: (id: string) => string | undefined,
  gates: (f: Finding) => boolean = () => true, extras: JunitExtras = {}): string {
  const failures = new Set(result.findings.filter(gates).map((f) => f.invariant.id)).size;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="psharness ${esc(driver)}" tests="${invariants.length}" failures="${failures}" errors="0" skipped="0"${extras.seconds !== undefined ? ` time="${esc(extras.seconds)}"` : ''}>`,
    `  <properties><property name="seed" value="${result.seed}"/><property name="runs" value="${result.runs}"/>${result.interrupted ? '<property name="interrupted" value="true"/>' : ''}</properties>`,
  ];
  for (const inv of invariants) {
    const mine = result.findings.filter((x) => x.invariant.id === inv.id);
    const fs = mine.filter(gates);
    const warnings = mine.filter((f) => !gates(f));
    // file and line (the attributes GitLab, Jenkins and the JUnit annotators read) of the first finding that fails it
    const at = fs.length > 0 ? extras.locate?.(fs[0]) : mine.length > 0 ? extras.locate?.(mine[0]) : undefined;
    const where = at === undefined ? '' : ` file="${esc(at.file)}"${at.line !== undefined ? ` line="${at.line}"` : ''}`;
    const time = extras.seconds !== undefined && Number.isFinite(Number(extras.seconds)) ? ` time="${(Number(extras.seconds) / Math.max(1, invariants.length)).toFixed(3)}"` : '';
    lines.push(`  <testcase classname="psharness.${esc(driver)}" name="${esc(inv.id)}"${where}${time}>`);
    if (fs.length > 0) {
      // one failure per test case; every distinct finding of the invariant is listed in it
      const msg = `${fs[0].violations[0]?.message ?? 'violated'}${fs.length > 1 ? ` (and ${fs.length - 1} more distinct finding(s))` : ''}`;
      const body = [`${inv.statement}`, ...fs.flatMap((f) => [...f.violations.map((v) => `- ${v.message}`), `  on Windows: ${reachabilityText(reachabilityOf(f.record).reachability)}`, `  replay: ${replayOf(f.signature) ?? '(no report written)'}`])].join('\n');
      lines.push(`    <failure message="${esc(msg)}" type="${esc(inv.id)}">${esc(body)}</failure>`);
    }
    if (warnings.length > 0) {
      const body = warnings.flatMap((f) => [...f.violations.map((v) => `warning (${reachabilityText('defensive')}): ${v.message}`), `  replay: ${replayOf(f.signature) ?? '(no report written)'}`]).join('\n');
      lines.push(`    <system-out>${esc(body)}</system-out>`);
    }
    lines.push('  </testcase>');
  }
  lines.push('</testsuite>', '');
  return lines.join('\n');
}

/** Replaces `path` atomically (temp file, then rename). */
export function writeAtomic(path: string, content: string): void {
  // no directory is created for it (a recursive mkdir can spin on special file systems such as /proc)
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
