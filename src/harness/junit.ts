/** JUnit XML for CI: one test case per invariant checked, failed when violated. */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Invariant } from '../invariants/index.js';
import type { FuzzResult } from './fuzz.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    // XML 1.0 forbids most control characters: logged garbage can contain them
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function junitXml(driver: string, invariants: readonly Invariant[], result: FuzzResult, replayOf: (id: string) => string | undefined): string {
  const failures = result.findings.length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="psharness ${esc(driver)}" tests="${invariants.length}" failures="${failures}" errors="0" skipped="0">`,
    `  <properties><property name="seed" value="${result.seed}"/><property name="runs" value="${result.runs}"/></properties>`,
  ];
  for (const inv of invariants) {
    const f = result.findings.find((x) => x.invariant.id === inv.id);
    lines.push(`  <testcase classname="psharness.${esc(driver)}" name="${esc(inv.id)}">`);
    if (f !== undefined) {
      const msg = f.violations[0]?.message ?? 'violated';
      const body = [`${inv.statement}`, ...f.violations.map((v) => `- ${v.message}`), `replay: ${replayOf(inv.id) ?? '(no report written)'}`].join('\n');
      lines.push(`    <failure message="${esc(msg)}" type="${esc(inv.id)}">${esc(body)}</failure>`);
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
