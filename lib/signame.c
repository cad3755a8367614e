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

const char *atb_signal_name(int signo)
{
    for (size_t i = 0; i < ATB__ARRAY_SIZE(names); i++)
        if (names[i].signo == signo)
            return names[i].name;
    return NULL;
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
    return ATB_ESIGNAL;
}
