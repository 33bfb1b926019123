/* proctable.c, racy mutant 6 (see proctable.c's header): built from the same source with PROCTABLE_BROKEN=6 */
#define PROCTABLE_BROKEN 6
#include "proctable.c"
