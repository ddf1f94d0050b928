/* util.h — allocation wrappers (fatal on failure), time, small string helpers. */
#ifndef VPCF_UTIL_H
#define VPCF_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of nmemb elements of size to hold at least want. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
/* Room for element n of an array that only xgrow grows, one element at a
 * time: the allocation doubles when n is a power of two, so n appends copy
 * O(n) bytes, not O(n^2). */
void *xgrow(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic milliseconds. */
uint64_t mono_ms(void);
/* When this process was forked, in mono_ms() time, to within the kernel's
 * clock tick (/proc/self/stat; 10 ms): mono_ms() now, or the end of the
 * tick the fork fell in if that is earlier. mono_ms() if unknown. */
uint64_t proc_started_mono_ms(void);
/* Wall-clock seconds. */
int64_t wall_s(void);

/* The test clock, VPCF_FAKE_CLOCK=SCALE@EPOCH: time runs SCALE times faster
 * than real time, and wall time is EPOCH + (real - EPOCH) * SCALE, so that
 * processes given the same value agree (the daemon and the simulator).
 * Monotonic time is real monotonic time * SCALE. A test facility only. */
#define FAKE_CLOCK_ENV	     "VPCF_FAKE_CLOCK"
#define FAKE_CLOCK_SCALE_MAX 100000
struct fake_clock {
	uint64_t scale; /* 1: real time */
	int64_t epoch;	/* unix seconds where fake and real wall time meet */
};
/* Parse a SCALE@EPOCH value; 0, or -1 with err naming the variable. */
int fake_clock_parse(const char *val, struct fake_clock *fc, char *err, size_t errsz);
/* fc from the environment: 1 if set, 0 if unset or empty (fc is real
 * time), -1 if malformed (err says why). */
int fake_clock_env(struct fake_clock *fc, char *err, size_t errsz);
/* Fake monotonic ms for a CLOCK_MONOTONIC reading. */
uint64_t fake_mono_ms(const struct fake_clock *fc, const struct timespec *real);
/* Fake wall-clock ms for a CLOCK_REALTIME reading. */
int64_t fake_wall_ms(const struct fake_clock *fc, const struct timespec *real);
/* Real nanoseconds that make ms of fake time, rounded up. */
uint64_t fake_real_ns(const struct fake_clock *fc, uint64_t ms);

/* Format an error message into errbuf (NULL or size 0: ignored). */
void errf(char *errbuf, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy with truncation; returns -1 if src did not fit (dst still terminated). */
int strlcpy_chk(char *dst, const char *src, size_t size);

/* Growable byte buffer with a hard cap: appends past cap fail. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
};
void buf_init(struct buf *b, size_t limit);
/* Append n bytes; -1 when the limit would be exceeded (buffer unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
/* NUL-terminated view of the contents. */
const char *buf_str(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* Replace path with len bytes of data atomically: a temporary file beside
 * it (mode), then rename. durable: fsync the file and the directory, so the
 * new content survives a crash. 0, or -1 with err; logs nothing. */
int write_file_atomic(const char *path, const void *data, size_t len, int mode,
		      int durable, char *err, size_t errsz);

/* Read fd to its end into buf (max bytes, plus one for the NUL that ends
 * them), retrying on EINTR. The length; or -1 with errno: the read's, or
 * EFBIG when fd holds more than max bytes (buf then holds the first max, so
 * a caller that only wants the start takes those). Every file read whole
 * goes through here or read_file_capped: each has a hard cap. */
ssize_t read_fd_capped(int fd, char *buf, size_t max);
/* The same for the file at path, opened O_RDONLY | O_CLOEXEC | oflags (e.g.
 * O_NOFOLLOW, O_NONBLOCK for a path a FIFO could stand at) and closed;
 * -1 with the open's errno too. */
ssize_t read_file_capped(const char *path, int oflags, char *buf, size_t max);

/* What a pid file says of its process. */
enum pidfile_state {
	PIDFILE_UNREADABLE, /* the file cannot be opened: errno says why */
	PIDFILE_NO_PID,	    /* it holds no process id (empty, unreadable, 0, 1,
			       beyond the kernel's pid_max limit) */
	PIDFILE_GONE,	    /* it names a process that is gone */
	PIDFILE_OTHER,	    /* it names a live process of another name */
	PIDFILE_ALIVE,	    /* it names a live process called name */
};
/* Is the process the pid file at path names alive, and called name
 * (/proc/PID/comm)? *pid gets the id it names (0 if none), comm (commsz
 * bytes) the live process's name ("" if none). */
enum pidfile_state pidfile_check(const char *path, const char *name, long *pid,
				 char *comm, size_t commsz);

/* Is st (of a file holding a secret) safe: a regular file, no group or other
 * permission bits, owned by root or by us? 0, or -1 with the reason in why. */
int private_file_check(const struct stat *st, char *why, size_t whylen);

#endif
