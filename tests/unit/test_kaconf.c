/* test_kaconf.c — the keepalived.conf reader of vpc-failover doctor:
 * comments, quotes, nested and split braces, include (globs, relative paths,
 * skipped files, loops), and every error naming file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/util.h"
#include "hooks/kaconf.h"

static struct kc_conf *parse_ok(const char *text)
{
	struct kc_conf *c = NULL;
	char err[512] = "";

	if (kc_parse_text("k.conf", text, strlen(text), &c, err, sizeof(err)) != 0)
		fail_msg("parse failed: %s", err);
	return c;
}

/* The error text of a parse that must fail. */
static void parse_bad_len(const char *text, size_t len, const char *want)
{
	struct kc_conf *c = NULL;
	char err[512] = "";

	assert_int_equal(kc_parse_text("k.conf", text, len, &c, err, sizeof(err)), -1);
	assert_null(c);
	print_message("# %s\n", err);
	assert_string_equal(err, want);
}

static void parse_bad(const char *text, const char *want)
{
	parse_bad_len(text, strlen(text), want);
}

static void test_comments(void **state)
{
	struct kc_conf *c = parse_ok("# a comment\n"
				     "! another\n"
				     "global_defs { # trailing\n"
				     "  router_id db-a ! trailing too\n"
				     "  script_user root#glued\n"
				     "  notification_email_from \"a#b!c\"\n"
				     "  vrrp_notify_fifo /run/x\\#1.fifo\n"
				     "}\n");
	const struct kc_node *g = kc_find(&c->top, NULL, "global_defs", NULL);

	assert_int_equal(c->top.nkids, 1);
	assert_non_null(g);
	assert_true(g->block);
	assert_int_equal(g->nkids, 4);
	assert_int_equal(g->kids[0].nw, 2);
	assert_string_equal(g->kids[0].w[1], "db-a");
	assert_string_equal(g->kids[1].w[1], "root");
	/* inside quotes neither '#' nor '!' starts a comment */
	assert_string_equal(g->kids[2].w[1], "a#b!c");
	/* "\#" is a literal '#' */
	assert_string_equal(g->kids[3].w[1], "/run/x#1.fifo");
	assert_int_equal(g->kids[3].line, 7);
	kc_free(c);
}

static void test_quotes(void **state)
{
	struct kc_conf *c =
	    parse_ok("vrrp_instance VI_1 {\n"
		     "  notify \"/usr/local/sbin/vpc-failover -c /etc/x.conf notify\"\n"
		     "  notify_master \"/bin/echo {not a block}\"\n"
		     "  notify_backup /bin/echo two words\n"
		     "}\n");
	const struct kc_node *vi = kc_find(&c->top, NULL, "vrrp_instance", "VI_1");
	const struct kc_node *n;
	char args[256];

	assert_non_null(vi);
	n = kc_find(vi, NULL, "notify", NULL);
	assert_int_equal(n->nw, 2);
	assert_string_equal(n->w[1],
			    "/usr/local/sbin/vpc-failover -c /etc/x.conf notify");
	/* braces inside quotes are text, not blocks */
	n = kc_find(vi, NULL, "notify_master", NULL);
	assert_false(n->block);
	assert_string_equal(n->w[1], "/bin/echo {not a block}");
	n = kc_find(vi, NULL, "notify_backup", NULL);
	kc_args(n, args, sizeof(args));
	assert_string_equal(args, "/bin/echo two words");
	/* kc_args truncates but terminates */
	kc_args(n, args, 8);
	assert_string_equal(args, "/bin/ec");
	kc_free(c);
}

static void test_braces(void **state)
{
	struct kc_conf *c = parse_ok("vrrp_instance VI_1{\n"
				     "  unicast_peer { 10.0.3.10 10.0.4.10 }\n"
				     "  track_file\n"
				     "  {\n"
				     "    vpcf_db weight -50\n"
				     "  }\n"
				     "  virtual_ipaddress {\n"
				     "    10.255.0.10/32 dev eth0\n"
				     "  }\n"
				     "}\n"
				     "vrrp_instance VI_2 { }\n"
				     "track_file vpcf_db { file /run/db.demote\n"
				     "weight 0 }\n");
	const struct kc_node *vi = kc_find(&c->top, NULL, "vrrp_instance", "VI_1"), *n;

	assert_non_null(vi);
	assert_int_equal(vi->nkids, 3);
	n = kc_find(vi, NULL, "unicast_peer", NULL);
	assert_true(n->block);
	assert_int_equal(n->nkids, 1);
	assert_int_equal(n->kids[0].nw, 2); /* one line: one statement */
	assert_string_equal(n->kids[0].w[1], "10.0.4.10");
	/* '{' on the next line opens the block of the line before */
	n = kc_find(vi, NULL, "track_file", NULL);
	assert_true(n->block);
	assert_string_equal(n->kids[0].w[0], "vpcf_db");
	assert_string_equal(n->kids[0].w[2], "-50");
	n = kc_find(vi, NULL, "virtual_ipaddress", NULL);
	assert_int_equal(n->kids[0].nw, 3);
	/* an empty block is a block */
	n = kc_find(&c->top, NULL, "vrrp_instance", "VI_2");
	assert_non_null(n);
	assert_true(n->block);
	assert_int_equal(n->nkids, 0);
	assert_ptr_equal(kc_find(&c->top, vi, "vrrp_instance", NULL), n);
	assert_null(kc_find(&c->top, n, "vrrp_instance", NULL));
	n = kc_find(&c->top, NULL, "track_file", "vpcf_db");
	assert_int_equal(n->nkids, 2);
	assert_string_equal(kc_find(n, NULL, "file", NULL)->w[1], "/run/db.demote");
	assert_string_equal(kc_find(n, NULL, "weight", NULL)->w[1], "0");
	assert_int_equal(kc_find(n, NULL, "weight", NULL)->line, 13);
	kc_free(c);
}

/* keepalived's macro language: definitions dropped, @id prefixes removed. */
static void test_macros(void **state)
{
	struct kc_conf *c = parse_ok("$PEER=10.0.3.10\n"
				     "~SEQ(n, 1, 3) vrrp_instance VI_$n { }\n"
				     "@db-a vrrp_instance VI_1 {\n"
				     "@^db-a  priority 100\n"
				     "}\n");

	assert_int_equal(c->top.nkids, 1);
	assert_string_equal(c->top.kids[0].w[1], "VI_1");
	assert_string_equal(c->top.kids[0].kids[0].w[0], "priority");
	kc_free(c);
}

static void test_errors(void **state)
{
	parse_bad("global_defs {\n}\nvrrp_instance VI_1 {\n  state BACKUP\n"
		  "  unicast_peer {\n    10.0.3.10\n  }\n",
		  "k.conf:3: 'vrrp_instance' opens a block with '{' that is never closed "
		  "(a '}' is missing)");
	parse_bad("vrrp_instance VI_1 {\n  unicast_peer {\n    10.0.3.10\n}\n",
		  "k.conf:1: 'vrrp_instance' opens a block with '{' that is never closed "
		  "(a '}' is missing)");
	parse_bad("global_defs {\n}\n}\n", "k.conf:3: '}' without a '{' before it");
	parse_bad("\n{\n}\n", "k.conf:2: '{' without a keyword before it");
	parse_bad("a { }\n{\n}\n", "k.conf:2: '{' without a keyword before it");
	parse_bad("vrrp_instance VI_1 {\n  notify \"/bin/x notify\n}\n",
		  "k.conf:2: unterminated quote");
	parse_bad_len("a\0b\n", 4, "k.conf:1: NUL byte in the line");
}

static void test_caps(void **state)
{
	struct buf b;

	buf_init(&b, 4 * KC_FILE_MAX);
	/* a line too long */
	for (int i = 0; i <= KC_LINE_MAX; i++)
		buf_append(&b, "x", 1);
	parse_bad(buf_str(&b), "k.conf:1: line longer than 16384 bytes");
	/* too many words on one line */
	buf_reset(&b);
	for (int i = 0; i <= KC_WORDS_MAX + 2; i++)
		buf_append(&b, "w ", 2);
	parse_bad(buf_str(&b), "k.conf:1: more than 256 words on one line");
	/* blocks too deep */
	buf_reset(&b);
	for (int i = 0; i <= KC_NEST_MAX; i++)
		buf_append(&b, "a {\n", 4);
	parse_bad(buf_str(&b), "k.conf:33: blocks nested deeper than 32");
	/* a file too large */
	buf_reset(&b);
	for (int i = 0; i < KC_FILE_MAX / 4 + 1; i++)
		buf_append(&b, "#..\n", 4);
	parse_bad(buf_str(&b), "k.conf: larger than 1048576 bytes");
	buf_free(&b);
}

/* include: glob, paths relative to the including file, skipped files, a
 * block closed in another file, loops, missing files. */
static char dir[64];

static void put(const char *rel, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, rel);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	free(path);
}

static void test_include(void **state)
{
	struct kc_conf *c = NULL;
	char err[512] = "", *main_conf, *path;

	snprintf(dir, sizeof(dir), "/tmp/kaconf.XXXXXX");
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/conf.d", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
	put("keepalived.conf",
	    "global_defs {\n  vrrp_notify_fifo /run/vpc-failover/keepalived.fifo\n}\n"
	    "include conf.d/*.conf\n"
	    "include \"none/*.conf\"\n"
	    "vrrp_instance VI_3 {\n"
	    "include conf.d/body.inc\n",
	    0644);
	put("conf.d/10-db.conf", "vrrp_instance VI_1 {\n  priority 150\n}\n", 0644);
	put("conf.d/20-redis.conf",
	    "vrrp_instance VI_2 {\n  track_file {\n    vpcf_redis\n  }\n}\n", 0644);
	put("conf.d/30-script.conf", "vrrp_instance VI_X {\n}\n", 0755);
	/* the rest of VI_3, closed in the included file */
	put("conf.d/body.inc", "  priority 100\n}\n", 0644);
	main_conf = xasprintf("%s/keepalived.conf", dir);
	if (kc_load(main_conf, &c, err, sizeof(err)) != 0)
		fail_msg("kc_load: %s", err);
	assert_int_equal(c->nfiles, 4);
	assert_non_null(kc_find(&c->top, NULL, "vrrp_instance", "VI_1"));
	const struct kc_node *vi2 = kc_find(&c->top, NULL, "vrrp_instance", "VI_2");
	assert_non_null(vi2);
	assert_non_null(strstr(vi2->file, "conf.d/20-redis.conf"));
	assert_int_equal(vi2->line, 1);
	assert_null(kc_find(&c->top, NULL, "vrrp_instance", "VI_X"));
	const struct kc_node *vi3 = kc_find(&c->top, NULL, "vrrp_instance", "VI_3");
	assert_non_null(vi3);
	assert_int_equal(vi3->nkids, 1);
	assert_non_null(strstr(vi3->kids[0].file, "body.inc"));
	/* skipped things are noted, naming where */
	assert_int_equal(c->nnotes, 2);
	print_message("# %s\n# %s\n", c->notes[0], c->notes[1]);
	assert_non_null(strstr(c->notes[0], "30-script.conf is executable"));
	assert_non_null(strstr(c->notes[1], "keepalived.conf:5: include "));
	assert_non_null(strstr(c->notes[1], "none/*.conf matched no file"));
	kc_free(c);
	c = NULL;

	/* an include loop ends at the depth cap, naming the line */
	put("loop.conf", "include loop.conf\n", 0644);
	path = xasprintf("%s/loop.conf", dir);
	assert_int_equal(kc_load(path, &c, err, sizeof(err)), -1);
	print_message("# %s\n", err);
	assert_non_null(strstr(err, "loop.conf:1: include nested deeper than 8"));
	free(path);

	/* a missing top file, and a broken included one */
	path = xasprintf("%s/nope.conf", dir);
	assert_int_equal(kc_load(path, &c, err, sizeof(err)), -1);
	char *want = xasprintf("%s: No such file or directory", path);
	assert_string_equal(err, want);
	free(want);
	free(path);
	put("conf.d/40-broken.conf", "vrrp_instance VI_4 {\n", 0644);
	assert_int_equal(kc_load(main_conf, &c, err, sizeof(err)), -1);
	print_message("# %s\n", err);
	/* VI_3 nests inside the unclosed VI_4 and is closed; VI_4 is not */
	want = xasprintf("%s/conf.d/40-broken.conf:1: 'vrrp_instance' opens a block "
			 "with '{' that is never closed (a '}' is missing)",
			 dir);
	assert_string_equal(err, want);
	free(want);
	free(main_conf);
	char *rm = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(rm), 0);
	free(rm);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_comments), cmocka_unit_test(test_quotes),
	    cmocka_unit_test(test_braces),   cmocka_unit_test(test_macros),
	    cmocka_unit_test(test_errors),   cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_include),
	};
	return cmocka_run_group_tests_name("kaconf", tests, NULL, NULL);
}
