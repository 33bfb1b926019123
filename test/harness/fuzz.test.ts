import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { reference, wssprocmon } from '../../src/driver/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { loadReport, replayReport } from '../../src/harness/replay.js';
import { buildReport, writeReport } from '../../src/harness/report.js';
import { isOneMinimal } from '../../src/harness/shrink.js';
import { baseSignature, INVARIANTS, signatureOf } from '../../src/invariants/index.js';
import type { Scenario } from '../../src/model/index.js';

const seedRun = fuzz({ driver: wssprocmon, seed: 1, runs: 1000 });

describe('fuzzing the seed', () => {
  test('finds every known bug of the seed (DESIGN.md 1-7) in the default budget', () => {
    expect(seedRun.failed).toBe(true);
    const found = new Set(seedRun.findings.map((f) => f.invariant.id));
    const bugs = new Set(seedRun.findings.map((f) => f.invariant.seedBug).filter((b) => b !== undefined));
    expect([...bugs].sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const id of ['references-balanced', 'lookup-failure-handled', 'process-name-correct', 'image-path-full', 'failed-entry-clean', 'driver-unloadable', 'pointers-full-width']) {
      expect(found.has(id), id).toBe(true);
    }
  });

  test('every shrunk counterexample is 1-minimal: no operation can be removed and still fail the same way (its signature)', () => {
    for (const f of seedRun.findings) {
      const fails = (s: Scenario): boolean => {
        const r = runAndCheck(wssprocmon, s, [f.invariant]);
        return r.violations.some((v) => baseSignature(signatureOf(v, r.record)) === baseSignature(f.signature));
      };
      expect(fails(f.scenario), f.invariant.id).toBe(true);
      expect(isOneMinimal(f.scenario, fails), f.invariant.id).toBe(true);
    }
  });

  test('the reference driver passes, documented and adversarial, on every build', () => {
    expect(fuzz({ driver: reference, seed: 7, runs: 300 }).failed).toBe(false);
    expect(fuzz({ driver: reference, seed: 8, runs: 300, profile: 'adversarial' }).failed).toBe(false);
  });

  test('the same seed finds the same shrunk scenarios', () => {
    const again = fuzz({ driver: wssprocmon, seed: 1, runs: 1000 });
    expect(again.findings.map((f) => f.scenario)).toEqual(seedRun.findings.map((f) => f.scenario));
    expect(again.runs).toBe(seedRun.runs);
  });
});

describe('reports and replay', () => {
  test('replaying any written report reproduces the identical violations and record bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-'));
    for (const f of seedRun.findings) {
      const report = buildReport({ driver: 'seed', invariant: f.invariant, scenario: f.scenario, shrunkFrom: f.shrunkFrom, violations: f.violations, record: f.record, fuzz: null, reportDir: dir });
      const { json, md } = writeReport(dir, report, f.record);
      expect(readFileSync(md, 'utf8')).toContain(`# seed: ${f.invariant.id}`);
      const loaded = loadReport(json);
      const r = replayReport(loaded, wssprocmon);
      expect(r.identicalRecord, f.invariant.id).toBe(true);
      expect(r.sameViolations, f.invariant.id).toBe(true);
      expect(r.violations.length).toBeGreaterThan(0);
    }
  });

  test('writing never overwrites: same bytes are kept, other bytes get a new name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-'));
    const f = seedRun.findings[0];
    const report = buildReport({ driver: 'seed', invariant: f.invariant, scenario: f.scenario, shrunkFrom: f.shrunkFrom, violations: f.violations, record: f.record, fuzz: null, reportDir: dir });
    const a = writeReport(dir, report, f.record);
    const b = writeReport(dir, report, f.record);
    expect(b).toEqual(a);
    const c = writeReport(dir, { ...report, shrunkFrom: report.shrunkFrom + 1 }, f.record);
    expect(c.json).not.toBe(a.json);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  test('a report that no longer fails replays as fixed', () => {
    const f = seedRun.findings.find((x) => x.invariant.id === 'references-balanced');
    if (f === undefined) throw new Error('missing');
    const report = buildReport({ driver: 'seed', invariant: f.invariant, scenario: f.scenario, shrunkFrom: 0, violations: f.violations, record: f.record, fuzz: null, reportDir: 'x' });
    const r = replayReport(report, reference);
    expect(r.violations).toEqual([]);
    expect(r.identicalRecord).toBe(false);
  });
});

describe('seed + path', () => {
  test('a finding\'s seed and path regenerate the same counterexample and the same shrunk scenario', () => {
    for (const f of seedRun.findings.slice(0, 4)) {
      expect(f.path).not.toBeNull();
      const again = fuzz({
        driver: wssprocmon, seed: f.seed, runs: 1000, path: f.path ?? undefined,
        invariants: f.roundInvariants.map((id) => INVARIANTS.find((i) => i.id === id)!), knownSignatures: f.roundSeen,
      });
      const same = again.findings.find((x) => x.signature === f.signature);
      expect(same?.scenario, f.invariant.id).toEqual(f.scenario);
      expect(again.runs).toBeLessThanOrEqual(2);
    }
  });
});
