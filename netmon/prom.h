/* prom.h — the Prometheus exporter: the metrics snapshot (netmon/netmon.h)
 * as text exposition format 0.0.4, and the /metrics HTTP endpoint
 * (libmicrohttpd driven by the daemon's event loop, no thread of its own). */
#ifndef VPCF_PROM_H
#define VPCF_PROM_H

#include <jansson.h>

#define NMP_CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"
#define NMP_TEXT_MAX	   (8 * 1024 * 1024) /* a larger rendering is refused */
#define NMP_CONN_LIMIT	   16		     /* concurrent HTTP connections */
#define NMP_CONN_TIMEOUT_S 10		     /* idle connections are closed */

/* Render snapshot as Prometheus text: every family with HELP and TYPE,
 * families without samples left out, no duplicate series, label values
 * escaped. Malformed parts of the snapshot are skipped. Caller frees; NULL
 * only if the text would exceed NMP_TEXT_MAX. */
char *nmp_render(json_t *snapshot);

#define NMP_USERS_MAX 64	  /* basic_auth_users_file entries */
#define NMP_PEM_MAX   (64 * 1024) /* a larger certificate or key file is refused */
#define NMP_REALM     "vpc-failover"

/* What the next nmp_serve uses: TLS with cert_file (PEM, the chain) and
 * key_file (PEM; must be private, private_file_check), and basic
 * authentication against users_file, lines of "user: bcrypt-hash" (the
 * entries of a Prometheus web.config's basic_auth_users; "#" comments and
 * a "basic_auth_users:" line are skipped). NULL or "" leaves that part
 * off. 0, or -1 logged. */
int nmp_secure(const char *cert_file, const char *key_file, const char *users_file);
/* Serve GET /metrics on listen ("127.0.0.1:9641", "[::1]:9641"; port 0
 * picks one) from the ev loop; each scrape renders snapshot(). 0, or -1
 * logged (bind failure, bad address). */
int nmp_serve(const char *listen, json_t *(*snapshot)(void));
/* The bound port (0 when not serving). */
int nmp_port(void);
/* Close the endpoint and every connection; safe when not serving. */
void nmp_stop(void);

#endif
