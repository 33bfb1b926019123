// The example of docs/writing-drivers.md, kept compiling and working.
import { expect, test } from 'vitest';
import { checkDriver, NT_SUCCESS, type Ddi, type DriverModule } from '../src/index.js';

const tiny: DriverModule = {
  name: 'tiny',
  description: 'logs process starts',
  imports: ['PsSetCreateProcessNotifyRoutine', 'DbgPrint'],
  instantiate() {
    let ddi: Ddi;
    function OnProcess(ParentId: number, ProcessId: number, Create: boolean): void {
      if (Create) ddi.DbgPrint('start pid=%Iu ppid=%Iu\n', ProcessId, ParentId);
    }
    return {
      DriverEntry(d, DriverObject) {
        ddi = d;
        const status = d.PsSetCreateProcessNotifyRoutine(OnProcess, false);
        if (NT_SUCCESS(status)) DriverObject.DriverUnload = () => { d.PsSetCreateProcessNotifyRoutine(OnProcess, true); };
        return status;
      },
    };
  },
  parse(lines) {
    return lines.flatMap((line) => {
      const m = /^start pid=(\d+) ppid=(\d+)$/.exec(line);
      return m === null ? [] : [{ kind: 'process-create' as const, pid: Number(m[1]), ppid: Number(m[2]), line }];
    });
  },
};

test('the documented tiny driver is correct, except that it logs no exits', () => {
  const r = checkDriver(tiny, { seed: 1, runs: 300 });
  expect(r.findings.map((f) => f.invariant.id)).toEqual(['events-logged-once']);
  expect(r.findings[0].violations[0].message).toBe('process-exit not logged');
});
