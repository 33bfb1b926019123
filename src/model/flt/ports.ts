/**
 * A minifilter's communication ports and the user-mode service on their far side
 * ([DOC] fltkernel/nf-fltkernel-fltcreatecommunicationport, -fltsendmessage, -fltcloseclientport,
 * -fltclosecommunicationport; ifs/closing-the-communication-server-port; fltuser/nf-fltuser-filterconnectcommunicationport):
 *  - FltCreateCommunicationPort names a server port; a process's FilterConnectCommunicationPort makes a client port
 *    and calls ConnectNotifyCallback in that process's thread at PASSIVE_LEVEL — an error status refuses the
 *    connection; MaxConnections bounds the connections (STATUS_CONNECTION_COUNT_LIMIT past it);
 *  - the service's CloseHandle (or its process's exit) calls DisconnectNotifyCallback, and the filter closes its end
 *    with FltCloseClientPort, which sets the driver's variable to NULL;
 *  - the filter manager calls DisconnectNotifyCallback for each connection still open when the filter unregisters,
 *    and closes the client ports itself;
 *  - a server port still open when FltUnregisterFilter runs holds the filter's rundown: the unload hangs ("to avoid
 *    system hangs … close this port before calling FltUnregisterFilter"; ReactOS fltmgr Messaging.c takes the
 *    rundown reference in FltCreateCommunicationPort and drops it when the port's handle closes).
 * CHOICE: the service is a message loop that always has a FilterGetMessage waiting (the scanner sample's user
 * program keeps several outstanding) and answers a message that asks for a reply at once, with zeros (its
 * "allow"): FltSendMessage never waits for it here. A PFLT_PORT is the address of the port object (an opaque value
 * to the driver, as on Windows).
 */
import type { KernelCore } from '../ke/core.js';
import { PASSIVE_LEVEL } from '../ke/irql.js';
import { routineName } from '../mm/sysldr.js';
import type { KProcess, KThread } from '../ps/objects.js';
import type { Processes } from '../ps/processes.js';
import type { PortMessageRecord } from '../record.js';
import { NT_SUCCESS, STATUS_CONNECTION_COUNT_LIMIT, STATUS_INVALID_HANDLE, STATUS_PORT_DISCONNECTED, STATUS_SUCCESS, statusName, type NTSTATUS } from '../status.js';
import type { FltPortInput } from './filter-types.js';
import { runFilterRoutine, type FltFilter, type FltFilters } from './filters.js';

/** A server port FltCreateCommunicationPort made. */
export interface ServerPort {
  readonly address: number;
  readonly filter: FltFilter;
  readonly name: string;
  readonly input: FltPortInput;
  connections: number;
  open: boolean;
  /** Where it was made (the finding of a port left open points there). */
  readonly op: number;
}

/** One connection: the client port object, and the service process that holds its user-mode handle. */
export interface ClientPort {
  readonly address: number;
  readonly label: string;
  readonly server: ServerPort;
  readonly process: KProcess;
  /** ConnectionPortCookie, as ConnectNotifyCallback set it. */
  cookie: number;
  /**
   * 'disconnecting': the service's handle closed and DisconnectNotifyCallback is due or running; 'disconnected': it
   * returned (or the filter is unloading) and the filter has not closed its end.
   */
  state: 'connecting' | 'connected' | 'disconnecting' | 'disconnected';
}

/** The bytes of a message the record keeps (the rest is counted, not copied). */
const MESSAGE_BYTES_KEPT = 64;
const PORT_OBJECT_SIZE = 0x40;

export class FltPorts {
  /** @internal server ports, open or closed, in creation order */
  readonly servers: ServerPort[] = [];
  /** @internal client ports not yet closed, by address */
  readonly clients = new Map<number, ClientPort>();

  constructor(private readonly ke: KernelCore, private readonly processes: Processes, private readonly filters: FltFilters) {}

  /** @internal the open server port at `address` */
  server(address: number): ServerPort | undefined {
    return this.servers.find((s) => s.address === address && s.open);
  }

  /** @internal FltCreateCommunicationPort's object */
  create(filter: FltFilter, name: string, input: FltPortInput): ServerPort {
    const address = this.ke.mem.alloc(PORT_OBJECT_SIZE, 'FMsp', 'kernel', { type: 'FLT_PORT (server)' });
    const port: ServerPort = { address, filter, name, input, connections: 0, open: true, op: this.ke.rec.opIndex };
    this.servers.push(port);
    return port;
  }

  /** @internal the server port's handle closes: no more connections; those made stay */
  closeServer(port: ServerPort): void {
    port.open = false;
    this.ke.mem.free(port.address);
  }

  /** @internal the filter closes its end of a connection: the port object goes */
  closeClient(port: ClientPort): void {
    if (port.state === 'connected' || port.state === 'connecting') port.server.connections--;
    this.clients.delete(port.address);
    this.ke.mem.free(port.address);
  }

  /**
   * @internal FilterConnectCommunicationPort by a thread of `process` on the driver's open port (the first it made):
   * why it failed, or undefined with the connection labelled `label`.
   */
  *connectG(process: KProcess, label: string): Generator<void, string | undefined, void> {
    const { ke } = this;
    const mem = ke.mem;
    ke.assertRunning();
    const { loaded } = ke;
    const server = loaded.state !== 'loaded' ? undefined
      : this.servers.find((s) => s.open && s.filter.owner === loaded.name && s.filter.load === loaded.loads);
    if (server === undefined) return 'the driver has no communication port open: FilterConnectCommunicationPort fails';
    const rec: PortMessageRecord = { op: ke.rec.opIndex, port: server.name, connection: label, pid: process.pid, event: 'connect', status: '' };
    (ke.rec.record.portMessages ??= []).push(rec);
    if (server.connections >= server.input.MaxConnections) {
      rec.status = statusName(STATUS_CONNECTION_COUNT_LIMIT);
      return `${server.name} has its ${server.input.MaxConnections} connection(s): STATUS_CONNECTION_COUNT_LIMIT`;
    }
    const address = mem.alloc(PORT_OBJECT_SIZE, 'FMcp', 'kernel', { type: 'FLT_PORT (client)' });
    const client: ClientPort = { address, label, server, process, cookie: 0, state: 'connecting' };
    this.clients.set(address, client);
    server.connections++;
    const connect = server.input.ConnectNotifyCallback;
    let st: NTSTATUS = STATUS_SUCCESS;
    if (connect !== null) {
      const cookie = mem.alloc(ke.build.pointerSize, 'FMpc', 'kernel', { type: 'ConnectionPortCookie', zeroed: true, driverWritable: true });
      try {
        const returned = yield* this.callG(server.filter, 'connect', routineName(connect), () => connect(address, server.input.ServerPortCookie, 0, 0, cookie) >>> 0,
          this.processes.creatorThread(process), server.name, label);
        st = returned;
        client.cookie = mem.ptr(cookie);
      } finally {
        mem.free(cookie);
      }
    }
    rec.status = statusName(st);
    if (!this.clients.has(address)) return 'the filter closed the port while connecting';
    if (!NT_SUCCESS(st) || !this.filters.filters.includes(server.filter)) {
      // a refused connection: the filter manager deletes the client port ([DOC] ConnectNotifyCallback's return)
      this.closeClient(client);
      return NT_SUCCESS(st) ? 'the filter unregistered while the service connected' : `ConnectNotifyCallback refused the connection (${statusName(st)})`;
    }
    client.state = 'connected';
    return undefined;
  }

  /** @internal the service's CloseHandle on its connection (or its process's exit): DisconnectNotifyCallback */
  *disconnectG(client: ClientPort, thread: KThread): Generator<void, string | undefined, void> {
    this.ke.assertRunning();
    if (client.state !== 'connected') return 'the connection is closed';
    client.state = 'disconnecting';
    client.server.connections--;
    (this.ke.rec.record.portMessages ??= []).push({ op: this.ke.rec.opIndex, port: client.server.name, connection: client.label, pid: client.process.pid, event: 'disconnect', status: '' });
    const disconnect = client.server.input.DisconnectNotifyCallback;
    if (disconnect !== null) {
      const cookie = client.cookie;
      yield* this.callG(client.server.filter, 'disconnect', routineName(disconnect), () => {
        disconnect(cookie);
        return 0;
      }, thread, client.server.name, client.label);
    }
    if (client.state === 'disconnecting') client.state = 'disconnected';
    // the filter unregistered meanwhile (it waited for this routine): the filter manager closes what the filter did not
    if (!this.filters.filters.includes(client.server.filter) && this.clients.has(client.address)) this.closeClient(client);
    return undefined;
  }

  /** @internal ObKillProcess: the exiting process's connections close */
  *closeProcessPortsG(p: KProcess, t: KThread): Generator<void, void, void> {
    for (const c of [...this.clients.values()]) if (c.process === p && c.state === 'connected') yield* this.disconnectG(c, t);
  }

  /** @internal the connection a label names, if still open */
  byLabel(label: string): ClientPort | undefined {
    for (const c of this.clients.values()) if (c.label === label) return c;
    return undefined;
  }

  /**
   * @internal FltSendMessage: to the service on the connection at `port` (the value of the driver's variable). The
   * service has a FilterGetMessage waiting, takes the message, and answers a message that asks for a reply with
   * `replyLength` zero bytes.
   */
  send(port: number, message: Uint8Array, length: number): { status: NTSTATUS; reason: string } {
    const rec = this.ke.rec;
    if (port === 0) return { status: STATUS_PORT_DISCONNECTED, reason: 'the client port variable is NULL' };
    const client = this.clients.get(port);
    // CHOICE: a closed port is a stale handle; ObReferenceObjectByHandle fails it with STATUS_INVALID_HANDLE
    if (client === undefined) return { status: STATUS_INVALID_HANDLE, reason: 'not an open client port' };
    if (client.state !== 'connected') return { status: STATUS_PORT_DISCONNECTED, reason: `${client.label} is disconnected` };
    let hex = '';
    for (let i = 0; i < message.length && i < MESSAGE_BYTES_KEPT; i++) hex += message[i].toString(16).padStart(2, '0');
    (rec.record.portMessages ??= []).push({
      op: rec.opIndex, ...(rec.frame?.phase != null ? { seq: rec.frame.phase.seq } : {}), port: client.server.name, connection: client.label, pid: client.process.pid,
      event: 'message', length, bytes: hex, status: statusName(STATUS_SUCCESS),
    });
    return { status: STATUS_SUCCESS, reason: `delivered to ${client.label} (${client.process.name})` };
  }

  /**
   * @internal FltUnregisterFilter: the filter's connections still open get DisconnectNotifyCallback (in the
   * unregistering thread), then the filter manager closes every client port the filter did not.
   */
  unregistered(filter: FltFilter): void {
    for (const c of [...this.clients.values()]) {
      // a connect or a disconnect under way on another CPU finishes its routine; FltUnregisterFilter waits for it
      if (c.server.filter !== filter || c.state === 'connecting' || c.state === 'disconnecting') continue;
      if (c.state === 'connected') {
        c.state = 'disconnected';
        c.server.connections--;
        c.server.input.DisconnectNotifyCallback?.(c.cookie);
      }
      if (this.clients.has(c.address)) this.closeClient(c);
    }
  }

  /** One call of a port routine, in `thread` at PASSIVE_LEVEL: what it returned. */
  private *callG(filter: FltFilter, kind: 'connect' | 'disconnect', routine: string, fn: () => number, thread: KThread, port: string, connection: string): Generator<void, number, void> {
    const { ke } = this;
    const { cpus } = ke;
    // the call holds the filter's rundown from here: FltUnregisterFilter waits for it
    cpus.acquireRundown(filter);
    try {
      if (cpus.sched !== null && cpus.sched.point(`${routine} starts`)) yield;
      return yield* this.runG(filter, kind, routine, fn, thread, port, connection);
    } finally {
      cpus.releaseRundown(filter);
    }
  }

  private *runG(filter: FltFilter, kind: 'connect' | 'disconnect', routine: string, fn: () => number, thread: KThread, port: string, connection: string): Generator<void, number, void> {
    const phase = this.ke.rec.beginPhase('FltPortCallback');
    phase.port = { routine, kind, altitude: filter.altitude, port, connection, irql: 'PASSIVE_LEVEL' };
    const returned = (yield* runFilterRoutine(this.ke, filter, phase, `minifilter port routine ${routine} called for ${connection}`, PASSIVE_LEVEL, thread, fn)) >>> 0;
    if (kind === 'connect') phase.status = statusName(returned);
    return returned;
  }
}
