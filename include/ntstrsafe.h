/* psharness WDK shim: the basic RtlStringCb* / RtlStringCch* routines of ntstrsafe.h (header-only, as in the WDK). */
#ifndef PSHARNESS_NTSTRSAFE_H
#define PSHARNESS_NTSTRSAFE_H
#include "ntddk.h"
#define NTSTRSAFE_MAX_CCH 2147483647

NTSTRSAFEAPI RtlStringCchCopyA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc) {
    SIZE_T i = 0;
    if (cchDest == 0 || cchDest > NTSTRSAFE_MAX_CCH) return STATUS_INVALID_PARAMETER;
    for (; i < cchDest - 1 && pszSrc[i]; i++) pszDest[i] = pszSrc[i];
    pszDest[i] = 0;
    return pszSrc[i] ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}
NTSTRSAFEAPI RtlStringCchCopyW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc) {
    SIZE_T i = 0;
    if (cchDest == 0 || cchDest > NTSTRSAFE_MAX_CCH) return STATUS_INVALID_PARAMETER;
    for (; i < cchDest - 1 && pszSrc[i]; i++) pszDest[i] = pszSrc[i];
    pszDest[i] = 0;
    return pszSrc[i] ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}
NTSTRSAFEAPI RtlStringCbCopyA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc) { return RtlStringCchCopyA(pszDest, cbDest, pszSrc); }
NTSTRSAFEAPI RtlStringCbCopyW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc) { return RtlStringCchCopyW(pszDest, cbDest / sizeof(WCHAR), pszSrc); }
NTSTRSAFEAPI RtlStringCchLengthA(PCSTR psz, SIZE_T cchMax, SIZE_T *pcchLength) {
    SIZE_T n = 0;
    while (n < cchMax && psz[n]) n++;
    if (pcchLength) *pcchLength = n;
    return n < cchMax ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}
NTSTRSAFEAPI RtlStringCchLengthW(PCWSTR psz, SIZE_T cchMax, SIZE_T *pcchLength) {
    SIZE_T n = 0;
    while (n < cchMax && psz[n]) n++;
    if (pcchLength) *pcchLength = n;
    return n < cchMax ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}
NTSTRSAFEAPI RtlStringCbLengthA(PCSTR psz, SIZE_T cbMax, SIZE_T *pcbLength) { return RtlStringCchLengthA(psz, cbMax, pcbLength); }
NTSTRSAFEAPI RtlStringCbLengthW(PCWSTR psz, SIZE_T cbMax, SIZE_T *pcbLength) {
    SIZE_T cch = 0;
    NTSTATUS s = RtlStringCchLengthW(psz, cbMax / sizeof(WCHAR), &cch);
    if (pcbLength) *pcbLength = cch * sizeof(WCHAR);
    return s;
}
NTSTRSAFEAPI RtlStringCchCatA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc) {
    SIZE_T n = 0;
    while (n < cchDest && pszDest[n]) n++;
    if (n == cchDest) return STATUS_INVALID_PARAMETER;
    return RtlStringCchCopyA(pszDest + n, cchDest - n, pszSrc);
}
NTSTRSAFEAPI RtlStringCchCatW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc) {
    SIZE_T n = 0;
    while (n < cchDest && pszDest[n]) n++;
    if (n == cchDest) return STATUS_INVALID_PARAMETER;
    return RtlStringCchCopyW(pszDest + n, cchDest - n, pszSrc);
}
NTSTRSAFEAPI RtlStringCbCatA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc) { return RtlStringCchCatA(pszDest, cbDest, pszSrc); }
NTSTRSAFEAPI RtlStringCbCatW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc) { return RtlStringCchCatW(pszDest, cbDest / sizeof(WCHAR), pszSrc); }
/* The printf and CopyN variants: the kernel implements them (src/model/rtl/string-ddis.ts), always NUL-terminating,
   STATUS_BUFFER_OVERFLOW when truncated, STATUS_INVALID_PARAMETER for a zero or oversized destination. */
NTSTATUS RtlStringCbPrintfA(PSTR pszDest, SIZE_T cbDest, PCSTR pszFormat, ...) KIMPORT(RtlStringCbPrintfA);
NTSTATUS RtlStringCchPrintfA(PSTR pszDest, SIZE_T cchDest, PCSTR pszFormat, ...) KIMPORT(RtlStringCchPrintfA);
NTSTATUS RtlStringCbPrintfW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszFormat, ...) KIMPORT(RtlStringCbPrintfW);
NTSTATUS RtlStringCchPrintfW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszFormat, ...) KIMPORT(RtlStringCchPrintfW);
NTSTATUS RtlStringCbCopyNA(PSTR pszDest, SIZE_T cbDest, PCSTR pszSrc, SIZE_T cbToCopy) KIMPORT(RtlStringCbCopyNA);
NTSTATUS RtlStringCchCopyNA(PSTR pszDest, SIZE_T cchDest, PCSTR pszSrc, SIZE_T cchToCopy) KIMPORT(RtlStringCchCopyNA);
NTSTATUS RtlStringCbCopyNW(PWSTR pszDest, SIZE_T cbDest, PCWSTR pszSrc, SIZE_T cbToCopy) KIMPORT(RtlStringCbCopyNW);
NTSTATUS RtlStringCchCopyNW(PWSTR pszDest, SIZE_T cchDest, PCWSTR pszSrc, SIZE_T cchToCopy) KIMPORT(RtlStringCchCopyNW);
#ifdef _WIN64
#define RtlStringCbPrintfA(pszDest, cbDest, ...) __PSH_PRINTF2(RtlStringCbPrintfA, pszDest, cbDest, __VA_ARGS__)
#define RtlStringCchPrintfA(pszDest, cchDest, ...) __PSH_PRINTF2(RtlStringCchPrintfA, pszDest, cchDest, __VA_ARGS__)
#define RtlStringCbPrintfW(pszDest, cbDest, ...) __PSH_PRINTF2(RtlStringCbPrintfW, pszDest, cbDest, __VA_ARGS__)
#define RtlStringCchPrintfW(pszDest, cchDest, ...) __PSH_PRINTF2(RtlStringCchPrintfW, pszDest, cchDest, __VA_ARGS__)
#endif
#endif
