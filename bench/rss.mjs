// psharness memory over a long campaign: `psharness fuzz` of the reference driver for RSS_RUNS runs (default
// 1,000,000; scenarios of up to 10 operations so that it takes minutes, not an hour) on 2 worker threads, its
// resident set sampled every second from /proc. Flat means: after warm-up (the first fifth of the samples), the
// last fifth's highest RSS is within 10% of the warm-up's highest. Writes reports/rss.{json,md}.
// Run: npm run bench:rss   (RSS_RUNS=200000 for a shorter one). Linux only (/proc).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';

const RUNS = Number(process.env.RSS_RUNS ?? 1_000_000);
const args = ['bin/psharness.js', 'fuzz', '--driver', 'reference', '--runs', String(RUNS), '--max-ops', '10', '--workers', '2', '--seed', '1', '--profile', 'adversarial'];

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null; // the process has ended
  }
}

const started = performance.now();
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (d) => { out += d; });
const samples = [];
const timer = setInterval(() => {
  const kb = rssKb(child.pid);
  if (kb !== null) samples.push({ s: Math.round((performance.now() - started) / 1000), mb: Math.round(kb / 1024) });
}, 1000);
const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
clearInterval(timer);
const seconds = Math.round((performance.now() - started) / 1000);
if (samples.length < 10) throw new Error(`too few RSS samples (${samples.length}): the campaign ended after ${seconds} s with exit ${code}`);
const fifth = Math.max(1, Math.floor(samples.length / 5));
const warm = Math.max(...samples.slice(0, fifth).map((x) => x.mb));
const last = Math.max(...samples.slice(-fifth).map((x) => x.mb));
const peak = Math.max(...samples.map((x) => x.mb));
const flat = last <= warm * 1.1;
const result = {
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
  command: `node ${args.join(' ')}`, exitCode: code, seconds, runsPerSecond: Math.round(RUNS / seconds),
  rssMb: { afterWarmUp: warm, lastFifth: last, peak }, flat,
  samples: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 60)) === 0),
};
mkdirSync('reports', { recursive: true });
writeFileSync('reports/rss.json', JSON.stringify(result, null, 2) + '\n');
const md = [
  '# psharness memory over a long campaign', '',
  `Machine: ${result.machine.cores} cores (${result.machine.cpu}), Node ${result.machine.node}. Command: \`npm run bench:rss\` = \`${result.command}\` (exit ${code}), ${seconds} s, ${result.runsPerSecond.toLocaleString('en-US')} runs/s.`, '',
  `- Resident set: highest in the first fifth of the samples (warm-up) **${warm} MB**, highest in the last fifth **${last} MB**, peak ${peak} MB: **${flat ? 'flat' : 'growing'}** (flat: the last fifth within 10% of the warm-up).`, '',
  '| seconds | RSS (MB) |', '|---|---|',
  ...result.samples.map((x) => `| ${x.s} | ${x.mb} |`), '',
];
writeFileSync('reports/rss.md', md.join('\n'));
console.log(md.join('\n'));
if (!flat) process.exitCode = 1;
