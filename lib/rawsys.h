/* rawsys: system calls that never touch errno, for a process that shares
 * atb's memory (the first guardian, lib/guard.c) while atb goes on.
 *
 * Such a process has atb's thread pointer, so atb's errno too: a libc
 * wrapper that fails writes a value atb may be about to read after a
 * failure of its own. These calls go to the kernel directly and return
 * the result or a negative errno, as the kernel does.
 *
 * ATB__RAW_SYSCALLS is defined where this header knows the calling
 * convention (x86-64, AArch64). Elsewhere the guardian waits until it is
 * settled before atb goes on, as it did before. */
#ifndef ATB_RAWSYS_H
#define ATB_RAWSYS_H

#if defined(__x86_64__)
#define ATB__RAW_SYSCALLS 1

static inline long atb__raw6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;

    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#elif defined(__aarch64__)
#define ATB__RAW_SYSCALLS 1

static inline long atb__raw6(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;

    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}
#endif

#endif
