/* burstwatch.c with its broken twin 5 (see burstwatch.c): the port left open at unload */
#define BURSTWATCH_BROKEN 5
#include "burstwatch.c"
