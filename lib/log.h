/* log.h — one logging module for the daemon, the CLI and the simulator. */
#ifndef VPCF_LOG_H
#define VPCF_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Set up logging: to stderr when foreground, else syslog with ident. */
void log_init(const char *ident, int foreground, enum log_level level);
/* Change the level (e.g. -v). */
void log_setlevel(enum log_level level);
/* Register a secret (key, token) that must never appear in a log line. */
void log_redact_add(const char *secret);
/* Forget every registered secret (credentials rotated). */
void log_redact_clear(void);

/* Warning with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warning without errno. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log with strerror(errno) and exit(1): start-up or broken invariant only. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Log without errno and exit(1). */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
