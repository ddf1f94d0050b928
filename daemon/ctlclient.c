/* ctlclient.c — the control socket's client: connect, send one request
 * line, read the reply until the daemon closes, all under one deadline. The
 * CLI and its notify hook use it; it needs lib/, jansson and libc only, none
 * of the daemon (the server is daemon/control.c; the wire protocol is
 * daemon/ctl_proto.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/ctl_proto.h"
#include "daemon/ctlclient.h"
#include "lib/util.h"

static int wait_fd(int fd, short what, uint64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = what};
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		int n = poll(&p, 1, (int)(deadline - now));
		if (n == 1)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

int ctl_request(const char *path, json_t *req, json_t **reply, int timeout_ms, int *down,
		char *err, size_t errsz)
{
	struct sockaddr_un sun;
	struct buf in;
	char *out = NULL, chunk[4096];
	uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
	int fd, rc = -1;

	*reply = NULL;
	*down = 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy_chk(sun.sun_path, path, sizeof(sun.sun_path)) == -1) {
		snprintf(err, errsz, "control socket path %s is too long", path);
		return -1;
	}
	buf_init(&in, CTL_REPLY_MAX);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		*down = errno == ENOENT || errno == ECONNREFUSED;
		snprintf(err, errsz, "cannot connect to %s: %s", path, strerror(errno));
		goto out;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	char *s = json_dumps(req, JSON_COMPACT);
	out = s ? xasprintf("%s\n", s) : NULL;
	free(s);
	if (out == NULL) {
		snprintf(err, errsz, "cannot encode the request");
		goto out;
	}
	for (size_t off = 0, len = strlen(out); off < len;) {
		if (wait_fd(fd, POLLOUT, deadline) == -1) {
			snprintf(err, errsz, "sending to %s: %s", path, strerror(errno));
			goto out;
		}
		ssize_t n = write(fd, out + off, len - off);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			snprintf(err, errsz, "sending to %s: %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) == -1) {
			snprintf(err, errsz, "no answer from vpc-failoverd on %s: %s",
				 path, strerror(errno));
			goto out;
		}
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			snprintf(err, errsz, "reading from %s: %s", path,
				 strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_append(&in, chunk, (size_t)n) == -1) {
			snprintf(err, errsz, "reply larger than %d bytes", CTL_REPLY_MAX);
			goto out;
		}
	}
	json_error_t je;
	*reply = json_loadb(buf_str(&in), in.len, 0, &je);
	if (*reply == NULL || !json_is_object(*reply)) {
		snprintf(err, errsz, "malformed reply from vpc-failoverd: %s",
			 *reply ? "not an object" : je.text);
		json_decref(*reply);
		*reply = NULL;
		goto out;
	}
	rc = 0;
out:
	free(out);
	buf_free(&in);
	close(fd);
	return rc;
}
