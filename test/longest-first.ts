/**
 * The order test files start in: the longest first, by their measured cold durations (test/file-durations.json,
 * written by `npm run bench:tests`), so the last file to start on the two CI cores is a short one (longest
 * processing time first: the suite's wall clock is near its files' total over the cores, not a long file started
 * late). Vitest's own order needs its results cache, which a fresh clone does not have: it then starts the largest
 * files first, and the 200-second file by size is not the longest. Files with no measure (new ones) start first,
 * as vitest starts unknown files first; a stale table only changes the order, never what runs.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const table = JSON.parse(readFileSync(new URL('./file-durations.json', import.meta.url), 'utf8')) as { seconds: Record<string, number> };

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const order = await super.sort(files);
    const seconds = (f: TestSpecification): number => table.seconds[relative(this.ctx.config.root, f.moduleId).split('\\').join('/')] ?? Infinity;
    // Array.prototype.sort is stable: files measured alike keep vitest's order
    return order.sort((a, b) => {
      const d = seconds(b) - seconds(a);
      return Number.isNaN(d) ? 0 : d; // both unmeasured
    });
  }
}
