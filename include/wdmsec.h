/* psharness WDK shim: wdmsec.h. IoCreateDeviceSecure is not a kernel export: the WDK's static library wdmsec.lib,
   linked into the driver, creates the device with IoCreateDevice and then applies the SDDL security descriptor and
   class GUID ([DOC] IoCreateDeviceSecure; SDDL for Device Objects). Here it is IoCreateDevice, every check and
   failure of it included; the security descriptor is not modelled (no caller is ever denied access: a choice). */
#ifndef PSHARNESS_WDMSEC_H
#define PSHARNESS_WDMSEC_H
#include "wdm.h"
PSH_EXTERN_C_BEGIN
#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID { ULONG Data1; USHORT Data2; USHORT Data3; UCHAR Data4[8]; } GUID;
#endif
typedef const GUID *LPCGUID;
static inline NTSTATUS IoCreateDeviceSecure(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize, PUNICODE_STRING DeviceName,
    DEVICE_TYPE DeviceType, ULONG DeviceCharacteristics, BOOLEAN Exclusive, PCUNICODE_STRING DefaultSDDLString,
    LPCGUID DeviceClassGuid, PDEVICE_OBJECT *DeviceObject) {
    (void)DefaultSDDLString;
    (void)DeviceClassGuid;
    return IoCreateDevice(DriverObject, DeviceExtensionSize, DeviceName, DeviceType, DeviceCharacteristics, Exclusive, DeviceObject);
}
/* the SDDL strings wdmsec.h names (SDDL for Device Objects) */
static const UNICODE_STRING SDDL_DEVOBJ_KERNEL_ONLY = RTL_CONSTANT_STRING(L"D:P");
static const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL = RTL_CONSTANT_STRING(L"D:P(A;;GA;;;SY)");
static const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_ALL = RTL_CONSTANT_STRING(L"D:P(A;;GA;;;SY)(A;;GA;;;BA)");
static const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_RX = RTL_CONSTANT_STRING(L"D:P(A;;GA;;;SY)(A;;GRGX;;;BA)");
static const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R = RTL_CONSTANT_STRING(L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GR;;;WD)");
static const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RW_RES_R = RTL_CONSTANT_STRING(L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGW;;;WD)(A;;GR;;;RC)");
static const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RWX_RES_RWX = RTL_CONSTANT_STRING(L"D:P(A;;GA;;;SY)(A;;GRGWGX;;;BA)(A;;GRGWGX;;;WD)(A;;GRGWGX;;;RC)");
PSH_EXTERN_C_END
#endif
