/* fileguard.c with its broken twin 3 (see fileguard.c) */
#define FILEGUARD_BROKEN 3
#include "fileguard.c"
