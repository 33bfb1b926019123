/* fileguard.c with its broken twin 2 (see fileguard.c) */
#define FILEGUARD_BROKEN 2
#include "fileguard.c"
