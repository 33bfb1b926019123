/** Shared test helpers: a scenario with documented defaults, and the usual volume path. */
import type { Scenario } from '../src/model/index.js';

export const VOL = '\\Device\\HarddiskVolume1\\Windows';

export function scenario(build: string, ops: Scenario['ops'], extra: Partial<Scenario> = {}): Scenario {
  return { build, profile: 'documented', reusePolicy: 'nt52', crowding: { process: 0, thread: 0, image: 0 }, faults: [], ops, ...extra };
}

/** Runs the CLI in this process: exit code, stdout (joined and as lines), stderr. */
export async function runCli(argv: string[], now: () => number = () => 0, env?: Readonly<Record<string, string>>): Promise<{ code: number; out: string; lines: string[]; err: string }> {
  const { main } = await import('../src/cli/main.js');
  const lines: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => lines.push(l), err: (l) => err.push(l), now, ...(env !== undefined ? { env } : {}) });
  return { code, out: lines.join('\n'), lines, err: err.join('\n') };
}

/**
 * A copy of an example C driver (and its log spec) with one edit, in a temp directory: a hand-made mutant.
 * Returns the copy's path; fails the test if the text to replace is not in the source.
 */
export async function mutatedCopy(source: string, from: string, to: string): Promise<string> {
  const { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { basename, join } = await import('node:path');
  const original = readFileSync(source, 'utf8');
  if (!original.includes(from)) throw new Error(`${source} does not contain ${JSON.stringify(from)}`);
  const dir = mkdtempSync(join(tmpdir(), 'psh-mut-'));
  const file = join(dir, basename(source));
  writeFileSync(file, original.replace(from, to));
  // the log spec beside a C or C++ source (never the source itself: a copy of it would undo the edit)
  const spec = source.replace(/\.(?:c|cpp|cc|cxx)$/, '.psharness.json');
  if (spec !== source && existsSync(spec)) copyFileSync(spec, join(dir, basename(spec)));
  return file;
}
