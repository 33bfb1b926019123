/* proctable.c, racy mutant 4 (see proctable.c's header): built from the same source with PROCTABLE_BROKEN=4 */
#define PROCTABLE_BROKEN 4
#include "proctable.c"
