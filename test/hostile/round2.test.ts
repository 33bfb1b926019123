/**
 * Hostile inputs, round 2 (issue 29): each case ends as it must — a finding (exit 1) where the driver is wrong, exit 0
 * where it is right, exit 2 with one line naming the file and field where the input is bad — within its time bound
 * on a 2-core machine. Never exit 3, a heap exhaustion or a hang.
 */
import { describe, expect, test } from 'vitest';
import { runCli } from '../helpers.js';

interface Case {
  readonly name: string;
  readonly argv: readonly string[];
  readonly exit: 0 | 1 | 2;
  /** Wall-clock bound for the whole command (compile included when the cache is warm). */
  readonly withinMs: number;
  readonly out?: RegExp;
  readonly err?: RegExp;
}

const CASES: readonly Case[] = [
  {
    name: 'a printf width of 2^28 and a precision of 2^31: formatted into what is kept, the DbgPrint cut reported',
    argv: ['fuzz', '--driver', 'test/fixtures/hostile/width-bomb.c', '--build', 'winxp-x86', '--runs', '20', '--no-reports'],
    exit: 1, withinMs: 20_000, out: /dbgprint-limit/,
  },
  {
    name: 'log-spec patterns V8 backtracks through for minutes ((.*a){20}$, (a{1,20}){1,20}$): matched in linear time',
    argv: ['fuzz', '--driver', 'test/fixtures/hostile/regex-bomb.c', '--build', 'winxp-x86', '--runs', '20', '--no-reports'],
    exit: 0, withinMs: 20_000, out: /passed/,
  },
];

describe('hostile inputs end as they must, in time', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const started = performance.now();
    const r = await runCli([...c.argv], () => performance.now());
    const took = performance.now() - started;
    expect({ code: r.code, err: r.err.split('\n')[0] }).toMatchObject({ code: c.exit });
    if (c.out !== undefined) expect(r.out).toMatch(c.out);
    if (c.err !== undefined) {
      expect(r.err).toMatch(c.err);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(took).toBeLessThan(c.withinMs);
  }, 120_000);
});
