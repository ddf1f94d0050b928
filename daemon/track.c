/* track.c — the track_file that `vpc-failover failover` writes and keepalived
 * reads. The write is atomic so that keepalived never reads a torn value. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/track.h"

#define TRK_READ_MAX 64 /* keepalived's own files hold one number */

int trk_write(const char *path, int demote, char *err, size_t errsz)
{
	char tmp[4200], dir[4096];
	const char *val = demote ? "1\n" : "0\n";
	int fd = -1, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
		(int)sizeof(tmp) ||
	    snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		snprintf(err, errsz, "%s: path too long", path);
		return -1;
	}
	char *slash = strrchr(dir, '/');
	if (slash == NULL) {
		snprintf(err, errsz, "%s: not an absolute path", path);
		return -1;
	}
	*slash = '\0';
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1) {
		snprintf(err, errsz, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, val, 2) != 2 || fsync(fd) == -1) {
		snprintf(err, errsz, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		snprintf(err, errsz, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		snprintf(err, errsz, "cannot rename %s to %s: %s", tmp, path,
			 strerror(errno));
		goto out;
	}
	/* The rename itself survives a crash only once the directory is synced. */
	int dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd != -1) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1)
		unlink(tmp);
	return rc;
}

int trk_read(const char *path, char *err, size_t errsz)
{
	char buf[TRK_READ_MAX + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, buf, TRK_READ_MAX);
	close(fd);
	if (n < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
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
