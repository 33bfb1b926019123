// cxxmon-leak.cpp: the cxxmon driver with CXXMON_LEAK_ON_UNLOAD: its DriverUnload leaves the queued events in the
// pool (a leak at unload, found by no-leaks-at-unload).
#define CXXMON_LEAK_ON_UNLOAD
#include "../cxxmon/cxxmon.cpp"
