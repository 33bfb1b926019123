/* regguard.c with its broken twin 3 (see regguard.c): no-unregister */
#define REGGUARD_BROKEN 3
#include "regguard.c"
