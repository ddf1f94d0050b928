/* webcfg.c — the Prometheus exporter toolkit's web.config, the part the
 * metrics endpoint serves with (see webcfg.h). YAML is libyaml's: quoting,
 * flow style, comments, anchors and the rest mean what they mean to the
 * toolkit's own reader; this file only walks the loaded document. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/log.h"
#include "lib/util.h"
#include "netmon/webcfg.h"

struct walk {
	const char *path;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
};

__attribute__((format(printf, 3, 4))) static int
fail(struct walk *w, const yaml_node_t *at, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at)
		snprintf(w->err, w->errlen, "%s:%zu: %s", w->path,
			 (size_t)at->start_mark.line + 1, msg);
	else
		snprintf(w->err, w->errlen, "%s: %s", w->path, msg);
	return -1;
}

/* The text of a scalar node, or NULL (not a scalar, or a NUL inside). */
static const char *scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* Printable for an error message: at most 64 bytes, control bytes as '?'. */
static const char *show(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len && i < 64; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

int nmw_bcrypt_ok(const char *hash, char *why, size_t whylen)
{
	static const char alphabet[] =
	    "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	int cost;

	/* $2a$ / $2b$ / $2y$, two digits of cost, $, 22 of salt, 31 of hash. */
	if (strlen(hash) != 60 || hash[0] != '$' || hash[1] != '2' ||
	    strchr("aby", hash[2]) == NULL || hash[3] != '$' || hash[4] < '0' ||
	    hash[4] > '9' || hash[5] < '0' || hash[5] > '9' || hash[6] != '$' ||
	    strspn(hash + 7, alphabet) != 53) {
		snprintf(
		    why, whylen,
		    "not a bcrypt hash ($2y$10$ and 53 characters of [./A-Za-z0-9])");
		return 0;
	}
	cost = (hash[4] - '0') * 10 + (hash[5] - '0');
	if (cost < 4 || cost > NMW_COST_MAX) {
		snprintf(why, whylen,
			 "bcrypt cost %d: want 4 to %d (each new scrape credential "
			 "costs 2^cost rounds in the daemon's event loop)",
			 cost, NMW_COST_MAX);
		return 0;
	}
	return 1;
}

static int users(struct walk *w, const yaml_node_t *map, struct nmw_cfg *out)
{
	char b1[80], why[160];

	if (map->type != YAML_MAPPING_NODE)
		return fail(w, map, "basic_auth_users: want 'user: bcrypt-hash' entries");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *name = scalar(k), *hash = scalar(v);

		if (name == NULL || *name == '\0' || strlen(name) > NMW_NAME_MAX ||
		    strchr(name, ':'))
			return fail(w, k ? k : map,
				    "basic_auth_users: a user name is 1 to %d bytes of "
				    "text without ':'",
				    NMW_NAME_MAX);
		if (hash == NULL)
			return fail(w, v ? v : k,
				    "basic_auth_users: %s: want a bcrypt hash",
				    show(name, b1, sizeof(b1)));
		if (!nmw_bcrypt_ok(hash, why, sizeof(why)))
			return fail(w, v, "basic_auth_users: %s: %s",
				    show(name, b1, sizeof(b1)), why);
		for (size_t i = 0; i < out->nusers; i++)
			if (strcmp(out->users[i].name, name) == 0)
				return fail(w, k, "basic_auth_users: %s twice",
					    show(name, b1, sizeof(b1)));
		if (out->nusers == NMW_USERS_MAX)
			return fail(w, k, "basic_auth_users: more than %d users",
				    NMW_USERS_MAX);
		out->users = xgrow(out->users, out->nusers, sizeof(*out->users));
		out->users[out->nusers].name = xstrdup(name);
		out->users[out->nusers].hash = xstrdup(hash);
		out->nusers++;
	}
	if (out->nusers == 0)
		return fail(w, map, "basic_auth_users: no users");
	return 0;
}

/* file, absolute or against the directory of w->path. */
static char *resolve(struct walk *w, const char *file)
{
	const char *slash = strrchr(w->path, '/');
	char *r;

	if (file[0] == '/' || slash == NULL)
		return xstrdup(file);
	if (asprintf(&r, "%.*s/%s", (int)(slash - w->path), w->path, file) == -1)
		fatalx("out of memory");
	return r;
}

static int tls(struct walk *w, const yaml_node_t *map, struct nmw_cfg *out)
{
	char b1[80];

	if (map->type != YAML_MAPPING_NODE)
		return fail(w, map, "tls_server_config: want cert_file and key_file");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *key = scalar(k), *val = scalar(v);
		char **slot;

		if (key && strcmp(key, "cert_file") == 0)
			slot = &out->cert_file;
		else if (key && strcmp(key, "key_file") == 0)
			slot = &out->key_file;
		else
			return fail(w, k ? k : map,
				    "tls_server_config: %s is not supported here (only "
				    "cert_file and key_file)",
				    key ? show(key, b1, sizeof(b1)) : "this key");
		if (*slot)
			return fail(w, k, "tls_server_config: %s twice", key);
		if (val == NULL || *val == '\0' || strlen(val) >= 4096)
			return fail(w, v ? v : k,
				    "tls_server_config: %s: want a file name", key);
		*slot = resolve(w, val);
	}
	if (!out->cert_file != !out->key_file || out->cert_file == NULL)
		return fail(w, map,
			    "tls_server_config: cert_file and key_file go together");
	return 0;
}

static int walk_root(struct walk *w, int flags, struct nmw_cfg *out)
{
	const yaml_node_t *root = yaml_document_get_root_node(w->doc);
	int seen_users = 0, seen_tls = 0;
	char b1[80];

	if (root == NULL)
		return fail(w, NULL,
			    "empty: want basic_auth_users (and tls_server_config)");
	if (root->type != YAML_MAPPING_NODE)
		return fail(w, root,
			    "want a Prometheus web.config: 'basic_auth_users:' then "
			    "'  user: bcrypt-hash' lines");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *key = scalar(k);

		if (v == NULL)
			return fail(w, k, "no value");
		if (key && strcmp(key, "basic_auth_users") == 0) {
			if (seen_users++)
				return fail(w, k, "basic_auth_users twice");
			if (users(w, v, out) == -1)
				return -1;
		} else if (key && strcmp(key, "tls_server_config") == 0) {
			if (flags & NMW_NO_TLS)
				return fail(
				    w, k,
				    "tls_server_config: this file only names users "
				    "(basic_auth_users_file); for TLS set "
				    "web_config_file or tls_cert_file and "
				    "tls_key_file");
			if (seen_tls++)
				return fail(w, k, "tls_server_config twice");
			if (tls(w, v, out) == -1)
				return -1;
		} else if (key && strcmp(key, "http_server_config") == 0) {
			return fail(w, k, "http_server_config is not supported here");
		} else {
			return fail(w, k ? k : root,
				    "unknown key '%s' (a web.config here has "
				    "basic_auth_users and tls_server_config)",
				    key ? show(key, b1, sizeof(b1)) : "?");
		}
	}
	return 0;
}

int nmw_parse(const char *text, size_t len, const char *path, int flags,
	      struct nmw_cfg *out, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc, more;
	struct walk w = {.path = path, .err = err, .errlen = errlen, .doc = &doc};
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > NMW_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, NMW_FILE_MAX);
		return -1;
	}
	if (!yaml_parser_initialize(&parser))
		fatalx("out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu: %s%s%s", path,
			 (size_t)parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "not YAML",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -1;
	}
	rc = walk_root(&w, flags, out);
	/* One document: a second one would be ignored silently. */
	if (rc == 0) {
		if (!yaml_parser_load(&parser, &more)) {
			rc = fail(&w, NULL, "line %zu: %s",
				  (size_t)parser.problem_mark.line + 1,
				  parser.problem ? parser.problem : "not YAML");
		} else {
			if (yaml_document_get_root_node(&more))
				rc = fail(&w, yaml_document_get_root_node(&more),
					  "a second YAML document");
			yaml_document_delete(&more);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc == 0 && out->nusers == 0 && out->cert_file == NULL)
		rc = fail(&w, NULL, "neither basic_auth_users nor tls_server_config");
	if (rc == -1)
		nmw_free(out);
	return rc;
}

int nmw_load(const char *path, int flags, struct nmw_cfg *out, char *err, size_t errlen)
{
	char *text = xmalloc(NMW_FILE_MAX + 1);
	ssize_t n = read_file_capped(path, 0, text, NMW_FILE_MAX);
	int rc;

	memset(out, 0, sizeof(*out));
	if (n == -1) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == EFBIG ? "larger than 64 KiB" : strerror(errno));
		free(text);
		return -1;
	}
	rc = nmw_parse(text, (size_t)n, path, flags, out, err, errlen);
	explicit_bzero(text, (size_t)n);
	free(text);
	return rc;
}

void nmw_free(struct nmw_cfg *c)
{
	for (size_t i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		free(c->users[i].hash);
	}
	free(c->users);
	free(c->cert_file);
	free(c->key_file);
	memset(c, 0, sizeof(*c));
}
