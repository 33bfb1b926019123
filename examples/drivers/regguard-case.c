/* regguard.c with its broken twin 4 (see regguard.c): case */
#define REGGUARD_BROKEN 4
#include "regguard.c"
