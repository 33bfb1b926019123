#!/usr/bin/env node
// The psharness command: the compiled CLI (dist/ is built by `npm ci` / `npm install` through "prepare").
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (e) {
  // installed with --ignore-scripts (or dist/ removed): "prepare" never built it. Say so, not a module stack trace.
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist')) throw e;
  process.stderr.write('psharness: dist/ is not built (installed with --ignore-scripts?): run `npm run build` in the psharness directory\n');
  process.exit(2);
}
const { main, processIo } = cli;

// output piped into `head` and the like: a closed pipe ends the command quietly, with the code it would have had
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
process.exitCode = await main(process.argv.slice(2), processIo());
