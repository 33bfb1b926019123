/* psharness WDK shim: KMDF (wdf.h) is not supported yet. */
#error "psharness does not support KMDF drivers (wdf.h) yet: it runs WDM drivers (wdm.h, ntddk.h, ntifs.h)"
