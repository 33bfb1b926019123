// cxxmon-reread.cpp: the cxxmon driver with CXXMON_READ_KEEPS_EVENTS: its IRP_MJ_READ copies events out but leaves
// them queued, so the client reads one event twice (found by device-events-delivered).
#define CXXMON_READ_KEEPS_EVENTS
#include "../cxxmon/cxxmon.cpp"
