/* prom.h — the Prometheus exporter: the metrics snapshot (netmon/netmon.h)
 * as text exposition format 0.0.4, and the /metrics HTTP endpoint
 * (libmicrohttpd driven by the daemon's event loop, no thread of its own). */
#ifndef VPCF_PROM_H
#define VPCF_PROM_H

#include <jansson.h>

#include "netmon/nm_cfg.h"

#define NMP_CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"
#define NMP_TEXT_MAX	   (8 * 1024 * 1024) /* a larger rendering is refused */
#define NMP_CONN_LIMIT	   16		     /* concurrent HTTP connections */
#define NMP_CONN_TIMEOUT_S 10		     /* idle connections are closed */

/* Render snapshot as Prometheus text: every family with HELP and TYPE,
 * families without samples left out, no duplicate series, label values
 * escaped. Malformed parts of the snapshot are skipped. Caller frees; NULL
 * only if the text would exceed NMP_TEXT_MAX. */
char *nmp_render(json_t *snapshot);

#define NMP_PEM_MAX (64 * 1024) /* a larger certificate or key file is refused */
#define NMP_REALM   "vpc-failover"

/* What the next nmp_serve uses, from [metrics]: TLS with a certificate
 * (PEM, the chain) and key (PEM; must be private, private_file_check), and
 * basic authentication against bcrypt hashes: web_config_file (a Prometheus
 * web.config, netmon/webcfg.h), or tls_cert_file, tls_key_file and
 * basic_auth_users_file (a web.config with basic_auth_users alone). A
 * listener beyond loopback without both is refused unless
 * allow_insecure_remote. 0, or -1 logged. */
int nmp_secure(const struct nmp_cfg *m);
/* Serve GET /metrics on listen ("127.0.0.1:9641", "[::1]:9641"; port 0
 * picks one) from the ev loop; each scrape renders snapshot(). 0, or -1
 * logged (bind failure, bad address). */
int nmp_serve(const char *listen, json_t *(*snapshot)(void));
/* The bound port (0 when not serving). */
int nmp_port(void);
/* Close the endpoint and every connection; safe when not serving. */
void nmp_stop(void);

#endif
