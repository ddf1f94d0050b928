/* test_kaevent.c — keepalived notify arguments, FIFO lines and recorded
 * event files: everything that decides a state from outside text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/kaevent.h"
#include "lib/log.h"
#include "daemon/state.h"

static int args(const char *a, const char *b, const char *c, const char *d,
		struct ka_event *ev, char *err)
{
	char *argv[] = {(char *)a, (char *)b, (char *)c, (char *)d};
	return ka_parse_args(4, argv, ev, err, 256);
}

static void notify_args_valid(void **state)
{
	struct ka_event ev;
	char err[256];

	assert_int_equal(args("INSTANCE", "VI_1", "MASTER", "150", &ev, err), 0);
	assert_int_equal(ev.type, KA_INSTANCE);
	assert_string_equal(ev.name, "VI_1");
	assert_int_equal(ev.state, KA_MASTER);
	assert_int_equal(ev.priority, 150);
	assert_int_equal(args("GROUP", "VG.db-1:x", "BACKUP", "0", &ev, err), 0);
	assert_int_equal(ev.type, KA_GROUP);
	assert_int_equal(args("INSTANCE", "VI_1", "FAULT", "255", &ev, err), 0);
	assert_int_equal(args("INSTANCE", "VI_1", "STOP", "0", &ev, err), 0);
	assert_int_equal(ev.state, KA_STOP);
	assert_int_equal(args("INSTANCE", "VI_1", "DELETED", "0", &ev, err), 0);
	/* notify_master_rx_lower_pri "vpc-failover notify INSTANCE VI_1
	 * MASTER_RX_LOWER_PRI 0": a hint the hook passes on. */
	assert_int_equal(args("INSTANCE", "VI_1", "MASTER_RX_LOWER_PRI", "0", &ev, err),
			 0);
	assert_int_equal(ev.state, KA_MASTER_RX_LOWER_PRI);
}

static void notify_args_invalid(void **state)
{
	static const struct {
		const char *a, *b, *c, *d, *why;
	} bad[] = {
	    {"HOST", "VI_1", "MASTER", "150", "neither INSTANCE nor GROUP"},
	    {"instance", "VI_1", "MASTER", "150", "neither INSTANCE nor GROUP"},
	    {"INSTANCE", "", "MASTER", "150", "not a keepalived instance"},
	    {"INSTANCE", "VI/1", "MASTER", "150", "not a keepalived instance"},
	    {"INSTANCE", "VI 1", "MASTER", "150", "not a keepalived instance"},
	    {"INSTANCE", "\"VI_1\"", "MASTER", "150", "not a keepalived instance"},
	    {"INSTANCE", "VI_1", "PRIMARY", "150", "is not MASTER, BACKUP"},
	    {"INSTANCE", "VI_1", "master", "150", "is not MASTER, BACKUP"},
	    {"INSTANCE", "VI_1", "MASTER_PRIORITY", "150", "is not MASTER, BACKUP"},
	    {"INSTANCE", "VI_1", "MASTER", "256", "not a number 0..255"},
	    {"INSTANCE", "VI_1", "MASTER", "-1", "not a number 0..255"},
	    {"INSTANCE", "VI_1", "MASTER", "1x", "not a number 0..255"},
	    {"INSTANCE", "VI_1", "MASTER", "", "not a number 0..255"},
	    {"INSTANCE", "VI_1", "MASTER", "0150", "not a number 0..255"},
	};
	struct ka_event ev;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(args(bad[i].a, bad[i].b, bad[i].c, bad[i].d, &ev, err),
				 -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].why);
	}
	char long_name[100];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(args("INSTANCE", long_name, "MASTER", "1", &ev, err), -1);
	char *three[] = {"INSTANCE", "VI_1", "MASTER"};
	assert_int_equal(ka_parse_args(3, three, &ev, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "want 4 arguments"));
}

static void fifo_lines(void **state)
{
	struct ka_event ev;
	char err[256];

	assert_int_equal(
	    ka_parse_fifo("INSTANCE \"VI_1\" MASTER 150", &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.name, "VI_1");
	assert_int_equal(ev.state, KA_MASTER);
	assert_int_equal(ka_parse_fifo("GROUP \"VG_1\" BACKUP 0", &ev, err, sizeof(err)),
			 0);
	assert_int_equal(ev.type, KA_GROUP);
	assert_int_equal(ka_parse_fifo("INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150", &ev,
				       err, sizeof(err)),
			 0);
	assert_int_equal(ev.state, KA_MASTER_RX_LOWER_PRI);
	assert_int_equal(
	    ka_parse_fifo("INSTANCE \"VI_1\" MASTER_PRIORITY 90", &ev, err, sizeof(err)),
	    0);
	assert_int_equal(ev.priority, 90);

	static const char *const bad[] = {
	    "",
	    "garbage",
	    "INSTANCE VI_1 MASTER 150",	      /* no quotes */
	    "INSTANCE \"VI_1 MASTER 150",     /* one quote */
	    "INSTANCE \"\" MASTER 150",	      /* empty name */
	    "INSTANCE \"VI_1\" MASTER",	      /* 3 fields */
	    "INSTANCE \"VI_1\" MASTER 150 x", /* 5 fields */
	    "INSTANCE \"VI_1\" LEADER 150",
	    "INSTANCE \"VI_1\" MASTER 999",
	    "VRRP \"VI_1\" MASTER 150",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ka_parse_fifo(bad[i], &ev, err, sizeof(err)) != -1)
			fail_msg("accepted '%s'", bad[i]);
	char longline[KA_LINE_MAX + 10];
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(ka_parse_fifo(longline, &ev, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than"));
}

static void state_roundtrip(void **state)
{
	char dir[] = "/tmp/vpcf-state-XXXXXX";
	struct ka_event ev, back;
	char err[256];

	assert_non_null(mkdtemp(dir));
	assert_int_equal(args("INSTANCE", "VI_1", "MASTER", "150", &ev, err), 0);
	ev.mono = 12345;
	ev.wall = 1800000000;
	assert_int_equal(st_record(dir, &ev, err, sizeof(err)), 0);
	/* A newer event for the same name replaces the file. */
	assert_int_equal(args("INSTANCE", "VI_1", "BACKUP", "100", &ev, err), 0);
	ev.mono = 12346;
	assert_int_equal(st_record(dir, &ev, err, sizeof(err)), 0);
	/* A hint is not a state: recording it leaves the state as it was. */
	assert_int_equal(args("INSTANCE", "VI_1", "MASTER_RX_LOWER_PRI", "0", &ev, err),
			 0);
	ev.mono = 12347;
	assert_int_equal(st_record(dir, &ev, err, sizeof(err)), 0);
	char path[512], text[4096];
	snprintf(path, sizeof(path), "%s/events/INSTANCE.VI_1", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof(text), f);
	fclose(f);
	assert_int_equal(st_parse(text, n, st_boot_id(), &back, err, sizeof(err)), 0);
	assert_int_equal(back.state, KA_BACKUP);
	assert_int_equal(back.mono, 12346);
	assert_int_equal(back.priority, 100);
	unlink(path);
	snprintf(path, sizeof(path), "%s/events", dir);
	rmdir(path);
	rmdir(dir);
}

static void state_rejects(void **state)
{
	struct ka_event ev;
	char err[256];
	const char *boot = "b0";
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"", "not JSON"},
	    {"{", "not JSON"},
	    {"[]", ""},
	    {"{\"type\":\"INSTANCE\",\"name\":\"VI_1\",\"state\":\"MASTER\",\"priority\":"
	     "150,"
	     "\"mono\":1,\"wall\":1,\"boot_id\":\"other\"}",
	     "before the last reboot"},
	    {"{\"type\":\"INSTANCE\",\"name\":\"VI_1\",\"state\":\"MASTER_RX_LOWER_PRI\","
	     "\"priority\":0,\"mono\":1,\"wall\":1,\"boot_id\":\"b0\"}",
	     "a hint, not a state"},
	    {"{\"type\":\"INSTANCE\",\"name\":\"VI_1\",\"state\":\"MASTER\",\"priority\":"
	     "150,"
	     "\"mono\":1,\"wall\":1,\"boot_id\":\"b0\",\"extra\":1}",
	     ""},
	    {"{\"type\":\"INSTANCE\",\"name\":\"VI_1\",\"state\":\"MASTER\",\"priority\":"
	     "150,"
	     "\"mono\":1,\"wall\":1,\"boot_id\":\"b0\",\"boot_id\":\"b0\"}",
	     "not JSON"},
	    {"{\"type\":\"INSTANCE\",\"name\":\"VI/"
	     "1\",\"state\":\"MASTER\",\"priority\":150,"
	     "\"mono\":1,\"wall\":1,\"boot_id\":\"b0\"}",
	     "not a keepalived"},
	    {"{\"type\":\"INSTANCE\",\"name\":\"VI_1\",\"state\":\"MASTER\",\"priority\":"
	     "300,"
	     "\"mono\":1,\"wall\":1,\"boot_id\":\"b0\"}",
	     "0..255"},
	    {"{\"type\":\"INSTANCE\",\"name\":\"VI_1\",\"state\":\"MASTER\",\"priority\":"
	     "150,"
	     "\"mono\":-5,\"wall\":1,\"boot_id\":\"b0\"}",
	     ""},
	    {"{\"type\":\"INSTANCE\",\"name\":\"VI_1\",\"state\":\"MASTER\",\"priority\":"
	     "\"150\","
	     "\"mono\":1,\"wall\":1,\"boot_id\":\"b0\"}",
	     ""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (st_parse(bad[i].text, strlen(bad[i].text), boot, &ev, err,
			     sizeof(err)) != -1)
			fail_msg("case %zu accepted", i);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].why);
	}
	char big[ST_FILE_MAX + 10];
	memset(big, ' ', sizeof(big));
	assert_int_equal(st_parse(big, sizeof(big), boot, &ev, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(notify_args_valid), cmocka_unit_test(notify_args_invalid),
	    cmocka_unit_test(fifo_lines),	 cmocka_unit_test(state_roundtrip),
	    cmocka_unit_test(state_rejects),
	};
	log_init("test_kaevent", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
