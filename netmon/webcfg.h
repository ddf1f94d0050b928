/* webcfg.h — the metrics endpoint's web configuration file: the Prometheus
 * exporter toolkit's web.config (YAML, read with libyaml), the part of it
 * that applies here: tls_server_config's cert_file and key_file, and
 * basic_auth_users (user: bcrypt hash). Any other key is refused, naming
 * its line, rather than ignored. */
#ifndef VPCF_WEBCFG_H
#define VPCF_WEBCFG_H

#include <stddef.h>

#define NMW_FILE_MAX  (64 * 1024) /* a larger web.config is refused */
#define NMW_USERS_MAX 64	  /* basic_auth_users entries */
#define NMW_NAME_MAX  128	  /* bytes of a user name */
/* bcrypt's cost is 2^cost rounds, spent in the daemon's event loop on each
 * scrape with new credentials (a wrong password is never cached): above
 * this the file is refused. 12 took 0.2 s here (10: 50 ms; medians of 5). */
#define NMW_COST_MAX 12

struct nmw_user {
	char *name;
	char *hash; /* bcrypt, "$2y$10$" and 53 more */
};

struct nmw_cfg {
	char *cert_file; /* tls_server_config: absolute, or relative to the file's
			    directory (as the exporter toolkit reads it) */
	char *key_file;
	struct nmw_user *users; /* basic_auth_users, in file order */
	size_t nusers;
};

/* Parse text (len bytes, a web.config read from path, which errors name
 * and relative paths resolve against) into *out. NMW_NO_TLS refuses
 * tls_server_config (a file that only names users). 0; or -1 with
 * "PATH:LINE: what" in err, and *out empty. */
#define NMW_NO_TLS 1
int nmw_parse(const char *text, size_t len, const char *path, int flags,
	      struct nmw_cfg *out, char *err, size_t errlen);
/* nmw_parse on the file at path (at most NMW_FILE_MAX bytes). */
int nmw_load(const char *path, int flags, struct nmw_cfg *out, char *err, size_t errlen);
/* Free what nmw_parse filled; *c is empty after. */
void nmw_free(struct nmw_cfg *c);
/* Is hash a bcrypt hash ($2a$, $2b$ or $2y$, cost 04 to NMW_COST_MAX, 53
 * characters of its alphabet)? 1, or 0 with the reason in why. */
int nmw_bcrypt_ok(const char *hash, char *why, size_t whylen);

#endif
