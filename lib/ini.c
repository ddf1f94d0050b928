/* ini.c — the INI engine (see ini.h): libinih for the syntax, key tables for
 * the values.
 *
 * inih does the INI syntax: sections, key = value, comments, whitespace. Four
 * things of Debian's build get in the way of reporting every error as
 * "file:line: message", so we feed it one line at a time instead of the
 * whole file:
 *  - the handler gets no line number (built without INI_HANDLER_LINENO);
 *  - ini_parse() reports only the first malformed line;
 *  - a section with no keys never reaches the handler, so an empty
 *    [group x] or an unknown [daemon] would pass unnoticed;
 *  - a line longer than its buffer is silently split in two.
 * We read the file ourselves with a hard cap per line and per file, and give
 * ini_parse_string() each line followed by a probe line ("\001 =") whose
 * handler call carries the section inih saw on that line. So each line has an
 * exact number, ini_parse_string() returning 1 means that very line is
 * malformed, and a "[section]" line shows up as a non-empty probe section.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/ini.h"
#include "lib/log.h"
#include "lib/url.h"
#include "lib/util.h"

#define INI_LINE_MAX 4096      /* longest line, newline excluded */
#define INI_FILE_MAX (1 << 20) /* a config is a few KiB; refuse anything absurd */
#define INIH_SECTION 50	       /* inih's MAX_SECTION: it cuts longer names */
#define PROBE	     "\001"    /* key of the probe line; real lines hold no \001 */
#define SHOW	     INI_SHOW
#define INI_ERR_MAX  200 /* errors kept for the report; the rest counted */

/* An error waiting to be logged: checks that need a whole section run at the
 * end, and the report is sorted by line. */
struct ini_err {
	int line, seq;
	char *msg;
};

struct ini {
	const char *path;
	void *top; /* the whole configuration */
	const struct ini_place *places;
	size_t nplaces;
	int line;	      /* number of the line being parsed */
	const char *raw;      /* its text */
	int nerr;	      /* errors so far */
	int cut;	      /* the file could not be read to its end */
	struct ini_err *errs; /* the first INI_ERR_MAX of them, for the report */
	int skip;	      /* the section line was an error: ignore its keys */
	const struct ini_section *sec; /* what the keys being read belong to */
	void *base;		       /* ... and their struct */
	char sname[80];		       /* "[aws]", "[group web]": for messages */
	int *first;		       /* where each unnamed place was, 0 = not yet */
	int *seen;		       /* line where each key was set in this section */
	size_t nseen;
	char probe[INIH_SECTION];
	int probed; /* the probe line named a section */
};

void ini_err(struct ini *x, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (line == 0)
		line = x->line;
	if (x->nerr < INI_ERR_MAX) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		x->errs = xgrow(x->errs, (size_t)x->nerr, sizeof(*x->errs));
		x->errs[x->nerr] = (struct ini_err){line, x->nerr, xstrdup(msg)};
	}
	x->nerr++;
}

int ini_line(const struct ini *x)
{
	return x->line;
}

int ini_cut(const struct ini *x)
{
	return x->cut;
}

int ini_first(const struct ini *x, const char *word)
{
	for (size_t i = 0; i < x->nplaces; i++)
		if (strcmp(x->places[i].sec->word, word) == 0)
			return x->first[i];
	return 0;
}

static int err_cmp(const void *a, const void *b)
{
	const struct ini_err *e = a, *f = b;

	if (e->line != f->line)
		return e->line < f->line ? -1 : 1;
	return e->seq < f->seq ? -1 : e->seq > f->seq;
}

int ini_end(struct ini *x)
{
	int kept = x->nerr < INI_ERR_MAX ? x->nerr : INI_ERR_MAX, n = x->nerr;

	if (kept > 0)
		qsort(x->errs, (size_t)kept, sizeof(*x->errs), err_cmp);
	for (int i = 0; i < kept; i++) {
		log_warnx("%s:%d: %s", x->path, x->errs[i].line, x->errs[i].msg);
		free(x->errs[i].msg);
	}
	if (x->nerr > kept)
		log_warnx("%s: %d more errors not shown", x->path, x->nerr - kept);
	free(x->errs);
	free(x->first);
	free(x->seen);
	free(x);
	return n;
}

static size_t nkeys(const struct ini_section *sec)
{
	size_t n = 0;

	while (sec->keys[n].name != NULL)
		n++;
	return n;
}

void ini_defaults(struct ini *x, const struct ini_section *sec, void *base)
{
	for (const struct ini_key *k = sec->keys; k->name != NULL; k++)
		if (k->def != NULL && k->parse(x, k, base, k->def) == -1)
			fatalx("cfg: bad default %s = %s", k->name, k->def);
}

struct ini *ini_begin(const char *path, void *top, const struct ini_place *places,
		      size_t nplaces)
{
	struct ini *x = xcalloc(1, sizeof(*x));
	size_t most = 1;

	x->path = path;
	x->top = top;
	x->places = places;
	x->nplaces = nplaces;
	x->first = xcalloc(nplaces + 1, sizeof(*x->first));
	for (size_t i = 0; i < nplaces; i++) {
		if (nkeys(places[i].sec) > most)
			most = nkeys(places[i].sec);
		if (places[i].sec->open == NULL)
			ini_defaults(x, places[i].sec, (char *)top + places[i].off);
	}
	x->seen = xcalloc(most, sizeof(*x->seen));
	x->nseen = most;
	return x;
}

/* A "[...]" line; section is what inih read between the brackets. */
static void open_section(struct ini *x, const char *section)
{
	char bracketed[INIH_SECTION + 2], s[INIH_SECTION], *name;
	const struct ini_place *pl = NULL;
	size_t wlen, i;

	memset(x->seen, 0, x->nseen * sizeof(*x->seen));
	x->skip = 1;
	x->sec = NULL;
	/* inih keeps only INIH_SECTION - 1 characters of a section name: when
	 * "[name]" is not on the line, the name was cut. */
	snprintf(bracketed, sizeof(bracketed), "[%s]", section);
	if (strstr(x->raw, bracketed) == NULL) {
		const char *named = "";

		for (i = 0; i < x->nplaces && *named == '\0'; i++)
			if (x->places[i].sec->open != NULL)
				named = x->places[i].sec->word;
		ini_err(
		    x, 0, "section name longer than %d characters (%s names: at most %d)",
		    INIH_SECTION - 1, named, INIH_SECTION - 1 - (int)strlen(named) - 1);
		return;
	}
	/* "[ group  web ]" is [group web] */
	snprintf(s, sizeof(s), "%s", section + strspn(section, " \t"));
	for (size_t n = strlen(s); n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'); n--)
		s[n - 1] = '\0';
	wlen = strcspn(s, " \t");
	name = s + wlen + strspn(s + wlen, " \t");
	for (i = 0; i < x->nplaces; i++)
		if (strlen(x->places[i].sec->word) == wlen &&
		    strncmp(x->places[i].sec->word, s, wlen) == 0) {
			pl = &x->places[i];
			break;
		}
	if (pl == NULL) {
		ini_err(x, 0, "unknown section [%s]", s);
		return;
	}
	if (pl->sec->open != NULL) {
		x->base = pl->sec->open(x, x->top, name);
		ini_defaults(x, pl->sec, x->base);
		snprintf(x->sname, sizeof(x->sname), "[%s %s]", pl->sec->word, name);
	} else {
		if (*name != '\0') {
			ini_err(x, 0, "[%s] takes no name: [%s]", pl->sec->word,
				pl->sec->word);
			return;
		}
		if (x->first[i] != 0) {
			ini_err(x, 0, "duplicate section [%s] (first at line %d)",
				pl->sec->word, x->first[i]);
			return;
		}
		x->first[i] = x->line;
		x->base = (char *)x->top + pl->off;
		snprintf(x->sname, sizeof(x->sname), "[%s]", pl->sec->word);
	}
	x->skip = 0;
	x->sec = pl->sec;
}

static void set_key(struct ini *x, const char *name, const char *value)
{
	const struct ini_key *k;
	size_t i;

	if (x->skip) /* the section line was already reported */
		return;
	if (*name == '\0') {
		ini_err(x, 0, "missing key name before '='");
		return;
	}
	if (x->sec == NULL) {
		ini_err(x, 0, "'" SHOW "' is outside any section", name);
		return;
	}
	for (k = x->sec->keys; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			break;
	if (k->name == NULL) {
		if (x->sec->other == NULL || !x->sec->other(x, x->base, name, value))
			ini_err(x, 0, "unknown key '" SHOW "' in %s", name, x->sname);
		return;
	}
	i = (size_t)(k - x->sec->keys);
	if (x->seen[i] != 0) {
		/* Still parse it below, so that a bad value is reported too. */
		ini_err(x, 0, "duplicate key '%s' in %s (first at line %d)", name,
			x->sname, x->seen[i]);
	}
	x->seen[i] = x->line;
	if (*value == '\0' && !(k->flags & INI_EMPTY_OFF))
		value = k->def != NULL ? k->def : "";
	k->parse(x, k, x->base, value);
}

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct ini *x = user;

	if (strcmp(name, PROBE) == 0) {
		/* The probe is line 2 of what we gave inih: a non-empty section
		 * here means line 1 was a "[section]" line. */
		if (*section != '\0') {
			snprintf(x->probe, sizeof(x->probe), "%s", section);
			x->probed = 1;
		}
		return 1;
	}
	set_key(x, name, value);
	return 1; /* errors are counted in x, never stop inih */
}

enum { LINE_LONG = 1, LINE_CTRL = 2 };

/* The next line of fp into buf without its line ending; -1 at end of file.
 * A line that does not fit is cut and flagged, and the rest of it skipped. */
static int read_line(FILE *fp, char *buf, size_t size, size_t *total, int *flags)
{
	size_t n = 0;
	int ch;

	*flags = 0;
	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (++*total > INI_FILE_MAX)
			return -1;
		if ((ch < ' ' && ch != '\t' && ch != '\r') || ch == 0x7f)
			*flags |= LINE_CTRL;
		if (n + 1 < size)
			buf[n++] = (char)ch;
		else
			*flags |= LINE_LONG;
	}
	if (ch == EOF && n == 0 && *flags == 0)
		return -1;
	++*total;
	if (n > 0 && buf[n - 1] == '\r') /* CRLF file */
		n--;
	buf[n] = '\0';
	if (memchr(buf, '\r', n) != NULL)
		*flags |= LINE_CTRL;
	return (int)n;
}

/* The Debian libinih globals we change, saved so that other users of inih in
 * this process (the credentials file) see its defaults. */
struct ini_opts {
	bool use_stack, allow_realloc, allow_multiline, allow_no_value,
	    stop_on_first_error;
	int initial_alloc;
	char *inline_comment_prefixes, *start_comment_prefixes;
};

static void ini_opts_swap(struct ini_opts *o)
{
	struct ini_opts old = {ini_use_stack,
			       ini_allow_realloc,
			       ini_allow_multiline,
			       ini_allow_no_value,
			       ini_stop_on_first_error,
			       ini_initial_alloc,
			       ini_inline_comment_prefixes,
			       ini_start_comment_prefixes};

	ini_use_stack = o->use_stack;
	ini_allow_realloc = o->allow_realloc;
	ini_allow_multiline = o->allow_multiline;
	ini_allow_no_value = o->allow_no_value;
	ini_stop_on_first_error = o->stop_on_first_error;
	ini_initial_alloc = o->initial_alloc;
	ini_inline_comment_prefixes = o->inline_comment_prefixes;
	ini_start_comment_prefixes = o->start_comment_prefixes;
	*o = old;
}

/* Feed fp to inih line by line; see the top of the file for why. */
void ini_read(struct ini *x, FILE *fp)
{
	static char semicolon_hash[] = ";#";
	/* A heap line buffer of initial_alloc bytes, never grown: room for the
	 * line and its "\r\n\0", sized for each line below (4 KiB a line
	 * made many short lines slow under ASan, which fills each block). */
	struct ini_opts o = {
	    .use_stack = false,
	    .allow_realloc = false,
	    .allow_multiline = false,
	    .allow_no_value = false,
	    .stop_on_first_error = false,
	    .initial_alloc = INI_LINE_MAX + 8,
	    .inline_comment_prefixes = semicolon_hash,
	    .start_comment_prefixes = semicolon_hash,
	};
	char line[INI_LINE_MAX + 1], text[INI_LINE_MAX + 16];
	size_t total = 0;
	int flags, rc;

	ini_opts_swap(&o);
	while (read_line(fp, line, sizeof(line), &total, &flags) != -1) {
		x->line++;
		x->raw = line;
		if (flags & LINE_LONG) {
			ini_err(x, 0, "line longer than %d characters", INI_LINE_MAX);
			continue;
		}
		if (flags & LINE_CTRL) {
			ini_err(x, 0, "control character in line");
			continue;
		}
		x->probed = 0;
		snprintf(text, sizeof(text), "%s\n" PROBE " =\n", line);
		ini_initial_alloc = (int)strlen(line) + (int)sizeof(PROBE " =") + 8;
		rc = ini_parse_string(text, ini_cb, x);
		if (rc == -2)
			fatalx("cfg: out of memory");
		if (rc != 0) {
			const char *t = line + strspn(line, " \t");

			ini_err(x, 0,
				"syntax error: want [section], key = value or a comment: "
				"'" SHOW "'",
				t);
			/* Keys under a broken section line would otherwise land
			 * in the section before it, with confusing errors. */
			if (*t == '[')
				x->skip = 1;
		} else if (x->probed)
			open_section(x, x->probe);
	}
	if (total > INI_FILE_MAX) {
		ini_err(x, x->line + 1, "file longer than %d bytes", INI_FILE_MAX);
		x->cut = 1;
	} else if (ferror(fp)) {
		ini_err(x, x->line + 1, "read error: %s", strerror(errno));
		x->cut = 1;
	}
	x->raw = NULL;
	ini_opts_swap(&o);
}

const struct ini_key *ini_restart_next(const struct ini_section *sec,
				       const struct ini_key *k, const void *a,
				       const void *b)
{
	for (k = k != NULL ? k + 1 : sec->keys; k->name != NULL; k++)
		if ((k->flags & INI_RESTART) &&
		    memcmp((const char *)a + k->off, (const char *)b + k->off, k->size) !=
			0)
			return k;
	return NULL;
}

void ini_copy(const struct ini_key *k, void *dst, const void *src)
{
	memcpy((char *)dst + k->off, (const char *)src + k->off, k->size);
}

/* ---- parsers -------------------------------------------------------------- */

/* The rest of the field is zeroed, so that two values compare with memcmp
 * (ini_restart_next). */
int ini_str(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	char *f = (char *)base + k->off;
	size_t n = strlen(v);

	if (n >= k->size) {
		ini_err(x, 0, "%s: '" SHOW "...' is too long (at most %zu characters)",
			k->name, v, k->size - 1);
		return -1;
	}
	memcpy(f, v, n);
	memset(f + n, 0, k->size - n);
	return 0;
}

int ini_word(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p <= ' ' || *p > '~' || *p == '"') {
			ini_err(x, 0,
				"%s: '" SHOW
				"' must be one word of printable ASCII without '\"'",
				k->name, v);
			return -1;
		}
	}
	return ini_str(x, k, base, v);
}

int ini_url(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	struct url u;
	char why[128];

	if (*v == '\0')
		return ini_str(x, k, base, v);
	if (url_parse(v, &u, why, sizeof(why)) == 0) {
		if (strcmp(u.scheme, "http") != 0 && strcmp(u.scheme, "https") != 0)
			snprintf(why, sizeof(why), "the scheme must be http or https");
		else
			return ini_str(x, k, base, v);
	}
	ini_err(x, 0, "%s: '" SHOW "' is not an http:// or https:// URL (%s)", k->name, v,
		why);
	return -1;
}

int ini_file(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	struct stat st;

	if (*v != '\0' && stat(v, &st) == -1) {
		ini_err(x, 0, "%s: '" SHOW "': %s", k->name, v, strerror(errno));
		return -1;
	}
	return ini_str(x, k, base, v);
}

int ini_path(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	if (*v != '\0' && *v != '/') {
		ini_err(x, 0, "%s: '" SHOW "' is not an absolute path", k->name, v);
		return -1;
	}
	return ini_str(x, k, base, v);
}

int ini_cidrs(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	struct cidr **list = (struct cidr **)((char *)base + k->off);
	size_t *n = (size_t *)((char *)base + k->noff);
	char *copy = xstrdup(v), *save = NULL, *w;
	char why[128];
	int rc = 0;

	free(*list);
	*list = NULL;
	*n = 0;
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		struct cidr c;
		int dup = 0;

		if (cidr_parse_why(w, &c, why, sizeof(why)) == -1) {
			ini_err(x, 0, "%s: bad CIDR '" SHOW "': %s", k->name, w, why);
			rc = -1;
			continue;
		}
		for (size_t i = 0; i < *n; i++)
			dup |= (*list)[i].family == c.family &&
			       (*list)[i].plen == c.plen &&
			       memcmp((*list)[i].addr, c.addr, sizeof(c.addr)) == 0;
		if (dup) {
			ini_err(x, 0, "%s: %s is listed twice", k->name, c.text);
			rc = -1;
			continue;
		}
		*list = xgrow(*list, *n, sizeof(**list));
		(*list)[(*n)++] = c;
	}
	free(copy);
	return rc;
}

int ini_unixgroup(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	if (getgrnam(v) == NULL) {
		ini_err(x, 0, "%s: no group '" SHOW "' on this system", k->name, v);
		return -1;
	}
	return ini_str(x, k, base, v);
}

int ini_ifname(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	size_t n = strlen(v);

	if (n >= k->size || strcspn(v, " \t/:") != n || strcmp(v, ".") == 0 ||
	    strcmp(v, "..") == 0) {
		ini_err(x, 0,
			"%s: '" SHOW "' is not an interface name (1 to %zu "
			"characters, no space, '/' or ':')",
			k->name, v, k->size - 1);
		return -1;
	}
	return ini_str(x, k, base, v);
}

int ini_bool(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	int b;

	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		b = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		b = 0;
	else {
		ini_err(x, 0, "%s: '" SHOW "' is not yes or no", k->name, v);
		return -1;
	}
	*(int *)((char *)base + k->off) = b;
	return 0;
}

int ini_listen(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	char host[64];
	unsigned char a[16];
	const char *colon = strrchr(v, ':');
	size_t hl;
	int ok = colon != NULL;

	if (*v == '\0')
		return ini_str(x, k, base, v);
	if (ok) {
		hl = (size_t)(colon - v);
		ok = hl > 0 && hl < sizeof(host);
	}
	if (ok) {
		memcpy(host, v, hl);
		host[hl] = '\0';
		if (host[0] == '[' && host[hl - 1] == ']') {
			host[hl - 1] = '\0';
			ok = inet_pton(AF_INET6, host + 1, a) == 1;
		} else {
			ok = inet_pton(AF_INET, host, a) == 1;
		}
		size_t pd = strspn(colon + 1, "0123456789");
		ok = ok && pd > 0 && pd <= 5 && colon[1 + pd] == '\0' &&
		     atoi(colon + 1) > 0 && atoi(colon + 1) < 65536;
	}
	if (!ok) {
		ini_err(x, 0,
			"%s: '" SHOW
			"' is not ADDRESS:PORT (like 127.0.0.1:9641 or [::1]:9641)",
			k->name, v);
		return -1;
	}
	return ini_str(x, k, base, v);
}

int ini_uint(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	size_t digits = strspn(v, "0123456789");
	unsigned long n;

	/* Digits only: strtoul would take " 5", "+5", "-5" and "0x5". */
	if (digits == 0 || v[digits] != '\0') {
		ini_err(x, 0, "%s: '" SHOW "' is not a number", k->name, v);
		return -1;
	}
	n = digits > 9 ? ULONG_MAX : strtoul(v, NULL, 10);
	if (n < k->min || n > k->max) {
		ini_err(x, 0, "%s: " SHOW " is out of range %u..%u", k->name, v, k->min,
			k->max);
		return -1;
	}
	*(unsigned *)((char *)base + k->off) = (unsigned)n * k->scale;
	return 0;
}

int ini_valid_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_.-");
	return n >= 1 && n <= 63 && s[n] == '\0';
}
