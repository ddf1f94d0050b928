/* util.h — allocation wrappers (fatal on failure), time, small string helpers. */
#ifndef VPCF_UTIL_H
#define VPCF_UTIL_H

#include <stddef.h>
#include <stdint.h>

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
/* Wall-clock seconds. */
int64_t wall_s(void);

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

#endif
