/* log.c — levels, stderr or syslog, and redaction of registered secrets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "lib/log.h"

#define LOG_LINE_MAX 4096
#define REDACT_MAX   16

static const char *log_ident = "vpc-failover";
static int log_foreground = 1;
static enum log_level log_level = LOG_LVL_INFO;
static char *redact[REDACT_MAX];

void log_init(const char *ident, int foreground, enum log_level level)
{
	log_ident = ident;
	log_foreground = foreground;
	log_level = level;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_setlevel(enum log_level level)
{
	log_level = level;
}

void log_redact_add(const char *secret)
{
	/* Short strings would redact ordinary words; real secrets are long. */
	if (secret == NULL || strlen(secret) < 8)
		return;
	for (int i = 0; i < REDACT_MAX; i++) {
		if (redact[i] && strcmp(redact[i], secret) == 0)
			return;
		if (redact[i] == NULL) {
			redact[i] = strdup(secret);
			return;
		}
	}
	/* Full: drop the oldest, secrets rotate. */
	free(redact[0]);
	memmove(redact, redact + 1, sizeof(redact[0]) * (REDACT_MAX - 1));
	redact[REDACT_MAX - 1] = strdup(secret);
}

void log_redact_clear(void)
{
	for (int i = 0; i < REDACT_MAX; i++) {
		free(redact[i]);
		redact[i] = NULL;
	}
}

static void scrub(char *line)
{
	for (int i = 0; i < REDACT_MAX; i++) {
		if (redact[i] == NULL)
			continue;
		size_t n = strlen(redact[i]);
		char *p;
		while ((p = strstr(line, redact[i])) != NULL) {
			/* Replace in place with a fixed marker, shifting the rest. */
			static const char mark[] = "<redacted>";
			size_t ml = sizeof(mark) - 1;
			size_t rest = strlen(p + n);
			if (ml <= n) {
				memcpy(p, mark, ml);
				memmove(p + ml, p + n, rest + 1);
			} else {
				memset(p, '*', n);
			}
		}
	}
}

static void vlog(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[LOG_LINE_MAX];
	int saved = errno;

	if (lvl > log_level)
		return;
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (with_errno && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
	scrub(line);
	if (log_foreground) {
		fprintf(stderr, "%s: %s\n", log_ident, line);
		fflush(stderr);
	} else {
		syslog(prio[lvl], "%s", line);
	}
	errno = saved;
}

#define LOGFN(name, lvl, err)                                                            \
	void name(const char *fmt, ...)                                                  \
	{                                                                                \
		va_list ap;                                                              \
		va_start(ap, fmt);                                                       \
		vlog(lvl, err, fmt, ap);                                                 \
		va_end(ap);                                                              \
	}

LOGFN(log_warn, LOG_LVL_WARN, 1)
LOGFN(log_warnx, LOG_LVL_WARN, 0)
LOGFN(log_info, LOG_LVL_INFO, 0)
LOGFN(log_debug, LOG_LVL_DEBUG, 0)

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
