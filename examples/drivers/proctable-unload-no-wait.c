/* proctable.c, racy mutant 5 (see proctable.c's header): built from the same source with PROCTABLE_BROKEN=5 */
#define PROCTABLE_BROKEN 5
#include "proctable.c"
