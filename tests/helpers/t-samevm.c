/* t-samevm: whether two processes share one address space, to tell atb's
 * first guardian (which shares atb's memory) from the one it hands over to
 * (which has memory of its own).
 *
 *   t-samevm PID1 PID2
 *
 * Exits 0 when they share it, 1 when they do not, 2 when kcmp(2) cannot
 * tell (a process gone, no permission, a kernel without kcmp). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KCMP_VM 1

int main(int argc, char **argv)
{
    long r;

    if (argc != 3) {
        fprintf(stderr, "usage: t-samevm PID1 PID2\n");
        return 2;
    }
    r = syscall(SYS_kcmp, atoi(argv[1]), atoi(argv[2]), KCMP_VM, 0, 0);
    if (r < 0) {
        perror("t-samevm: kcmp");
        return 2;
    }
    return r == 0 ? 0 : 1;
}
