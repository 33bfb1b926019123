/*
 * psharness WDK shim: what every header needs first: C++ linkage, MSVC's dialect (the compiler is clang, run with
 * -fms-extensions -fms-compatibility so __declspec, __int64, __forceinline, #pragma alloc_text and L#x work), the
 * checked-build assertion macros, and the SAL annotations (documentation only: psharness checks behaviour, not SAL).
 */
#ifndef PSHARNESS_PROLOGUE_H
#define PSHARNESS_PROLOGUE_H

#ifdef __cplusplus
#define PSH_EXTERN_C_BEGIN extern "C" {
#define PSH_EXTERN_C_END }
#define EXTERN_C extern "C"
#else
#define PSH_EXTERN_C_BEGIN
#define PSH_EXTERN_C_END
#define EXTERN_C extern
typedef __WCHAR_TYPE__ wchar_t; /* vcruntime.h's, reached through ntdef.h in the WDK */
#endif

/* MSVC's /kernel defines _KERNEL_MODE (learn.microsoft.com/cpp/build/reference/kernel-create-kernel-mode-binary) */
#ifndef _KERNEL_MODE
#define _KERNEL_MODE 1
#endif

#define C_ASSERT(e) typedef char __C_ASSERT__[(e) ? 1 : -1]
#define __annotation(...) ((void)0)
#define DECLSPEC_NOINLINE __declspec(noinline)
#define DECLSPEC_ALIGN(x) __declspec(align(x))
#define DECLSPEC_NORETURN __declspec(noreturn)
#define DECLSPEC_SELECTANY __declspec(selectany)
#define NTSYSCALLAPI
#define CALLBACK
#define WINAPI
#define APIENTRY
#define RESTRICTED_POINTER
#define UNALIGNED
#define CONST const
#define MAXULONG 0xffffffffUL
#define MAXUSHORT 0xffff
#define MAXLONG 0x7fffffffL

/* DEFINE_ENUM_FLAG_OPERATORS (winnt.h/wdm.h): bitwise operators on a flags enum in C++, nothing in C */
#ifdef __cplusplus
#define DEFINE_ENUM_FLAG_OPERATORS(E) \
    extern "C++" { \
    inline constexpr E operator|(E a, E b) noexcept { return E(((__underlying_type(E))a) | ((__underlying_type(E))b)); } \
    inline E &operator|=(E &a, E b) noexcept { return a = a | b; } \
    inline constexpr E operator&(E a, E b) noexcept { return E(((__underlying_type(E))a) & ((__underlying_type(E))b)); } \
    inline E &operator&=(E &a, E b) noexcept { return a = a & b; } \
    inline constexpr E operator~(E a) noexcept { return E(~((__underlying_type(E))a)); } \
    inline constexpr E operator^(E a, E b) noexcept { return E(((__underlying_type(E))a) ^ ((__underlying_type(E))b)); } \
    inline E &operator^=(E &a, E b) noexcept { return a = a ^ b; } \
    }
#else
#define DEFINE_ENUM_FLAG_OPERATORS(E)
#endif

/* ---- annotations: SAL and the old IN/OUT markers are documentation only */
#define IN
#define OUT
#define OPTIONAL
#define NTAPI
#define NTSYSAPI
#define NTKERNELAPI
#define NTSTRSAFEAPI static inline NTSTATUS
#define DECLSPEC_IMPORT
#define FORCEINLINE static inline
#define __stdcall
#define __cdecl
#define __fastcall
#define _In_
#define _In_opt_
#define _In_z_
#define _In_reads_(x)
#define _In_reads_bytes_(x)
#define _Inout_
#define _Inout_opt_
#define _Out_
#define _Out_opt_
#define _Outptr_
#define _Outptr_result_maybenull_
#define _Out_writes_(x)
#define _Out_writes_bytes_(x)
#define _Out_writes_bytes_all_(x)
#define _Deref_out_range_(a, b)
#define _Must_inspect_result_
#define _Success_(x)
#define _Ret_maybenull_
#define _When_(a, b)
#define _Use_decl_annotations_
#define _Function_class_(x)
#define _Dispatch_type_(x)
#define _IRQL_requires_(x)
#define _IRQL_requires_max_(x)
#define _IRQL_raises_(x)
#define _IRQL_saves_
#define _IRQL_restores_
#define _Requires_lock_held_(x)
#define _Acquires_lock_(x)
#define _Releases_lock_(x)
#define _Printf_format_string_
#define _Post_writable_byte_size_(x)
#define _Frees_ptr_(x)
#define _Frees_ptr_opt_
#define _Analysis_assume_(x)

/* SAL 2 (sal.h, driverspecs.h): more of the annotations drivers use, all empty */
#define _In_reads_opt_(x)
#define _In_reads_bytes_opt_(x)
#define _In_reads_z_(x)
#define _In_range_(a, b)
#define _In_opt_z_
#define _Inout_z_
#define _Inout_updates_(x)
#define _Inout_updates_opt_(x)
#define _Inout_updates_bytes_(x)
#define _Inout_updates_bytes_opt_(x)
#define _Out_range_(a, b)
#define _Out_writes_opt_(x)
#define _Out_writes_z_(x)
#define _Out_writes_to_(a, b)
#define _Out_writes_bytes_opt_(x)
#define _Out_writes_bytes_to_(a, b)
#define _Out_writes_bytes_to_opt_(a, b)
#define _Outptr_opt_
#define _Outptr_result_buffer_(x)
#define _Outptr_result_bytebuffer_(x)
#define _Outptr_result_nullonfailure_
#define _Outptr_opt_result_maybenull_
#define _Ret_
#define _Ret_z_
#define _Ret_range_(a, b)
#define _Ret_notnull_
#define _Check_return_
#define _Return_type_success_(x)
#define _Field_size_(x)
#define _Field_size_opt_(x)
#define _Field_size_bytes_(x)
#define _Field_size_bytes_opt_(x)
#define _Field_size_part_(a, b)
#define _Field_range_(a, b)
#define _Field_z_
#define _Null_terminated_
#define _NullNull_terminated_
#define _Pre_
#define _Post_
#define _Pre_notnull_
#define _Pre_maybenull_
#define _Post_invalid_
#define _Post_satisfies_(x)
#define _Pre_satisfies_(x)
#define _Post_equal_to_(x)
#define _Notnull_
#define _Maybenull_
#define _Reserved_
#define _Strict_type_match_
#define _Literal_
#define _Points_to_data_
#define _Interlocked_operand_
#define _Guarded_by_(x)
#define _Benign_race_begin_
#define _Benign_race_end_
#define _No_competing_thread_
#define _Requires_exclusive_lock_held_(x)
#define _Requires_shared_lock_held_(x)
#define _Requires_lock_not_held_(x)
#define _Acquires_exclusive_lock_(x)
#define _Acquires_shared_lock_(x)
#define _Releases_exclusive_lock_(x)
#define _Releases_shared_lock_(x)
#define _Has_lock_kind_(x)
#define _Create_lock_level_(x)
#define _Lock_level_order_(a, b)
#define _IRQL_requires_min_(x)
#define _IRQL_requires_same_
#define _IRQL_saves_global_(a, b)
#define _IRQL_restores_global_(a, b)
#define _IRQL_always_function_min_(x)
#define _IRQL_always_function_max_(x)
#define _IRQL_is_cancel_
#define _IRQL_uses_cancel_
#define _Kernel_clear_do_init_(x)
#define _Kernel_float_saved_
#define _Kernel_float_restored_
#define _Kernel_requires_resource_held_(x)
#define _Kernel_requires_resource_not_held_(x)
#define _Kernel_acquires_resource_(x)
#define _Kernel_releases_resource_(x)
#define _At_(a, b)
#define _At_buffer_(a, b, c, d)
#define _Always_(x)
#define _On_failure_(x)
#define _Enum_is_bitflag_
#define _Struct_size_bytes_(x)
#define _Writable_bytes_(x)
#define _Readable_bytes_(x)
#define _Printf_format_string_params_(x)
#define _Pre_defensive_
#define _Post_defensive_
#define _Pre_unknown_
#define _Unreferenced_parameter_
#define _Inexpressible_(x)
#define _Callback_
#define __drv_dispatchType(x)
#define __drv_maxIRQL(x)
#define __drv_minIRQL(x)
#define __drv_requiresIRQL(x)
#define __drv_aliasesMem
#define __drv_allocatesMem(x)
#define __drv_freesMem(x)
#define __drv_when(a, b)
#define __drv_functionClass(x)
#define __drv_sameIRQL
#define __drv_savesIRQL
#define __drv_restoresIRQL
#define __drv_setsIRQL(x)
#define __drv_raisesIRQL(x)
#define __drv_acquiresResource(x)
#define __drv_releasesResource(x)
#define __drv_mustHold(x)
#define __drv_neverHold(x)
#define __drv_reportError(x)
#define __in
#define __in_opt
#define __out
#define __out_opt
#define __inout
#define __inout_opt
#define __in_bcount(x)
#define __out_bcount(x)
#define __in_ecount(x)
#define __out_ecount(x)
#define __deref_out
#define __checkReturn
#define __success(x)

#endif /* PSHARNESS_PROLOGUE_H */
