/* errors: text for atb's error codes, and the version of the library. */
#include "atb.h"

#include <string.h>

const char *atb_strerror(int err)
{
    switch (err) {
    case ATB_EDURATION:
        return "invalid duration (use e.g. 10, 1.5s, 250ms, 2m, 1h)";
    case ATB_ESIGNAL:
        return "unknown signal";
    case ATB_EMODE:
        return "unknown mode";
    case ATB_EPREFIX:
        return "unknown placeholder in prefix (use {name}, {index}, {pid}, {time})";
    case ATB_EDEPS:
        return "invalid dependencies";
    case ATB_EREGEX:
        return "invalid regular expression";
    case ATB_ESPEC:
        return "invalid spec";
    case ATB_ECLEANUP:
        return "not allowed in a cleanup command";
    case ATB_EDUPNAME:
        return "duplicate name";
    case ATB_ERETRY:
        return "a service is never retried";
    case ATB_EPROBE:
        return "invalid probe";
    case ATB_ELAUNCHER:
        return "srun and scancel are needed to run on Slurm, and are not in PATH";
    case ATB_ECWD:
        return "working directory missing or not a directory";
    case ATB_ENONAME:
        return "no command has that name";
    case ATB_ESTATE:
        return "not valid in the current state";
    case ATB_ELATCHNAME:
        return "invalid latch name";
    case ATB_ELATCHDIR:
        return "unsafe latch folder";
    case ATB_ETIMEDOUT:
        return "timed out";
    }
    return strerror(err < 0 ? -err : err);
}

unsigned atb_version(void)
{
    return ATB_VERSION_HEX;
}

const char *atb_version_string(void)
{
    return ATB_VERSION;
}
