/* sigv4.c — server-side AWS Signature Version 4 verification. The canonical
 * request is rebuilt from what arrived (never from what a client library
 * would have sent), so a signer that canonicalises differently from botocore
 * or libcurl fails here exactly as it would against EC2. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strptime, timegm */
#endif
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "tests/vpcsim/sim.h"

#define SKEW_MAX_S     300 /* EC2 refuses requests signed >5 minutes off */
#define SIGNED_HDR_MAX 32
#define QUERY_ARGS_MAX 256

struct authz {
	char akid[SIM_KEY_MAX];
	char date[16];
	char region[32];
	char service[32];
	char signed_headers[1024];
	char signature[80];
};

static void hexify(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(p, n, md);
	hexify(md, sizeof(md), out);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int olen = 32;

	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out,
	     &olen);
}

/* Copy "Name=value" (value up to ',' or end) when p starts with name. */
static int take(const char *p, const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name), len;

	if (strncmp(p, name, n) != 0)
		return 0;
	p += n;
	len = strcspn(p, ",");
	if (len >= outsz)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	/* Trailing blanks before the comma are not part of the value. */
	while (len > 0 && isspace((unsigned char)out[len - 1]))
		out[--len] = '\0';
	return 1;
}

static int parse_authz(const char *h, struct authz *a, char *why, size_t whysz)
{
	static const char scheme[] = "AWS4-HMAC-SHA256";
	char cred[512];
	int have_c = 0, have_h = 0, have_s = 0;
	char *f[5], *save = NULL, *tok;
	int nf = 0;

	memset(a, 0, sizeof(*a));
	if (strncmp(h, scheme, sizeof(scheme) - 1) != 0 ||
	    !isspace((unsigned char)h[16])) {
		snprintf(why, whysz, "Authorization is not AWS4-HMAC-SHA256");
		return -1;
	}
	for (const char *p = h + 16; *p;) {
		int r = 0;
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if ((r = take(p, "Credential=", cred, sizeof(cred))) != 0)
			have_c = r;
		else if ((r = take(p, "SignedHeaders=", a->signed_headers,
				   sizeof(a->signed_headers))) != 0)
			have_h = r;
		else if ((r = take(p, "Signature=", a->signature,
				   sizeof(a->signature))) != 0)
			have_s = r;
		if (r == -1) {
			snprintf(why, whysz, "Authorization component too long");
			return -1;
		}
		p += strcspn(p, ",");
	}
	if (have_c != 1 || have_h != 1 || have_s != 1) {
		snprintf(why, whysz,
			 "Authorization lacks Credential, SignedHeaders or Signature");
		return -1;
	}
	for (tok = strtok_r(cred, "/", &save); tok && nf < 5;
	     tok = strtok_r(NULL, "/", &save))
		f[nf++] = tok;
	if (nf != 5 || tok != NULL || strcmp(f[4], "aws4_request") != 0 ||
	    strlcpy_chk(a->akid, f[0], sizeof(a->akid)) == -1 ||
	    strlcpy_chk(a->date, f[1], sizeof(a->date)) == -1 ||
	    strlcpy_chk(a->region, f[2], sizeof(a->region)) == -1 ||
	    strlcpy_chk(a->service, f[3], sizeof(a->service)) == -1) {
		snprintf(why, whysz, "malformed Credential scope");
		return -1;
	}
	return 0;
}

/* "20261125T160102Z" -> unix seconds, -1 if malformed. */
static int64_t parse_amz_date(const char *d)
{
	struct tm tm;
	const char *end;

	if (strlen(d) != 16)
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(d, "%Y%m%dT%H%M%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

struct hdr_collect {
	const char *name;
	struct buf *out;
	int found;
	int err;
};

/* Append value trimmed, with runs of blanks folded to one space (SigV4). */
static int append_trimmed(struct buf *b, const char *v)
{
	int space = 0, started = 0;

	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = started;
			continue;
		}
		if (space && buf_append(b, " ", 1) == -1)
			return -1;
		space = 0;
		started = 1;
		if (buf_append(b, v, 1) == -1)
			return -1;
	}
	return 0;
}

static enum MHD_Result collect_hdr(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct hdr_collect *hc = cls;

	if (strcasecmp(key, hc->name) != 0)
		return MHD_YES;
	/* Repeated headers are joined with commas, in arrival order. */
	if (hc->found && buf_append(hc->out, ",", 1) == -1)
		hc->err = 1;
	if (append_trimmed(hc->out, value ? value : "") == -1)
		hc->err = 1;
	hc->found = 1;
	return MHD_YES;
}

/* The canonical headers block for the SignedHeaders list. */
static int canon_headers(struct MHD_Connection *c, const char *list, struct buf *out,
			 int *has_host, char *why, size_t whysz)
{
	char names[1024], *save = NULL, *n;
	int count = 0;

	strlcpy_chk(names, list, sizeof(names));
	*has_host = 0;
	for (n = strtok_r(names, ";", &save); n; n = strtok_r(NULL, ";", &save)) {
		struct hdr_collect hc = {n, out, 0, 0};

		for (const char *p = n; *p; p++)
			if (isupper((unsigned char)*p)) {
				snprintf(why, whysz, "SignedHeaders not lowercase");
				return -1;
			}
		if (++count > SIGNED_HDR_MAX) {
			snprintf(why, whysz, "too many SignedHeaders");
			return -1;
		}
		if (strcmp(n, "host") == 0)
			*has_host = 1;
		if (sim_bprintf(out, "%s:", n) == -1)
			return -1;
		MHD_get_connection_values(c, MHD_HEADER_KIND, collect_hdr, &hc);
		if (!hc.found) {
			snprintf(why, whysz, "signed header %.64s is missing", n);
			return -1;
		}
		if (hc.err || buf_append(out, "\n", 1) == -1)
			return -1;
	}
	return 0;
}

static int uri_encode(struct buf *b, const char *s, int keep_slash)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
		    (keep_slash && ch == '/')) {
			if (buf_append(b, s, 1) == -1)
				return -1;
		} else if (sim_bprintf(b, "%%%02X", ch) == -1) {
			return -1;
		}
	}
	return 0;
}

struct qargs {
	char *kv[QUERY_ARGS_MAX][2];
	size_t n;
	int err;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct qargs *q = cls;
	struct buf k, v;

	if (q->n == QUERY_ARGS_MAX) {
		q->err = 1;
		return MHD_NO;
	}
	buf_init(&k, 4096);
	buf_init(&v, SIM_BODY_MAX);
	if (uri_encode(&k, key, 0) == -1 || uri_encode(&v, value ? value : "", 0) == -1) {
		q->err = 1;
		buf_free(&k);
		buf_free(&v);
		return MHD_NO;
	}
	q->kv[q->n][0] = xstrdup(buf_str(&k));
	q->kv[q->n][1] = xstrdup(buf_str(&v));
	q->n++;
	buf_free(&k);
	buf_free(&v);
	return MHD_YES;
}

static int cmp_arg(const void *a, const void *b)
{
	char *const *x = a, *const *y = b;
	int c = strcmp(x[0], y[0]);

	return c ? c : strcmp(x[1], y[1]);
}

/* Query arguments arrive decoded; re-encode them the SigV4 way and sort. */
static int canon_query(struct MHD_Connection *c, struct buf *out)
{
	struct qargs *q = xcalloc(1, sizeof(*q));
	int rc = -1;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, q);
	if (q->err)
		goto out;
	qsort(q->kv, q->n, sizeof(q->kv[0]), cmp_arg);
	for (size_t i = 0; i < q->n; i++)
		if (sim_bprintf(out, "%s%s=%s", i ? "&" : "", q->kv[i][0], q->kv[i][1]) ==
		    -1)
			goto out;
	rc = 0;
out:
	for (size_t i = 0; i < q->n; i++) {
		free(q->kv[i][0]);
		free(q->kv[i][1]);
	}
	free(q);
	return rc;
}

static int payload_hash(struct sim_req *r, const char *signed_list, char out[65],
			char *why, size_t whysz)
{
	const char *h;

	sha256_hex(r->body.data ? r->body.data : "", r->body.len, out);
	if (strstr(signed_list, "x-amz-content-sha256") == NULL)
		return 0;
	h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "x-amz-content-sha256");
	if (h == NULL || strcmp(h, "UNSIGNED-PAYLOAD") == 0)
		return 0;
	if (strcasecmp(h, out) != 0) {
		snprintf(why, whysz, "x-amz-content-sha256 does not match the body");
		return -1;
	}
	strlcpy_chk(out, h, 65);
	return 0;
}

static int string_to_sign(struct sim_req *r, const struct authz *a, const char *amzdate,
			  struct buf *sts, char *why, size_t whysz)
{
	struct buf creq;
	char hash[65], phash[65];
	int has_host, rc = -1;

	buf_init(&creq, 2 * SIM_BODY_MAX);
	if (payload_hash(r, a->signed_headers, phash, why, whysz) == -1)
		goto out;
	if (sim_bprintf(&creq, "%s\n", r->method) == -1 ||
	    uri_encode(&creq, r->url, 1) == -1 || buf_append(&creq, "\n", 1) == -1 ||
	    canon_query(r->conn, &creq) == -1 || buf_append(&creq, "\n", 1) == -1)
		goto toolong;
	if (canon_headers(r->conn, a->signed_headers, &creq, &has_host, why, whysz) == -1)
		goto out;
	if (!has_host) {
		snprintf(why, whysz, "host is not a signed header");
		goto out;
	}
	if (sim_bprintf(&creq, "\n%s\n%s", a->signed_headers, phash) == -1)
		goto toolong;
	sha256_hex(creq.data, creq.len, hash);
	if (sim_bprintf(sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amzdate,
			a->date, a->region, a->service, hash) == -1)
		goto toolong;
	rc = 0;
	goto out;
toolong:
	snprintf(why, whysz, "canonical request too long");
out:
	buf_free(&creq);
	return rc;
}

static void signature(const char *secret, const struct authz *a, const char *sts,
		      char out[65])
{
	unsigned char k[32];
	char seed[SIM_KEY_MAX + 8];

	snprintf(seed, sizeof(seed), "AWS4%s", secret);
	hmac(seed, strlen(seed), a->date, k);
	hmac(k, 32, a->region, k);
	hmac(k, 32, a->service, k);
	hmac(k, 32, "aws4_request", k);
	hmac(k, 32, sts, k);
	hexify(k, 32, out);
	OPENSSL_cleanse(seed, sizeof(seed));
}

/* The secret for akid and, for temporary keys, the session token check. */
static const char *find_secret(struct sim *s, struct sim_req *r, const char *akid,
			       const struct sim_cred **cred, enum sigv4_result *res,
			       char *why, size_t whysz)
{
	const struct sim_tmpcred *t;
	const char *tok;

	*cred = NULL;
	*res = SIGV4_UNKNOWN_KEY;
	for (size_t i = 0; i < s->st.ncreds; i++)
		if (strcmp(s->st.creds[i].akid, akid) == 0) {
			*cred = &s->st.creds[i];
			return s->st.creds[i].secret;
		}
	t = imds_tmpcred_find(s, akid);
	if (t == NULL) {
		snprintf(why, whysz, "unknown access key");
		return NULL;
	}
	tok =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "x-amz-security-token");
	if (tok == NULL || strlen(tok) != strlen(t->token) ||
	    CRYPTO_memcmp(tok, t->token, strlen(t->token)) != 0) {
		snprintf(why, whysz, "%s",
			 tok ? "wrong security token" : "no security token");
		return NULL;
	}
	if (sim_wall_s(s) >= t->expires) {
		snprintf(why, whysz, "temporary credentials expired");
		*res = SIGV4_TOKEN_EXPIRED;
		return NULL;
	}
	return t->secret;
}

enum sigv4_result sigv4_verify(struct sim *s, struct sim_req *r, const char *service,
			       const struct sim_cred **cred, char *akid, size_t akidsz,
			       char *why, size_t whysz)
{
	struct authz a;
	struct buf sts;
	const char *h, *amzdate, *secret;
	char sig[65];
	int64_t t = -1;
	enum sigv4_result rc = SIGV4_AUTH;

	akid[0] = '\0';
	buf_init(&sts, 4096);
	h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL) {
		snprintf(why, whysz, "no Authorization header");
		goto out;
	}
	if (parse_authz(h, &a, why, whysz) == -1)
		goto out;
	strlcpy_chk(akid, a.akid, akidsz);
	amzdate = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "x-amz-date");
	if (amzdate == NULL || (t = parse_amz_date(amzdate)) == -1 ||
	    strncmp(amzdate, a.date, 8) != 0 || strlen(a.date) != 8) {
		snprintf(why, whysz, "missing or malformed X-Amz-Date");
		goto out;
	}
	if (strcmp(a.region, s->st.region) != 0 || strcmp(a.service, service) != 0) {
		snprintf(why, whysz, "credential scope %.32s/%.32s, want %s/%s", a.region,
			 a.service, s->st.region, service);
		goto out;
	}
	enum sigv4_result keyres = SIGV4_OK;
	if ((secret = find_secret(s, r, a.akid, cred, &keyres, why, whysz)) == NULL) {
		rc = keyres;
		goto out;
	}
	if (string_to_sign(r, &a, amzdate, &sts, why, whysz) == -1)
		goto out;
	signature(secret, &a, buf_str(&sts), sig);
	if (strlen(a.signature) != 64 || CRYPTO_memcmp(sig, a.signature, 64) != 0) {
		snprintf(why, whysz, "signature does not match");
		goto out;
	}
	/* Real time: curl signs with the real clock, fake clock or not. */
	if (t < wall_s() - SKEW_MAX_S || t > wall_s() + SKEW_MAX_S) {
		snprintf(why, whysz, "X-Amz-Date %s is more than 5 minutes off", amzdate);
		rc = SIGV4_EXPIRED;
		goto out;
	}
	rc = SIGV4_OK;
out:
	buf_free(&sts);
	return rc;
}
