// The test suite from cold: `npm test` (typecheck, build, vitest) with an empty compile cache, as on a fresh clone,
// timed on this machine. Writes reports/test-suite.json and reports/test-suite.md.
// Also writes test/file-durations.json, each file's whole time in this run, its import included
// (bench/file-durations-reporter.mjs): the order the suite starts its files in (test/longest-first.ts).
// Run: npm run bench:tests
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const cache = mkdtempSync(join(tmpdir(), 'psh-cold-cache-'));
const load = loadavg()[0];
const t0 = performance.now();
const perFile = join(cache, 'files.json');
const p = spawnSync('npm', ['test', '--', '--reporter=default', '--reporter=./bench/file-durations-reporter.mjs'], { encoding: 'utf8', env: { ...process.env, PSHARNESS_CACHE: cache, PSHARNESS_FILE_DURATIONS: perFile, CI: 'true' }, maxBuffer: 1 << 28 });
const seconds = Math.round((performance.now() - t0) / 100) / 10;
const durations = existsSync(perFile) ? JSON.parse(readFileSync(perFile, 'utf8')) : {};
rmSync(cache, { recursive: true, force: true });
const summary = /Tests\s+(.*)/.exec(p.stdout.replace(/\x1b\[[0-9;]*m/g, ''))?.[1]?.trim() ?? 'no summary';
const result = { date: new Date().toISOString(), cores: cpus().length, node: process.version, loadAverageAtStart: Math.round(load * 100) / 100, status: p.status, seconds, tests: summary };
const write = (file, text) => {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
};
if (p.status === 0 && Object.keys(durations).length > 0) {
  write('test/file-durations.json', JSON.stringify({ about: 'seconds per test file, its import included, npm test from cold (empty compile cache); written by npm run bench:tests; read by test/longest-first.ts to start the longest files first', seconds: durations }, null, 1) + '\n');
}
write('reports/test-suite.json', JSON.stringify(result, null, 2) + '\n');
write('reports/test-suite.md', [
  '# The test suite from cold', '',
  `\`npm test\` with an empty compile cache (\`PSHARNESS_CACHE\` a new directory), as on a fresh clone: **${seconds} s** on ${result.cores} cores, Node ${result.node}, load average ${result.loadAverageAtStart} at the start; exit status ${p.status}; ${summary}.`, '',
  'Target (issue 26): ≤ 4 min on 2 idle cores. Command: `npm run bench:tests`.', '',
].join('\n'));
console.log(JSON.stringify(result));
process.exit(p.status === 0 ? 0 : 1);
