/**
 * The I/O manager's pending-IRP and cancellation DDIs as a TypeScript driver calls them (IoMarkIrpPending,
 * IoSetCancelRoutine, the cancel spin lock), and the kernel's side: IoCancelThreadIo, the completion checks.
 */
import { describe, expect, test } from 'vitest';
import { getInvariant } from '../../src/invariants/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { applicableInvariants } from '../../src/harness/fuzz.js';
import {
  IRP_MJ_CLEANUP, IRP_MJ_CLOSE, IRP_MJ_CREATE, IRP_MJ_DEVICE_CONTROL, simulate, STATUS_PENDING, STATUS_SUCCESS,
  type Ddi, type PDRIVER_CANCEL, type Scenario,
} from '../../src/model/index.js';
import type { DriverModule } from '../../src/driver/types.js';
import { scenario, VOL } from '../helpers.js';

const STATUS_CANCELLED = 0xc0000120;
type Flaw = 'none' | 'no-mark' | 'keeps-cancel-routine' | 'holds-cancel-lock' | 'overlong' | 'always-ready';

/** A driver that pends every DeviceIoControl with a cancel routine; the flaws are what drivers get wrong. */
function pender(flaw: Flaw): DriverModule {
  return {
    name: `pender-${flaw}`, imports: [], description: `pender (${flaw})`, logsEvents: false, parse: () => [],
    instantiate: () => {
      let ddi: Ddi;
      const pending: number[] = [];
      const Cancel: PDRIVER_CANCEL = (_dev, irp) => {
        if (flaw !== 'holds-cancel-lock') ddi.IoReleaseCancelSpinLock(ddi.READ_UCHAR(irp + ddi.IRP.CancelIrql));
        pending.splice(pending.indexOf(irp), 1);
        ddi.WRITE_ULONG(irp + ddi.IRP.IoStatus, STATUS_CANCELLED);
        ddi.WRITE_POINTER(irp + ddi.IRP.Information, 0);
        ddi.IoCompleteRequest(irp, 0);
      };
      return {
        DriverEntry(d, DriverObject) {
          ddi = d;
          const out = { value: 0 };
          d.IoCreateDevice(DriverObject, 0, '\\Device\\Pender', 0x22, 0, false, out);
          d.IoCreateSymbolicLink('\\??\\Pender', '\\Device\\Pender');
          d.PsSetCreateProcessNotifyRoutine((_ppid, _pid, create) => {
            // a process start completes the oldest pending request
            const irp = create ? pending.shift() : undefined;
            if (irp === undefined) return;
            if (flaw !== 'keeps-cancel-routine' && d.IoSetCancelRoutine(irp, null) === null) return;
            d.WRITE_ULONG(irp + d.IRP.IoStatus, STATUS_SUCCESS);
            const length = d.READ_ULONG(d.IoGetCurrentIrpStackLocation(irp) + d.IO_STACK_LOCATION.OutputBufferLength);
            d.WRITE_POINTER(irp + d.IRP.Information, flaw === 'overlong' ? length + 16 : Math.min(length, 4));
            d.IoCompleteRequest(irp, 0);
          }, false);
          const dispatch = (_dev: number, irp: number): number => {
            const major = d.READ_UCHAR(d.IoGetCurrentIrpStackLocation(irp) + d.IO_STACK_LOCATION.MajorFunction);
            if (major === IRP_MJ_DEVICE_CONTROL && flaw === 'always-ready') {
              // something to return at once, every time
              d.WRITE_ULONG(irp + d.IRP.IoStatus, STATUS_SUCCESS);
              d.WRITE_POINTER(irp + d.IRP.Information, 4);
              d.IoCompleteRequest(irp, 0);
              return STATUS_SUCCESS;
            }
            if (major === IRP_MJ_DEVICE_CONTROL) {
              if (flaw !== 'no-mark') d.IoMarkIrpPending(irp);
              d.IoSetCancelRoutine(irp, Cancel);
              pending.push(irp);
              return STATUS_PENDING;
            }
            d.WRITE_ULONG(irp + d.IRP.IoStatus, STATUS_SUCCESS);
            d.WRITE_POINTER(irp + d.IRP.Information, 0);
            d.IoCompleteRequest(irp, 0);
            return STATUS_SUCCESS;
          };
          for (const m of [IRP_MJ_CREATE, IRP_MJ_CLOSE, IRP_MJ_CLEANUP, IRP_MJ_DEVICE_CONTROL]) DriverObject.MajorFunction[m] = dispatch;
          return STATUS_SUCCESS;
        },
      };
    },
  };
}

const ops = (then: Scenario['ops']): Scenario['ops'] => [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\svc.exe` },
  { op: 'OpenDevice', id: 'F1', process: 'P1' },
  { op: 'DeviceIoControl', file: 'F1', ioctl: 0x222000, inputLength: 8, outputLength: 8, fill: 0x41 },
  ...then,
];
const started: Scenario['ops'] = [{ op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\b.exe` }];
const exits: Scenario['ops'] = [{ op: 'ExitProcess', process: 'P1' }];

describe('pending requests and cancellation, from a TypeScript driver', () => {
  test('completed later by a notify routine: the caller gets its bytes back; cancelled on exit: the cancel routine runs', () => {
    for (const build of ['win10-x86', 'win10-x64']) {
      const done = simulate(pender('none'), scenario(build, ops(started)));
      const io = done.phases.find((p) => p.irp?.major === 'IRP_MJ_DEVICE_CONTROL');
      expect(io?.irp).toMatchObject({ returned: 'STATUS_PENDING', markedPending: true, completionStatus: 'STATUS_SUCCESS', information: 4, output: '41414141' });
      const cancelled = simulate(pender('none'), scenario(build, ops(exits)));
      expect(cancelled.phases.find((p) => p.irp?.major === 'IRP_MJ_DEVICE_CONTROL')?.irp).toMatchObject({ cancelledAtOp: 3, completionStatus: 'STATUS_CANCELLED' });
      expect(cancelled.bugCheck).toBeNull();
      expect(runAndCheck(pender('none'), scenario(build, ops([...started, ...exits])), applicableInvariants(pender('none'))).violations).toEqual([]);
    }
  });

  test('STATUS_PENDING without IoMarkIrpPending, and more output than the caller\'s buffer: irp-completion', () => {
    const unmarked = runAndCheck(pender('no-mark'), scenario('win10-x64', ops(started)), [getInvariant('irp-completion')]).violations;
    expect(unmarked.map((v) => v.message)).toEqual(['IRP_MJ_DEVICE_CONTROL: the dispatch routine returned STATUS_PENDING without calling IoMarkIrpPending']);
    const overlong = runAndCheck(pender('overlong'), scenario('win10-x64', ops(started)), [getInvariant('irp-completion')]).violations;
    expect(overlong.map((v) => v.message)).toEqual([expect.stringContaining('completed with IoStatus.Information 24, more than the caller\'s 8-byte output buffer')]);
  });

  test('completing with the cancel routine still set is 0xC9/0x07; a cancel routine keeping the cancel spin lock is 0xC4', () => {
    const kept = simulate(pender('keeps-cancel-routine'), scenario('win10-x64', ops(started)));
    expect(kept.bugCheck).toMatchObject({ name: 'DRIVER_VERIFIER_IOMANAGER_VIOLATION', check: 'io-verification' });
    expect(kept.bugCheck?.parameters[0]).toBe('0x7');
    const held = simulate(pender('holds-cancel-lock'), scenario('win10-x64', ops(exits)));
    expect(held.bugCheck).toMatchObject({ name: 'DRIVER_VERIFIER_DETECTED_VIOLATION', check: 'locks' });
    expect(held.bugCheck?.reason).toMatch(/returned holding spin lock/);
  });

  test('a driver that always has something at once: a listening client asks again at most 8 times per operation', () => {
    const r = simulate(pender('always-ready'), scenario('win10-x64', [
      { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\svc.exe` },
      { op: 'OpenDevice', id: 'F1', process: 'P1', listen: { ioctl: 0x222000, outputLength: 8 } },
      { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\b.exe` },
    ]));
    const asked = (op: number) => r.phases.filter((p) => p.op === op && p.irp?.major === 'IRP_MJ_DEVICE_CONTROL').length;
    // the request made with the open, and 8 more; then one more per later operation (the one left over)
    expect(asked(1)).toBe(9);
    expect(asked(2)).toBe(8);
    expect(r.bugCheck).toBeNull();
  });
});
