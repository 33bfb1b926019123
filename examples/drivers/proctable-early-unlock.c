/* proctable.c, racy mutant 2 (see proctable.c's header): built from the same source with PROCTABLE_BROKEN=2 */
#define PROCTABLE_BROKEN 2
#include "proctable.c"
