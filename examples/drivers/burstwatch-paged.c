/* burstwatch.c with its broken twin 3 (see burstwatch.c): paged */
#define BURSTWATCH_BROKEN 3
#include "burstwatch.c"
