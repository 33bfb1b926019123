/* burstwatch.c with its broken twin 4 (see burstwatch.c): no-unregister */
#define BURSTWATCH_BROKEN 4
#include "burstwatch.c"
