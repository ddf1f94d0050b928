/* http.c — libmicrohttpd glue: one thread per connection, the whole request
 * body read (capped) before a handler sees it, then dispatch by path to the
 * EC2 API (/), IMDS (/latest/...) or the control API (/_sim/...). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "tests/vpcsim/sim.h"

enum MHD_Result sim_respond(struct MHD_Connection *c, unsigned status, const char *ctype,
			    const char *body, size_t len, const char *hname,
			    const char *hval)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (hname)
		MHD_add_response_header(resp, hname, hval);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result too_large(struct MHD_Connection *c)
{
	static const char msg[] = "request body larger than 65536 bytes\n";

	return sim_respond(c, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain", msg,
			   sizeof(msg) - 1, MHD_HTTP_HEADER_CONNECTION, "close");
}

static enum MHD_Result dispatch(struct sim *s, struct sim_req *r)
{
	static const char nf[] = "Not Found\n";

	if (strcmp(r->url, "/") == 0)
		return ec2_handle(s, r);
	if (strncmp(r->url, "/latest/", 8) == 0 || strcmp(r->url, "/latest") == 0)
		return imds_handle(s, r);
	if (strncmp(r->url, "/_sim/", 6) == 0)
		return ctl_handle(s, r);
	return sim_respond(r->conn, MHD_HTTP_NOT_FOUND, "text/plain", nf, sizeof(nf) - 1,
			   NULL, NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version,
			       const char *upload_data, size_t *upload_data_size,
			       void **con_cls)
{
	struct sim *s = cls;
	struct sim_req *r = *con_cls;

	if (r == NULL) {
		const char *cl = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		r = xcalloc(1, sizeof(*r));
		buf_init(&r->body, SIM_BODY_MAX);
		r->conn = conn;
		*con_cls = r;
		/* Refuse before reading a body we would throw away. */
		if (cl && strtoull(cl, NULL, 10) > SIM_BODY_MAX)
			return too_large(conn);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* Chunked bodies have no length up front: count, then drop. */
		if (!r->too_big &&
		    buf_append(&r->body, upload_data, *upload_data_size) == -1)
			r->too_big = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return too_large(conn);
	r->url = url;
	r->method = method;
	return dispatch(s, r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct sim_req *r = *con_cls;

	if (r == NULL)
		return;
	buf_free(&r->body);
	free(r);
	*con_cls = NULL;
}

static void connection_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
			      enum MHD_ConnectionNotificationCode code)
{
	struct sim *s = cls;

	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	pthread_mutex_lock(&s->mu);
	s->connections++;
	pthread_mutex_unlock(&s->mu);
}

struct MHD_Daemon *sim_http_start(struct sim *s, int fd, int family)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD;
	struct MHD_Daemon *d;

	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, 0, NULL, NULL, handler, s, MHD_OPTION_LISTEN_SOCKET,
			     fd, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
			     MHD_OPTION_NOTIFY_CONNECTION, connection_notify, s,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
	if (d == NULL)
		log_warnx("cannot start the HTTP server on fd %d", fd);
	return d;
}
