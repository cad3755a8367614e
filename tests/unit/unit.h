/* Minimal unit test harness for atb's library modules.
 *
 * Each TEST() runs in its own forked process with a time limit. After the
 * test body returns, the harness fails the test if any fd other than 0, 1, 2
 * is still open or if any child process is left. Output is TAP, one line per
 * test, which tests/check.sh counts. */
#ifndef ATB_UNIT_H
#define ATB_UNIT_H

#include <stdio.h>
#include <string.h>

typedef void (*unit_fn)(void);
void unit_register(const char *name, unit_fn fn);
void unit_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define TEST(name)                                                     \
    static void test_##name(void);                                     \
    __attribute__((constructor)) static void register_##name(void)     \
    {                                                                  \
        unit_register(#name, test_##name);                             \
    }                                                                  \
    static void test_##name(void)

#define ASSERT(cond)                                                   \
    do {                                                               \
        if (!(cond))                                                   \
            unit_fail(__FILE__, __LINE__, "assertion failed: %s", #cond); \
    } while (0)

#define ASSERT_EQ(a, b)                                                \
    do {                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);            \
        if (a_ != b_)                                                  \
            unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld",    \
                      #a, #b, a_, b_);                                 \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                            \
    do {                                                               \
        const char *a_ = (a), *b_ = (b);                               \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)           \
            unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
                      #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)

#define ASSERT_NEAR(a, b, eps)                                         \
    do {                                                               \
        double a_ = (a), b_ = (b);                                     \
        if (a_ - b_ > (eps) || b_ - a_ > (eps))                        \
            unit_fail(__FILE__, __LINE__, "%s ~= %s: %g != %g",        \
                      #a, #b, a_, b_);                                 \
    } while (0)

#endif
