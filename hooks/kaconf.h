/* kaconf.h — keepalived.conf read the way keepalived 2.2 reads it, into a
 * tree of statements, for vpc-failover doctor. Not a validator: keepalived
 * --config-test is that. This answers "is there a vrrp_instance VI_1, what
 * are its notify lines, which track_file blocks watch which file".
 *
 * Syntax followed (keepalived's lib/parser.c): '#' and '!' start a comment
 * outside double quotes ('\#' is a literal '#'); words split on white
 * space; "..." is one word without its quotes; '{' and '}' outside quotes
 * are tokens of their own, so "unicast_peer { 10.0.3.10 }" and a '{' alone
 * on the next line both open a block; "include PATTERN" on a line of its
 * own is replaced by the files the glob matches (relative patterns from the
 * including file's directory, directories and executable files skipped,
 * nesting capped). Not followed: $NAME definitions are not expanded (their
 * lines are dropped), ~SEQ lines are dropped, and @ID / @^ID line prefixes
 * are removed and the line is kept whatever the ID (doctor cannot know
 * keepalived's -i). Every input is capped (KC_* below). */
#ifndef VPCF_KACONF_H
#define VPCF_KACONF_H

#include <stddef.h>

#define KC_FILE_MAX    (1 << 20) /* bytes of one file */
#define KC_TOTAL_MAX   (8 << 20) /* bytes of all files together */
#define KC_FILES_MAX   256	 /* files read through include */
#define KC_INCLUDE_MAX 8	 /* include nesting */
#define KC_NEST_MAX    32	 /* block nesting */
#define KC_LINE_MAX    16384	 /* one line, newline excluded */
#define KC_WORDS_MAX   256	 /* words of one statement */
#define KC_NODES_MAX   200000	 /* statements in all */

/* One statement: its words (w[0] the keyword), where it is, and its block
 * when a '{' followed it. */
struct kc_node {
	char **w;
	size_t nw;
	const char *file; /* owned by the kc_conf */
	int line;
	int block; /* 1 if it has a { } block (possibly empty) */
	struct kc_node *kids;
	size_t nkids;
};

struct kc_conf {
	struct kc_node top; /* top.kids: the top-level statements */
	char **files;	    /* every file read, in order */
	size_t nfiles;
	char **notes; /* what was skipped: "x.conf:3: include y matched no file" */
	size_t nnotes;
	size_t nnodes, bytes; /* for the caps */
};

/* Read path and everything it includes. 0 with *out (free with kc_free), or
 * -1 with "file:line: message" in err. */
int kc_load(const char *path, struct kc_conf **out, char *err, size_t errsz);
/* The same for text that says it came from name (includes are resolved
 * against name's directory). */
int kc_parse_text(const char *name, const char *text, size_t len, struct kc_conf **out,
		  char *err, size_t errsz);
void kc_free(struct kc_conf *c);
/* The first statement of block after `after` (NULL: from the start) whose
 * keyword is kw and, when arg is not NULL, whose second word is arg. */
const struct kc_node *kc_find(const struct kc_node *block, const struct kc_node *after,
			      const char *kw, const char *arg);
/* Words 1.. of n joined by single spaces into out ("" if none). */
void kc_args(const struct kc_node *n, char *out, size_t outsz);

#endif
