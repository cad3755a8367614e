/* atb/report.h: reports of a finished run. Included by atb.h. */
#ifndef ATB_REPORT_H
#define ATB_REPORT_H

#include <stdio.h>

struct atb_run;

/* Writes the human report to out: a headline, then a line per command that
 * did not succeed (every command when verbose). Returns 0 or -EIO. */
int atb_report_text(const struct atb_run *run, FILE *out, int verbose);

/* Writes the JSON report (see atb(1), REPORT) to out. Returns 0, -ENOMEM or
 * -EIO. */
int atb_report_json(const struct atb_run *run, FILE *out);

#endif
