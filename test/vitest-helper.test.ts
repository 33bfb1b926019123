/**
 * psharness/vitest (issue 24): a campaign as one test of the user's suite, with a timeout that fits a cold C build,
 * and a failure message that names each finding and a report that exists and replays.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FUZZ_TEST_TIMEOUT_MS, fuzzTest } from '../src/vitest.js';
import { CURRENT_GENERATOR_FORMAT } from '../src/generators/scenario.js';
import { runCli } from './helpers.js';

// the README's example, for real: a C driver that holds, as a test of this suite
fuzzTest(test, 'psharness/vitest: psrefmon.c holds every invariant (a registered campaign)', { driver: 'examples/drivers/psrefmon.c', runs: 300, reports: false });

describe('fuzzTest', () => {
  test('registers one test with a campaign-sized timeout; a failure names each finding and a report that replays', async () => {
    const registered: { name: string; fn: () => Promise<void>; timeout?: number }[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'psh-vitest-'));
    fuzzTest((name, fn, timeout) => registered.push({ name, fn, timeout }), 'the forgetful driver', {
      driver: 'test/fixtures/lifecycle/forgets-one.c', runs: 200, reports: join(dir, 'reports'),
    });
    expect(registered.map((r) => [r.name, r.timeout])).toEqual([['the forgetful driver', FUZZ_TEST_TIMEOUT_MS]]);
    const error = await registered[0].fn().then(() => null, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/^psharness: 1 finding\(s\) in \d+ run\(s\)\n- unload-clean: after DriverUnload: process notify OnProcess \(slot 0\) \(1 ops on [\w-]+\)\n {2}replay: npx psharness replay (\S+\.json)$/);
    const report = /replay: npx psharness replay (\S+\.json)$/.exec(error?.message ?? '')?.[1] ?? '';
    expect(existsSync(report)).toBe(true);
    const replay = await runCli(['replay', report]);
    expect(replay.code).toBe(1);
    expect(replay.out).toMatch(/unload-clean still violated/);
    // the report names the generator format that drew its round, so --from-report draws that round again
    expect((JSON.parse(readFileSync(report, 'utf8')) as { fuzz: { generator?: number } }).fuzz.generator).toBe(CURRENT_GENERATOR_FORMAT);
    expect((await runCli(['fuzz', '--from-report', report, '--no-reports'])).code).toBe(1);
  }, 120_000);

  test('an unknown driver name fails the test with one line, not a crash', async () => {
    let fn: (() => Promise<void>) | undefined;
    fuzzTest((_n, f) => { fn = f; }, 'x', { driver: 'no-such-driver' });
    await expect(fn?.()).rejects.toThrow(/^psharness: unknown driver 'no-such-driver'/);
  });

  test('a DriverModule, a build selection and the profiles: a defensive-only finding fails only the adversarial profile', async () => {
    const { fuzzDriver } = await import('../src/vitest.js');
    const { reference } = await import('../src/driver/index.js');
    expect((await fuzzDriver({ driver: reference, runs: 100, build: 'win10', reports: false })).failing).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'psh-vitest-'));
    const lookup = { driver: 'test/fixtures/reachability/lookup-unchecked.c', runs: 300, invariants: ['no-bugcheck'], cpus: 1, reports: dir };
    expect((await fuzzDriver(lookup)).failing).toEqual([]);
    const adversarial = await fuzzDriver({ ...lookup, profile: 'adversarial' });
    expect(adversarial.failing.map((x) => x.finding.invariant.id)).toEqual(['no-bugcheck']);
    expect(existsSync(adversarial.failing[0].report ?? '')).toBe(true);
  }, 120_000);
});
