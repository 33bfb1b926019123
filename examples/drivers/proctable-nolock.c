/* proctable.c, racy mutant 1 (see proctable.c's header): built from the same source with PROCTABLE_BROKEN=1 */
#define PROCTABLE_BROKEN 1
#include "proctable.c"
