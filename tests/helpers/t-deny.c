/* t-deny: runs a command where some system calls fail, as they do on an
 * older kernel (ENOSYS) or under a container's seccomp filter that
 * predates them (EPERM), to check atb's fallbacks on this machine.
 *
 *   t-deny CALL=ERRNO[,CALL=ERRNO...] -- CMD [ARG...]
 *
 * CALL is one of close_range, pidfd_open, clone3; ERRNO is ENOSYS or
 * EPERM. The filter is inherited by every descendant. Exits 2 on a usage
 * error or when the filter cannot be installed, 127 when CMD cannot be
 * executed. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif

#define MAX_RULES 8

static const struct {
    const char *name;
    long nr;
} calls[] = {
    {"close_range", 436},   /* the same number on every architecture */
    {"pidfd_open", 434},
    {"clone3", 435},
};

static void usage(void)
{
    fputs("usage: t-deny CALL=ERRNO[,CALL=ERRNO...] -- CMD [ARG...]\n", stderr);
    exit(2);
}

/* Parses "close_range=ENOSYS,..." into nr[] and err[]; returns the count. */
static int parse(const char *text, long nr[], int err[])
{
    char buf[256], *save = NULL;
    int n = 0;

    if (strlen(text) >= sizeof(buf))
        usage();
    strcpy(buf, text);
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        size_t i;

        if (eq == NULL || n == MAX_RULES)
            usage();
        *eq = '\0';
        for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
            if (strcmp(tok, calls[i].name) == 0)
                break;
        if (i == sizeof(calls) / sizeof(calls[0]))
            usage();
        nr[n] = calls[i].nr;
        if (strcmp(eq + 1, "ENOSYS") == 0)
            err[n] = ENOSYS;
        else if (strcmp(eq + 1, "EPERM") == 0)
            err[n] = EPERM;
        else
            usage();
        n++;
    }
    return n;
}

int main(int argc, char **argv)
{
#ifdef ARCH
    struct sock_filter prog[4 + 2 * MAX_RULES];
    struct sock_fprog fprog;
    long nr[MAX_RULES];
    int err[MAX_RULES], n, k = 0;

    if (argc < 4 || strcmp(argv[2], "--") != 0)
        usage();
    n = parse(argv[1], nr, err);
    /* Another architecture's calls are let through: none is made here. */
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                             offsetof(struct seccomp_data, arch));
    prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 0,
                                             (unsigned char)(2 * n + 1));
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                             offsetof(struct seccomp_data, nr));
    for (int i = 0; i < n; i++) {
        prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr[i], 0, 1);
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                                 SECCOMP_RET_ERRNO | (unsigned)err[i]);
    }
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    fprog.len = (unsigned short)k;
    fprog.filter = prog;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
        perror("t-deny: seccomp");
        return 2;
    }
    execvp(argv[3], argv + 3);
    fprintf(stderr, "t-deny: %s: %s\n", argv[3], strerror(errno));
    return 127;
#else
    (void)argc;
    (void)argv;
    fputs("t-deny: no seccomp filter for this architecture\n", stderr);
    return 2;
#endif
}
