/* fuzz_imds — IMDSv2 answers to vpc/imds.c's identity sequence (token, then
 * instance id, region, AZ, MAC and the primary ENI), or, when the input
 * starts with 'R', to vpc/auth.c's instance-role fetch (token, the role
 * listing, the role's credentials JSON). HTTP is stubbed here:
 * the input is a list of answers, each a status byte (200, or 401 / 404 when
 * it says so) and the body up to the next "\n--\n"; the real imds.c
 * requests, checks and copies them. Runs out of answers: a 404 ends the
 * sequence. */
#include "lib/ev.h"
#include "tests/fuzz/fuzz.h"
#include "vpc/auth.h"
#include "lib/http.h"
#include "vpc/imds.h"

struct http_req {
	http_done_fn done;
	void *arg;
	long status;
	const char *body;
	size_t len;
};

static struct http_req *pending;

struct http_req *http_req_new(const char *method, const char *url)
{
	return calloc(1, sizeof(struct http_req));
}
void http_req_header(struct http_req *r, const char *header)
{
}
void http_req_limit(struct http_req *r, size_t max_body)
{
}
/* Never called (no role_arn here), but auth.c links the STS client. */
void http_req_body(struct http_req *r, const char *body, size_t len)
{
}
void http_req_sigv4(struct http_req *r, const char *provider, const char *akid,
		    const char *secret)
{
}
void http_req_timeout(struct http_req *r, uint64_t ms)
{
}
int http_req_start(struct http_req *r, http_done_fn done, void *arg)
{
	if (pending)
		abort(); /* imds.c runs one request at a time */
	r->done = done;
	r->arg = arg;
	pending = r;
	return 0;
}
void http_req_free(struct http_req *r)
{
	free(r);
}
void http_req_cancel(struct http_req *r)
{
	if (pending == r)
		pending = NULL;
	free(r);
}
long http_req_status(const struct http_req *r)
{
	return r->status;
}
const char *http_req_error(const struct http_req *r)
{
	return "";
}
const char *http_req_body_text(const struct http_req *r, size_t *len)
{
	*len = r->len;
	return r->body;
}

static int finished;

static void on_identity(void *arg, int rc, const struct imds_identity *id,
			const char *err)
{
	finished = 1;
	if (rc == 0 && (strlen(id->instance_id) == 0 || strlen(id->eni) == 0))
		abort(); /* success must mean every value is there */
}

static void on_creds(void *arg, const struct aws_creds *c, const char *err)
{
	finished = 1;
	if (err[0] == '\0' && (c == NULL || c->access_key_id[0] == '\0'))
		abort(); /* success must mean a key */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	/* The role path runs only when no other source has credentials. */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	if (ev_init() == -1) /* auth.c arms a refresh timer */
		abort();
	imds_init("http://169.254.169.254");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	struct aws_cfg aws;
	int role = size > 0 && data[0] == 'R';

	imds_drop_token();
	finished = 0;
	if (role) {
		memset(&aws, 0, sizeof(aws));
		if (auth_init(&aws) == -1)
			abort();
		p++;
		auth_get(on_creds, NULL);
	} else {
		imds_identity(on_identity, NULL);
	}
	/* Each answer starts another request at most: bounded by the input. */
	for (int i = 0; pending && i < 64; i++) {
		struct http_req *r = pending;
		pending = NULL;
		if (p < end) {
			const char *sep = memmem(p, (size_t)(end - p), "\n--\n", 4);
			const char *stop = sep ? sep : end;
			r->status = stop == p	? 200
				    : *p == '4' ? 401
				    : *p == '8' ? 404
						: 200;
			r->body = stop == p ? p : p + 1;
			r->len = stop == p ? 0 : (size_t)(stop - p - 1);
			p = sep ? sep + 4 : end;
		} else {
			r->status = 404;
			r->body = "";
		}
		r->done(r, r->arg);
	}
	if (pending || !finished)
		abort(); /* the callback must come, once */
	if (role)
		auth_fini();
	log_redact_clear();
	return 0;
}
