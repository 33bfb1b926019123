/* burstwatch.c with its broken twin 2 (see burstwatch.c): dispatch */
#define BURSTWATCH_BROKEN 2
#include "burstwatch.c"
