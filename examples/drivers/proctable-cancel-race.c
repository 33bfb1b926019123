/* proctable.c, racy mutant 8 (see proctable.c's header): built from the same source with PROCTABLE_BROKEN=8 */
#define PROCTABLE_BROKEN 8
#include "proctable.c"
