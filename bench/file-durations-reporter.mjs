// A vitest reporter for `npm run bench:tests`: each test file's whole time in its worker (vitest's set-up of it,
// importing it, which is where a file's top-level `await loadWasmDriver(...)` compiles, its set-up files, then its
// tests and hooks), in seconds, written as JSON to $PSHARNESS_FILE_DURATIONS. The JSON reporter's startTime and
// endTime span the tests alone: a file that builds its drivers on import looks short there.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';

export default class FileDurationsReporter {
  onInit(vitest) {
    this.root = vitest.config.root;
  }

  onTestRunEnd(testModules) {
    const seconds = testModules.map((m) => {
      const d = m.diagnostic();
      const ms = d.environmentSetupDuration + d.prepareDuration + d.collectDuration + d.setupDuration + d.duration;
      return [relative(this.root, m.moduleId).split('\\').join('/'), Math.round(ms / 100) / 10];
    });
    writeFileSync(process.env.PSHARNESS_FILE_DURATIONS, JSON.stringify(Object.fromEntries(seconds.sort((a, b) => (a[0] < b[0] ? -1 : 1)))));
  }
}
