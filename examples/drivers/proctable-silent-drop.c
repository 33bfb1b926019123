/* proctable.c with a queue of four events that drops the fifth without counting it (device-events-delivered) */
#define QUEUE 4
#define PROCTABLE_BROKEN 9
#include "proctable.c"
