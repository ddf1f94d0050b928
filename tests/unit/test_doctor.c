/* test_doctor.c — doctor's keepalived.conf checks against the
 * configuration, offline: the hook (and its program, its -c), the FIFO,
 * the group's instance or sync group, unicast, vrrp_strict, track_file
 * blocks, weights and references. The live checks (metadata, IAM, ENIs,
 * processes) are in tests/integration/doctor.sh. doctor.c is included so
 * its static checks can be called one by one, with the output in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/log.h"
#include "hooks/doctor_ka.c"

static char dir[64];
static char *out_text;
static struct doc d;

static char *put(const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

/* Run the keepalived.conf checks: cfg is the vpc-failover.conf text (the
 * track_file lines are read by doctor's own ini pass), ka the
 * keepalived.conf text. The output is in out_text, the counts in d.n. */
static void run(const char *cfg, const char *ka)
{
	size_t len;
	char *cfg_path = put("vpcf.conf", cfg, 0644);
	char *ka_path = put("keepalived.conf", ka, 0644);

	free(out_text);
	memset(&d, 0, sizeof(d));
	d.out = open_memstream(&out_text, &len);
	d.cfg_path = cfg_path;
	d.ka_path = ka_path;
	snprintf(d.self, sizeof(d.self), "/usr/local/sbin/vpc-failover");
	d.cfg = cfg_load(cfg_path);
	assert_non_null(d.cfg);
	doc_check_keepalived_conf(&d);
	fclose(d.out);
	/* as TAP comments: lines starting "ok" would count as results */
	for (char *p = out_text, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		print_message("# %.*s\n", (int)(nl - p), p);
	}
	doc_free(&d);
	free(cfg_path);
	free(ka_path);
}

static int has(const char *line)
{
	char *want = xasprintf("%s\n", line);
	int found = strstr(out_text, want) != NULL;

	free(want);
	return found;
}

#define GROUP                                                                            \
	"[group g1]\nvrrp_instance = VI_1\ndestinations = 10.255.0.10/32\n"              \
	"route_tables = rtb-0123abcd\n"

static char hook[128]; /* an executable called vpc-failover */

static char *ka_text(const char *global, const char *top, const char *inst)
{
	return xasprintf("global_defs {\n  router_id a\n%s}\n%s"
			 "vrrp_instance VI_1 {\n"
			 "  state BACKUP\n"
			 "  interface eth0\n"
			 "  unicast_peer {\n    10.0.3.10\n  }\n"
			 "%s}\n",
			 global, top, inst);
}

static void test_is_hook(void **state)
{
	char prog[256], conf[256];

	assert_true(is_hook("/usr/local/sbin/vpc-failover notify", prog, sizeof(prog),
			    conf, sizeof(conf)));
	assert_string_equal(prog, "/usr/local/sbin/vpc-failover");
	assert_string_equal(conf, "");
	assert_true(is_hook("/x/vpc-failover -c /etc/v.conf notify", prog, sizeof(prog),
			    conf, sizeof(conf)));
	assert_string_equal(conf, "/etc/v.conf");
	assert_true(is_hook("vpc-failover -c/etc/w.conf -v notify", prog, sizeof(prog),
			    conf, sizeof(conf)));
	assert_string_equal(conf, "/etc/w.conf");
	assert_false(
	    is_hook("/x/vpc-failover status", prog, sizeof(prog), conf, sizeof(conf)));
	assert_false(
	    is_hook("/x/vpc-failoverd notify", prog, sizeof(prog), conf, sizeof(conf)));
	assert_false(
	    is_hook("/usr/bin/logger notify", prog, sizeof(prog), conf, sizeof(conf)));
}

static void test_hook_ok(void **state)
{
	char *inst = xasprintf("  notify \"%s notify\"\n", hook);
	char *ka = ka_text("", "", inst);

	run(GROUP, ka);
	assert_int_equal(d.n[V_FAIL], 0);
	assert_int_equal(d.n[V_WARN], 0);
	char *want = xasprintf("ok    [g1] vrrp_instance VI_1 runs the hook: notify \"%s "
			       "notify\" (%s/keepalived.conf:10)",
			       hook, dir);
	assert_true(has(want));
	free(want);
	want = xasprintf("ok    [g1] vrrp_instance VI_1 at %s/keepalived.conf:4", dir);
	assert_true(has(want));
	free(want);
	free(ka);
	free(inst);
}

static void test_hook_problems(void **state)
{
	char *ka, *want;

	/* the program is not there: keepalived disables the hook */
	ka = ka_text("", "", "  notify \"/nonexistent/vpc-failover notify\"\n");
	run(GROUP, ka);
	want =
	    xasprintf("FAIL  [g1] notify \"/nonexistent/vpc-failover notify\" "
		      "(%s/keepalived.conf:10): /nonexistent/vpc-failover: No such file "
		      "or directory, so keepalived disables the hook: use "
		      "/usr/local/sbin/vpc-failover",
		      dir);
	assert_true(has(want));
	free(want);
	free(ka);

	/* another configuration than the one checked */
	char *inst = xasprintf("  notify \"%s -c /etc/other.conf notify\"\n", hook);
	ka = ka_text("", "", inst);
	run(GROUP, ka);
	assert_int_equal(d.n[V_WARN], 1);
	assert_non_null(strstr(out_text, "uses the configuration /etc/other.conf"));
	free(ka);
	free(inst);

	/* a wrapper script: cannot tell, say what it must do */
	ka = ka_text("", "", "  notify /usr/local/bin/my-hook\n");
	run(GROUP, ka);
	assert_int_equal(d.n[V_FAIL], 0);
	want =
	    xasprintf("WARN  [g1] vrrp_instance VI_1 notifies \"/usr/local/bin/my-hook\" "
		      "(%s/keepalived.conf:10), not vpc-failover notify: make sure it "
		      "runs \"/usr/local/sbin/vpc-failover notify\" with keepalived's "
		      "four arguments",
		      dir);
	assert_true(has(want));
	free(want);
	free(ka);

	/* notify_master gets no arguments; and no notify at all */
	ka = ka_text("", "", "  notify_master \"/usr/local/sbin/vpc-failover notify\"\n");
	run(GROUP, ka);
	assert_int_equal(d.n[V_WARN], 1);
	assert_non_null(strstr(out_text, "keepalived passes notify_master no arguments"));
	want =
	    xasprintf("FAIL  [g1] keepalived never tells vpc-failover about "
		      "vrrp_instance VI_1: add notify \"/usr/local/sbin/vpc-failover "
		      "notify\" to it (%s/keepalived.conf:4), or vrrp_notify_fifo PATH "
		      "to global_defs and notify_fifo = PATH to [keepalived]",
		      dir);
	assert_true(has(want));
	free(want);
	free(ka);
}

static void test_fifo(void **state)
{
	char *ka;

	/* the FIFO instead of the hook */
	ka = ka_text("  vrrp_notify_fifo /run/vf/ka.fifo\n", "", "");
	run("[keepalived]\nnotify_fifo = /run/vf/ka.fifo\n" GROUP, ka);
	assert_int_equal(d.n[V_FAIL], 0);
	assert_int_equal(d.n[V_WARN], 0);
	assert_non_null(strstr(out_text, "ok    keepalived writes vrrp_notify_fifo "
					 "/run/vf/ka.fifo ("));
	free(ka);

	/* two different paths: nobody tells the daemon */
	ka = ka_text("  vrrp_notify_fifo /run/vf/other.fifo\n", "", "");
	run("[keepalived]\nnotify_fifo = /run/vf/ka.fifo\n" GROUP, ka);
	assert_int_equal(d.n[V_WARN], 1);
	assert_int_equal(d.n[V_FAIL], 1);
	assert_non_null(strstr(out_text, "but keepalived writes its FIFO to "
					 "/run/vf/other.fifo"));
	free(ka);
}

static void test_instance_and_network(void **state)
{
	char *ka;

	/* vrrp_group names a sync group that is not there */
	ka = ka_text("  vrrp_strict\n", "", "  notify \"/usr/bin/true\"\n");
	run("[group g2]\nvrrp_group = VG_1\ndestinations = 10.255.0.10/32\n"
	    "route_tables = rtb-0123abcd\n",
	    ka);
	char *want =
	    xasprintf("FAIL  [g2] vrrp_group = VG_1, but the keepalived config has "
		      "no vrrp_sync_group VG_1 (it has: none): fix vrrp_group in "
		      "[group g2] of %s/vpcf.conf, or keepalived.conf",
		      dir);
	assert_true(has(want));
	free(want);
	assert_non_null(strstr(out_text, "WARN  keepalived config: vrrp_strict ("));
	free(ka);

	/* multicast VRRP */
	ka = xasprintf("vrrp_instance VI_1 {\n  notify \"%s notify\"\n}\n", hook);
	run(GROUP, ka);
	assert_true(
	    has("WARN  [g1] vrrp_instance VI_1 has no unicast_peer: VRRP multicast "
		"does not cross a VPC; add unicast_src_ip and unicast_peer { PEER }"));
	free(ka);
}

static void test_track_file(void **state)
{
	char *inst = xasprintf("  notify \"%s notify\"\n  nopreempt\n"
			       "  track_file {\n    vpcf_g1\n  }\n",
			       hook);
	char *ka, *want;
	const char *cfg = GROUP "track_file = /run/vf/g1.demote\n";

	/* no block watches the path */
	ka = ka_text("", "", inst);
	run(cfg, ka);
	want = xasprintf(
	    "FAIL  [g1] track_file = /run/vf/g1.demote, but no track_file "
	    "block of the keepalived config watches it: add track_file "
	    "vpcf_g1 { file /run/vf/g1.demote weight 0 init_file 0 } and "
	    "track_file { vpcf_g1 } in vrrp_instance VI_1 (%s/keepalived.conf:4)",
	    dir);
	assert_true(has(want));
	free(want);
	/* ... and the instance names a track_file nobody defines */
	want = xasprintf("FAIL  vrrp_instance VI_1 uses track_file vpcf_g1 "
			 "(%s/keepalived.conf:13), which no track_file block defines",
			 dir);
	assert_true(has(want));
	free(want);
	free(ka);

	/* the block exists, weight 0: all well */
	ka = ka_text(
	    "", "track_file vpcf_g1 {\n  file /run/vf/g1.demote\n  weight 0\n}\n", inst);
	run(cfg, ka);
	assert_int_equal(d.n[V_FAIL], 0);
	assert_int_equal(d.n[V_WARN], 0);
	assert_non_null(strstr(out_text,
			       "watches /run/vf/g1.demote, used by vrrp_instance "
			       "VI_1 (weight 0: FAULT on demote)"));
	free(ka);

	/* a negative weight with nopreempt never hands over */
	ka = ka_text("",
		     "track_file vpcf_g1 {\n  file /run/vf/g1.demote\n  weight -50\n}\n",
		     inst);
	run(cfg, ka);
	assert_true(
	    has("WARN  [g1] track_file vpcf_g1 has weight -50 and vrrp_instance "
		"VI_1 has nopreempt: a lower priority never hands MASTER over; use "
		"weight 0 (FAULT)"));
	free(ka);

	/* ... unless the reference overrides it */
	char *inst0 = xasprintf("  notify \"%s notify\"\n  nopreempt\n"
				"  track_file {\n    vpcf_g1 weight 0\n  }\n",
				hook);
	ka = ka_text("",
		     "track_file vpcf_g1 {\n  file /run/vf/g1.demote\n  weight -50\n}\n",
		     inst0);
	run(cfg, ka);
	assert_int_equal(d.n[V_WARN], 0);
	free(ka);
	free(inst0);

	/* a positive weight raises the priority */
	ka = ka_text(
	    "", "track_file vpcf_g1 {\n  file /run/vf/g1.demote\n  weight 10\n}\n", inst);
	run(cfg, ka);
	assert_non_null(strstr(out_text, "has weight 10: writing 1 raises the priority"));
	free(ka);

	/* a block watches the path, but the instance does not use it */
	char *noref = xasprintf("  notify \"%s notify\"\n", hook);
	ka = ka_text("", "track_file vpcf_x {\n  file /run/vf/g1.demote\n  weight 0\n}\n",
		     noref);
	run(cfg, ka);
	want = xasprintf("FAIL  [g1] track_file vpcf_x (%s/keepalived.conf:4) watches "
			 "/run/vf/g1.demote, but vrrp_instance VI_1 does not use it: add "
			 "track_file { vpcf_x } to it (%s/keepalived.conf:8)",
			 dir, dir);
	assert_true(has(want));
	free(want);
	free(ka);
	free(noref);
	free(inst);
}

static void test_unreadable(void **state)
{
	char err[256];

	memset(&d, 0, sizeof(d));
	free(out_text);
	size_t len;
	d.out = open_memstream(&out_text, &len);
	char *cfg_path = put("vpcf.conf", GROUP, 0644);
	d.cfg = cfg_load(cfg_path);
	d.cfg_path = cfg_path;
	snprintf(err, sizeof(err), "%s/nope.conf", dir);
	d.ka_path = err;
	doc_check_keepalived_conf(&d);
	fclose(d.out);
	char *want =
	    xasprintf("FAIL  keepalived config: %s/nope.conf: No such file or "
		      "directory (pass --keepalived-conf FILE if it lives elsewhere)",
		      dir);
	assert_true(has(want));
	free(want);
	doc_free(&d);
	free(cfg_path);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/doctor.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	char *h = put("vpc-failover", "#!/bin/sh\nexit 0\n", 0755);
	snprintf(hook, sizeof(hook), "%s", h);
	free(h);
	log_init("test_doctor", 1, LOG_LVL_ERR);
	return 0;
}

static int teardown(void **state)
{
	char *rm = xasprintf("rm -rf '%s'", dir);
	int rc = system(rm);

	free(rm);
	free(out_text);
	return rc == 0 ? 0 : -1;
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_is_hook),
	    cmocka_unit_test(test_hook_ok),
	    cmocka_unit_test(test_hook_problems),
	    cmocka_unit_test(test_fifo),
	    cmocka_unit_test(test_instance_and_network),
	    cmocka_unit_test(test_track_file),
	    cmocka_unit_test(test_unreadable),
	};
	return cmocka_run_group_tests_name("doctor", tests, setup, teardown);
}
