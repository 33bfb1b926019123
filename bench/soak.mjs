// psharness soak: campaigns of the reference and the C examples (and of buggy drivers, so that there are reports)
// with --workers, killed (SIGKILL) at random moments and restarted, for SOAK_SECONDS (default 600). Afterwards every
// report on disk must replay (same record bytes) and no temp file may remain. Writes reports/soak.{json,md}.
// Run: npm run soak   (SOAK_SECONDS=60 for a short one; SOAK_SEED picks the kill schedule)
// The schedule is seeded; the kills land wherever the machine happens to be: that is the point.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../dist/model/rtl/prng.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const SEED = Number(process.env.SOAK_SEED ?? 1);
const next = mulberry32(SEED);
const rnd = () => next() / 2 ** 32; // mulberry32 gives 32-bit integers
const pick = (xs) => xs[Math.floor(rnd() * xs.length) % xs.length];
const CAMPAIGNS = [
  ['reference', '--profile', 'adversarial', '--runs', '20000'],
  ['examples/drivers/psrefmon.c', '--profile', 'adversarial', '--runs', '10000'],
  ['examples/drivers/procwatch.c', '--runs', '6000'],
  ['examples/drivers/vfmon.c', '--profile', 'adversarial', '--runs', '6000'],
  ['seed', '--runs', '3000'],
  ['examples/drivers/wssprocmon.c', '--runs', '3000'],
  ['test/fixtures/verifier/hostile.c', '--build', 'winxp-x86', '--runs', '2000'],
];
const dir = mkdtempSync(join(tmpdir(), 'psh-soak-'));
const started = performance.now();
const stats = { campaigns: 0, killed: 0, completed: 0, exitCodes: {}, unexpected: [] };
const elapsed = () => (performance.now() - started) / 1000;

function campaign(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/psharness.js', 'fuzz', '--driver', ...args, '--workers', '2', '--reports', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b) => { err += b; });
    const killAfter = rnd() < 0.6 ? 200 + rnd() * 6000 : null; // most runs are cut short
    const timer = killAfter === null ? null : setTimeout(() => child.kill('SIGKILL'), killAfter);
    child.on('exit', (code, signal) => {
      if (timer !== null) clearTimeout(timer);
      resolve({ code, signal, err });
    });
  });
}

while (elapsed() < SECONDS) {
  const c = pick(CAMPAIGNS);
  const args = [c[0], '--seed', String(Math.floor(rnd() * 1e6)), ...c.slice(1)];
  stats.campaigns++;
  const r = await campaign(args);
  if (r.signal === 'SIGKILL') stats.killed++;
  else {
    stats.completed++;
    stats.exitCodes[r.code] = (stats.exitCodes[r.code] ?? 0) + 1;
    if (r.code !== 0 && r.code !== 1) stats.unexpected.push({ args: args.join(' '), code: r.code, err: r.err.split('\n')[0] });
  }
  process.stderr.write(`\r${Math.round(elapsed())}s: ${stats.campaigns} campaigns, ${stats.killed} killed`);
}
// one last run that completes: it cleans the temp files the killed ones left
await new Promise((resolve) => spawn(process.execPath, ['bin/psharness.js', 'fuzz', '--driver', 'seed', '--runs', '50', '--reports', dir], { stdio: 'ignore' }).on('exit', resolve));
process.stderr.write('\n');

const files = readdirSync(dir);
const temps = files.filter((f) => f.endsWith('.tmp'));
const reports = files.filter((f) => f.endsWith('.json'));
let replayed = 0;
const broken = [];
for (const f of reports) {
  const r = spawnSync(process.execPath, ['bin/psharness.js', 'replay', join(dir, f)], { encoding: 'utf8' });
  if (r.status === 1 && /record identical/.test(r.stdout)) replayed++;
  else broken.push({ report: f, code: r.status, out: (r.stdout + r.stderr).split('\n').slice(-2).join(' ') });
}
const summary = {
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
  seconds: Math.round(elapsed()), scheduleSeed: SEED, ...stats,
  reports: reports.length, replayedIdentically: replayed, broken, tempFilesLeft: temps,
  ok: broken.length === 0 && temps.length === 0 && stats.unexpected.length === 0,
};
mkdirSync('reports', { recursive: true });
writeFileSync('reports/soak.json', JSON.stringify(summary, null, 2) + '\n');
writeFileSync('reports/soak.md', [
  '# psharness soak', '',
  `Command: \`npm run soak\` (SOAK_SECONDS=${SECONDS}, SOAK_SEED=${SEED}). Machine: ${summary.machine.cores} cores (${summary.machine.cpu}), Node ${summary.machine.node}.`, '',
  `- ${summary.seconds} s; ${stats.campaigns} campaigns (${CAMPAIGNS.length} drivers, \`--workers 2\`), **${stats.killed} killed with SIGKILL** at random moments, ${stats.completed} completed (exit codes ${JSON.stringify(stats.exitCodes)}).`,
  `- Reports on disk: **${reports.length}**, replayed with identical record bytes: **${replayed}**; broken: **${broken.length}**.`,
  `- Temp files left after the next run: **${temps.length}**. Unexpected exit codes: **${stats.unexpected.length}**.`,
  `- Verdict: **${summary.ok ? 'ok' : 'FAILED'}**.`, '',
].join('\n'));
console.log(JSON.stringify(summary, null, 2));
process.exit(summary.ok ? 0 : 1);
