import { describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { INVARIANTS, signatureOf } from '../../src/invariants/index.js';
import { FLT_MAJOR, type FltPortInput } from '../../src/model/flt/filter-types.js';
import { simulate, type Ddi, type DriverImage, type RunRecord, type Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

const OBJ_KERNEL_HANDLE = 0x200;
const STATUS_ACCESS_DENIED = 0xc0000022;

interface Options {
  /** Changes to FltCreateCommunicationPort's arguments. */
  port?: Partial<FltPortInput>;
  /** What ConnectNotifyCallback returns (default STATUS_SUCCESS). */
  connect?: number;
  /** DisconnectNotifyCallback closes the driver's end (default true). */
  closeOnDisconnect?: boolean;
  /** FilterUnloadCallback closes the server port before FltUnregisterFilter (default true). */
  closeServer?: boolean;
  /** The post-create (PASSIVE_LEVEL) and post-write (DISPATCH_LEVEL) send the file's operation to the service. */
  sendFrom?: 'create' | 'write';
  /** The variable FltSendMessage gets: the live one, or a copy taken at connect (stale once closed). */
  stale?: boolean;
  /** A reply buffer of this many bytes. */
  reply?: number;
  /** FilterUnloadCallback unregisters the filter (default true). */
  unregister?: boolean;
  /** DisconnectNotifyCallback closes the connection through a copy taken at connect, after the variable's close. */
  closeTwice?: boolean;
}

interface Log { events: string[]; sends: string[]; replies: number[]; leftSd?: boolean }

/** A minifilter with one communication port, written against the DDIs: it logs what the filter manager did. */
function portFilter(log: Log, o: Options = {}): DriverModule {
  return {
    name: 'fltport', imports: ['FltRegisterFilter', 'FltCreateCommunicationPort'], description: 'a minifilter with a port', logsEvents: false, parse: () => [],
    instantiate: () => ({
      DriverEntry(ddi: Ddi) {
        const filter = { value: 0 };
        const server = { value: 0 };
        const client = { value: 0 };
        let copy = 0;
        const send = (): number => {
          const message = ddi.ExAllocatePoolWithTag(0, 16, 'Msg ');
          for (let i = 0; i < 16; i++) ddi.WRITE_UCHAR(message + i, 0xa0 + i);
          const reply = o.reply !== undefined ? ddi.ExAllocatePoolWithTag(0, o.reply, 'Rply') : 0;
          if (reply !== 0) for (let i = 0; i < (o.reply as number); i++) ddi.WRITE_UCHAR(reply + i, 0xff);
          const length = o.reply !== undefined ? { value: o.reply } : null;
          const st = ddi.FltSendMessage(filter.value, o.stale === true ? copy : client.value, message, 16, reply, length, null) >>> 0;
          log.sends.push(`0x${st.toString(16)}`);
          if (reply !== 0) {
            log.replies.push(length?.value ?? -1, ddi.READ_UCHAR(reply));
            ddi.ExFreePoolWithTag(reply, 'Rply');
          }
          ddi.ExFreePoolWithTag(message, 'Msg ');
          return 0;
        };
        const st = ddi.FltRegisterFilter(0, {
          Size: 0, Version: 0x202, Flags: 0,
          OperationRegistration: [
            { MajorFunction: FLT_MAJOR.IRP_MJ_CREATE, Flags: 0, PreOperation: null, PostOperation: o.sendFrom === 'create' ? send : null },
            { MajorFunction: FLT_MAJOR.IRP_MJ_WRITE, Flags: 0, PreOperation: null, PostOperation: o.sendFrom === 'write' ? send : null },
          ],
          FilterUnloadCallback: () => {
            if (o.closeServer !== false) ddi.FltCloseCommunicationPort(server.value);
            if (o.unregister !== false) ddi.FltUnregisterFilter(filter.value);
            log.events.push('unloaded');
            return 0;
          },
          InstanceSetupCallback: null,
        }, filter);
        if (st !== 0) return st;
        const sd = { value: 0 };
        ddi.FltBuildDefaultSecurityDescriptor(sd, 0x1f0001);
        const created = ddi.FltCreateCommunicationPort(filter.value, server, {
          Name: '\\FltPortTest', Attributes: OBJ_KERNEL_HANDLE | 0x40, SecurityDescriptor: sd.value, ServerPortCookie: 0x1234,
          ConnectNotifyCallback: (port, cookie, _context, _size, connectionCookie) => {
            log.events.push(`connect cookie=0x${cookie.toString(16)} irql=${ddi.KeGetCurrentIrql()} pid=${ddi.PsGetCurrentProcessId()}`);
            if ((o.connect ?? 0) === 0) {
              client.value = port;
              copy = port;
              ddi.WRITE_POINTER(connectionCookie, 0x77);
            }
            return o.connect ?? 0;
          },
          DisconnectNotifyCallback: (cookie) => {
            log.events.push(`disconnect cookie=0x${cookie.toString(16)} irql=${ddi.KeGetCurrentIrql()}`);
            if (o.closeOnDisconnect !== false) {
              ddi.FltCloseClientPort(filter.value, client);
              log.events.push(`closed, variable ${client.value}`);
              if (o.closeTwice === true) ddi.FltCloseClientPort(filter.value, { value: copy });
            }
          },
          MessageNotifyCallback: null, MaxConnections: 1, ...o.port,
        });
        if (log.leftSd !== true) ddi.FltFreeSecurityDescriptor(sd.value);
        log.events.push(`port 0x${(created >>> 0).toString(16)}`);
        if (created !== 0) {
          ddi.FltUnregisterFilter(filter.value);
          return created;
        }
        return ddi.FltStartFiltering(filter.value);
      },
    }),
  };
}

const P1: Scenario['ops'][number] = { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\service.exe` };
const P2: Scenario['ops'][number] = { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'System', path: `${VOL}\\other.exe` };
const connect = (id: string, process = 'P1'): Scenario['ops'][number] => ({ op: 'PortConnect', id, process });
const disconnect = (connection: string): Scenario['ops'][number] => ({ op: 'PortDisconnect', connection });
const create: Scenario['ops'][number] = { op: 'FileOp', process: 'P2', operation: 'Create', file: 'temp' };
const fresh = (): Log => ({ events: [], sends: [], replies: [] });
const notes = (r: RunRecord): (string | undefined)[] => r.ops.filter((o) => o.index >= 0).map((o) => o.note);

describe('communication ports (FltCreateCommunicationPort) and the user-mode service', () => {
  test('a connection: ConnectNotifyCallback in the service\'s thread at PASSIVE_LEVEL; a message reaches it; the reply is its zeros', () => {
    const log = fresh();
    const r = simulate(portFilter(log, { sendFrom: 'create', reply: 8 }), scenario('win10-x64', [P1, P2, connect('C1'), create]));
    expect(log.events).toEqual(['port 0x0', 'connect cookie=0x1234 irql=0 pid=12']);
    expect(log.sends).toEqual(['0x0']);
    expect(log.replies).toEqual([8, 0]);
    expect(r.portMessages).toEqual([
      { op: 2, port: '\\FltPortTest', connection: 'C1', pid: 12, event: 'connect', status: 'STATUS_SUCCESS' },
      expect.objectContaining({ op: 3, port: '\\FltPortTest', connection: 'C1', pid: 12, event: 'message', length: 16, bytes: 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', status: 'STATUS_SUCCESS' }),
    ]);
    expect(r.phases.filter((p) => p.phase === 'FltPortCallback').map((p) => p.port)).toEqual([
      { routine: expect.any(String), kind: 'connect', altitude: '370020', port: '\\FltPortTest', connection: 'C1', irql: 'PASSIVE_LEVEL' },
    ]);
  });

  test('MaxConnections bounds the connections; a closed one frees its place; DisconnectNotifyCallback gets the connection cookie', () => {
    const log = fresh();
    const r = simulate(portFilter(log), scenario('win10-x86', [P1, P2, connect('C1'), connect('C2', 'P2'), disconnect('C1'), connect('C3', 'P2')]));
    expect(notes(r)).toEqual([undefined, undefined, undefined, '\\FltPortTest has its 1 connection(s): STATUS_CONNECTION_COUNT_LIMIT', undefined, undefined]);
    expect(log.events).toEqual(['port 0x0', 'connect cookie=0x1234 irql=0 pid=12', 'disconnect cookie=0x77 irql=0', 'closed, variable 0', 'connect cookie=0x1234 irql=0 pid=20']);
    expect(r.portMessages?.map((m) => `${m.connection} ${m.event} ${m.status}`)).toEqual(['C1 connect STATUS_SUCCESS', 'C2 connect STATUS_CONNECTION_COUNT_LIMIT', 'C1 disconnect ', 'C3 connect STATUS_SUCCESS']);
  });

  test('a connection ConnectNotifyCallback refuses fails for the service and takes no place', () => {
    const log = fresh();
    const r = simulate(portFilter(log, { connect: STATUS_ACCESS_DENIED }), scenario('win10-x64', [P1, connect('C1'), disconnect('C1')]));
    expect(notes(r)).toEqual([undefined, 'ConnectNotifyCallback refused the connection (STATUS_ACCESS_DENIED)', 'C1 is not connected']);
  });

  test('FltSendMessage: STATUS_PORT_DISCONNECTED after the service closed; NULL when the filter closed its end; a stale port is an invalid handle', () => {
    const open = fresh();
    simulate(portFilter(open, { sendFrom: 'create', closeOnDisconnect: false }), scenario('win10-x64', [P1, P2, connect('C1'), disconnect('C1'), create]));
    expect(open.sends).toEqual(['0xc0000037']);
    const closed = fresh();
    simulate(portFilter(closed, { sendFrom: 'create' }), scenario('win10-x64', [P1, P2, create, connect('C1'), create, disconnect('C1'), create]));
    expect(closed.sends).toEqual(['0xc0000037', '0x0', '0xc0000037']);
    const stale = fresh();
    simulate(portFilter(stale, { sendFrom: 'create', stale: true }), scenario('win10-x64', [P1, P2, connect('C1'), disconnect('C1'), create]));
    expect(stale.sends).toEqual(['0xc0000008']);
  });

  test('the service\'s process exits: its connection closes (DisconnectNotifyCallback)', () => {
    const log = fresh();
    simulate(portFilter(log), scenario('win10-x64', [P1, connect('C1'), { op: 'ExitProcess', process: 'P1' }, disconnect('C1')]));
    expect(log.events.slice(2)).toEqual(['disconnect cookie=0x77 irql=0', 'closed, variable 0']);
  });

  test('the filter unregisters with a connection open: DisconnectNotifyCallback, and the filter manager closes what the filter left', () => {
    const log = fresh();
    const r = runAndCheck(portFilter(log, { closeOnDisconnect: false }), scenario('win10-x64', [P1, connect('C1'), { op: 'UnloadDriver' }]), INVARIANTS);
    expect(log.events.slice(2)).toEqual(['disconnect cookie=0x77 irql=0', 'unloaded']);
    expect(r.violations).toEqual([]);
  });

  test('a server port left open at FltUnregisterFilter hangs the unload (routine-returns); closed first, nothing is found', () => {
    const hang = runAndCheck(portFilter(fresh(), { closeServer: false }), scenario('win10-x64', [P1, connect('C1'), { op: 'UnloadDriver' }]), INVARIANTS);
    expect(hang.violations.map((v) => v.invariant)).toEqual(['routine-returns']);
    expect(hang.violations[0].message).toMatch(/waits forever: FltUnregisterFilter\(0x[0-9A-F]+\) with its communication server port \\FltPortTest still open/);
    expect(runAndCheck(portFilter(fresh()), scenario('win10-x64', [P1, connect('C1'), { op: 'UnloadDriver' }]), INVARIANTS).violations).toEqual([]);
  });

  test('FltSendMessage from a post-write at DISPATCH_LEVEL is the verifier\'s IRQL violation; from the post-create, none', () => {
    const write: Scenario['ops'][number] = { op: 'FileOp', process: 'P2', operation: 'Write', file: 'document-1' };
    const bad = runAndCheck(portFilter(fresh(), { sendFrom: 'write' }), scenario('win10-x64', [P1, P2, connect('C1'), write]), INVARIANTS);
    expect(bad.record.bugCheck?.reason).toMatch(/^FltSendMessage called at DISPATCH_LEVEL \(allowed up to APC_LEVEL\)/);
    expect(runAndCheck(portFilter(fresh(), { sendFrom: 'create' }), scenario('win10-x64', [P1, P2, connect('C1'), write]), INVARIANTS).violations).toEqual([]);
  });

  test('FltCreateCommunicationPort refuses MaxConnections 0, a handle that is not a kernel handle, and a taken name', () => {
    for (const [port, status] of [[{ MaxConnections: 0 }, '0xc000000d'], [{ Attributes: 0x40 }, '0xc000000d'], [{ Name: 'FltPortTest' }, '0xc000000d']] as const) {
      const log = fresh();
      const r = simulate(portFilter(log, { port }), scenario('win10-x64', [P1, connect('C1')]));
      expect(log.events[0]).toBe(`port ${status}`);
      expect(notes(r)).toEqual([undefined, 'the driver has no communication port open: FilterConnectCommunicationPort fails']);
    }
  });

  test('a security descriptor never freed is the driver\'s pool at unload (pool-released)', () => {
    const log: Log = { ...fresh(), leftSd: true };
    const r = runAndCheck(portFilter(log), scenario('win10-x64', [{ op: 'UnloadDriver' }]), INVARIANTS);
    expect(r.violations.map((v) => `${v.invariant}: ${v.message}`)).toEqual(['pool-released: after DriverUnload: 1 pool block(s) not freed (FMsd:96)']);
  });

  test('a filter its unload left registered: the service\'s disconnect calls into the freed image (0xCE), one finding with unload-clean', () => {
    const r = runAndCheck(portFilter(fresh(), { unregister: false }), scenario('win10-x64', [P1, connect('C1'), { op: 'UnloadDriver' }, disconnect('C1')]), INVARIANTS);
    expect(r.record.bugCheck?.code).toBe(0xce);
    expect(r.record.bugCheck?.reason).toMatch(/^minifilter port routine .* called for C1 after fltport\.sys was unloaded/);
    expect(new Set(r.violations.map((v) => signatureOf(v, r.record)))).toEqual(new Set(['unregister|-|-|minifilter at altitude 370020 is left registered by DriverUnload']));
  });

  test('FltCloseClientPort on a port closed already is a close of a handle no longer open: bug check 0x93', () => {
    const r = simulate(portFilter(fresh(), { closeTwice: true }), scenario('win10-x64', [P1, connect('C1'), disconnect('C1')]));
    expect(r.bugCheck?.code).toBe(0x93);
    expect(r.bugCheck?.reason).toMatch(/^FltCloseClientPort\(0x[0-9A-F]+\): not an open communication port/);
  });

  test('FltCloseCommunicationPort twice is a close of a handle no longer open: bug check 0x93', () => {
    const twice: DriverImage = {
      name: 'fltport2', imports: ['FltRegisterFilter'],
      instantiate: () => ({
        DriverEntry(ddi: Ddi) {
          const filter = { value: 0 };
          ddi.FltRegisterFilter(0, { Size: 0, Version: 0x202, Flags: 0, OperationRegistration: [], FilterUnloadCallback: () => 0, InstanceSetupCallback: null }, filter);
          const server = { value: 0 };
          ddi.FltCreateCommunicationPort(filter.value, server, {
            Name: '\\P', Attributes: OBJ_KERNEL_HANDLE, SecurityDescriptor: 0, ServerPortCookie: 0, ConnectNotifyCallback: () => 0, DisconnectNotifyCallback: () => undefined,
            MessageNotifyCallback: null, MaxConnections: 1,
          });
          ddi.FltCloseCommunicationPort(server.value);
          ddi.FltCloseCommunicationPort(server.value);
          return 0;
        },
      }),
    };
    expect(simulate(twice, scenario('win10-x64', [])).bugCheck?.code).toBe(0x93);
  });
});
