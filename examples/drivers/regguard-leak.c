/* regguard.c with its broken twin 1 (see regguard.c): leak */
#define REGGUARD_BROKEN 1
#include "regguard.c"
