/* test_util.c — the capped whole-file reader every file read goes through
 * (exactly full, one byte over, a prefix kept, errors) and the pid-file
 * liveness check the daemon and doctor share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/b64.h"
#include "lib/util.h"

static char dir[64];

static char *put(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void reads_whole_and_caps(void **state)
{
	char buf[8];
	char *p = put("f", "1234567");

	/* Exactly full: the whole file, no error. */
	assert_int_equal(read_file_capped(p, 0, buf, 7), 7);
	assert_string_equal(buf, "1234567");
	/* One byte over: EFBIG, and the first max bytes kept. */
	errno = 0;
	assert_int_equal(read_file_capped(p, 0, buf, 6), -1);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(buf, "123456");
	free(p);
	p = put("empty", "");
	assert_int_equal(read_file_capped(p, 0, buf, 7), 0);
	assert_string_equal(buf, "");
	free(p);
	p = xasprintf("%s/none", dir);
	errno = 0;
	assert_int_equal(read_file_capped(p, 0, buf, 7), -1);
	assert_int_equal(errno, ENOENT);
	free(p);
}

static void reads_an_open_fd_from_where_it_is(void **state)
{
	char buf[16];
	char *p = put("g", "abcdef");
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	assert_true(fd != -1);
	assert_int_equal(read(fd, buf, 2), 2);
	assert_int_equal(read_fd_capped(fd, buf, sizeof(buf) - 1), 4);
	assert_string_equal(buf, "cdef");
	close(fd);
	free(p);
}

static void pid_file_states(void **state)
{
	char comm[64], self[32];
	long pid;
	char *p;

	snprintf(self, sizeof(self), "%ld\n", (long)getpid());
	p = put("self.pid", self);
	/* This test is alive, but not called keepalived. */
	assert_int_equal(pidfile_check(p, "keepalived", &pid, comm, sizeof(comm)),
			 PIDFILE_OTHER);
	assert_int_equal(pid, (long)getpid());
	assert_string_equal(comm, "test_util");
	assert_int_equal(pidfile_check(p, "test_util", &pid, NULL, 0), PIDFILE_ALIVE);
	free(p);
	p = put("junk.pid", "x\n");
	assert_int_equal(pidfile_check(p, "keepalived", &pid, comm, sizeof(comm)),
			 PIDFILE_NO_PID);
	assert_int_equal(pid, 0);
	free(p);
	p = put("big.pid", "99999999\n");
	assert_int_equal(pidfile_check(p, "keepalived", &pid, comm, sizeof(comm)),
			 PIDFILE_NO_PID);
	free(p);
	/* A child that has exited and been reaped is gone. */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	assert_true(child > 0);
	waitpid(child, NULL, 0);
	snprintf(self, sizeof(self), "%ld\n", (long)child);
	p = put("gone.pid", self);
	assert_int_equal(pidfile_check(p, "keepalived", &pid, comm, sizeof(comm)),
			 PIDFILE_GONE);
	assert_string_equal(comm, "");
	free(p);
	p = xasprintf("%s/none.pid", dir);
	errno = 0;
	assert_int_equal(pidfile_check(p, "keepalived", &pid, comm, sizeof(comm)),
			 PIDFILE_UNREADABLE);
	assert_int_equal(errno, ENOENT);
	free(p);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_util.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char *rm = xasprintf("rm -rf '%s'", dir);
	int rc = system(rm);

	free(rm);
	return rc == 0 ? 0 : -1;
}

/* base64 as etcd's gateway carries keys and values: RFC 4648's vectors,
 * a round trip, and what must be refused. */
static void base64(void **state)
{
	static const char *const vec[][2] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	    {"/service/vpcf/leader", "L3NlcnZpY2UvdnBjZi9sZWFkZXI="},
	};
	char out[64];

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		assert_int_equal(
		    b64_encode(vec[i][0], strlen(vec[i][0]), out, sizeof(out)),
		    strlen(vec[i][1]));
		assert_string_equal(out, vec[i][1]);
		assert_int_equal(b64_decode(vec[i][1], out, sizeof(out)),
				 strlen(vec[i][0]));
		assert_string_equal(out, vec[i][0]);
	}
	assert_int_equal(b64_decode("Zm9", out, sizeof(out)), -1);  /* not padded */
	assert_int_equal(b64_decode("Zm=v", out, sizeof(out)), -1); /* pad inside */
	assert_int_equal(b64_decode("Zg==Zg==", out, sizeof(out)), -1);
	assert_int_equal(b64_decode("Zm9*", out, sizeof(out)), -1);
	assert_int_equal(b64_decode("Zm9vYmFy", out, 6), -1); /* no room for the NUL */
	assert_int_equal(b64_decode("Zm9vYmFy", out, 7), 6);
	assert_int_equal(b64_encode("foo", 3, out, 4), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_whole_and_caps),
	    cmocka_unit_test(reads_an_open_fd_from_where_it_is),
	    cmocka_unit_test(pid_file_states),
	    cmocka_unit_test(base64),
	};
	return cmocka_run_group_tests_name("util", tests, setup, teardown);
}
