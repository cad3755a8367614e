/* signame: signal names and numbers, both ways. */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>

static const struct {
    int signo;
    const char *name;
} names[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"},
    {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"},     {SIGABRT, "SIGABRT"},
    {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},       {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"},     {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"},
    {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"},     {SIGSTOP, "SIGSTOP"},
    {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"},     {SIGTTOU, "SIGTTOU"},
    {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"},     {SIGXFSZ, "SIGXFSZ"},
    {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
    {SIGIO, "SIGIO"},     {SIGPWR, "SIGPWR"},       {SIGSYS, "SIGSYS"},
#ifdef SIGSTKFLT
    {SIGSTKFLT, "SIGSTKFLT"},
#endif
};

/* The real-time signals as kill -l names them: from SIGRTMIN up for the
 * first half, from SIGRTMAX down for the second (their numbers depend on
 * the C library, which keeps the first two or three for itself). */
static const char *const rt_names[] = {
    "SIGRTMIN",    "SIGRTMIN+1",  "SIGRTMIN+2",  "SIGRTMIN+3",  "SIGRTMIN+4",
    "SIGRTMIN+5",  "SIGRTMIN+6",  "SIGRTMIN+7",  "SIGRTMIN+8",  "SIGRTMIN+9",
    "SIGRTMIN+10", "SIGRTMIN+11", "SIGRTMIN+12", "SIGRTMIN+13", "SIGRTMIN+14",
    "SIGRTMIN+15", "SIGRTMAX-14", "SIGRTMAX-13", "SIGRTMAX-12", "SIGRTMAX-11",
    "SIGRTMAX-10", "SIGRTMAX-9",  "SIGRTMAX-8",  "SIGRTMAX-7",  "SIGRTMAX-6",
    "SIGRTMAX-5",  "SIGRTMAX-4",  "SIGRTMAX-3",  "SIGRTMAX-2",  "SIGRTMAX-1",
    "SIGRTMAX"};

static const char *rt_name(int signo)
{
    int n = SIGRTMAX - SIGRTMIN + 1, i = signo - SIGRTMIN;

    if (i < 0 || i >= n || n != (int)ATB__ARRAY_SIZE(rt_names))
        return NULL;
    return rt_names[i];
}

const char *atb_signal_name(int signo)
{
    for (size_t i = 0; i < ATB__ARRAY_SIZE(names); i++)
        if (names[i].signo == signo)
            return names[i].name;
    return rt_name(signo);
}

int atb_signal_parse(const char *text, int *signo)
{
    if (text == NULL || *text == '\0')
        return ATB_ESIGNAL;
    if (isdigit((unsigned char)*text)) {
        char *end;
        long v = strtol(text, &end, 10);
        if (*end != '\0' || atb_signal_name((int)v) == NULL)
            return ATB_ESIGNAL;
        *signo = (int)v;
        return 0;
    }
    for (size_t i = 0; i < ATB__ARRAY_SIZE(names); i++) {
        if (strcasecmp(text, names[i].name) == 0 ||
            strcasecmp(text, names[i].name + 3) == 0) {
            *signo = names[i].signo;
            return 0;
        }
    }
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++) {
        const char *name = rt_name(sig);
        if (name && (strcasecmp(text, name) == 0 || strcasecmp(text, name + 3) == 0)) {
            *signo = sig;
            return 0;
        }
    }
    return ATB_ESIGNAL;
}
