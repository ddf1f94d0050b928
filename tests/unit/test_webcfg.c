/* test_webcfg.c — the metrics endpoint's web.config (netmon/webcfg.c): the
 * exporter toolkit's format as YAML means it (block and flow style,
 * quoting, comments, anchors), relative certificate paths, bcrypt hash and
 * cost checks, and the refusals, each naming its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/log.h"
#include "netmon/webcfg.h"

#define H  "$2y$10$jV2LQ6WOx6Zsj3oU8q5J2.X7MXG0oCqvt3Kq8YQ0Qw1h4yXK0n6mS"
#define H4 "$2b$04$abcdefghijklmnopqrstuuXnKZQUrqGfbdzkmyVQOKoPUWl3/nM8e"
#define P  "/etc/vpc-failover/web.yml"

static char err[512];

static int parse(const char *text, int flags, struct nmw_cfg *c)
{
	err[0] = '\0';
	return nmw_parse(text, strlen(text), P, flags, c, err, sizeof(err));
}

/* text is refused with an error that contains want. */
static void refused(const char *text, int flags, const char *want)
{
	struct nmw_cfg c;

	if (parse(text, flags, &c) != -1)
		fail_msg("accepted: %s", text);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s' (input: %s)", err, want, text);
	assert_null(c.users);
	assert_null(c.cert_file);
}

static void web_config(void **state)
{
	struct nmw_cfg c;

	assert_int_equal(parse("# the exporter toolkit's web.config\n"
			       "tls_server_config:\n"
			       "  cert_file: metrics.crt\n"
			       "  key_file: /etc/ssl/private/metrics.key\n"
			       "basic_auth_users:\n"
			       "  prom: " H "\n"
			       "  'ops team': \"" H4 "\"\n",
			       0, &c),
			 0);
	assert_string_equal(c.cert_file, "/etc/vpc-failover/metrics.crt");
	assert_string_equal(c.key_file, "/etc/ssl/private/metrics.key");
	assert_int_equal(c.nusers, 2);
	assert_string_equal(c.users[0].name, "prom");
	assert_string_equal(c.users[0].hash, H);
	assert_string_equal(c.users[1].name, "ops team");
	assert_string_equal(c.users[1].hash, H4);
	nmw_free(&c);
	assert_int_equal(c.nusers, 0);

	/* Flow style, an explicit document, an anchor. */
	assert_int_equal(
	    parse("---\n"
		  "tls_server_config: {cert_file: c.pem, key_file: &k k.pem}\n"
		  "basic_auth_users: {prom: '" H "'}\n"
		  "...\n",
		  0, &c),
	    0);
	assert_string_equal(c.cert_file, "/etc/vpc-failover/c.pem");
	assert_int_equal(c.nusers, 1);
	nmw_free(&c);

	/* Users alone (basic_auth_users_file); a relative path without a
	 * directory in the file's name stays relative. */
	assert_int_equal(parse("basic_auth_users:\n  prom: " H "\n", NMW_NO_TLS, &c), 0);
	assert_null(c.cert_file);
	assert_int_equal(c.nusers, 1);
	nmw_free(&c);
	assert_int_equal(nmw_parse("tls_server_config: {cert_file: a, key_file: b}\n", 46,
				   "web.yml", 0, &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.cert_file, "a");
	nmw_free(&c);
}

static void refusals(void **state)
{
	refused("", 0, P ": empty");
	refused("# nothing\n", 0, P ": empty");
	refused("prom:" H "\n", 0, P ":1: want a Prometheus web.config");
	refused("prom: " H "\n", 0, P ":1: unknown key 'prom'");
	refused("basic_auth_users:\n  prom: notahash\n", 0,
		P ":2: basic_auth_users: prom: not a bcrypt hash");
	refused("basic_auth_users:\n  prom:\n", 0,
		P ":2: basic_auth_users: prom: not a bcrypt");
	refused("basic_auth_users:\n  prom: [" H "]\n", 0,
		P ":2: basic_auth_users: prom: want a bcrypt hash");
	refused("basic_auth_users:\n  prom: $2y$13$" H "\n", 0, "not a bcrypt hash");
	refused("basic_auth_users:\n  prom: "
		"$2y$13$jV2LQ6WOx6Zsj3oU8q5J2.X7MXG0oCqvt3Kq8YQ0Qw1h4yXK0n6mS\n",
		0, P ":2: basic_auth_users: prom: bcrypt cost 13: want 4 to 12");
	refused("basic_auth_users:\n  prom: "
		"$2x$10$jV2LQ6WOx6Zsj3oU8q5J2.X7MXG0oCqvt3Kq8YQ0Qw1h4yXK0n6mS\n",
		0, "not a bcrypt hash");
	refused("basic_auth_users:\n  prom: " H "\n  prom: " H4 "\n", 0,
		P ":3: basic_auth_users: prom twice");
	refused("basic_auth_users:\n  \"a\\0b\": " H "\n", 0,
		P ":2: basic_auth_users: a user name");
	refused("basic_auth_users: {}\n", 0, P ":1: basic_auth_users: no users");
	refused("basic_auth_users:\n", 0,
		P ":1: basic_auth_users: want 'user: bcrypt-hash'");
	refused("basic_auth_users:\n  prom: " H "\nbasic_auth_users:\n  ops: " H "\n", 0,
		P ":3: basic_auth_users twice");
	refused("tls_server_config:\n  cert_file: a\n  key_file: b\n"
		"  client_auth_type: RequireAndVerifyClientCert\n",
		0, P ":4: tls_server_config: client_auth_type is not supported here");
	refused("tls_server_config:\n  cert_file: a\n", 0,
		P ":2: tls_server_config: cert_file and key_file go together");
	refused("tls_server_config: {cert_file: a, key_file: b}\nbasic_auth_users: {p: " H
		"}\n",
		NMW_NO_TLS, P ":1: tls_server_config: this file only names users");
	refused("http_server_config:\n  http2: false\n", 0,
		P ":1: http_server_config is not supported here");
	refused("basic_auth_users:\n  prom: " H "\n---\nbasic_auth_users: {}\n", 0,
		P ":4: a second YAML document");
	refused("basic_auth_users:\n  prom: " H "\n ops: x\n", 0, P ":3: ");
	refused("basic_auth_users: {prom: " H, 0,
		P ":2: did not find expected ',' or '}'");
	refused("basic_auth_users: *nowhere\n", 0, P ":1: ");
}

static void users_max(void **state)
{
	char text[NMW_USERS_MAX * 80 + 64], *p = text;
	struct nmw_cfg c;

	p += sprintf(p, "basic_auth_users:\n");
	for (int i = 0; i < NMW_USERS_MAX; i++)
		p += sprintf(p, "  u%d: " H "\n", i);
	assert_int_equal(parse(text, 0, &c), 0);
	assert_int_equal(c.nusers, NMW_USERS_MAX);
	nmw_free(&c);
	sprintf(p, "  one-more: " H "\n");
	refused(text, 0, ":66: basic_auth_users: more than 64 users");
}

static void load_file(void **state)
{
	char dir[] = "/tmp/test_webcfg.XXXXXX", path[64];
	struct nmw_cfg c;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	assert_int_equal(nmw_load(path, 0, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "web.yml: No such file"));
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n"
		   "basic_auth_users:\n  prom: " H "\n");
	fclose(f);
	assert_int_equal(nmw_load(path, 0, &c, err, sizeof(err)), 0);
	assert_true(strncmp(c.cert_file, dir, strlen(dir)) == 0);
	assert_string_equal(c.cert_file + strlen(dir), "/c.pem");
	nmw_free(&c);
	assert_non_null(f = fopen(path, "w"));
	for (int i = 0; i < NMW_FILE_MAX / 8 + 1; i++)
		fputs("# pad  \n", f);
	fclose(f);
	assert_int_equal(nmw_load(path, 0, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than 64 KiB"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(web_config),
	    cmocka_unit_test(refusals),
	    cmocka_unit_test(users_max),
	    cmocka_unit_test(load_file),
	};
	log_init("test_webcfg", 1, LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
