/* proctable.c, racy mutant 7 (see proctable.c's header): built from the same source with PROCTABLE_BROKEN=7 */
#define PROCTABLE_BROKEN 7
#include "proctable.c"
