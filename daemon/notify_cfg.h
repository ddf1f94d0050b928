/* notify_cfg.h — the notifications' configuration: [mackerel] (graph
 * annotations) and [webhook] (a JSON message per transition), and which URLs
 * a notification may go to. Parsed by the INI engine (lib/ini.h); cfg.c
 * lists the sections. */
#ifndef VPCF_NOTIFY_CFG_H
#define VPCF_NOTIFY_CFG_H

#include <limits.h>
#include <stddef.h>

#include "lib/ini.h"
#include "lib/url.h"

/* Mackerel graph annotations on each failover; off when api_key_file is "". */
#define NTF_ROLES_MAX 16
struct ntf_mackerel_cfg {
	char api_key_file[PATH_MAX]; /* holds the API key; mode 0600/0400 */
	char service[INI_NAME_MAX];  /* required with api_key_file */
	char roles[NTF_ROLES_MAX][INI_NAME_MAX];
	size_t nroles;
	char api_url[URL_MAX]; /* default https://api.mackerelio.com */
	int key_line;	       /* where api_key_file was set, for messages */
};

/* A JSON webhook (Slack-compatible "text"); off when url is "". */
struct ntf_webhook_cfg {
	char url[URL_MAX];
};

/* [mackerel] and its keys (struct ntf_mackerel_cfg). */
extern const struct ini_section ntf_mackerel_section;
/* [webhook] and its keys (struct ntf_webhook_cfg). */
extern const struct ini_section ntf_webhook_section;

/* [mackerel] needs a service once it has a key: errors at its line. */
void ntf_mackerel_check(struct ini *x, const struct ntf_mackerel_cfg *m);
/* May a notification go to url: https, or http to a loopback host only
 * (127.0.0.0/8, ::1, localhost)? 0, or -1 with the reason in why. */
int ntf_url_check(const char *url, char *why, size_t whylen);

#endif
