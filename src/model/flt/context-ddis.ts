/**
 * The filter manager's context routines: FltAllocateContext, FltReferenceContext, FltReleaseContext,
 * FltDeleteContext, FltSetStreamContext, FltGetStreamContext, FltSetStreamHandleContext, FltGetStreamHandleContext
 * ([DOC] fltkernel/nf-fltkernel-fltallocatecontext and the others' pages). The contexts: flt/contexts.ts.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { APC_LEVEL } from '../ke/irql.js';
import { requireExport } from '../mm/sysldr.js';
import {
  NT_SUCCESS, STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND, STATUS_FLT_CONTEXT_ALREADY_DEFINED, STATUS_FLT_CONTEXT_ALREADY_LINKED, STATUS_INVALID_PARAMETER,
  STATUS_NOT_FOUND, STATUS_NOT_SUPPORTED, STATUS_SUCCESS, type NTSTATUS,
} from '../status.js';
import type { ContextOwner } from './contexts.js';
import {
  CONTEXT_TYPE_NAMES, FLT_SET_CONTEXT_KEEP_IF_EXISTS, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, FLT_STREAM_CONTEXT, FLT_STREAMHANDLE_CONTEXT, FLT_VARIABLE_SIZED_CONTEXTS,
} from './filter-types.js';
import type { FltFilter } from './filters.js';

export type FltContextDdis = Pick<Ddi, 'FltAllocateContext' | 'FltReferenceContext' | 'FltReleaseContext' | 'FltDeleteContext' | 'FltSetStreamContext'
  | 'FltGetStreamContext' | 'FltSetStreamHandleContext' | 'FltGetStreamHandleContext'>;

/** POOL_TYPE: NonPagedPool (and NonPagedPoolNx, 512) or PagedPool. */
const PagedPool = 1;

export function fltContextDdis(b: DdiBinding): FltContextDdis {
  const hex = (v: number): string => b.k.ke.hex(v);
  const contexts = () => b.k.flt.contexts;
  const filterOf = (instance: number): FltFilter | undefined => b.k.flt.filters.filters.find((f) => f.instance !== 0 && f.instance === instance);

  /** The object a set or get names: the FILE_OBJECT's stream (once the create opened it) or the FILE_OBJECT itself. */
  const ownerOf = (kind: ContextOwner['kind'], fileObject: number): ContextOwner | NTSTATUS => {
    const fo = b.k.flt.filters.fileObjects.get(fileObject);
    if (fo === undefined) return STATUS_INVALID_PARAMETER;
    // [DOC] the stream is not known before the file system opened it: no stream or stream-handle context in pre-create
    if (fo.file === undefined) return STATUS_NOT_SUPPORTED;
    return kind === 'stream' ? { kind, file: fo.file } : { kind, fileObject };
  };

  const set = (ddi: string, kind: ContextOwner['kind'], type: number, instance: number, fileObject: number, operation: number, address: number, old: { value: number } | null): NTSTATUS => {
    requireExport(b.k.ke.build, ddi);
    const refuse = (st: NTSTATUS, why: string): NTSTATUS => {
      b.k.rec.log(ddi, [hex(fileObject), hex(address), why], st);
      return st;
    };
    if (old !== null) old.value = 0;
    const filter = filterOf(instance);
    const c = contexts().get(address, ddi);
    if (filter === undefined || c.filter !== filter) return refuse(STATUS_INVALID_PARAMETER, 'not an instance of the context\'s filter');
    if (c.registration.ContextType !== type) return refuse(STATUS_INVALID_PARAMETER, `a ${CONTEXT_TYPE_NAMES[c.registration.ContextType] ?? 'context'} context`);
    if (operation !== FLT_SET_CONTEXT_REPLACE_IF_EXISTS && operation !== FLT_SET_CONTEXT_KEEP_IF_EXISTS) return refuse(STATUS_INVALID_PARAMETER, `Operation ${operation}`);
    const owner = ownerOf(kind, fileObject);
    if (typeof owner === 'number') return refuse(owner, 'no stream yet');
    if (c.owner !== null) return refuse(STATUS_FLT_CONTEXT_ALREADY_LINKED, 'the context is attached already');
    const existing = contexts().attached(filter, owner);
    if (existing !== undefined && operation === FLT_SET_CONTEXT_KEEP_IF_EXISTS) {
      // [DOC] the existing context is returned in OldContext, referenced
      if (old !== null) {
        contexts().take(existing);
        old.value = existing.address;
      }
      return refuse(STATUS_FLT_CONTEXT_ALREADY_DEFINED, 'kept the existing context');
    }
    if (existing !== undefined) {
      // replaced: the object's reference moves to OldContext if the caller asked for it, else it is dropped
      if (old !== null) {
        contexts().take(existing);
        old.value = existing.address;
      }
      contexts().detach(existing);
    }
    c.owner = owner;
    b.k.rec.log(ddi, [hex(fileObject), hex(address)], STATUS_SUCCESS, existing !== undefined ? `replaced ${hex(existing.address)}` : undefined);
    return STATUS_SUCCESS;
  };

  const get = (ddi: string, kind: ContextOwner['kind'], instance: number, fileObject: number, out: { value: number }): NTSTATUS => {
    requireExport(b.k.ke.build, ddi);
    out.value = 0;
    const filter = filterOf(instance);
    const owner = filter === undefined ? STATUS_INVALID_PARAMETER : ownerOf(kind, fileObject);
    let st: NTSTATUS = typeof owner === 'number' ? owner : STATUS_NOT_FOUND;
    if (typeof owner !== 'number' && filter !== undefined) {
      const c = contexts().attached(filter, owner);
      if (c !== undefined) {
        contexts().take(c);
        out.value = c.address;
        st = STATUS_SUCCESS;
      }
    }
    b.k.rec.log(ddi, [hex(fileObject)], st, NT_SUCCESS(st) ? hex(out.value) : undefined);
    return st;
  };

  return {
    FltAllocateContext: (filterAddress, type, size, poolType, out) => {
      requireExport(b.k.ke.build, 'FltAllocateContext');
      out.value = 0;
      const filter = b.k.flt.filters.filters.find((f) => f.address === filterAddress);
      const registration = filter?.registration.ContextRegistration?.find((r) => r.ContextType === type);
      // [DOC] STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND: no registration of this type and size
      if (filter === undefined || registration === undefined || (registration.Size !== FLT_VARIABLE_SIZED_CONTEXTS && size > registration.Size)) {
        b.k.rec.log('FltAllocateContext', [CONTEXT_TYPE_NAMES[type] ?? `0x${type.toString(16)}`, String(size)], STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND);
        return STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND;
      }
      const c = contexts().allocate(filter, registration, size, poolType === PagedPool);
      out.value = c.address;
      b.k.rec.log('FltAllocateContext', [CONTEXT_TYPE_NAMES[type] ?? '', String(size)], STATUS_SUCCESS, hex(c.address));
      return STATUS_SUCCESS;
    },
    FltReferenceContext: (address) => {
      requireExport(b.k.ke.build, 'FltReferenceContext');
      contexts().take(contexts().get(address, 'FltReferenceContext'));
      b.k.rec.log('FltReferenceContext', [hex(address)]);
    },
    FltReleaseContext: (address) => {
      requireExport(b.k.ke.build, 'FltReleaseContext');
      const c = contexts().get(address, 'FltReleaseContext');
      // [DOC] "at IRQL <= APC_LEVEL if the context was allocated from paged pool"
      if (b.mem.block(address)?.paged === true) b.v.checkIrql('FltReleaseContext', { max: APC_LEVEL });
      b.k.rec.log('FltReleaseContext', [hex(address)]);
      if (c.held.length === 0) {
        // only the object's reference is left: releasing it is one release too many (the context goes under the object)
        contexts().detach(c);
        return;
      }
      contexts().release(c);
    },
    FltDeleteContext: (address) => {
      requireExport(b.k.ke.build, 'FltDeleteContext');
      const c = contexts().get(address, 'FltDeleteContext');
      b.k.rec.log('FltDeleteContext', [hex(address)]);
      if (c.owner !== null) contexts().detach(c);
    },
    FltSetStreamContext: (instance, fileObject, operation, context, old) => set('FltSetStreamContext', 'stream', FLT_STREAM_CONTEXT, instance, fileObject, operation, context, old),
    FltGetStreamContext: (instance, fileObject, out) => get('FltGetStreamContext', 'stream', instance, fileObject, out),
    FltSetStreamHandleContext: (instance, fileObject, operation, context, old) =>
      set('FltSetStreamHandleContext', 'stream-handle', FLT_STREAMHANDLE_CONTEXT, instance, fileObject, operation, context, old),
    FltGetStreamHandleContext: (instance, fileObject, out) => get('FltGetStreamHandleContext', 'stream-handle', instance, fileObject, out),
  };
}
