/* ini.h — the INI engine: sections whose keys are described by tables
 * (name, parser, field, default, range, flags), typed value parsers, and
 * every error kept as "file:line: message" and reported sorted by line.
 * libinih does the syntax. Each module declares the sections it owns
 * (vpc/aws_cfg.c: [aws]; netmon/nm_cfg.c: [netmon], [metrics]; ...), and the
 * configuration file (daemon/cfg.c) lists them. */
#ifndef VPCF_INI_H
#define VPCF_INI_H

#include <stddef.h>
#include <stdio.h>

#include "lib/cidr.h"

#define INI_NAME_MAX 64	     /* a name: group, zone, profile, Unix group, service */
#define INI_SHOW     "%.80s" /* how much of a bad value goes into a message */

struct ini; /* one file being parsed: its errors, the line, the sections seen */
struct ini_key;

/* Store value v for key k in base, the section's struct: 0, or -1 with the
 * error reported (ini_err). */
typedef int (*ini_parse_fn)(struct ini *x, const struct ini_key *k, void *base,
			    const char *v);

#define INI_EMPTY_OFF 0x1 /* "key =" turns the feature off, not the default */
#define INI_RESTART   0x2 /* bound at start: a reload keeps the running value */

/* One key of a section. Tables end with an entry whose name is NULL. */
struct ini_key {
	const char *name;
	ini_parse_fn parse;
	size_t off, size;	  /* the field in the section's struct (INI_FIELD) */
	const char *def;	  /* default, parsed like a value; NULL = zero/empty */
	unsigned min, max, scale; /* ini_uint: range, and the unit stored (s -> ms) */
	unsigned flags;		  /* INI_EMPTY_OFF, INI_RESTART */
	size_t noff;		  /* lists (ini_cidrs): where their size_t count is */
};

#define INI_FIELD(type, f) offsetof(type, f), sizeof(((type *)0)->f)

/* A section and the keys it takes. An unnamed one ("[aws]") is one struct of
 * the whole configuration; a named one ("[group NAME]") has open(), which
 * makes a struct for each. */
struct ini_section {
	const char *word; /* "aws", "group" */
	const struct ini_key *keys;
	/* Named sections: a new struct for "[word NAME]" in top (the whole
	 * configuration), defaults not yet applied; errors in the name are
	 * reported by it. NULL for unnamed sections. */
	void *(*open)(struct ini *x, void *top, const char *name);
	/* Keys that are not in the table ("zone.NAME" in [netmon]): 1 taken
	 * (errors reported), 0 unknown. NULL: none. */
	int (*other)(struct ini *x, void *base, const char *name, const char *v);
};

/* Where an unnamed section's struct lies in the whole configuration. */
struct ini_place {
	const struct ini_section *sec;
	size_t off; /* ignored for named sections */
};

/* A parse of path into top: the unnamed sections of places[] get their
 * defaults now. Nothing is logged before ini_end. */
struct ini *ini_begin(const char *path, void *top, const struct ini_place *places,
		      size_t nplaces);
/* Read fp line by line (at most INI_LINE_MAX characters a line, INI_FILE_MAX
 * bytes in all) into the sections. */
void ini_read(struct ini *x, FILE *fp);
/* Count an error at line (0: the line being parsed) and keep it. */
void ini_err(struct ini *x, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The line being parsed. */
int ini_line(const struct ini *x);
/* The line of "[word]" (unnamed sections), 0 when the file has none. */
int ini_first(const struct ini *x, const char *word);
/* The file could not be read to its end (too long, read error). */
int ini_cut(const struct ini *x);
/* Fill base with the defaults of sec (a named section's new struct). */
void ini_defaults(struct ini *x, const struct ini_section *sec, void *base);
/* Log the kept errors as "path:line: message" in line order and free x.
 * Returns how many errors there were. */
int ini_end(struct ini *x);

/* Reload: the next INI_RESTART key of sec after k (NULL: from the first)
 * whose value differs between the section structs a and b; NULL when none.
 * Restart-only keys are fixed-size fields (strings, numbers). */
const struct ini_key *ini_restart_next(const struct ini_section *sec,
				       const struct ini_key *k, const void *a,
				       const void *b);
/* Copy k's field from src to dst. */
void ini_copy(const struct ini_key *k, void *dst, const void *src);

/* The parsers; the field is k->off, k->size of base. Empty values are taken
 * as given (the engine has put the default in place already). */
int ini_str(struct ini *x, const struct ini_key *k, void *base, const char *v);
/* One word of printable ASCII without '"'. */
int ini_word(struct ini *x, const struct ini_key *k, void *base, const char *v);
/* An http:// or https:// URL with a host. */
int ini_url(struct ini *x, const struct ini_key *k, void *base, const char *v);
/* A file that must exist now; whether its mode is safe is its user's call. */
int ini_file(struct ini *x, const struct ini_key *k, void *base, const char *v);
/* An absolute path; it need not exist yet. */
int ini_path(struct ini *x, const struct ini_key *k, void *base, const char *v);
/* A decimal number in [k->min, k->max] stored (unsigned) times k->scale. */
int ini_uint(struct ini *x, const struct ini_key *k, void *base, const char *v);
/* yes/true/1 or no/false/0, stored as int. */
int ini_bool(struct ini *x, const struct ini_key *k, void *base, const char *v);
/* ADDRESS:PORT with a numeric IPv4 or bracketed IPv6 address; "" = off. */
int ini_listen(struct ini *x, const struct ini_key *k, void *base, const char *v);
/* A network interface name (1 to k->size - 1 characters). */
int ini_ifname(struct ini *x, const struct ini_key *k, void *base, const char *v);
/* Whitespace-separated CIDRs into a growing array (struct cidr *, its count
 * at k->noff), each bad or repeated one reported. */
int ini_cidrs(struct ini *x, const struct ini_key *k, void *base, const char *v);
/* A group of this system (/etc/group or NSS). */
int ini_unixgroup(struct ini *x, const struct ini_key *k, void *base, const char *v);

/* 1 to 63 of A-Z a-z 0-9 _ . - (group and zone names)? 1 or 0. */
int ini_valid_name(const char *s);

#endif
