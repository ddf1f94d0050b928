/* http.h — asynchronous HTTP requests on libcurl's multi-socket API, driven
 * by the ev loop (the pattern of curl's docs/examples/ephiperfifo.c). One
 * multi handle per process, so connections are reused across requests. */
#ifndef VPCF_HTTP_H
#define VPCF_HTTP_H

#include <stdint.h>

#include "lib/util.h"

#define HTTP_BODY_MAX (4 * 1024 * 1024)

struct http_req;
typedef void (*http_done_fn)(struct http_req *r, void *arg);
/* Streaming mode: one piece of the response body as it arrives (pieces
 * split anywhere, not on the sender's message boundaries); 0 goes on, -1
 * aborts the transfer (done then runs with an error). */
typedef int (*http_chunk_fn)(struct http_req *r, const char *data, size_t len, void *arg);

/* Set up the multi handle; ca_file may be "" or NULL. 0 or -1. */
int http_init(const char *ca_file, unsigned max_connections);
void http_fini(void);

/* A new request; url is copied. Free with http_req_free (also in done). */
struct http_req *http_req_new(const char *method, const char *url);
/* Add a request header ("Name: value"); copied. */
void http_req_header(struct http_req *r, const char *header);
/* Set the body; copied. */
void http_req_body(struct http_req *r, const char *body, size_t len);
/* Sign with SigV4 through CURLOPT_AWS_SIGV4; provider like
 * "aws:amz:us-east-1:ec2". Secrets are copied and wiped on free. */
void http_req_sigv4(struct http_req *r, const char *provider, const char *akid,
		    const char *secret);
/* Cap the response body (default HTTP_BODY_MAX); larger fails the request. */
void http_req_limit(struct http_req *r, size_t max_body);
/* Stream the body to fn (arg: the one given to http_req_start) instead of
 * buffering it: for long-lived responses (etcd's watch). http_req_body_text
 * is then empty; the HTTP status is known from the first piece on
 * (http_req_status_now). */
void http_req_stream(struct http_req *r, http_chunk_fn fn);
/* The status of a running request (0 until its headers arrived). */
long http_req_status_now(struct http_req *r);
/* Verify this request's server with the CAs in ca_file instead of the
 * process's (http_init); copied. */
void http_req_ca(struct http_req *r, const char *ca_file);
/* Present a client certificate: cert_file (PEM, read by curl) and its
 * private key key_pem[0..key_len) (PEM, from memory: the caller read and
 * checked the private file); both copied, the key wiped on free. */
void http_req_client_cert(struct http_req *r, const char *cert_file, const char *key_pem,
			  size_t key_len);
/* Whole-request timeout in ms (connect included). */
void http_req_timeout(struct http_req *r, uint64_t ms);
/* Start; done runs from the event loop, never from inside this call. */
int http_req_start(struct http_req *r, http_done_fn done, void *arg);
/* Abort a started request without calling done, and free it. */
void http_req_cancel(struct http_req *r);
void http_req_free(struct http_req *r);

/* Results, valid in done: HTTP status (0 if none), transport error text ("" if
 * the exchange completed), body, and elapsed ms. */
long http_req_status(const struct http_req *r);
const char *http_req_error(const struct http_req *r);
/* 1 if the transport failure cannot get better by retrying: the server's
 * certificate does not verify, the body is over the cap, a bad URL. */
int http_req_permanent(const struct http_req *r);
const char *http_req_body_text(const struct http_req *r, size_t *len);
uint64_t http_req_elapsed(const struct http_req *r);

#endif
