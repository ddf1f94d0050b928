/* util.c — allocation wrappers, clocks, bounded buffers. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		fatal("malloc %zu", n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		fatal("calloc %zu", nmemb * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		fatal("realloc %zu", n);
	return p;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		fatalx("reallocarray overflow");
	return xrealloc(p, nmemb * size);
}

void *xgrow(void *p, size_t n, size_t size)
{
	if (n == 0 || (n & (n - 1)) == 0)
		return xreallocarray(p, n ? 2 * n : 1, size);
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		fatal("strdup");
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("asprintf");
	return s;
}

uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t proc_started_mono_ms(void)
{
	uint64_t now = mono_ms();
	char buf[1024], *p;
	unsigned long long start;
	struct timespec bt;
	ssize_t n;
	long hz = sysconf(_SC_CLK_TCK);

	n = read_file_capped("/proc/self/stat", 0, buf, sizeof(buf) - 1);
	if (n == -1 && errno == EFBIG)
		n = (ssize_t)sizeof(buf) - 1; /* the fields wanted come first */
	if (n <= 0 || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &bt) == -1)
		return now;
	/* Field 22, starttime, counting from the one after the command name
	 * (which may hold spaces and parentheses: the last ')' ends it). */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1,
		   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
		   "%*d %*d %*d %*d %llu",
		   &start) != 1)
		return now;
	uint64_t boot = (uint64_t)bt.tv_sec * 1000 + (uint64_t)bt.tv_nsec / 1000000;
	uint64_t tick = 1000 / (uint64_t)hz, forked = start * 1000 / (uint64_t)hz;
	uint64_t age = boot > forked ? boot - forked : 0;
	if (age > now)
		return now;
	uint64_t tick_end = now - age + (tick ? tick - 1 : 0);
	return tick_end < now ? tick_end : now;
}

int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

int fake_clock_parse(const char *val, struct fake_clock *fc, char *err, size_t errsz)
{
	const char *whole = val;
	unsigned long long scale;
	long long epoch;
	char *end;

	fc->scale = 1;
	fc->epoch = 0;
	/* Digits only: strto* would also take blanks and signs. */
	if (!isdigit((unsigned char)val[0]))
		goto bad;
	errno = 0;
	scale = strtoull(val, &end, 10);
	if (errno || *end != '@' || scale < 1 || scale > FAKE_CLOCK_SCALE_MAX)
		goto bad;
	val = end + 1;
	if (!isdigit((unsigned char)val[0]))
		goto bad;
	errno = 0;
	epoch = strtoll(val, &end, 10);
	/* Up to year 5138: keeps the products below in 64 bits. */
	if (errno || *end || epoch > 99999999999LL)
		goto bad;
	fc->scale = scale;
	fc->epoch = epoch;
	return 0;
bad:
	errf(err, errsz,
	     "%s: '%.64s' is not SCALE@EPOCH (SCALE 1..%d times faster than real "
	     "time, EPOCH unix seconds; e.g. 1000@%lld)",
	     FAKE_CLOCK_ENV, whole, FAKE_CLOCK_SCALE_MAX, (long long)wall_s());
	return -1;
}

int fake_clock_env(struct fake_clock *fc, char *err, size_t errsz)
{
	const char *v = getenv(FAKE_CLOCK_ENV);

	fc->scale = 1;
	fc->epoch = 0;
	if (v == NULL || *v == '\0')
		return 0;
	return fake_clock_parse(v, fc, err, errsz) == 0 ? 1 : -1;
}

/* Both clocks scale seconds and nanoseconds apart: a product of nanoseconds
 * since boot (or since EPOCH) and SCALE would overflow 64 bits. */
uint64_t fake_mono_ms(const struct fake_clock *fc, const struct timespec *real)
{
	return (uint64_t)real->tv_sec * 1000 * fc->scale +
	       (uint64_t)real->tv_nsec * fc->scale / 1000000;
}

int64_t fake_wall_ms(const struct fake_clock *fc, const struct timespec *real)
{
	int64_t s = (int64_t)fc->scale;
	return fc->epoch * 1000 + ((int64_t)real->tv_sec - fc->epoch) * 1000 * s +
	       (int64_t)real->tv_nsec * s / 1000000;
}

uint64_t fake_real_ns(const struct fake_clock *fc, uint64_t ms)
{
	if (ms / fc->scale >= UINT64_MAX / 1000000 - 1)
		return UINT64_MAX;
	return ms / fc->scale * 1000000 +
	       ((ms % fc->scale) * 1000000 + fc->scale - 1) / fc->scale;
}

void errf(char *errbuf, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errsz, fmt, ap);
	va_end(ap);
}

int strlcpy_chk(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size == 0)
		return -1;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

void buf_init(struct buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->limit || b->len > b->limit - n)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

const char *buf_str(struct buf *b)
{
	return b->data ? b->data : "";
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int write_file_atomic(const char *path, const void *data, size_t len, int mode,
		      int durable, char *err, size_t errsz)
{
	char tmp[PATH_MAX + 32], dir[PATH_MAX];
	int fd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
		(int)sizeof(tmp) ||
	    snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		snprintf(err, errsz, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -1) {
		snprintf(err, errsz, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	errno = 0;
	if (write(fd, data, len) != (ssize_t)len || (durable && fsync(fd) == -1)) {
		snprintf(err, errsz, "cannot write %s: %s", tmp,
			 errno ? strerror(errno) : "short write");
		close(fd);
		goto out;
	}
	if (close(fd) == -1) {
		snprintf(err, errsz, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errsz, "cannot rename %s to %s: %s", tmp, path,
			 strerror(errno));
		goto out;
	}
	rc = 0;
	if (durable) {
		/* The rename itself survives a crash only once the directory is
		 * synced. */
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		int dfd = open(slash && *dir ? dir
			       : slash	     ? "/"
					     : ".",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd != -1) {
			fsync(dfd);
			close(dfd);
		}
	}
out:
	if (rc == -1)
		unlink(tmp);
	return rc;
}

int private_file_check(const struct stat *st, char *why, size_t whylen)
{
	if (!S_ISREG(st->st_mode)) {
		errf(why, whylen, "not a regular file");
		return -1;
	}
	if (st->st_mode & 077) {
		errf(why, whylen, "mode %04o %s; chmod 600 it",
		     (unsigned)(st->st_mode & 07777),
		     (st->st_mode & 044) ? "is readable by group or others"
					 : "gives group or others access");
		return -1;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		errf(why, whylen, "owned by uid %u, not by root or uid %u; chown it",
		     (unsigned)st->st_uid, (unsigned)geteuid());
		return -1;
	}
	return 0;
}

ssize_t read_fd_capped(int fd, char *buf, size_t max)
{
	size_t len = 0;
	ssize_t n;
	char extra;

	buf[0] = '\0';
	while (len < max) {
		n = read(fd, buf + len, max - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (len < max)
		return (ssize_t)len;
	/* Full: one byte more says whether there was more. */
	while ((n = read(fd, &extra, 1)) == -1 && errno == EINTR)
		;
	explicit_bzero(&extra, sizeof(extra)); /* callers read secrets too */
	if (n == 1) {
		errno = EFBIG;
		return -1;
	}
	return (ssize_t)len;
}

ssize_t read_file_capped(const char *path, int oflags, char *buf, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | oflags);
	ssize_t n;
	int saved;

	if (fd == -1) {
		buf[0] = '\0';
		return -1;
	}
	n = read_fd_capped(fd, buf, max);
	saved = errno;
	close(fd);
	errno = saved;
	return n;
}

enum pidfile_state pidfile_check(const char *path, const char *name, long *pid,
				 char *comm, size_t commsz)
{
	char buf[32], proc[64], got[64];
	ssize_t n;
	long p;
	int fd;

	*pid = 0;
	if (commsz)
		comm[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return PIDFILE_UNREADABLE;
	n = read_fd_capped(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == -1 && errno == EFBIG)
		n = (ssize_t)sizeof(buf) - 1; /* a number is at the start */
	if (n <= 0)
		return PIDFILE_NO_PID;
	p = strtol(buf, NULL, 10);
	if (p <= 1 || p > 4194304) /* PID_MAX_LIMIT */
		return PIDFILE_NO_PID;
	*pid = p;
	if (kill((pid_t)p, 0) == -1 && errno == ESRCH)
		return PIDFILE_GONE;
	snprintf(proc, sizeof(proc), "/proc/%ld/comm", p);
	n = read_file_capped(proc, 0, got, sizeof(got) - 1);
	if (n == -1 && errno == EFBIG)
		n = (ssize_t)sizeof(got) - 1;
	if (n <= 0)
		return PIDFILE_GONE;
	got[strcspn(got, "\n")] = '\0';
	if (commsz)
		snprintf(comm, commsz, "%s", got);
	return strcmp(got, name) == 0 ? PIDFILE_ALIVE : PIDFILE_OTHER;
}
