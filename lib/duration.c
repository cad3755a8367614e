/* duration: strict parsing of the durations atb's options and specs take. */
#include "atb.h"

#include <math.h>
#include <string.h>

int atb_duration_parse(const char *text, double *seconds)
{
    static const struct {
        const char *suffix;
        double scale;
    } units[] = {{"", 1}, {"s", 1}, {"ms", 0.001}, {"m", 60}, {"h", 3600}};
    double whole = 0, frac = 0, place = 0.1;
    const char *p = text;
    int digits = 0;

    if (text == NULL)
        return ATB_EDURATION;
    /* Digits, an optional fraction, then a unit: no signs, exponents,
     * spaces, "inf" or "nan", which strtod() would take. */
    for (; *p >= '0' && *p <= '9'; p++, digits++)
        whole = whole * 10 + (*p - '0');
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            frac += (*p - '0') * place;
            place /= 10;
        }
    }
    if (digits == 0)
        return ATB_EDURATION;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(p, units[i].suffix) == 0) {
            double v = (whole + frac) * units[i].scale;
            if (!isfinite(v) || v > 1e9)
                return ATB_EDURATION;
            *seconds = v;
            return 0;
        }
    }
    return ATB_EDURATION;
}
