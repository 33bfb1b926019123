/* proctable.c with a queue of four events: it drops the fifth and counts it, which device-events-delivered allows */
#define QUEUE 4
#include "proctable.c"
