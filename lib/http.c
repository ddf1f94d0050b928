/* http.c — libcurl multi-socket on epoll + timerfd. curl tells us which
 * sockets to watch (socket callback) and when to wake it (timer callback);
 * we call curl_multi_socket_action from the ev loop and collect finished
 * transfers with curl_multi_info_read. Nothing here blocks. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/version.h"
#include "lib/http.h"

struct http_req {
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	char *body;
	char *userpwd;
	struct buf resp;
	char errbuf[CURL_ERROR_SIZE];
	char error[CURL_ERROR_SIZE + 64];
	long status;
	uint64_t started;
	uint64_t elapsed;
	http_done_fn done;
	http_chunk_fn chunk; /* streaming mode: NULL = buffer the body */
	void *arg;
	char *ca;
	char *cert;
	char *key; /* the client key's PEM, wiped on free */
	size_t key_len;
	int running;
	int too_big;
	CURLcode rc;
};

static CURLM *multi;
static uint64_t curl_timer;
static char *ca_path;
/* vpc-failover/VERSION: EC2's and the endpoints' logs tell our releases apart. */
static char user_agent[64];

static void check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct http_req *r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		CURLcode rc = m->data.result;
		r->rc = rc;
		curl_multi_remove_handle(multi, r->easy);
		r->running = 0;
		r->elapsed = ev_now() - r->started;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
		if (rc == CURLE_WRITE_ERROR && r->too_big)
			snprintf(r->error, sizeof(r->error),
				 "response body over %zu bytes", r->resp.limit);
		else if (rc != CURLE_OK)
			snprintf(r->error, sizeof(r->error), "%s",
				 r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
		if (rc != CURLE_OK)
			r->status = 0;
		r->done(r, r->arg);
	}
}

static void on_socket_event(int fd, uint32_t events, void *arg)
{
	int action = 0, running;

	if (events & EPOLLIN)
		action |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		action |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		action |= CURL_CSELECT_ERR;
	curl_multi_socket_action(multi, fd, action, &running);
	check_done();
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	if (what == CURL_POLL_REMOVE) {
		ev_fd_del(s);
		return 0;
	}
	uint32_t events = 0;
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	return ev_fd_set(s, events, on_socket_event, NULL) == 0 ? 0 : -1;
}

static void on_curl_timer(void *arg)
{
	int running;

	curl_timer = 0;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	if (curl_timer)
		ev_timer_cancel(curl_timer);
	curl_timer = 0;
	/* -1 deletes; 0 means "call me soon", but never from inside this callback. */
	if (timeout_ms >= 0)
		curl_timer =
		    ev_timer_add(ev_from_real((uint64_t)timeout_ms), on_curl_timer, NULL);
	return 0;
}

int http_init(const char *ca_file, unsigned max_connections)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("curl_global_init failed");
		return -1;
	}
	multi = curl_multi_init();
	if (multi == NULL) {
		log_warnx("curl_multi_init failed");
		return -1;
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_connections);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)max_connections);
	ca_path = ca_file && *ca_file ? xstrdup(ca_file) : NULL;
	snprintf(user_agent, sizeof(user_agent), "vpc-failover/%s", vpcf_version);
	return 0;
}

void http_fini(void)
{
	if (curl_timer)
		ev_timer_cancel(curl_timer);
	curl_timer = 0;
	if (multi)
		curl_multi_cleanup(multi);
	multi = NULL;
	free(ca_path);
	ca_path = NULL;
	curl_global_cleanup();
}

static size_t write_cb(char *p, size_t size, size_t n, void *userp)
{
	struct http_req *r = userp;

	if (r->chunk)
		return r->chunk(r, p, size * n, r->arg) == 0 ? size * n : 0;
	/* Returning less than given aborts the transfer with CURLE_WRITE_ERROR. */
	if (buf_append(&r->resp, p, size * n) == -1) {
		r->too_big = 1;
		return 0;
	}
	return size * n;
}

struct http_req *http_req_new(const char *method, const char *url)
{
	struct http_req *r = xcalloc(1, sizeof(*r));

	r->easy = curl_easy_init();
	if (r->easy == NULL)
		fatalx("curl_easy_init failed");
	r->url = xstrdup(url);
	buf_init(&r->resp, HTTP_BODY_MAX);
	curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
	curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* Never configurable: a route-rewriting client must know its peer. */
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_path)
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, ca_path);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, user_agent);
	curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(r->easy, CURLOPT_NOBODY, 1L);
	return r;
}

void http_req_header(struct http_req *r, const char *header)
{
	struct curl_slist *l = curl_slist_append(r->headers, header);
	if (l == NULL)
		fatalx("curl_slist_append failed");
	r->headers = l;
}

void http_req_body(struct http_req *r, const char *body, size_t len)
{
	free(r->body);
	r->body = xmalloc(len + 1);
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)len);
}

void http_req_sigv4(struct http_req *r, const char *provider, const char *akid,
		    const char *secret)
{
	if (r->userpwd) {
		explicit_bzero(r->userpwd, strlen(r->userpwd));
		free(r->userpwd);
	}
	r->userpwd = xasprintf("%s:%s", akid, secret);
	curl_easy_setopt(r->easy, CURLOPT_AWS_SIGV4, provider);
	curl_easy_setopt(r->easy, CURLOPT_USERPWD, r->userpwd);
}

void http_req_stream(struct http_req *r, http_chunk_fn fn)
{
	r->chunk = fn;
}

long http_req_status_now(struct http_req *r)
{
	long st = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

void http_req_ca(struct http_req *r, const char *ca_file)
{
	free(r->ca);
	r->ca = xstrdup(ca_file);
	curl_easy_setopt(r->easy, CURLOPT_CAINFO, r->ca);
}

void http_req_client_cert(struct http_req *r, const char *cert_file, const char *key_pem,
			  size_t key_len)
{
	struct curl_blob blob;

	free(r->cert);
	r->cert = xstrdup(cert_file);
	if (r->key) {
		explicit_bzero(r->key, r->key_len);
		free(r->key);
	}
	r->key = xmalloc(key_len + 1);
	memcpy(r->key, key_pem, key_len);
	r->key_len = key_len;
	blob.data = r->key;
	blob.len = key_len;
	blob.flags = CURL_BLOB_NOCOPY; /* ours, so that it is wiped */
	curl_easy_setopt(r->easy, CURLOPT_SSLCERT, r->cert);
	curl_easy_setopt(r->easy, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(r->easy, CURLOPT_SSLKEY_BLOB, &blob);
	curl_easy_setopt(r->easy, CURLOPT_SSLKEYTYPE, "PEM");
}

void http_req_limit(struct http_req *r, size_t max_body)
{
	r->resp.limit = max_body;
}

void http_req_timeout(struct http_req *r, uint64_t ms)
{
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)(ms ? ms : 1));
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(ms ? ms : 1));
}

int http_req_start(struct http_req *r, http_done_fn done, void *arg)
{
	if (r->headers)
		curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	r->done = done;
	r->arg = arg;
	r->started = ev_now();
	r->status = 0;
	r->error[0] = r->errbuf[0] = '\0';
	r->too_big = 0;
	buf_reset(&r->resp);
	if (curl_multi_add_handle(multi, r->easy) != CURLM_OK) {
		log_warnx("curl_multi_add_handle failed for %s", r->url);
		return -1;
	}
	r->running = 1;
	return 0;
}

void http_req_cancel(struct http_req *r)
{
	http_req_free(r);
}

void http_req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	if (r->running)
		curl_multi_remove_handle(multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	if (r->userpwd) {
		explicit_bzero(r->userpwd, strlen(r->userpwd));
		free(r->userpwd);
	}
	free(r->url);
	free(r->ca);
	free(r->cert);
	if (r->key) {
		explicit_bzero(r->key, r->key_len);
		free(r->key);
	}
	free(r->body);
	buf_free(&r->resp);
	free(r);
}

long http_req_status(const struct http_req *r)
{
	return r->status;
}

int http_req_permanent(const struct http_req *r)
{
	switch (r->rc) {
	case CURLE_PEER_FAILED_VERIFICATION: /* the certificate does not verify */
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return 1;
	case CURLE_WRITE_ERROR:
		return r->too_big;
	default:
		return 0;
	}
}

const char *http_req_error(const struct http_req *r)
{
	return r->error;
}

const char *http_req_body_text(const struct http_req *r, size_t *len)
{
	if (len)
		*len = r->resp.len;
	return r->resp.data ? r->resp.data : "";
}

uint64_t http_req_elapsed(const struct http_req *r)
{
	return r->elapsed;
}
