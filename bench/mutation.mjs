// Generic mutation measurement of the corrected C drivers: every statement deleted in turn, every if/while condition
// negated, relational boundaries moved (< <=, > >=), the constants 0 and 1 swapped, DbgPrint formats changed.
// Each mutant that compiles is fuzzed as `psharness fuzz` does by default (1,000 runs, every build, seed 1, up to 4
// CPUs); the score is the
// share killed. Survivors are listed with their line, to be killed by a generator or an invariant, or documented
// as equivalent in docs/mutants.md. Run: npm run mutation (part of npm run bench). Writes reports/mutation.{json,md}.
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { loadWasmDriver, fuzz, applicableInvariants } from '../dist/index.js';

const DRIVERS = (process.env.MUTATION_DRIVERS ?? 'examples/drivers/psrefmon.c,examples/drivers/procwatch.c').split(',');
const log = (...a) => console.error(...a);

/** The mutants of one source: [operator, line number, description, mutated source]. */
function mutants(src) {
  const lines = src.split('\n');
  const out = [];
  let depth = 0;
  let inComment = false;
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    const trimmed = code.trim();
    const wasInComment = inComment;
    if (trimmed.startsWith('/*')) inComment = !trimmed.includes('*/');
    else if (inComment && trimmed.includes('*/')) inComment = false;
    const skip = wasInComment || trimmed.startsWith('/*') || trimmed.startsWith('*') || trimmed.startsWith('#');
    const inFunction = depth > 0;
    const replace = (text, op, what) => out.push({ op, line: i + 1, what, src: [...lines.slice(0, i), text, ...lines.slice(i + 1)].join('\n') });
    if (!skip && inFunction) {
      // statement deletion: a complete statement on one line that is not a declaration
      if (/;\s*$/.test(trimmed) && !/^(static|const|struct|typedef|ULONG|USHORT|NTSTATUS|PCHAR|PEPROCESS|KIRQL|BOOLEAN|SIZE_T|PLIST_ENTRY|PPW_PROCESS|PVF_RECORD|CHAR|WCHAR|UNICODE_STRING|ULONG_PTR|PUNICODE_STRING|HANDLE|int|unsigned)\b/.test(trimmed) && !/^(return|break|continue)\b/.test(trimmed) && !trimmed.startsWith('}')) {
        replace(line.replace(trimmed, ';'), 'delete statement', trimmed);
      }
      // condition negation
      const m = /^(\s*(?:\}\s*else\s+)?(?:if|while)\s*)\((.*)\)(\s*\{?\s*)$/.exec(code);
      if (m !== null) replace(`${m[1]}(!(${m[2]}))${m[3]}`, 'negate condition', trimmed);
      // relational boundary
      const rel = /(?<![<>=!-])(<=|>=|<|>)(?![<>=])/g;
      let r;
      while ((r = rel.exec(code)) !== null) {
        if (code.slice(r.index - 1, r.index + 2).includes('->')) continue;
        const to = { '<': '<=', '<=': '<', '>': '>=', '>=': '>' }[r[1]];
        replace(line.slice(0, r.index) + to + line.slice(r.index + r[1].length), 'relational boundary', `${r[1]} → ${to}: ${trimmed}`);
      }
      // constants 0 <-> 1 (not inside strings)
      if (!trimmed.includes('"')) {
        const k = /\b([01])\b/g;
        let c;
        while ((c = k.exec(code)) !== null) replace(line.slice(0, c.index) + (c[1] === '0' ? '1' : '0') + line.slice(c.index + 1), 'constant', `${c[1]} → ${c[1] === '0' ? '1' : '0'}: ${trimmed}`);
      }
      // DbgPrint formats
      for (const [from, to] of [['%Iu', '%u'], ['%p', '%08X'], ['%wZ', '%ws'], ['%ws', '%s'], ['%lu', '%d'], ['%.*ws', '%ws']]) {
        if (trimmed.includes('"') && code.includes(from)) replace(line.replace(from, to), 'format', `${from} → ${to}: ${trimmed}`);
      }
    }
    depth += (code.match(/\{/g) ?? []).length - (code.match(/\}/g) ?? []).length;
  });
  return out;
}

/**
 * Every survivor the run may leave, with why it survives: "equivalent" (no run on Windows behaves differently) or
 * "needs" (a real bug that needs a part psharness does not have yet). Matched on the mutation text, not the line
 * number, so an edit of the driver does not silently re-label a survivor. A survivor matched by none of these is
 * "unexplained": the script then exits 1.
 */
const EXPLAINED = [
  // psrefmon.c
  { match: /gNameOffset != 0|offset < 0x1000|offset = 0; offset|^0 → 1: return 0;$/, kind: 'equivalent',
    why: 'the Windows 2000 name-offset scan runs in DriverEntry, i.e. in the System process, whose ImageFileName "System" is at an offset of 0x100 or more on every build: the scan always finds it, so its start, end condition and not-found value are never observed' },
  { match: /^%Iu → %u|^%lu → %d/, kind: 'equivalent',
    why: 'on x86 ULONG_PTR and ULONG are both 32 bits; on x64 each vararg takes an 8-byte slot and %u reads its low half, and PIDs, TIDs (CID handle values), image sizes (SizeOfImage is a 32-bit PE field) and thread counts are below 2^31' },
  { match: /^<= → <: if \(chars <= PATH_CHUNK\)/, kind: 'equivalent',
    why: 'at exactly PATH_CHUNK characters the chunked branch prints the same first line, and its loop (at = PATH_CHUNK < chars fails) prints nothing more' },
  { match: /^UNREFERENCED_PARAMETER\(/, kind: 'equivalent', why: 'the macro expands to an expression with no effect' },
  { match: /^status = STATUS_INVALID_DEVICE_REQUEST;$/, kind: 'needs',
    why: 'the user-mode client (issue 10): an unknown IOCTL then completes with an uninitialised status; only a client that checks DeviceIoControl\'s result sees it (clang -Wall warns: -Wsometimes-uninitialized)' },
  { match: /Irp->IoStatus\.Information = 0;$/, kind: 'needs',
    why: 'the user-mode client (issue 10): Information is the byte count of an IOCTL\'s output; for the open and close requests the driver handles the I/O manager does not use it' },
  { match: /^gGetImageFileName = /, kind: 'equivalent',
    why: 'without PsGetProcessImageFileName the driver takes its Windows 2000 path, the offset scan, which finds the same EPROCESS.ImageFileName on every build: the names logged are the same' },
  { match: /MajorFunction\[IRP_MJ_(CLOSE|CLEANUP)\] = /, kind: 'equivalent',
    why: 'IopInvalidDeviceRequest completes IRP_MJ_CLEANUP and IRP_MJ_CLOSE with STATUS_INVALID_DEVICE_REQUEST, and the I/O manager ignores their status: CloseHandle succeeds either way' },
  { match: /MajorFunction\[IRP_MJ_DEVICE_CONTROL\] = /, kind: 'equivalent',
    why: 'the driver refuses every IOCTL with STATUS_INVALID_DEVICE_REQUEST, exactly what IopInvalidDeviceRequest does' },
  { match: /^0 → 1: status = IoCreateDevice\(DriverObject, 0, /, kind: 'equivalent',
    why: 'DeviceExtensionSize 1 adds an extension nobody reads; DeviceCharacteristics FILE_REMOVABLE_MEDIA (1) has no effect on a control device no file system mounts' },
  // procwatch.c
  { match: /^1 → 0: WCHAR Buffer\[1\];$/, kind: 'equivalent',
    why: 'records are allocated as sizeof(PW_PROCESS) + Length bytes; with Buffer[0] the header shrinks by the same amount the array loses, so the copy still fits (special pool would see an overrun)' },
  { match: /gTracked(--|\+\+| = 0)|^0 → 1: gTracked = 0;$/, kind: 'equivalent', why: 'gTracked is written and never read' },
  { match: /record->ParentId = |record->Image\.|^0 → 1: record->Image\.Length|RtlCopyUnicodeString\(&record->Image|if \(CreateInfo->ImageFileName != NULL\)$|bytes = CreateInfo->ImageFileName/, kind: 'equivalent',
    why: 'the record\'s ParentId and Image are written and never read (the copy is bounded by its own Length, so an unset size or length only changes how much of an unread buffer is filled)' },
  { match: /RemoveEntryList\(&stale->Link\)|ExFreePoolWithTag\(stale, PW_TAG\)/, kind: 'equivalent',
    why: 'unreachable: every process whose start the driver saw reports its exit to the same driver (PspExitProcess), and unload frees every record, so no PID is ever found tracked at creation' },
  { match: /^DbgPrint\("procwatch: loaded\\n"\);$/, kind: 'equivalent', why: 'an informational line no event pattern and no client reads' },
];
const explain = (what) => EXPLAINED.find((e) => e.match.test(what));

const results = [];
for (const file of DRIVERS) {
  const src = readFileSync(file, 'utf8');
  const spec = file.replace(/\.c$/, '.psharness.json');
  const all = mutants(src);
  log(`${file}: ${all.length} mutants`);
  let stillborn = 0;
  const survivors = [];
  let killed = 0;
  for (const [n, m] of all.entries()) {
    const dir = mkdtempSync(join(tmpdir(), 'psh-gm-'));
    const target = join(dir, basename(file));
    writeFileSync(target, m.src);
    if (existsSync(spec)) copyFileSync(spec, join(dir, basename(spec)));
    let driver;
    try {
      driver = await loadWasmDriver(target, { fibers: true });
    } catch {
      stillborn++;
      continue;
    } finally {
      rmSync(dir, { recursive: true, force: true }); // the module is compiled and loaded: the copy is not needed
    }
    const r = fuzz({ driver, seed: 1, runs: 1000, cpus: 4, invariants: applicableInvariants(driver), maxFindings: 1 });
    if (r.failed) killed++;
    else {
      const e = explain(m.what);
      survivors.push({ line: m.line, op: m.op, what: m.what, kind: e?.kind ?? 'unexplained', why: e?.why ?? '' });
    }
    if (n % 10 === 0) log(`  ${n}/${all.length}: ${killed} killed, ${survivors.length} survived, ${stillborn} did not compile`);
  }
  const valid = all.length - stillborn;
  results.push({ driver: file, mutants: all.length, stillborn, valid, killed, score: valid === 0 ? 0 : killed / valid, survivors });
}
mkdirSync('reports', { recursive: true });
writeFileSync('reports/mutation.json', JSON.stringify(results, null, 2) + '\n');
const md = ['# Generic mutation of the corrected C drivers', '',
  'Command: `npm run mutation` (also run by `npm run bench`). Operators: statement deletion, condition negation, relational boundary, constants 0 ↔ 1, DbgPrint formats. Each compiling mutant is fuzzed with the CLI defaults (1,000 runs, every build, seed 1, up to 4 CPUs). Every survivor is explained: *equivalent* (no run on Windows behaves differently) or *needs* (a real bug that needs a part psharness does not have yet); the reasons are in `bench/mutation.mjs` and docs/mutants.md.', ''];
const cell = (x) => x.replace(/\|/g, '\\|');
for (const r of results) {
  const count = (k) => r.survivors.filter((s) => s.kind === k).length;
  const equivalent = count('equivalent');
  md.push(`## ${r.driver}`, '', `${r.mutants} mutants, ${r.stillborn} do not compile; **${r.killed} of ${r.valid} killed (${(100 * r.score).toFixed(1)}%)**; ` +
    `${equivalent} survivors equivalent, so **${r.killed} of ${r.valid - equivalent} non-equivalent mutants killed (${(100 * r.killed / Math.max(1, r.valid - equivalent)).toFixed(1)}%)**; ` +
    `${count('needs')} need a part psharness lacks; ${count('unexplained')} unexplained.`, '');
  if (r.survivors.length > 0) {
    md.push('| line | operator | mutation | verdict | why |', '|---|---|---|---|---|');
    for (const s of r.survivors) md.push(`| ${s.line} | ${s.op} | \`${cell(s.what)}\` | ${s.kind} | ${cell(s.why)} |`);
    md.push('');
  }
}
writeFileSync('reports/mutation.md', md.join('\n'));
console.log(md.join('\n'));
const unexplained = results.flatMap((r) => r.survivors.filter((x) => x.kind === 'unexplained').map((x) => `${r.driver}:${x.line} ${x.what}`));
if (unexplained.length > 0) {
  console.error(`mutation: ${unexplained.length} survivor(s) unexplained:\n${unexplained.join('\n')}`);
  process.exitCode = 1;
}
