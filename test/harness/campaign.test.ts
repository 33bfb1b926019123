import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers.js';
import { describe, expect, test } from 'vitest';
import { reference, wssprocmon } from '../../src/driver/index.js';
import { autoWorkerCount, CHUNK_RUNS, chunkSeed, runCampaign } from '../../src/harness/campaign.js';
import { FindingCap } from '../../src/harness/fuzz.js';

const run = async (argv: string[]): Promise<{ code: number; out: string[]; err: string }> => {
  const r = await runCli(argv);
  return { code: r.code, out: r.lines, err: r.err };
};

describe('a campaign gives the same findings for any number of workers', () => {
  test('--workers 1 and --workers 2: the same output, the same report bytes', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'psh-w1-')), mkdtempSync(join(tmpdir(), 'psh-w2-'))];
    // 8 chunks: enough that a worker starts (a campaign of 4 stays in one thread)
    const a = await run(['fuzz', '--driver', 'seed', '--runs', '2000', '--workers', '1', '--reports', dirs[0]]);
    const b = await run(['fuzz', '--driver', 'seed', '--runs', '2000', '--workers', '2', '--reports', dirs[1]]);
    expect(a.code).toBe(1);
    expect(b.code).toBe(a.code);
    const strip = (lines: string[]): string[] => lines.map((l) => l.replaceAll(dirs[0], 'D').replaceAll(dirs[1], 'D'));
    expect(strip(b.out)).toEqual(strip(a.out));
    const files = readdirSync(dirs[0]).sort();
    expect(readdirSync(dirs[1]).sort()).toEqual(files);
    for (const f of files.filter((x) => x.endsWith('.json'))) {
      const read = (d: string): unknown => ({ ...JSON.parse(readFileSync(join(d, f), 'utf8')), replay: null });
      expect(read(dirs[1])).toEqual(read(dirs[0]));
    }
  }, 120_000);

  test('in this thread: chunks merged in order; chunk 0 is the campaign seed', async () => {
    expect(chunkSeed(7, 0)).toBe(7);
    expect(chunkSeed(7, 1)).not.toBe(8);
    const r = await runCampaign({ driver: wssprocmon, seed: 3, runs: 3 * CHUNK_RUNS });
    const again = await runCampaign({ driver: wssprocmon, seed: 3, runs: 3 * CHUNK_RUNS });
    expect(again.findings.map((f) => [f.invariant.id, f.scenario])).toEqual(r.findings.map((f) => [f.invariant.id, f.scenario]));
    expect(r.findings.length).toBeGreaterThan(5);
  });

  test('this thread runs chunks beside the workers, taking back the ones they have not started: the same findings as one thread', async () => {
    const one = await runCampaign({ driver: wssprocmon, seed: 5, runs: 10 * CHUNK_RUNS, workers: 1 });
    // three workers, started after this thread's first chunk and each handed two: chunks queued for a worker that is
    // still loading are taken back by this thread
    const started: number[] = [];
    const many = await runCampaign({ driver: wssprocmon, seed: 5, runs: 10 * CHUNK_RUNS, workers: 4, spec: { name: 'wssprocmon', verifier: true }, onWorkersStarted: (n) => started.push(n) });
    expect(started).toEqual([3]); // asked for: started whatever the pace
    expect(many.runs).toBe(one.runs);
    expect(many.findings.map((f) => [f.invariant.id, f.signature, f.scenario])).toEqual(one.findings.map((f) => [f.invariant.id, f.signature, f.scenario]));
    expect(one.findings.length).toBeGreaterThan(3);
    const stop = new AbortController();
    stop.abort();
    const stopped = await runCampaign({ driver: reference, seed: 5, runs: 8 * CHUNK_RUNS, workers: 2, spec: { name: 'reference', verifier: true }, signal: stop.signal });
    expect(stopped.interrupted).toBe(true);
    expect(stopped.runs).toBe(0);
  }, 120_000);

  test("'auto' (the CLI's default): as many threads as the cores keep busy, workers only once what is left repays them", async () => {
    expect([1, 2, 3, 4, 8, 16].map(autoWorkerCount)).toEqual([1, 1, 2, 2, 5, 11]);
    const started: number[] = [];
    const base = { driver: wssprocmon, seed: 6, runs: 6 * CHUNK_RUNS, spec: { name: 'wssprocmon', verifier: true }, onWorkersStarted: (n: number) => started.push(n) };
    const one = await runCampaign({ ...base, workers: 1 });
    // 2 cores: this thread alone, however long the campaign
    const twoCores = await runCampaign({ ...base, workers: 'auto', auto: { cores: 2, repayMs: 0 } });
    // 8 cores, but what is left would take this thread less than the repay time: this thread alone
    const short = await runCampaign({ ...base, workers: 'auto', auto: { cores: 8, repayMs: 3_600_000 } });
    expect(started).toEqual([]);
    // 4 cores and enough left: one worker joins this thread
    const long = await runCampaign({ ...base, workers: 'auto', auto: { cores: 4, repayMs: 1 } });
    expect(started).toEqual([1]);
    const found = (r: typeof one): unknown => [r.runs, r.findings.map((f) => [f.invariant.id, f.signature, f.scenario])];
    expect(one.findings.length).toBeGreaterThan(3);
    for (const r of [twoCores, short, long]) expect(found(r)).toEqual(found(one));
  }, 120_000);

  test('--shard i/n: the shards together run the whole campaign', async () => {
    const whole = await runCampaign({ driver: reference, seed: 1, runs: 4 * CHUNK_RUNS });
    const s1 = await runCampaign({ driver: reference, seed: 1, runs: 4 * CHUNK_RUNS, shard: [1, 2] });
    const s2 = await runCampaign({ driver: reference, seed: 1, runs: 4 * CHUNK_RUNS, shard: [2, 2] });
    expect(whole.runs).toBe(4 * CHUNK_RUNS);
    expect(s1.runs + s2.runs).toBe(whole.runs);
    const bad = await run(['fuzz', '--driver', 'seed', '--shard', '3/2']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--shard must be i\/n/);
  });
});

describe('the report schema, used directly', () => {
  test('a scenario is validated with the schema and the build-dependent caps', async () => {
    const { validateScenario } = await import('../../src/harness/replay.js');
    const ok = { build: 'winxp-x86', profile: 'documented', reusePolicy: 'nt52', crowding: { process: 8, thread: 0, image: 0 }, faults: [], ops: [] };
    expect(validateScenario(ok)).toEqual(ok);
    expect(() => validateScenario({ ...ok, build: 'win95' })).toThrow(/unknown OS build "win95"/);
    expect(() => validateScenario({ ...ok, crowding: { process: 9, thread: 0, image: 0 } })).toThrow(/exceeds the process notify table's capacity on winxp-x86 \(8\)/);
    expect(() => validateScenario({ ...ok, poolQuota: -1 })).toThrow(/poolQuota is -1: must be >= 0/);
    expect(() => validateScenario([])).toThrow(/scenario/);
  });
});

describe('distinct findings: one per signature, and the fast-check round of each replayable', () => {
  test('the seed gives several distinct findings per invariant, no two with one signature; --max-findings caps them', async () => {
    const r = await runCampaign({ driver: wssprocmon, seed: 1, runs: 1000 });
    const sigs = r.findings.map((f) => f.signature);
    expect(new Set(sigs).size).toBe(sigs.length);
    expect(sigs.length).toBeGreaterThan(new Set(r.findings.map((f) => f.invariant.id)).size);
    const capped = await runCampaign({ driver: wssprocmon, seed: 1, runs: 1000, maxFindings: 3 });
    // the cap's share: per invariant, the defensive-only findings apart (they never use up the reachable ones' share)
    const per = (fs: readonly { invariant: { id: string }; signature: string }[]): Map<string, number> => {
      const m = new Map<string, number>();
      for (const f of fs) m.set(FindingCap.key(f.invariant.id, f.signature), (m.get(FindingCap.key(f.invariant.id, f.signature)) ?? 0) + 1);
      return m;
    };
    // the cap is per invariant: a prolific invariant stops at 3, and none is hidden by another's findings
    expect(Math.max(...per(capped.findings).values())).toBe(3);
    const ids = (fs: readonly { invariant: { id: string } }[]): string[] => [...new Set(fs.map((f) => f.invariant.id))].sort();
    expect(ids(capped.findings)).toEqual(ids(r.findings));
    const one = await runCampaign({ driver: wssprocmon, seed: 1, runs: 1000, maxFindings: 1 });
    expect([...per(one.findings).values()].every((n) => n === 1)).toBe(true);
    expect(ids(one.findings)).toEqual(ids(r.findings));
  });

  test('the summary names every violated invariant with its count, and marks those at the cap', async () => {
    const r = await run(['fuzz', '--driver', 'seed', '--no-reports', '--max-findings', '1', '--workers', '1']);
    expect(r.code).toBe(1);
    const summary = r.out.find((l) => l.startsWith('psharness fuzz: FAILED')) ?? '';
    const named = [...summary.matchAll(/([a-z-]+) 1\*/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(2);
    expect(summary).toContain('(* = the --max-findings cap of 1: there may be more)');
    expect(summary).toMatch(new RegExp(`${named.length} distinct finding\\(s\\) in ${named.length} invariant\\(s\\)`));
  }, 60_000);

  test('--from-report replays the fast-check round that found a report: the same shrunk scenario', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-fr-'));
    await run(['fuzz', '--driver', 'seed', '--workers', '1', '--reports', dir]);
    const reports = readdirSync(dir).filter((f) => f.endsWith('.json'));
    const later = reports.map((f) => ({ f, r: JSON.parse(readFileSync(join(dir, f), 'utf8')) as { scenario: unknown; signature: string; fuzz: { seen?: string[] } } }))
      .find((x) => (x.r.fuzz.seen?.length ?? 0) > 0) ?? { f: reports[0], r: JSON.parse(readFileSync(join(dir, reports[0]), 'utf8')) };
    const out = mkdtempSync(join(tmpdir(), 'psh-fr2-'));
    const again = await run(['fuzz', '--from-report', join(dir, later.f), '--reports', out, '--max-findings', '50']);
    expect(again.code).toBe(1);
    const found = readdirSync(out).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')) as { scenario: unknown; signature: string });
    expect(found.find((x) => x.signature === later.r.signature)?.scenario).toEqual(later.r.scenario);
  }, 60_000);

  test('a report names its generator format; one without it (written before format 2) replays with format 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-g1-'));
    await run(['fuzz', '--driver', 'seed', '--workers', '1', '--reports', dir, '--generator', '1', '--runs', '300']);
    const file = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()[0];
    const report = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { scenario: unknown; signature: string; fuzz: { generator?: number; path: string } };
    expect(report.fuzz.generator).toBe(1);
    delete report.fuzz.generator;
    writeFileSync(join(dir, file), JSON.stringify(report));
    const out = mkdtempSync(join(tmpdir(), 'psh-g1b-'));
    const again = await run(['fuzz', '--from-report', join(dir, file), '--reports', out, '--max-findings', '50']);
    expect(again.code).toBe(1);
    const found = readdirSync(out).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')) as { scenario: unknown; signature: string; fuzz: { generator: number } });
    expect(found.find((x) => x.signature === report.signature)?.scenario).toEqual(report.scenario);
    expect(found.every((x) => x.fuzz.generator === 1)).toBe(true);
    const bad = await run(['fuzz', '--driver', 'seed', '--generator', '3']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--generator must be 1 or 2, got '3'/);
  }, 60_000);
});
