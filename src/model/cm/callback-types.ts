/**
 * Registry callbacks (CmRegisterCallbackEx): the RegistryCallback routine, the REG_NOTIFY_CLASS values the
 * configuration manager passes it, and the REG_*_INFORMATION structures it reads ([DOC] wdm/nf-wdm-cmregistercallbackex,
 * wdm/ne-wdm-_reg_notify_class, wdm/ns-wdm-_reg_set_value_key_information and its siblings,
 * wdm/ns-wdm-_reg_post_operation_information).
 */
import type { NTSTATUS } from '../status.js';

/** REG_NOTIFY_CLASS values the model raises (wdm.h). */
export const REG_NOTIFY_CLASS = {
  RegNtPreDeleteKey: 0, RegNtPreSetValueKey: 1, RegNtPreDeleteValueKey: 2, RegNtPreRenameKey: 4, RegNtPreQueryValueKey: 8,
  RegNtPreCreateKey: 10, RegNtPostCreateKey: 11, RegNtPreOpenKey: 12, RegNtPostOpenKey: 13,
  RegNtPostDeleteKey: 15, RegNtPostSetValueKey: 16, RegNtPostDeleteValueKey: 17, RegNtPostRenameKey: 19, RegNtPostQueryValueKey: 23,
  RegNtPreCreateKeyEx: 26, RegNtPostCreateKeyEx: 27, RegNtPreOpenKeyEx: 28, RegNtPostOpenKeyEx: 29,
} as const;
export type RegNotifyClassName = keyof typeof REG_NOTIFY_CLASS;

/** CmGetCallbackVersion: 1.0 on Vista, 1.1 from Windows 7 ([DOC] wdm/nf-wdm-cmgetcallbackversion). */
export function callbackVersion(build: { readonly major: number; readonly minor: number }): { major: number; minor: number } {
  return { major: 1, minor: build.major > 6 || (build.major === 6 && build.minor >= 1) ? 1 : 0 };
}

/** REG_SZ, REG_EXPAND_SZ, REG_DWORD (winnt.h). */
export const REG_SZ = 1;
export const REG_EXPAND_SZ = 2;
export const REG_DWORD = 4;

/** Key access rights a caller opens with (winnt.h). */
export const KEY_QUERY_VALUE = 0x0001;
export const KEY_SET_VALUE = 0x0002;
export const KEY_CREATE_SUB_KEY = 0x0004;
export const KEY_WRITE = 0x20006;
export const KEY_READ = 0x20019;
export const DELETE = 0x10000;
/** REG_CREATED_NEW_KEY, REG_OPENED_EXISTING_KEY: the Disposition of a create. */
export const REG_CREATED_NEW_KEY = 1;
export const REG_OPENED_EXISTING_KEY = 2;

/** A RegistryCallback routine: (CallbackContext, Argument1 = the REG_NOTIFY_CLASS, Argument2 = its structure) → NTSTATUS. */
export type ExCallbackFunction = (CallbackContext: number, Argument1: number, Argument2: number) => NTSTATUS;

/** A live registration: what CmRegisterCallback(Ex) returned a cookie for. */
export interface CmRegistration {
  readonly cookie: bigint;
  readonly owner: string;
  readonly altitude: string;
  readonly context: number;
  readonly routine: ExCallbackFunction;
  /** The load of the driver that registered it (LoadedDriver.loads then). */
  readonly load: number;
  /** An address that stands for the registration (the happens-before edge from registration to callbacks). */
  readonly handle: number;
}

export interface CmCallbackRoutines {
  /** Writes the cookie only on success ([DOC] statuses: FLT_INSTANCE_ALTITUDE_COLLISION, INSUFFICIENT_RESOURCES). */
  CmRegisterCallbackEx(Function: ExCallbackFunction, Altitude: string, Driver: number, Context: number, Cookie: { value: bigint }): NTSTATUS;
  /** The Windows XP routine: no altitude (CHOICE: the configuration manager gives it one below every Ex registration). */
  CmRegisterCallback(Function: ExCallbackFunction, Context: number, Cookie: { value: bigint }): NTSTATUS;
  CmUnRegisterCallback(Cookie: bigint): NTSTATUS;
  /**
   * The key object's unique ID and, when `ObjectName` is asked for, its full name in a string the caller must free with
   * CmCallbackReleaseKeyObjectIDEx ([DOC] wdm/nf-wdm-cmcallbackgetkeyobjectidex).
   */
  CmCallbackGetKeyObjectIDEx(Cookie: bigint, Object: number, ObjectID: { value: number } | null, ObjectName: { value: number } | null, Flags: number): NTSTATUS;
  CmCallbackReleaseKeyObjectIDEx(ObjectName: number): void;
  /** The Vista routine: the name belongs to the configuration manager, and the caller frees nothing. */
  CmCallbackGetKeyObjectID(Cookie: bigint, Object: number, ObjectID: { value: number } | null, ObjectName: { value: number } | null): NTSTATUS;
  /** The version as { major, minor }: the caller writes the parts it asked for. */
  CmGetCallbackVersion(): { major: number; minor: number };
}

/** The members of the REG_*_INFORMATION structures, per pointer size (wdm.h; x64 pointers 8-aligned). */
export function regLayouts(ps: 4 | 8): {
  /** REG_CREATE_KEY_INFORMATION / REG_OPEN_KEY_INFORMATION (V1 from Windows 7: Version in Reserved's place, and the members after it). */
  readonly createKey: {
    readonly CompleteName: number; readonly RootObject: number; readonly ObjectType: number; readonly CreateOptions: number; readonly DesiredAccess: number;
    readonly GrantedAccess: number; readonly Disposition: number; readonly ResultObject: number; readonly CallContext: number; readonly Version: number;
    readonly RemainingName: number; readonly size: number; readonly sizeV1: number;
  };
  /** REG_PRE_CREATE_KEY_INFORMATION / REG_PRE_OPEN_KEY_INFORMATION (Windows XP): CompleteName alone. */
  readonly preCreateXp: { readonly CompleteName: 0; readonly size: number };
  /** REG_POST_CREATE_KEY_INFORMATION / REG_POST_OPEN_KEY_INFORMATION (Windows XP): CompleteName, Object, Status. */
  readonly postCreateXp: { readonly CompleteName: 0; readonly Object: number; readonly Status: number; readonly size: number };
  /** REG_SET_VALUE_KEY_INFORMATION. */
  readonly setValue: { readonly Object: 0; readonly ValueName: number; readonly TitleIndex: number; readonly Type: number; readonly Data: number; readonly DataSize: number; readonly CallContext: number; readonly size: number };
  /** REG_DELETE_VALUE_KEY_INFORMATION and REG_RENAME_KEY_INFORMATION (NewName in ValueName's place). */
  readonly deleteValue: { readonly Object: 0; readonly ValueName: number; readonly CallContext: number; readonly size: number };
  /** REG_DELETE_KEY_INFORMATION. */
  readonly deleteKey: { readonly Object: 0; readonly CallContext: number; readonly size: number };
  /** REG_QUERY_VALUE_KEY_INFORMATION. */
  readonly queryValue: {
    readonly Object: 0; readonly ValueName: number; readonly KeyValueInformationClass: number; readonly KeyValueInformation: number; readonly Length: number;
    readonly ResultLength: number; readonly CallContext: number; readonly size: number;
  };
  /** REG_POST_OPERATION_INFORMATION. */
  readonly post: { readonly Object: 0; readonly Status: number; readonly PreInformation: number; readonly ReturnStatus: number; readonly CallContext: number; readonly size: number };
} {
  return ps === 4
    ? {
      createKey: { CompleteName: 0, RootObject: 4, ObjectType: 8, CreateOptions: 0xc, DesiredAccess: 0x1c, GrantedAccess: 0x20, Disposition: 0x24, ResultObject: 0x28, CallContext: 0x2c, Version: 0x38, RemainingName: 0x3c, size: 0x3c, sizeV1: 0x4c },
      preCreateXp: { CompleteName: 0, size: 4 },
      postCreateXp: { CompleteName: 0, Object: 4, Status: 8, size: 0xc },
      setValue: { Object: 0, ValueName: 4, TitleIndex: 8, Type: 0xc, Data: 0x10, DataSize: 0x14, CallContext: 0x18, size: 0x24 },
      deleteValue: { Object: 0, ValueName: 4, CallContext: 8, size: 0x14 },
      deleteKey: { Object: 0, CallContext: 4, size: 0x10 },
      queryValue: { Object: 0, ValueName: 4, KeyValueInformationClass: 8, KeyValueInformation: 0xc, Length: 0x10, ResultLength: 0x14, CallContext: 0x18, size: 0x24 },
      post: { Object: 0, Status: 4, PreInformation: 8, ReturnStatus: 0xc, CallContext: 0x10, size: 0x1c },
    }
    : {
      createKey: { CompleteName: 0, RootObject: 8, ObjectType: 0x10, CreateOptions: 0x18, DesiredAccess: 0x38, GrantedAccess: 0x3c, Disposition: 0x40, ResultObject: 0x48, CallContext: 0x50, Version: 0x68, RemainingName: 0x70, size: 0x70, sizeV1: 0x88 },
      preCreateXp: { CompleteName: 0, size: 8 },
      postCreateXp: { CompleteName: 0, Object: 8, Status: 0x10, size: 0x18 },
      setValue: { Object: 0, ValueName: 8, TitleIndex: 0x10, Type: 0x14, Data: 0x18, DataSize: 0x20, CallContext: 0x28, size: 0x40 },
      deleteValue: { Object: 0, ValueName: 8, CallContext: 0x10, size: 0x28 },
      deleteKey: { Object: 0, CallContext: 8, size: 0x20 },
      queryValue: { Object: 0, ValueName: 8, KeyValueInformationClass: 0x10, KeyValueInformation: 0x18, Length: 0x20, ResultLength: 0x28, CallContext: 0x30, size: 0x48 },
      post: { Object: 0, Status: 8, PreInformation: 0x10, ReturnStatus: 0x18, CallContext: 0x20, size: 0x38 },
    };
}
