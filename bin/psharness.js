#!/usr/bin/env node
// The psharness command: the compiled CLI (dist/ is built by `npm ci` / `npm install` through "prepare").
import { main, processIo } from '../dist/cli/main.js';

// output piped into `head` and the like: a closed pipe ends the command quietly, with the code it would have had
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
process.exitCode = await main(process.argv.slice(2), processIo());
