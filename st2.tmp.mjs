import { readFileSync } from 'node:fs';
import { VERIFIER_MUTANTS, loadVerifierMutant } from './dist/driver/index.js';
import { runAndCheck } from './dist/harness/check.js';
const src = readFileSync('examples/drivers/vfmon.c', 'utf8').split('\n');
for (const m of VERIFIER_MUTANTS) {
  const d = await loadVerifierMutant(m.schema);
  for (const build of ['win10-x86', 'win10-x64']) {
    const r = runAndCheck(d, { ...m.minimal, build });
    const h = r.record.bugCheck ?? r.record.verifierStop;
    if (!h) { console.log(m.id, build, 'no halt'); continue; }
    console.log(m.id, build, h.code?.toString(16) ?? h.check, (h.stack ?? []).map((f) => `${f.function}@${f.file}:${f.line}`).join(' < '));
    if (build === 'win10-x86' && h.stack?.[0]?.line) console.log('     ', src[h.stack[0].line - 1]?.trim());
  }
}
