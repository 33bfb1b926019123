/* psharness WDK shim: file-system minifilters (fltKernel.h) are not supported yet. */
#error "psharness does not support file-system minifilters (fltKernel.h) yet: only the process, thread, image and object callbacks run"
