#!/usr/bin/env node
// The psharness command: the compiled CLI (dist/ is built by `npm ci` / `npm install` through "prepare").
import { main, processIo } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2), processIo());
