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
#endif
