/* regguard.c with its broken twin 2 (see regguard.c): prefix */
#define REGGUARD_BROKEN 2
#include "regguard.c"
