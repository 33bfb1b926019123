/* psharness WDK shim: ntintsafe.h, the unsigned arithmetic and conversions drivers use to size buffers. Each returns
   STATUS_INTEGER_OVERFLOW and stores the type's error value (all bits set) when the result does not fit ([DOC]
   ntintsafe.h: RtlULongAdd, RtlSizeTMult, RtlULongToUShort, …), STATUS_SUCCESS and the result otherwise. */
#ifndef PSHARNESS_NTINTSAFE_H
#define PSHARNESS_NTINTSAFE_H
#include "wdm.h"
PSH_EXTERN_C_BEGIN
#ifndef STATUS_INTEGER_OVERFLOW
#define STATUS_INTEGER_OVERFLOW ((NTSTATUS)0xC0000095L)
#endif
#define USHORT_ERROR ((USHORT)0xffff)
#define ULONG_ERROR 0xffffffffUL
#define ULONGLONG_ERROR 0xffffffffffffffffULL
#define SIZET_ERROR ((SIZE_T)-1)
#define __PSH_SAFE(T, name, builtin) \
    static inline NTSTATUS name(T a, T b, T *r) { if (builtin(a, b, r)) { *r = (T)-1; return STATUS_INTEGER_OVERFLOW; } return STATUS_SUCCESS; }
__PSH_SAFE(USHORT, RtlUShortAdd, __builtin_add_overflow)
__PSH_SAFE(USHORT, RtlUShortSub, __builtin_sub_overflow)
__PSH_SAFE(USHORT, RtlUShortMult, __builtin_mul_overflow)
__PSH_SAFE(ULONG, RtlULongAdd, __builtin_add_overflow)
__PSH_SAFE(ULONG, RtlULongSub, __builtin_sub_overflow)
__PSH_SAFE(ULONG, RtlULongMult, __builtin_mul_overflow)
__PSH_SAFE(ULONGLONG, RtlULongLongAdd, __builtin_add_overflow)
__PSH_SAFE(ULONGLONG, RtlULongLongSub, __builtin_sub_overflow)
__PSH_SAFE(ULONGLONG, RtlULongLongMult, __builtin_mul_overflow)
__PSH_SAFE(SIZE_T, RtlSizeTAdd, __builtin_add_overflow)
__PSH_SAFE(SIZE_T, RtlSizeTSub, __builtin_sub_overflow)
__PSH_SAFE(SIZE_T, RtlSizeTMult, __builtin_mul_overflow)
#define __PSH_NARROW(From, To, name) \
    static inline NTSTATUS name(From v, To *r) { if (v != (From)(To)v) { *r = (To)-1; return STATUS_INTEGER_OVERFLOW; } *r = (To)v; return STATUS_SUCCESS; }
__PSH_NARROW(ULONG, USHORT, RtlULongToUShort)
__PSH_NARROW(SIZE_T, ULONG, RtlSizeTToULong)
__PSH_NARROW(SIZE_T, USHORT, RtlSizeTToUShort)
__PSH_NARROW(ULONGLONG, ULONG, RtlULongLongToULong)
__PSH_NARROW(ULONGLONG, SIZE_T, RtlULongLongToSizeT)
PSH_EXTERN_C_END
#endif
