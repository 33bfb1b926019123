/**
 * The CLI's habits (issue 24): help for every command and option, "did you mean" for options, commands, drivers,
 * builds and invariants, a release's own build name, a heartbeat in a CI log, reports that name the driver and the
 * seed as the user gave them.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { COMMANDS, FUZZ_OPTIONS, LIST_OPTIONS, TRACE_OPTIONS } from '../../src/cli/help.js';
import { didYouMean } from '../../src/model/did-you-mean.js';
import { canonicalBuildId, getBuild, selectBuilds } from '../../src/model/builds.js';
import { runCli } from '../helpers.js';

describe('help', () => {
  test('psharness <command> --help and psharness help <command>: exit 0, every option with its argument and meaning', async () => {
    for (const [command, options] of [['fuzz', FUZZ_OPTIONS], ['trace', TRACE_OPTIONS], ['list', LIST_OPTIONS], ['replay', {}]] as const) {
      const a = await runCli([command, '--help']);
      const b = await runCli(['help', command]);
      expect(a.code).toBe(0);
      expect(b).toEqual(a);
      expect(a.out).toContain(`usage: ${COMMANDS[command].usage}`);
      for (const name of Object.keys(options)) expect(a.out).toMatch(new RegExp(`^  --${name}\\b.* {2}\\S`, 'm'));
    }
    expect((await runCli(['fuzz', '--driver', 'seed', '-h'])).out).toContain('--max-findings N');
    const top = await runCli(['help']);
    expect(top.code).toBe(0);
    expect(top.out).toContain('psharness <command> --help');
  });
});

describe('did you mean', () => {
  test('an option, a command, a driver, a driver file, a build and an invariant: the nearest name, exit 2, one line', async () => {
    const cases: [string[], RegExp][] = [
      [['fuzz', '--sed', '3'], /^psharness: unknown option '--sed' for fuzz \(did you mean --seed\?\); see psharness fuzz --help$/],
      [['trace', '--scenaro', 'x'], /unknown option '--scenaro' for trace \(did you mean --scenario\?\)/],
      [['fuz'], /unknown command 'fuz' \(did you mean 'fuzz'\?\)/],
      [['help', 'replya'], /unknown command 'replya' \(did you mean 'replay'\?\)/],
      [['fuzz', '--driver', 'refrence'], /unknown driver 'refrence' \(did you mean 'reference'\?\)/],
      [['fuzz', '--driver', 'examples/drivers/proctabel.c'], /no such driver file: examples\/drivers\/proctabel\.c \(did you mean 'examples\/drivers\/proctable\.c'\?\)/],
      [['fuzz', '--driver', 'seed', '--build', 'win10-x46'], /unknown OS build 'win10-x46' \(did you mean 'win10-x86'\?\)/],
      [['fuzz', '--driver', 'seed', '--invariant', 'events-complet'], /unknown invariant 'events-complet' \(did you mean 'events-complete'\?\)/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
    }
    // nothing near: no guess
    expect((await runCli(['fuzz', '--zzzzzz'])).err).toBe("psharness: unknown option '--zzzzzz' for fuzz; see psharness fuzz --help");
  });

  test('the guess is a plausible typo or nothing, and its cost does not grow with what was typed', () => {
    expect(didYouMean('--sede', ['--seed', '--runs'])).toBe('--seed');
    expect(didYouMean('--esed', ['--seed', '--runs'])).toBe('--seed'); // a swap is one edit
    expect(didYouMean('--xyzzy', ['--seed', '--runs'])).toBeUndefined();
    expect(didYouMean('WIN10-X64', ['win10-x64'])).toBe('win10-x64');
    const huge = 'x'.repeat(5_000_000);
    const t0 = performance.now();
    expect(didYouMean(huge, ['--seed', '--runs'])).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

describe('builds by their releases\' names', () => {
  test('every Windows 10 2004+ release and Windows 11 23H2/24H2 name its build; any case; scenarios carry the build\'s own id', async () => {
    expect(selectBuilds('win10-x64-22h2')).toEqual(['win10-x64']);
    expect(selectBuilds('win10-x86-20H2,win11-x64-24h2,win11-x64-23h2')).toEqual(['win10-x86', 'win11-x64-22h2', 'win11-x64']);
    expect(selectBuilds('WIN7-X64')).toEqual(['win7-x64']);
    expect(canonicalBuildId('win10-x64-2004')).toBe('win10-x64');
    expect(getBuild('win10-x64-21h2').id).toBe('win10-x64');
    const dir = mkdtempSync(join(tmpdir(), 'psh-alias-'));
    const r = await runCli(['fuzz', '--driver', 'seed', '--build', 'win10-x64-22h2', '--runs', '20', '--max-findings', '1', '--reports', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/builds=win10-x64-22h2 /);
    const report = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((n) => n.endsWith('.json')) as string), 'utf8')) as { scenario: { build: string } };
    expect(report.scenario.build).toBe('win10-x64');
  });
});

describe('CI logs and reports', () => {
  test('not on a terminal: a plain heartbeat line every 10 s of campaign, none on a terminal (its progress line instead)', async () => {
    let clock = 0;
    const beats: string[] = [];
    const progress: string[] = [];
    const now = (): number => (clock += 1000); // every look at the clock: a second later
    const plain = await main(['fuzz', '--driver', 'reference', '--runs', '300', '--no-reports', '--workers', '1'], { out: () => {}, err: () => {}, now, heartbeat: (l) => beats.push(l) });
    expect(plain).toBe(0);
    expect(beats.length).toBeGreaterThan(2);
    for (const b of beats) expect(b).toMatch(/^psharness: \d+\/300 runs, 0 distinct finding\(s\), \d+ s$/);
    beats.length = 0;
    await main(['fuzz', '--driver', 'reference', '--runs', '300', '--no-reports', '--workers', '1'], { out: () => {}, err: () => {}, now, heartbeat: (l) => beats.push(l), progress: (l) => progress.push(l) });
    expect(beats).toEqual([]);
    expect(progress.length).toBeGreaterThan(0);
  });

  test('the heartbeat counts scenarios, not shrink steps: never past the budget, never backwards, on a campaign full of findings', async () => {
    let clock = 0;
    const beats: string[] = [];
    const now = (): number => (clock += 4000);
    const code = await main(['fuzz', '--driver', 'seed', '--runs', '750', '--no-reports', '--workers', '1'], { out: () => {}, err: () => {}, now, heartbeat: (l) => beats.push(l) });
    expect(code).toBe(1);
    const counts = beats.map((b) => Number(/^psharness: (\d+)\/750 runs/.exec(b)?.[1]));
    expect(counts.length).toBeGreaterThan(5);
    for (let i = 0; i < counts.length; i++) {
      expect(counts[i]).toBeLessThanOrEqual(750);
      if (i > 0) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]);
    }
  });

  test('a report names the driver as the user gave it, and the seed they gave beside the round\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-rep-'));
    const r = await runCli(['fuzz', '--driver', 'test/fixtures/lifecycle/forgets-one.c', '--seed', '5', '--runs', '200', '--reports', join(dir, 'out')]);
    expect(r.code).toBe(1);
    const md = readFileSync(join(dir, 'out', readdirSync(join(dir, 'out')).find((n) => n.endsWith('.md')) as string), 'utf8');
    expect(md.split('\n')[0]).toBe('# test/fixtures/lifecycle/forgets-one.c: unload-clean');
    expect(md).toMatch(/\| found by \| `--seed 5`: run \d+ of the fast-check round with seed -?\d+, path `[\d:]+` \|/);
  }, 60_000);
});
