/* psharness WDK shim: the lower-case spelling some projects include. */
#include "fltKernel.h"
