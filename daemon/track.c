/* track.c — the track_file that `vpc-failover failover` writes and keepalived
 * reads. The write is atomic so that keepalived never reads a torn value. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/track.h"
#include "lib/util.h"

#define TRK_READ_MAX 64 /* keepalived's own files hold one number */

int trk_write(const char *path, int demote, char *err, size_t errsz)
{
	if (path[0] != '/') {
		snprintf(err, errsz, "%s: not an absolute path", path);
		return -1;
	}
	/* Durable: a demotion must survive a crash of this host. */
	return write_file_atomic(path, demote ? "1\n" : "0\n", 2, 0644, 1, err, errsz);
}

int trk_read(const char *path, char *err, size_t errsz)
{
	char buf[TRK_READ_MAX + 1];
	ssize_t n = read_file_capped(path, O_NONBLOCK, buf, TRK_READ_MAX);

	if (n == -1 && errno == EFBIG)
		n = TRK_READ_MAX; /* the number is at the start */
	if (n == -1 && errno == ENOENT)
		return 0;
	if (n < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	const char *p = buf + strspn(buf, " \t\r\n");
	if (*p == '\0')
		return 0; /* empty: keepalived reads it as 0 */
	char *end;
	errno = 0;
	long v = strtol(p, &end, 10);
	if (end == p || errno != 0 || end[strspn(end, " \t\r\n")] != '\0') {
		snprintf(err, errsz, "%s: '%.20s' is not a number", path, buf);
		return -1;
	}
	return v != 0;
}
