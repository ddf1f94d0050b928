/* creds.c — AWS credentials from the environment, a shared-credentials file
 * (libinih) or the instance-role JSON of IMDS (jansson).
 *
 * No message built here ever contains a secret key or a token: errors name
 * the variable, key or JSON field, never its value. Parsers that echo input
 * in their own messages (jansson's "near '...'") are not quoted. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>
#include <jansson.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vpc/creds.h"

#define CREDS_FILE_MAX (64 * 1024) /* a credentials file is a few hundred bytes */
#define CREDS_JSON_MAX (64 * 1024) /* IMDS answers ~1.5 KiB */

int creds_field(char *dst, size_t dstsz, const char *val, size_t len, const char *what,
		char *errbuf, size_t errsz)
{
	if (len == 0) {
		errf(errbuf, errsz, "%s is empty", what);
		return -1;
	}
	if (len >= dstsz) {
		errf(errbuf, errsz, "%s is too long (%zu bytes, at most %zu)", what, len,
		     dstsz - 1);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)val[i] <= 0x20 || (unsigned char)val[i] >= 0x7f) {
			errf(errbuf, errsz, "%s contains a space or non-printable byte",
			     what);
			return -1;
		}
	}
	memcpy(dst, val, len);
	dst[len] = '\0';
	return 0;
}

/* An environment variable, with "" counted as unset like the AWS SDKs do. */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return (v && v[0]) ? v : NULL;
}

int creds_from_env(struct aws_creds *c)
{
	const char *ak = env("AWS_ACCESS_KEY_ID");
	const char *sk = env("AWS_SECRET_ACCESS_KEY");
	const char *tok = env("AWS_SESSION_TOKEN");
	struct aws_creds t;
	char err[160];
	int rc = -1;

	memset(&t, 0, sizeof(t));
	if (ak == NULL && sk == NULL)
		return 0;
	if (ak == NULL || sk == NULL) {
		log_warnx("environment credentials: %s is set but %s is not",
			  ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			  ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		goto out;
	}
	if (creds_field(t.access_key_id, sizeof(t.access_key_id), ak, strlen(ak),
			"AWS_ACCESS_KEY_ID", err, sizeof(err)) == -1 ||
	    creds_field(t.secret_access_key, sizeof(t.secret_access_key), sk, strlen(sk),
			"AWS_SECRET_ACCESS_KEY", err, sizeof(err)) == -1 ||
	    (tok &&
	     creds_field(t.session_token, sizeof(t.session_token), tok, strlen(tok),
			 "AWS_SESSION_TOKEN", err, sizeof(err)) == -1)) {
		log_warnx("environment credentials: %s", err);
		goto out;
	}
	strlcpy_chk(t.source, "environment", sizeof(t.source));
	*c = t;
	rc = 1;
out:
	explicit_bzero(&t, sizeof(t));
	return rc;
}

struct ini_ctx {
	const char *profile;
	struct aws_creds *c;
	int in_profile; /* the profile section was seen */
	int have_ak, have_sk, have_tok;
	char err[160];
};

static int ini_key(struct ini_ctx *x, const char *name, const char *value, char *dst,
		   size_t dstsz, int *seen)
{
	/* A repeated key, or a value continued on an indented line (inih calls
	 * the handler once per line): ambiguous, so refused. */
	if (*seen) {
		snprintf(x->err, sizeof(x->err), "%s given twice in [%s]", name,
			 x->profile);
		return 0;
	}
	*seen = 1;
	return creds_field(dst, dstsz, value, strlen(value), name, x->err,
			   sizeof(x->err)) == 0;
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;

	if (strcmp(section, x->profile) != 0)
		return 1;
	x->in_profile = 1;
	if (strcasecmp(name, "aws_access_key_id") == 0)
		return ini_key(x, "aws_access_key_id", value, x->c->access_key_id,
			       sizeof(x->c->access_key_id), &x->have_ak);
	if (strcasecmp(name, "aws_secret_access_key") == 0)
		return ini_key(x, "aws_secret_access_key", value, x->c->secret_access_key,
			       sizeof(x->c->secret_access_key), &x->have_sk);
	if (strcasecmp(name, "aws_session_token") == 0)
		return ini_key(x, "aws_session_token", value, x->c->session_token,
			       sizeof(x->c->session_token), &x->have_tok);
	return 1; /* region, output, ...: not ours */
}

/* ini_parse_string with a line buffer as large as the whole file: Debian's
 * libinih defaults to 200-byte lines and splits longer ones, which would cut
 * a session token short without an error. The knobs are process-wide, so
 * they are put back afterwards. */
static int ini_parse_all(const char *text, struct ini_ctx *x)
{
	bool use_stack = ini_use_stack, allow_realloc = ini_allow_realloc;
	bool stop_first = ini_stop_on_first_error;
	int max_line = ini_max_line;
	int rc;

	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = CREDS_FILE_MAX + 3; /* + "\r\n\0", see ini.h */
	ini_stop_on_first_error = true;	   /* so rc is the line of our error */
	rc = ini_parse_string(text, on_ini, x);
	ini_use_stack = use_stack;
	ini_allow_realloc = allow_realloc;
	ini_max_line = max_line;
	ini_stop_on_first_error = stop_first;
	return rc;
}

int creds_read_private(const char *path, const char *what, char **out, char *errbuf,
		       size_t errsz)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	/* Symlinks are followed (~/.aws often is one), but what was opened is
	 * what gets checked; O_NONBLOCK so a FIFO cannot hang us before that. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		errf(errbuf, errsz, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		errf(errbuf, errsz, "%s %s: fstat: %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errf(errbuf, errsz, "%s %s: not a regular file", what, path);
		goto out;
	}
	if (st.st_mode & 077) {
		errf(errbuf, errsz, "%s %s: mode %04o is %s by others; chmod 600 it",
		     what, path, (unsigned)(st.st_mode & 07777),
		     (st.st_mode & 044) ? "readable" : "accessible");
		goto out;
	}
	if (st.st_size > CREDS_FILE_MAX) {
		errf(errbuf, errsz, "%s %s: larger than %d bytes", what, path,
		     CREDS_FILE_MAX);
		goto out;
	}
	/* Capped again: the file may have grown after fstat. */
	buf = xmalloc(CREDS_FILE_MAX + 2);
	if ((n = read_fd_capped(fd, buf, CREDS_FILE_MAX)) == -1) {
		if (errno == EFBIG)
			errf(errbuf, errsz, "%s %s: larger than %d bytes", what, path,
			     CREDS_FILE_MAX);
		else
			errf(errbuf, errsz, "%s %s: read: %s", what, path,
			     strerror(errno));
		goto out;
	}
	len = (size_t)n;
	/* inih stops at a NUL: whatever followed would be ignored silently. */
	if (memchr(buf, '\0', len) != NULL) {
		errf(errbuf, errsz, "%s %s: contains a NUL byte", what, path);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	if (buf) {
		explicit_bzero(buf, CREDS_FILE_MAX + 2);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

int creds_read_password(const char *path, const char *what, char **out, char *errbuf,
			size_t errsz)
{
	char *text = NULL;

	*out = NULL;
	if (creds_read_private(path, what, &text, errbuf, errsz) == -1)
		return -1;
	size_t n = strcspn(text, "\r\n");
	if (n > 0) {
		*out = xmalloc(n + 1);
		memcpy(*out, text, n);
		(*out)[n] = '\0';
		log_redact_add(*out);
	} else
		snprintf(errbuf, errsz, "%s %s: empty (the first line is the password)",
			 what, path);
	explicit_bzero(text, strlen(text));
	free(text);
	return n > 0 ? 0 : -1;
}

int creds_from_file(const char *path, const char *profile, struct aws_creds *c,
		    char *errbuf, size_t errsz)
{
	struct aws_creds t;
	struct ini_ctx x;
	char *text = NULL;
	size_t textlen = 0;
	int rc = -1, ln;

	memset(&t, 0, sizeof(t));
	memset(&x, 0, sizeof(x));
	x.profile = (profile && profile[0]) ? profile : "default";
	x.c = &t;
	if (creds_read_private(path, "credentials file", &text, errbuf, errsz) == -1)
		goto out;
	textlen = strlen(text);
	if ((ln = ini_parse_all(text, &x)) != 0) {
		if (ln < 0)
			errf(errbuf, errsz, "credentials file %s: out of memory", path);
		else if (x.err[0])
			errf(errbuf, errsz, "credentials file %s:%d: %s", path, ln,
			     x.err);
		else
			errf(errbuf, errsz, "credentials file %s:%d: syntax error", path,
			     ln);
		goto out;
	}
	if (!x.in_profile) {
		errf(errbuf, errsz, "credentials file %s: no [%s] profile", path,
		     x.profile);
		goto out;
	}
	if (!x.have_ak || !x.have_sk) {
		errf(errbuf, errsz, "credentials file %s: profile [%s] has no %s", path,
		     x.profile,
		     x.have_ak ? "aws_secret_access_key" : "aws_access_key_id");
		goto out;
	}
	strlcpy_chk(t.source, "file", sizeof(t.source));
	*c = t;
	rc = 1;
out:
	if (text) {
		explicit_bzero(text, textlen);
		free(text);
	}
	explicit_bzero(&t, sizeof(t));
	return rc;
}

/* A string member of the IMDS object, checked like any credential. */
static int json_field(json_t *o, const char *key, char *dst, size_t dstsz, char *errbuf,
		      size_t errsz)
{
	json_t *v = json_object_get(o, key);
	char what[64];

	if (!json_is_string(v)) {
		errf(errbuf, errsz, "IMDS credentials: %s is %s", key,
		     v ? "not a string" : "missing");
		return -1;
	}
	/* No NUL inside: json_loadb refuses "\u0000" without JSON_ALLOW_NUL. */
	snprintf(what, sizeof(what), "IMDS credentials: %s", key);
	return creds_field(dst, dstsz, json_string_value(v), json_string_length(v), what,
			   errbuf, errsz);
}

int creds_parse_imds(const char *body, size_t len, struct aws_creds *c, char *errbuf,
		     size_t errsz)
{
	struct aws_creds t;
	json_error_t jerr;
	json_t *root = NULL, *cv;
	char code[32], exp[32];
	int rc = -1;

	memset(&t, 0, sizeof(t));
	if (body == NULL || len == 0) {
		errf(errbuf, errsz, "IMDS credentials: empty body");
		goto out;
	}
	if (len > CREDS_JSON_MAX) {
		errf(errbuf, errsz, "IMDS credentials: body of %zu bytes exceeds %d", len,
		     CREDS_JSON_MAX);
		goto out;
	}
	/* jerr.text quotes the input near the error, which may be the secret:
	 * only the position is reported. */
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		errf(errbuf, errsz, "IMDS credentials: invalid JSON at line %d column %d",
		     jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		errf(errbuf, errsz, "IMDS credentials: not a JSON object");
		goto out;
	}
	if (!json_is_string(cv = json_object_get(root, "Code"))) {
		errf(errbuf, errsz, "IMDS credentials: Code is missing or not a string");
		goto out;
	}
	if (strcmp(json_string_value(cv), "Success") != 0) {
		/* Not a secret, but still untrusted text for a log line. */
		strlcpy_chk(code, json_string_value(cv), sizeof(code));
		for (char *p = code; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
		errf(errbuf, errsz, "IMDS credentials: Code is \"%s\", not \"Success\"",
		     code);
		goto out;
	}
	if (json_field(root, "AccessKeyId", t.access_key_id, sizeof(t.access_key_id),
		       errbuf, errsz) == -1 ||
	    json_field(root, "SecretAccessKey", t.secret_access_key,
		       sizeof(t.secret_access_key), errbuf, errsz) == -1 ||
	    json_field(root, "Token", t.session_token, sizeof(t.session_token), errbuf,
		       errsz) == -1 ||
	    json_field(root, "Expiration", exp, sizeof(exp), errbuf, errsz) == -1)
		goto out;
	if ((t.expiration = creds_parse_time(exp)) == -1) {
		errf(errbuf, errsz,
		     "IMDS credentials: Expiration \"%s\" is not YYYY-MM-DDTHH:MM:SSZ",
		     exp);
		goto out;
	}
	strlcpy_chk(t.source, "instance-role", sizeof(t.source));
	*c = t;
	rc = 0;
out:
	json_decref(root);
	explicit_bzero(&t, sizeof(t));
	return rc;
}

int64_t creds_parse_time(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm, back;
	time_t t;

	/* Only the one form IMDS sends, 2026-11-25T16:00:00Z: strptime alone
	 * would take spaces, one-digit fields and a leap second. The calendar
	 * is libc's (timegm); a date it had to normalise (April 31) was not
	 * one. */
	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return -1;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return -1;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	back = tm;
	t = timegm(&tm);
	if (t < 0 || tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour ||
	    tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
		return -1;
	return (int64_t)t;
}

void creds_redact(const struct aws_creds *c)
{
	/* The access key id is not secret (AWS echoes it in AuthFailure
	 * messages) and naming it helps to tell which key is in use. */
	log_redact_add(c->secret_access_key);
	log_redact_add(c->session_token);
}
