/* errors: text for atb's error codes. */
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
