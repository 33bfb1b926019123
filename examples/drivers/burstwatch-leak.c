/* burstwatch.c with its broken twin 1 (see burstwatch.c): leak */
#define BURSTWATCH_BROKEN 1
#include "burstwatch.c"
