/* kaconf.c — keepalived.conf into a tree of statements (see kaconf.h).
 *
 * keepalived reads line by line, and a brace outside quotes ends the line
 * it is on, so the input is a stream of tokens (words and braces) with line
 * boundaries; one builder turns that stream into the tree for every file, so
 * a block opened in one file may be closed in an included one, as
 * keepalived allows. Builder state: the stack of open blocks and the words
 * of the statement being collected. A node's kids array grows only while
 * the node is the innermost open block, so pointers on the stack into their
 * parents' arrays stay valid. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "hooks/kaconf.h"

struct builder {
	struct kc_conf *c;
	struct kc_node *stack[KC_NEST_MAX + 1]; /* stack[0] = &c->top */
	size_t depth;
	char *words[KC_WORDS_MAX]; /* the statement being collected */
	size_t nwords;
	const char *file; /* where the statement started */
	int line;
	int includes; /* include nesting of the file being read */
	char *err;
	size_t errsz;
};

static int berr(struct builder *b, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int berr(struct builder *b, const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		errf(b->err, b->errsz, "%s:%d: %s", file, line, msg);
	else
		errf(b->err, b->errsz, "%s: %s", file, msg);
	return -1;
}

static void note(struct kc_conf *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(struct kc_conf *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (c->nnotes >= 64)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->notes = xgrow(c->notes, c->nnotes, sizeof(*c->notes));
	c->notes[c->nnotes++] = xstrdup(msg);
}

static void node_free(struct kc_node *n)
{
	for (size_t i = 0; i < n->nw; i++)
		free(n->w[i]);
	free(n->w);
	for (size_t i = 0; i < n->nkids; i++)
		node_free(&n->kids[i]);
	free(n->kids);
}

void kc_free(struct kc_conf *c)
{
	if (c == NULL)
		return;
	node_free(&c->top);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	for (size_t i = 0; i < c->nnotes; i++)
		free(c->notes[i]);
	free(c->notes);
	free(c);
}

/* The collected words become a statement of the innermost open block. */
static int flush(struct builder *b)
{
	struct kc_node *blk = b->stack[b->depth], *n;

	if (b->nwords == 0)
		return 0;
	if (++b->c->nnodes > KC_NODES_MAX)
		return berr(b, b->file, b->line, "more than %d statements", KC_NODES_MAX);
	blk->kids = xgrow(blk->kids, blk->nkids, sizeof(*blk->kids));
	n = &blk->kids[blk->nkids++];
	memset(n, 0, sizeof(*n));
	n->w = xcalloc(b->nwords, sizeof(*n->w));
	memcpy(n->w, b->words, b->nwords * sizeof(*n->w));
	n->nw = b->nwords;
	n->file = b->file;
	n->line = b->line;
	b->nwords = 0;
	return 0;
}

static int add_word(struct builder *b, const char *file, int line, const char *s,
		    size_t len)
{
	if (b->nwords == 0) {
		b->file = file;
		b->line = line;
	}
	if (b->nwords == KC_WORDS_MAX)
		return berr(b, file, line, "more than %d words in one statement",
			    KC_WORDS_MAX);
	b->words[b->nwords++] = strndup(s, len);
	if (b->words[b->nwords - 1] == NULL)
		return berr(b, file, line, "out of memory");
	return 0;
}

static int open_block(struct builder *b, const char *file, int line)
{
	struct kc_node *blk = b->stack[b->depth], *last;

	if (flush(b) == -1)
		return -1;
	last = blk->nkids ? &blk->kids[blk->nkids - 1] : NULL;
	if (last == NULL || last->block)
		return berr(b, file, line, "'{' without a keyword before it");
	if (b->depth == KC_NEST_MAX)
		return berr(b, file, line, "blocks nested deeper than %d", KC_NEST_MAX);
	last->block = 1;
	b->stack[++b->depth] = last;
	return 0;
}

static int close_block(struct builder *b, const char *file, int line)
{
	if (flush(b) == -1)
		return -1;
	if (b->depth == 0)
		return berr(b, file, line, "'}' without a '{' before it");
	b->depth--;
	return 0;
}

/* keepalived's decomment(): cut at '#' or '!' outside double quotes; "\#"
 * and "\!" outside quotes are the bare character; any other backslash
 * keeps itself and the character after it. -1 on an unterminated quote. */
static int decomment(char *s)
{
	int quote = 0;
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p == '\\' && p[1]) {
			if (quote || (p[1] != '#' && p[1] != '!'))
				*o++ = *p;
			*o++ = *++p;
			continue;
		}
		if (*p == '"')
			quote = !quote;
		else if (!quote && (*p == '#' || *p == '!'))
			break;
		*o++ = *p;
	}
	*o = '\0';
	return quote ? -1 : 0;
}

static int read_file(struct builder *b, const char *path, const char *from,
		     int from_line);

/* "include PATTERN": every regular, non-executable file the glob matches,
 * in glob order; relative patterns start from the including file's dir. */
static int include(struct builder *b, const char *file, int line, const char *pattern)
{
	char *full, *dir;
	glob_t g;
	int rc = 0, grc;

	if (b->includes >= KC_INCLUDE_MAX)
		return berr(b, file, line, "include nested deeper than %d (a loop?)",
			    KC_INCLUDE_MAX);
	if (pattern[0] == '/') {
		full = xstrdup(pattern);
	} else {
		dir = xstrdup(file);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		full = slash ? xasprintf("%s/%s", dir, pattern) : xstrdup(pattern);
		free(dir);
	}
	memset(&g, 0, sizeof(g));
	grc = glob(full, GLOB_MARK | GLOB_BRACE, NULL, &g);
	if (grc == GLOB_NOMATCH) {
		note(b->c, "%s:%d: include %s matched no file", file, line, full);
	} else if (grc != 0) {
		rc = berr(b, file, line, "include %s: glob failed", full);
	} else {
		b->includes++;
		for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
			const char *p = g.gl_pathv[i];
			if (p[strlen(p) - 1] == '/')
				continue; /* a directory, as keepalived skips them */
			rc = read_file(b, p, file, line);
		}
		b->includes--;
	}
	globfree(&g);
	free(full);
	return rc;
}

struct tok {
	const char *s;
	size_t len;
	char brace; /* '{', '}' or 0 for a word */
};

/* One decommented line into words and braces, as keepalived's
 * alloc_strvec() and brace splitting see it. -1 when there are too many. */
static int split(char *p, struct tok *t, size_t max, size_t *n)
{
	*n = 0;
	for (;;) {
		p += strspn(p, " \t\f\v");
		if (*p == '\0')
			return 0;
		if (*n == max)
			return -1;
		if (*p == '{' || *p == '}') {
			t[(*n)++] = (struct tok){p, 1, *p};
			p++;
		} else if (*p == '"') {
			char *end = strchr(p + 1, '"');
			size_t len = end ? (size_t)(end - p - 1) : strlen(p + 1);
			t[(*n)++] = (struct tok){p + 1, len, 0};
			p += len + 1 + (end != NULL);
		} else {
			size_t len = strcspn(p, " \t\f\v\"{}");
			t[(*n)++] = (struct tok){p, len, 0};
			p += len;
		}
	}
}

/* Feed one decommented line to the builder. */
static int tokenize(struct builder *b, const char *file, int line, char *s)
{
	struct tok t[KC_WORDS_MAX + 2];
	char *p = s + strspn(s, " \t\f\v");
	size_t n;

	/* @ID / @^ID: keepalived keeps the line only on a matching config id;
	 * we cannot know it, so the line counts. */
	if (*p == '@') {
		p += strcspn(p, " \t");
		p += strspn(p, " \t");
	}
	/* $NAME=... definitions and ~SEQ lines are keepalived's macro language. */
	if (*p == '$' || strncmp(p, "~SEQ", 4) == 0)
		return 0;
	if (split(p, t, ARRAY_SIZE(t), &n) == -1)
		return berr(b, file, line, "more than %d words on one line",
			    KC_WORDS_MAX);
	/* "include PATTERN", exactly two words, as keepalived's check_include. */
	if (n == 2 && !t[0].brace && !t[1].brace && t[0].len == 7 &&
	    strncmp(t[0].s, "include", 7) == 0) {
		char *pattern = strndup(t[1].s, t[1].len);
		int rc = pattern ? 0 : berr(b, file, line, "out of memory");
		if (rc == 0 && (rc = flush(b)) == 0)
			rc = include(b, file, line, pattern);
		free(pattern);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = t[i].brace == '{'   ? open_block(b, file, line)
			 : t[i].brace == '}' ? close_block(b, file, line)
					     : add_word(b, file, line, t[i].s, t[i].len);
		if (rc == -1)
			return -1;
	}
	/* A statement ends with its line; a '{' on the next line still opens
	 * its block (open_block attaches it to the last statement). */
	return flush(b);
}

static int feed(struct builder *b, const char *file, char *text, size_t len)
{
	int line = 0;
	char *p = text, *end = text + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		line++;
		if (n > KC_LINE_MAX)
			return berr(b, file, line, "line longer than %d bytes",
				    KC_LINE_MAX);
		if (memchr(p, '\0', n))
			return berr(b, file, line, "NUL byte in the line");
		p[n] = '\0';
		if (n && p[n - 1] == '\r')
			p[n - 1] = '\0';
		if (decomment(p) == -1)
			return berr(b, file, line, "unterminated quote");
		if (tokenize(b, file, line, p) == -1)
			return -1;
		p += n + 1;
	}
	return 0;
}

/* The file's bytes, capped; NULL with err set. */
static char *slurp(struct builder *b, const char *path, const char *from, int from_line,
		   size_t *len)
{
	char *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		berr(b, from ? from : path, from ? from_line : 0, "%s%s%s",
		     from ? path : "", from ? ": " : "", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		berr(b, path, 0, "not a regular file");
		goto fail;
	}
	buf = xmalloc(KC_FILE_MAX + 1);
	if ((n = read_fd_capped(fd, buf, KC_FILE_MAX)) == -1 && errno == EFBIG) {
		berr(b, path, 0, "larger than %d bytes", KC_FILE_MAX);
		goto fail;
	}
	if (n == -1) {
		berr(b, path, 0, "%s", strerror(errno));
		goto fail;
	}
	got = (size_t)n;
	if ((b->c->bytes += got) > KC_TOTAL_MAX) {
		berr(b, path, 0, "the configuration is larger than %d bytes in all",
		     KC_TOTAL_MAX);
		goto fail;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

static const char *intern_file(struct builder *b, const char *path)
{
	b->c->files = xgrow(b->c->files, b->c->nfiles, sizeof(*b->c->files));
	b->c->files[b->c->nfiles] = xstrdup(path);
	return b->c->files[b->c->nfiles++];
}

static int read_file(struct builder *b, const char *path, const char *from, int from_line)
{
	struct stat st;
	size_t len;
	char *text;
	int rc;

	/* keepalived skips executable files it is asked to include. */
	if (from && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
		note(b->c, "%s:%d: %s is executable: keepalived skips it", from,
		     from_line, path);
		return 0;
	}
	if (b->c->nfiles >= KC_FILES_MAX)
		return berr(b, from, from_line, "more than %d files", KC_FILES_MAX);
	if ((text = slurp(b, path, from, from_line, &len)) == NULL)
		return -1;
	rc = feed(b, intern_file(b, path), text, len);
	free(text);
	return rc;
}

/* The end of all input: every block must have been closed. */
static int finish(struct builder *b)
{
	if (flush(b) == -1)
		return -1;
	if (b->depth > 0) {
		const struct kc_node *open = b->stack[b->depth];
		return berr(b, open->file, open->line,
			    "'%s' opens a block with '{' that is never closed (a '}' is "
			    "missing)",
			    open->w[0]);
	}
	return 0;
}

static int run(struct builder *b, const char *name, const char *text, size_t len,
	       struct kc_conf **out)
{
	int rc;

	if (text) {
		if (len > KC_FILE_MAX) {
			rc = berr(b, name, 0, "larger than %d bytes", KC_FILE_MAX);
		} else {
			char *copy = xmalloc(len + 1);
			memcpy(copy, text, len);
			copy[len] = '\0';
			b->c->bytes = len;
			rc = feed(b, intern_file(b, name), copy, len);
			free(copy);
		}
	} else {
		rc = read_file(b, name, NULL, 0);
	}
	if (rc == 0)
		rc = finish(b);
	for (size_t i = 0; i < b->nwords; i++)
		free(b->words[i]);
	if (rc == -1) {
		kc_free(b->c);
		return -1;
	}
	*out = b->c;
	return 0;
}

int kc_load(const char *path, struct kc_conf **out, char *err, size_t errsz)
{
	struct builder b = {.err = err, .errsz = errsz};

	b.c = xcalloc(1, sizeof(*b.c));
	b.stack[0] = &b.c->top;
	return run(&b, path, NULL, 0, out);
}

int kc_parse_text(const char *name, const char *text, size_t len, struct kc_conf **out,
		  char *err, size_t errsz)
{
	struct builder b = {.err = err, .errsz = errsz};

	b.c = xcalloc(1, sizeof(*b.c));
	b.stack[0] = &b.c->top;
	return run(&b, name, text, len, out);
}

const struct kc_node *kc_find(const struct kc_node *block, const struct kc_node *after,
			      const char *kw, const char *arg)
{
	size_t i = after ? (size_t)(after - block->kids) + 1 : 0;

	for (; i < block->nkids; i++) {
		const struct kc_node *n = &block->kids[i];
		if (strcmp(n->w[0], kw) != 0)
			continue;
		if (arg && (n->nw < 2 || strcmp(n->w[1], arg) != 0))
			continue;
		return n;
	}
	return NULL;
}

void kc_args(const struct kc_node *n, char *out, size_t outsz)
{
	size_t len = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	for (size_t i = 1; i < n->nw; i++) {
		int k =
		    snprintf(out + len, outsz - len, "%s%s", i > 1 ? " " : "", n->w[i]);
		if (k < 0 || (size_t)k >= outsz - len)
			return; /* truncated, still terminated */
		len += (size_t)k;
	}
}
