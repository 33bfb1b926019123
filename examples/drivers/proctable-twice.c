/* proctable.c returning the first event of each batch again with the next one (device-events-delivered) */
#define PROCTABLE_BROKEN 10
#include "proctable.c"
