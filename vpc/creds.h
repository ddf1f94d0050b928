/* creds.h — AWS credentials: the sources of the chain, parsed. Fetching the
 * instance role over IMDS lives in imds.c; the chain order in aws.c. */
#ifndef VPCF_CREDS_H
#define VPCF_CREDS_H

#include <stddef.h>
#include <stdint.h>

struct aws_creds {
	char access_key_id[128];
	char secret_access_key[128];
	char session_token[4096]; /* "" for long-term keys */
	int64_t expiration;	  /* unix seconds; 0 = does not expire */
	char source[32]; /* "environment", "file", "instance-role", "assume-role" */
};

/* Copy one credential of len bytes into dst. Keys and tokens are printable
 * ASCII without spaces; anything else (a newline would split an HTTP
 * header) is refused. 0, or -1 with a message naming what, never the
 * value. */
int creds_field(char *dst, size_t dstsz, const char *val, size_t len, const char *what,
		char *errbuf, size_t errsz);
/* From AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
 * 1 found, 0 not set, -1 half set (logged). */
int creds_from_env(struct aws_creds *c);
/* From an AWS shared-credentials file (INI, inih), section profile.
 * Refused (-1) unless a regular file of mode 0600 or 0400 (no group/other
 * bits). 1 found, -1 error with reason in errbuf (never the secret). */
int creds_from_file(const char *path, const char *profile, struct aws_creds *c,
		    char *errbuf, size_t errsz);
/* Read a regular, private file (mode 0600 or 0400: no group or other bits)
 * of at most CREDS_FILE_MAX bytes into a NUL-terminated buffer (*out, the
 * caller wipes and frees it); what names the file in errors ("credentials
 * file"). 0, or -1 with the reason in errbuf. */
int creds_read_private(const char *path, const char *what, char **out, char *errbuf,
		       size_t errsz);
/* A password file (guard_password_file, etcd_password_file, ...): a private
 * file as creds_read_private, whose first line is the password, into *out
 * (the caller wipes and frees it) and registered with the log redactor. 0,
 * or -1 with the reason in errbuf (an empty first line is one). */
int creds_read_password(const char *path, const char *what, char **out, char *errbuf,
			size_t errsz);
/* Parse the IMDS security-credentials JSON (jansson): Code "Success",
 * AccessKeyId, SecretAccessKey, Token, Expiration. 0 or -1 with errbuf. */
int creds_parse_imds(const char *body, size_t len, struct aws_creds *c, char *errbuf,
		     size_t errsz);
/* "2026-11-25T16:00:00Z" -> unix seconds, -1 if malformed. */
int64_t creds_parse_time(const char *iso8601);
/* Register every secret of c with the log redactor. */
void creds_redact(const struct aws_creds *c);

#endif
