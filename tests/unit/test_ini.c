/* test_ini.c — the INI engine's parts that cfg_load does not show directly:
 * URLs split without libcurl (lib/url.c, with libcurl's verdicts and
 * wording), and the comparison of restart-only keys on reload. Files and
 * their errors are in test_cfg.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/ini.h"
#include "lib/url.h"
#include "lib/util.h"

static void urls(void **state)
{
	static const struct {
		const char *url, *host;
		int port, query, fragment;
	} good[] = {
	    {"https://ec2.example.test:8443/x", "ec2.example.test", 8443, 0, 0},
	    {"http://169.254.169.254", "169.254.169.254", -1, 0, 0},
	    {"HTTP://Host/", "Host", -1, 0, 0},
	    {"http://[::1]:9000/mackerel", "[::1]", 9000, 0, 0},
	    {"http://[fe80::1%25eth0]/", "[fe80::1]", -1, 0, 0},
	    {"http://user:pw@h:/p", "h", -1, 0, 0},
	    {"https://hooks.example.com/?q=1#f", "hooks.example.com", -1, 1, 1},
	    {"http://h/?", "h", -1, 1, 0},
	    {"http://h:65535", "h", 65535, 0, 0},
	};
	static const struct {
		const char *url, *why;
	} bad[] = {
	    {"ec2.us-east-1.amazonaws.com", "Bad scheme"},
	    {"not a url", "Bad scheme"},
	    {"http://", "No host part in the URL"},
	    {"http://:80/", "No host part in the URL"},
	    {"http:host", "Unsupported number of slashes following scheme"},
	    {"http://h:65536",
	     "Port number was not a decimal number between 0 and 65535"},
	    {"http://h:12a", "Port number was not a decimal number between 0 and 65535"},
	    {"http://[::1]x/",
	     "Port number was not a decimal number between 0 and 65535"},
	    {"http://[::1", "Bad IPv6 address"},
	    {"http://[::g]/", "Bad IPv6 address"},
	    {"http://ho st/", "Bad hostname"},
	    {"http://u@p@h/", "Bad hostname"},
	    {"http://h/a b", "Bad path"},
	    {"http://h/?a b", "Bad query"},
	    {"http://h/#a b", "Bad fragment"},
	};
	struct url u;
	char why[128];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		assert_int_equal(url_parse(good[i].url, &u, why, sizeof(why)), 0);
		assert_string_equal(u.host, good[i].host);
		assert_int_equal(u.port, good[i].port);
		assert_int_equal(u.has_query, good[i].query);
		assert_int_equal(u.has_fragment, good[i].fragment);
	}
	assert_int_equal(url_parse("HTTPS://h", &u, why, sizeof(why)), 0);
	assert_string_equal(u.scheme, "https");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(url_parse(bad[i].url, &u, why, sizeof(why)), -1);
		assert_string_equal(why, bad[i].why);
	}
	assert_int_equal(url_parse("http://127.3.2.1/", &u, why, sizeof(why)), 0);
	assert_true(url_loopback(&u));
	assert_int_equal(url_parse("http://localhost:1/", &u, why, sizeof(why)), 0);
	assert_true(url_loopback(&u));
	assert_int_equal(url_parse("http://[::1]/", &u, why, sizeof(why)), 0);
	assert_true(url_loopback(&u));
	assert_int_equal(url_parse("http://128.0.0.1/", &u, why, sizeof(why)), 0);
	assert_false(url_loopback(&u));
	assert_int_equal(url_parse("http://[::2]/", &u, why, sizeof(why)), 0);
	assert_false(url_loopback(&u));
}

struct sect {
	char name[16];
	unsigned n;
	char other[16];
};

#define F(f) INI_FIELD(struct sect, f)
static const struct ini_key keys[] = {
    {"name", ini_str, F(name), .def = NULL, .flags = INI_RESTART},
    {"n", ini_uint, F(n), .def = NULL, .max = 100, .scale = 1, .flags = INI_RESTART},
    {"other", ini_str, F(other), .def = NULL},
    {NULL},
};
static const struct ini_section sec = {.word = "s", .keys = keys};

/* Restart-only keys are found by their flag and compared whole; a string
 * stored by ini_str leaves nothing of a longer earlier value behind. */
static void restart_keys(void **state)
{
	struct sect a = {0}, b = {0};
	const struct ini_key *k;

	assert_int_equal(ini_str(NULL, &keys[0], &a, "longer-value"), 0);
	assert_int_equal(ini_str(NULL, &keys[0], &a, "x"), 0);
	assert_int_equal(ini_str(NULL, &keys[0], &b, "x"), 0);
	assert_null(ini_restart_next(&sec, NULL, &a, &b));
	strcpy(b.other, "differs"); /* not restart-only */
	assert_null(ini_restart_next(&sec, NULL, &a, &b));
	b.n = 5;
	assert_int_equal(ini_str(NULL, &keys[0], &b, "y"), 0);
	k = ini_restart_next(&sec, NULL, &a, &b);
	assert_non_null(k);
	assert_string_equal(k->name, "name");
	ini_copy(k, &b, &a);
	assert_string_equal(b.name, "x");
	k = ini_restart_next(&sec, k, &a, &b);
	assert_non_null(k);
	assert_string_equal(k->name, "n");
	ini_copy(k, &b, &a);
	assert_int_equal(b.n, 0);
	assert_null(ini_restart_next(&sec, NULL, &a, &b));
}

static void names(void **state)
{
	assert_true(ini_valid_name("web-1.a_b"));
	assert_false(ini_valid_name(""));
	assert_false(ini_valid_name("a b"));
	assert_false(ini_valid_name(
	    "0123456789012345678901234567890123456789012345678901234567890123"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(urls),
	    cmocka_unit_test(restart_keys),
	    cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
