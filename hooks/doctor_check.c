/* doctor_check.c — what every doctor check uses: the report line (or JSON
 * object) with its verdict, and the same-file test. The driver (doctor.c)
 * and the checks (doctor_aws.c, doctor_ka.c) all call down to here. */
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/doctor_check.h"

void doc_say(struct doc *d, enum verdict v, const char *fmt, ...)
{
	static const char *const label[] = {"ok", "info", "WARN", "FAIL"};
	static const char *const json_label[] = {"ok", "info", "warn", "fail"};
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->n[v]++;
	if (d->checks) {
		json_array_append_new(
		    d->checks,
		    json_pack("{s:s, s:s}", "verdict", json_label[v], "message", msg));
		return;
	}
	fprintf(d->out, "%-4s  %s\n", label[v], msg);
	fflush(d->out);
}

/* Is a and b the same file (or both unresolvable and equal as text)? */
int doc_same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (realpath(a, ra) && realpath(b, rb))
		return strcmp(ra, rb) == 0;
	return strcmp(a, b) == 0;
}
