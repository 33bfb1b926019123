/* proctable.c, racy mutant 3 (see proctable.c's header): built from the same source with PROCTABLE_BROKEN=3 */
#define PROCTABLE_BROKEN 3
#include "proctable.c"
