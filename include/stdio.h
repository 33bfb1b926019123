/* psharness WDK shim: the printf family ntoskrnl exports (the Microsoft CRT's kernel subset). The kernel formats
 * them as DbgPrint does (src/model/rtl/string-ddis.ts); on x64 each argument is widened to its 8-byte slot, as for DbgPrint. */
#ifndef PSHARNESS_STDIO_H
#define PSHARNESS_STDIO_H
#include "ntddk.h"
int sprintf(char *Buffer, const char *Format, ...) KIMPORT(sprintf);
int _snprintf(char *Buffer, SIZE_T Count, const char *Format, ...) KIMPORT(_snprintf);
/* ntoskrnl's swprintf has no count (the pre-C99 Microsoft signature) */
int swprintf(WCHAR *Buffer, const WCHAR *Format, ...) KIMPORT(swprintf);
int _snwprintf(WCHAR *Buffer, SIZE_T Count, const WCHAR *Format, ...) KIMPORT(_snwprintf);
#ifdef _WIN64
#define sprintf(Buffer, ...) __PSH_PRINTF1(sprintf, Buffer, __VA_ARGS__)
#define _snprintf(Buffer, Count, ...) __PSH_PRINTF2(_snprintf, Buffer, Count, __VA_ARGS__)
#define swprintf(Buffer, ...) __PSH_PRINTF1(swprintf, Buffer, __VA_ARGS__)
#define _snwprintf(Buffer, Count, ...) __PSH_PRINTF2(_snwprintf, Buffer, Count, __VA_ARGS__)
#endif
#endif
