/* psharness WDK shim: the C string routines a freestanding wasm32 driver needs (-ffreestanding implies
 * -fno-builtin, so the names are mapped to the compiler's builtins here). */
#ifndef PSHARNESS_STRING_H
#define PSHARNESS_STRING_H
typedef unsigned long __psh_size_t;
#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memmove(d, s, n) __builtin_memmove((d), (s), (n))
#define memset(d, c, n) __builtin_memset((d), (c), (n))
#define memcmp(a, b, n) __builtin_memcmp((a), (b), (n))
static inline __psh_size_t strlen(const char *s) { const char *p = s; while (*p) p++; return (__psh_size_t)(p - s); }
static inline __psh_size_t wcslen(const unsigned short *s) { const unsigned short *p = s; while (*p) p++; return (__psh_size_t)(p - s); }
static inline int strcmp(const char *a, const char *b) { while (*a && *a == *b) { a++; b++; } return (unsigned char)*a - (unsigned char)*b; }
static inline int strncmp(const char *a, const char *b, __psh_size_t n) {
    for (; n > 0; n--, a++, b++) { if (*a != *b || !*a) return (unsigned char)*a - (unsigned char)*b; }
    return 0;
}
static inline char *strncpy(char *d, const char *s, __psh_size_t n) {
    __psh_size_t i = 0;
    for (; i < n && s[i]; i++) d[i] = s[i];
    for (; i < n; i++) d[i] = 0;
    return d;
}
static inline char *strcpy(char *d, const char *s) { char *r = d; while ((*d++ = *s++)) {} return r; }

/* The rest of the kernel CRT ntoskrnl exports, with the Microsoft CRT's semantics in the "C" locale: the _i
   variants compare after converting ASCII letters to lower case, as the kernel's (which has no locale) does. */
typedef unsigned short __psh_wchar;
static inline int tolower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }
static inline int toupper(int c) { return c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c; }
static inline __psh_wchar towlower(__psh_wchar c) { return c >= L'A' && c <= L'Z' ? (__psh_wchar)(c + (L'a' - L'A')) : c; }
static inline __psh_wchar towupper(__psh_wchar c) { return c >= L'a' && c <= L'z' ? (__psh_wchar)(c - (L'a' - L'A')) : c; }
static inline int _strnicmp(const char *a, const char *b, __psh_size_t n) {
    for (; n > 0; n--, a++, b++) {
        int x = tolower((unsigned char)*a), y = tolower((unsigned char)*b);
        if (x != y || x == 0) return x - y;
    }
    return 0;
}
static inline int _stricmp(const char *a, const char *b) { return _strnicmp(a, b, (__psh_size_t)-1); }
static inline int wcsncmp(const __psh_wchar *a, const __psh_wchar *b, __psh_size_t n) {
    for (; n > 0; n--, a++, b++) { if (*a != *b || !*a) return (int)*a - (int)*b; }
    return 0;
}
static inline int wcscmp(const __psh_wchar *a, const __psh_wchar *b) { return wcsncmp(a, b, (__psh_size_t)-1); }
static inline int _wcsnicmp(const __psh_wchar *a, const __psh_wchar *b, __psh_size_t n) {
    for (; n > 0; n--, a++, b++) {
        int x = towlower(*a), y = towlower(*b);
        if (x != y || x == 0) return x - y;
    }
    return 0;
}
static inline int _wcsicmp(const __psh_wchar *a, const __psh_wchar *b) { return _wcsnicmp(a, b, (__psh_size_t)-1); }
static inline char *strchr(const char *s, int c) {
    for (;; s++) { if (*s == (char)c) return (char *)s; if (!*s) return 0; }
}
static inline __psh_wchar *wcschr(const __psh_wchar *s, __psh_wchar c) {
    for (;; s++) { if (*s == c) return (__psh_wchar *)s; if (!*s) return 0; }
}
static inline char *strrchr(const char *s, int c) {
    const char *last = 0;
    for (;; s++) { if (*s == (char)c) last = s; if (!*s) return (char *)last; }
}
static inline __psh_wchar *wcsrchr(const __psh_wchar *s, __psh_wchar c) {
    const __psh_wchar *last = 0;
    for (;; s++) { if (*s == c) last = s; if (!*s) return (__psh_wchar *)last; }
}
static inline char *strstr(const char *h, const char *n) {
    if (!*n) return (char *)h;
    for (; *h; h++) {
        const char *a = h, *b = n;
        while (*a && *b && *a == *b) { a++; b++; }
        if (!*b) return (char *)h;
    }
    return 0;
}
static inline __psh_wchar *wcsstr(const __psh_wchar *h, const __psh_wchar *n) {
    if (!*n) return (__psh_wchar *)h;
    for (; *h; h++) {
        const __psh_wchar *a = h, *b = n;
        while (*a && *b && *a == *b) { a++; b++; }
        if (!*b) return (__psh_wchar *)h;
    }
    return 0;
}
static inline __psh_wchar *wcscpy(__psh_wchar *d, const __psh_wchar *s) { __psh_wchar *r = d; while ((*d++ = *s++)) {} return r; }
static inline __psh_wchar *wcsncpy(__psh_wchar *d, const __psh_wchar *s, __psh_size_t n) {
    __psh_size_t i = 0;
    for (; i < n && s[i]; i++) d[i] = s[i];
    for (; i < n; i++) d[i] = 0;
    return d;
}
static inline char *strcat(char *d, const char *s) { strcpy(d + strlen(d), s); return d; }
static inline __psh_wchar *wcscat(__psh_wchar *d, const __psh_wchar *s) { wcscpy(d + wcslen(d), s); return d; }
#endif
