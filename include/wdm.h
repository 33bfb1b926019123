/* psharness WDK shim: wdm.h is a subset of ntddk.h here. */
#include "ntddk.h"
