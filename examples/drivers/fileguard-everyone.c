/* fileguard.c with its broken twin 1 (see fileguard.c) */
#define FILEGUARD_BROKEN 1
#include "fileguard.c"
