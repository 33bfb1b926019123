/* burstwatch.c with its broken twin 6 (see burstwatch.c): FltSendMessage at DISPATCH_LEVEL */
#define BURSTWATCH_BROKEN 6
#include "burstwatch.c"
