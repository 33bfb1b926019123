/* psharness WDK shim: intrin.h. MSVC's intrinsics are clang builtins under -fms-extensions (__debugbreak,
   _ReturnAddress, _BitScanForward, __popcnt, …); the _Interlocked family is the shim's marked functions (wdm.h), so
   the simulated kernel sees each as one atomic operation. */
#ifndef PSHARNESS_INTRIN_H
#define PSHARNESS_INTRIN_H
#include "wdm.h"
#endif
