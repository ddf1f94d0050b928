/* test_creds.c — credentials from the environment, a shared-credentials
 * file and the IMDS JSON; timestamps; and that no error path ever prints or
 * returns the secret key or the session token. */
#include <fcntl.h>
#include <limits.h>
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
#include <ini.h>

#include "lib/log.h"
#include "lib/util.h"
#include "tests/unit/read_data.h"
#include "vpc/creds.h"

#define AK  "AKIAIOSFODNN7EXAMPLE"
#define SK  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
#define TOK "IQoJb3JpZ2luX2VjEHQaCWV1LXdlc3QtMSJHMEUCIQDtokenTOKENtoken+/="

/* The IMDS test file's secret (tests/data/imds/security_credentials.json). */
#define IMDS_SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"

static char tmpdir[PATH_MAX];
static char imds_token[4096]; /* the Token of the IMDS test file */

/* ---- helpers ---------------------------------------------------------- */

/* stderr capture, so log lines can be searched for secrets. */
static int cap_fd = -1, saved_fd = -1;

static void cap_start(void)
{
	char tmpl[] = "/tmp/test_creds.XXXXXX";

	fflush(stderr);
	cap_fd = mkstemp(tmpl);
	assert_true(cap_fd >= 0);
	unlink(tmpl);
	saved_fd = dup(2);
	assert_true(saved_fd >= 0);
	assert_int_equal(dup2(cap_fd, 2), 2);
}

/* Stop capturing; the captured text (caller frees). */
static char *cap_stop(void)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	lseek(cap_fd, 0, SEEK_SET);
	buf_init(&b, 1 << 20);
	while ((n = read(cap_fd, chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_append(&b, chunk, (size_t)n), 0);
	close(cap_fd);
	char *s = xstrdup(buf_str(&b));
	buf_free(&b);
	return s;
}

/* No 10-byte piece of secret may appear in text: catches partial echoes
 * such as a parser quoting the input "near" an error. */
static void assert_no_piece(const char *text, const char *secret, const char *what)
{
	size_t n = strlen(secret);

	for (size_t i = 0; i + 10 <= n; i++) {
		char piece[11];
		memcpy(piece, secret + i, 10);
		piece[10] = '\0';
		if (strstr(text, piece))
			fail_msg("%s leaks part of the %s: \"%s\"", what, "secret", text);
	}
}

static void assert_no_secrets(const char *text, const char *what)
{
	assert_no_piece(text, SK, what);
	assert_no_piece(text, TOK, what);
	assert_no_piece(text, IMDS_SK, what);
	if (imds_token[0])
		assert_no_piece(text, imds_token, what);
}

static void clear_env(void)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
}

/* Write a credentials file with mode into the test directory. */
static char *write_file(const char *name, const char *text, size_t len, mode_t mode)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static const char good_file[] =
    "# shared credentials\n"
    "[default]\n"
    "aws_access_key_id = " AK "\n"
    "aws_secret_access_key = " SK "\n"
    "\n"
    "; a second profile\n"
    "[prod]\n"
    "aws_access_key_id=ASIAPRODEXAMPLE00001\n"
    "aws_secret_access_key=prodSecretKeyExample000000000000000000000\n"
    "aws_session_token=" TOK "\n"
    "region = eu-west-1\n";

/* Run creds_from_file expecting failure: errbuf must contain want, c must
 * be untouched, and neither errbuf nor stderr may carry a secret. */
static void file_fails(const char *path, const char *profile, const char *want)
{
	struct aws_creds c;
	char err[512] = "";

	memset(&c, 0x5a, sizeof(c));
	cap_start();
	int rc = creds_from_file(path, profile, &c, err, sizeof(err));
	char *logs = cap_stop();
	print_message("# %s\n", err);
	assert_int_equal(rc, -1);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	for (size_t i = 0; i < sizeof(c); i++)
		assert_int_equal(((unsigned char *)&c)[i], 0x5a);
	assert_no_secrets(err, "errbuf");
	assert_no_secrets(logs, "stderr");
	free(logs);
}

/* ---- environment ------------------------------------------------------- */

static void test_env_none(void **state)
{
	struct aws_creds c;

	clear_env();
	assert_int_equal(creds_from_env(&c), 0);
	/* Empty values count as unset. */
	setenv("AWS_ACCESS_KEY_ID", "", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "", 1);
	assert_int_equal(creds_from_env(&c), 0);
	clear_env();
}

static void test_env_keys(void **state)
{
	struct aws_creds c;

	clear_env();
	setenv("AWS_ACCESS_KEY_ID", AK, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SK, 1);
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(creds_from_env(&c), 1);
	assert_string_equal(c.access_key_id, AK);
	assert_string_equal(c.secret_access_key, SK);
	assert_string_equal(c.session_token, "");
	assert_int_equal(c.expiration, 0);
	assert_string_equal(c.source, "environment");

	setenv("AWS_SESSION_TOKEN", TOK, 1);
	assert_int_equal(creds_from_env(&c), 1);
	assert_string_equal(c.session_token, TOK);
	clear_env();
}

static void env_fails(const char *want)
{
	struct aws_creds c;

	memset(&c, 0x5a, sizeof(c));
	cap_start();
	int rc = creds_from_env(&c);
	char *logs = cap_stop();
	print_message("# %s", logs);
	assert_int_equal(rc, -1);
	if (strstr(logs, want) == NULL)
		fail_msg("log \"%s\" does not contain \"%s\"", logs, want);
	assert_no_secrets(logs, "stderr");
	assert_int_equal(((unsigned char *)&c)[0], 0x5a);
	free(logs);
}

static void test_env_half(void **state)
{
	clear_env();
	setenv("AWS_ACCESS_KEY_ID", AK, 1);
	env_fails("AWS_SECRET_ACCESS_KEY is not");
	clear_env();
	setenv("AWS_SECRET_ACCESS_KEY", SK, 1);
	setenv("AWS_SESSION_TOKEN", TOK, 1);
	env_fails("AWS_ACCESS_KEY_ID is not");
	clear_env();
}

static void test_env_bad_values(void **state)
{
	char big[5000];

	clear_env();
	setenv("AWS_ACCESS_KEY_ID", AK, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SK "\nX-Injected: 1", 1);
	env_fails("AWS_SECRET_ACCESS_KEY contains");

	setenv("AWS_SECRET_ACCESS_KEY", SK, 1);
	memset(big, 'A', sizeof(big) - 1);
	memcpy(big, TOK, strlen(TOK));
	big[sizeof(big) - 1] = '\0';
	setenv("AWS_SESSION_TOKEN", big, 1);
	env_fails("AWS_SESSION_TOKEN is too long");

	unsetenv("AWS_SESSION_TOKEN");
	memset(big, 'K', 200);
	big[200] = '\0';
	setenv("AWS_ACCESS_KEY_ID", big, 1);
	env_fails("AWS_ACCESS_KEY_ID is too long");
	clear_env();
}

/* ---- shared-credentials file ------------------------------------------ */

static void test_file_default(void **state)
{
	char *path = write_file("credentials", good_file, strlen(good_file), 0600);
	struct aws_creds c;
	char err[256] = "";

	assert_int_equal(creds_from_file(path, "default", &c, err, sizeof(err)), 1);
	assert_string_equal(c.access_key_id, AK);
	assert_string_equal(c.secret_access_key, SK);
	assert_string_equal(c.session_token, "");
	assert_int_equal(c.expiration, 0);
	assert_string_equal(c.source, "file");
	/* NULL and "" mean the default profile. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(creds_from_file(path, NULL, &c, err, sizeof(err)), 1);
	assert_string_equal(c.access_key_id, AK);
	free(path);
}

static void test_file_profile_token(void **state)
{
	char *path = write_file("credentials", good_file, strlen(good_file), 0400);
	struct aws_creds c;
	char err[256] = "";

	assert_int_equal(creds_from_file(path, "prod", &c, err, sizeof(err)), 1);
	assert_string_equal(c.access_key_id, "ASIAPRODEXAMPLE00001");
	assert_string_equal(c.secret_access_key,
			    "prodSecretKeyExample000000000000000000000");
	assert_string_equal(c.session_token, TOK);
	free(path);
}

/* Session tokens are ~1-2 KB: longer than libinih's default 200-byte line,
 * which would otherwise cut them short. CRLF files parse the same. */
static void test_file_long_token(void **state)
{
	struct buf b;
	char tok[4001];
	struct aws_creds c;
	char err[256] = "";
	int before = ini_max_line;

	for (size_t i = 0; i < sizeof(tok) - 1; i++)
		tok[i] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
			[i % 64];
	tok[sizeof(tok) - 1] = '\0';
	tok[sizeof(tok) - 2] = '=';
	buf_init(&b, 1 << 16);
	buf_append(&b, "[default]\r\naws_access_key_id = " AK "\r\n",
		   strlen("[default]\r\naws_access_key_id = " AK "\r\n"));
	buf_append(&b, "aws_session_token = ", 20);
	buf_append(&b, tok, strlen(tok));
	buf_append(&b, "\r\naws_secret_access_key = " SK "\r\n",
		   strlen("\r\naws_secret_access_key = " SK "\r\n"));
	char *path = write_file("credentials", b.data, b.len, 0600);
	assert_int_equal(creds_from_file(path, "default", &c, err, sizeof(err)), 1);
	assert_string_equal(c.session_token, tok);
	assert_string_equal(c.secret_access_key, SK);
	/* The library's process-wide knobs are put back. */
	assert_int_equal(ini_max_line, before);
	buf_free(&b);
	free(path);
}

static void test_file_symlink(void **state)
{
	char *path = write_file("credentials", good_file, strlen(good_file), 0600);
	char *link = xasprintf("%s/link", tmpdir);
	struct aws_creds c;
	char err[256] = "";

	unlink(link);
	assert_int_equal(symlink(path, link), 0);
	/* Followed, and the target is what gets checked. */
	assert_int_equal(creds_from_file(link, "default", &c, err, sizeof(err)), 1);
	assert_string_equal(c.secret_access_key, SK);
	assert_int_equal(chmod(path, 0644), 0);
	file_fails(link, "default", "mode 0644 is readable by others; chmod 600 it");
	unlink(link);
	free(link);
	free(path);
}

static void test_file_modes(void **state)
{
	static const struct {
		mode_t mode;
		const char *want;
	} cases[] = {
	    {0644, "mode 0644 is readable by others; chmod 600 it"},
	    {0640, "mode 0640 is readable by others"},
	    {0604, "mode 0604 is readable by others"},
	    {0620, "mode 0620 is accessible by others"},
	    {0601, "mode 0601 is accessible by others"},
	    {0666, "mode 0666"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *path = write_file("credentials", good_file, strlen(good_file),
					cases[i].mode);
		file_fails(path, "default", cases[i].want);
		assert_non_null(strstr(cases[i].want, "mode"));
		free(path);
	}
}

static void test_file_not_regular(void **state)
{
	char *fifo = xasprintf("%s/fifo", tmpdir);
	char *missing = xasprintf("%s/missing", tmpdir);

	/* A directory, a device, a FIFO (must not block on open). */
	file_fails(tmpdir, "default", "not a regular file");
	file_fails("/dev/null", "default", "not a regular file");
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	file_fails(fifo, "default", "not a regular file");
	file_fails(missing, "default", "No such file or directory");
	assert_non_null(strstr(missing, tmpdir));
	unlink(fifo);
	free(fifo);
	free(missing);
}

static void test_file_bad_content(void **state)
{
	static const struct {
		const char *name, *text, *profile, *want;
	} cases[] = {
	    {"missing profile",
	     "[default]\naws_access_key_id=" AK "\naws_secret_access_key=" SK "\n",
	     "staging", "no [staging] profile"},
	    {"missing secret", "[default]\naws_access_key_id=" AK "\n", "default",
	     "profile [default] has no aws_secret_access_key"},
	    {"missing key id", "[default]\naws_secret_access_key=" SK "\n", "default",
	     "profile [default] has no aws_access_key_id"},
	    {"keys in another profile",
	     "[other]\naws_access_key_id=" AK "\naws_secret_access_key=" SK
	     "\n[default]\nregion=eu-west-1\n",
	     "default", "has no aws_access_key_id"},
	    {"duplicate secret",
	     "[default]\naws_access_key_id=" AK "\naws_secret_access_key=" SK
	     "\naws_secret_access_key=" SK "\n",
	     "default", ":4: aws_secret_access_key given twice"},
	    {"continued value",
	     "[default]\naws_access_key_id=" AK "\naws_secret_access_key=" SK
	     "\n  more\n",
	     "default", "given twice"},
	    {"syntax error after secret",
	     "[default]\naws_access_key_id=" AK "\naws_secret_access_key=" SK
	     "\nthis line has no equals sign\n",
	     "default", ":4: syntax error"},
	    {"syntax error with secret in line",
	     "[default]\naws_access_key_id=" AK "\n[default\n" SK "\n", "default",
	     ":3: syntax error"},
	    {"secret too long",
	     "[default]\naws_access_key_id=" AK "\naws_secret_access_key=" SK SK SK SK
	     "\n",
	     "default", "aws_secret_access_key is too long"},
	    {"secret with inner space",
	     "[default]\naws_access_key_id=" AK "\naws_secret_access_key=" SK " " SK "\n",
	     "default", "aws_secret_access_key contains a space"},
	    {"empty secret",
	     "[default]\naws_access_key_id=" AK "\naws_secret_access_key=\n", "default",
	     "aws_secret_access_key is empty"},
	    {"empty file", "", "default", "no [default] profile"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		print_message("# case: %s\n", cases[i].name);
		char *path =
		    write_file("credentials", cases[i].text, strlen(cases[i].text), 0600);
		file_fails(path, cases[i].profile, cases[i].want);
		free(path);
	}
}

static void test_file_size_and_nul(void **state)
{
	size_t big = 64 * 1024 + 1;
	char *text = xmalloc(big);
	static const char nul[] =
	    "[default]\naws_access_key_id=" AK "\0\naws_secret_access_key=" SK "\n";

	memset(text, '#', big);
	text[big - 1] = '\n';
	char *path = write_file("credentials", text, big, 0600);
	file_fails(path, "default", "larger than 65536 bytes");
	free(path);

	/* Exactly at the cap is fine (and still has no keys). */
	char *path2 = write_file("credentials", text, big - 1, 0600);
	file_fails(path2, "default", "no [default] profile");
	free(path2);

	char *path3 = write_file("credentials", nul, sizeof(nul) - 1, 0600);
	file_fails(path3, "default", "NUL");
	free(path3);
	free(text);
}

/* ---- IMDS JSON ---------------------------------------------------------- */

static void test_imds_good(void **state)
{
	size_t len;
	char *body = read_data("imds/security_credentials.json", &len);
	struct aws_creds c;
	char err[256] = "";

	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(creds_parse_imds(body, len, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key_id, "ASIA2EXAMPLEKEYID7QZ");
	assert_string_equal(c.secret_access_key, IMDS_SK);
	assert_string_equal(c.session_token, imds_token);
	assert_int_equal(strlen(c.session_token), 1297);
	assert_int_equal(c.expiration, 1795622400); /* date -u -d 2026-11-25T16:00:00Z */
	assert_string_equal(c.source, "instance-role");
	free(body);
}

static void imds_fails(const char *body, size_t len, const char *want)
{
	struct aws_creds c;
	char err[512] = "";

	memset(&c, 0x5a, sizeof(c));
	cap_start();
	int rc = creds_parse_imds(body, len, &c, err, sizeof(err));
	char *logs = cap_stop();
	print_message("# %s\n", err);
	assert_int_equal(rc, -1);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	assert_int_equal(((unsigned char *)&c)[0], 0x5a);
	assert_no_secrets(err, "errbuf");
	assert_no_secrets(logs, "stderr");
	free(logs);
}

static void imds_file_fails(const char *rel, const char *want)
{
	size_t len;
	char *body = read_data(rel, &len);
	imds_fails(body, len, want);
	free(body);
}

static void test_imds_bad(void **state)
{
	imds_file_fails("imds/failure.json",
			"Code is \"AssumeRoleUnauthorizedAccess\", not \"Success\"");
	imds_file_fails("imds/missing_token.json", "Token is missing");
	imds_file_fails("imds/bad_expiration.json",
			"Expiration \"2026-11-25T16:00:00+00:00\" is not");
	imds_file_fails("imds/secret_not_string.json", "SecretAccessKey is not a string");
	/* Cut inside the secret: jansson would quote it "near" the error. */
	imds_file_fails("imds/truncated.json", "invalid JSON at line 6");
	imds_file_fails("imds/duplicate_key.json", "invalid JSON");

	imds_fails("", 0, "empty");
	imds_fails(NULL, 0, "empty");
	imds_fails("[]", 2, "not a JSON object");
	/* jansson's own message would quote the secret here. */
	imds_fails("\"" IMDS_SK "\"", strlen(IMDS_SK) + 2, "invalid JSON");
	imds_fails("{\"Code\":1}", 10, "Code is missing or not a string");
	imds_fails("{}", 2, "Code is missing");

	static const char nul[] =
	    "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIA1\","
	    "\"SecretAccessKey\":\"" IMDS_SK "\\u0000x\",\"Token\":\"" TOK
	    "\",\"Expiration\":\"2026-11-25T16:00:00Z\"}";
	/* jansson refuses \u0000 (no JSON_ALLOW_NUL), and says where only. */
	imds_fails(nul, strlen(nul), "invalid JSON at line 1");
	/* Bad escape and raw control byte inside the secret: jansson's message
	 * quotes a token of up to 20 bytes ("near '...'"), ours must not. */
	static const char esc20[] = "{\"Code\":\"Success\",\"SecretAccessKey\":"
				    "\"wJalrXUtnFEMI/K\\q\"}";
	imds_fails(esc20, strlen(esc20), "invalid JSON at line 1");
	static const char esc[] =
	    "{\"Code\":\"Success\",\"SecretAccessKey\":\"" IMDS_SK "\\q\"}";
	imds_fails(esc, strlen(esc), "invalid JSON at line 1");
	static const char ctlsecret[] =
	    "{\"Code\":\"Success\",\"SecretAccessKey\":\"" IMDS_SK "\n\"}";
	imds_fails(ctlsecret, strlen(ctlsecret), "invalid JSON at line 1");
	static const char space[] =
	    "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIA1\","
	    "\"SecretAccessKey\":\"" IMDS_SK " x\",\"Token\":\"" TOK
	    "\",\"Expiration\":\"2026-11-25T16:00:00Z\"}";
	imds_fails(space, strlen(space), "SecretAccessKey contains a space");
	static const char ctl[] = "{\"Code\":\"Fail\\u0001ed\"}";
	imds_fails(ctl, strlen(ctl), "Code is \"Fail?ed\"");

	/* Over the size cap: refused before parsing. */
	size_t big = 64 * 1024 + 1;
	char *body = xmalloc(big);
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	imds_fails(body, big, "exceeds");
	free(body);
}

/* ---- timestamps ---------------------------------------------------------- */

static void test_parse_time(void **state)
{
	/* Expected values from `date -u -d ... +%s`. */
	static const struct {
		const char *s;
		int64_t t;
	} good[] = {
	    {"1970-01-01T00:00:00Z", 0},	  {"2026-11-25T16:00:00Z", 1795622400},
	    {"2000-02-29T12:34:56Z", 951827696},  {"2024-02-29T23:59:59Z", 1709251199},
	    {"2099-12-31T23:59:59Z", 4102444799},
	};
	static const char *const bad[] = {
	    "",
	    "2026-11-25T16:00:00",
	    "2026-11-25 16:00:00Z",
	    "2026-11-25t16:00:00Z",
	    "2026-11-25T16:00:00z",
	    "2026-11-25T16:00:00.000Z",
	    "2026-11-25T16:00:00+00:00",
	    "2026-11-25T16:00Z",
	    "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2026-02-29T00:00:00Z",
	    "2100-02-29T00:00:00Z",
	    "2026-11-00T00:00:00Z",
	    "2026-11-25T24:00:00Z",
	    "2026-11-25T16:60:00Z",
	    "2026-11-25T16:00:60Z",
	    "1969-12-31T23:59:59Z",
	    "+026-11-25T16:00:00Z",
	    " 2026-11-25T16:00:00Z",
	    "2026-11-25T16:00:00Z ",
	    "2026-1a-25T16:00:00Z",
	    "20261125T160000Z",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (creds_parse_time(good[i].s) != good[i].t)
			fail_msg("%s: got %lld want %lld", good[i].s,
				 (long long)creds_parse_time(good[i].s),
				 (long long)good[i].t);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (creds_parse_time(bad[i]) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
	assert_int_equal(creds_parse_time(NULL), -1);
}

/* ---- redaction --------------------------------------------------------- */

static void test_redact(void **state)
{
	struct aws_creds c;

	memset(&c, 0, sizeof(c));
	strlcpy_chk(c.access_key_id, AK, sizeof(c.access_key_id));
	strlcpy_chk(c.secret_access_key, SK, sizeof(c.secret_access_key));
	strlcpy_chk(c.session_token, TOK, sizeof(c.session_token));

	/* Without redaction the secret would show: the check can fail. */
	cap_start();
	log_warnx("key %s secret %s token %s", c.access_key_id, c.secret_access_key,
		  c.session_token);
	char *before = cap_stop();
	assert_non_null(strstr(before, SK));
	assert_non_null(strstr(before, TOK));

	creds_redact(&c);
	cap_start();
	log_warnx("key %s secret %s token %s", c.access_key_id, c.secret_access_key,
		  c.session_token);
	log_debug("debug: %s/%s", c.secret_access_key, c.session_token);
	char *after = cap_stop();
	assert_null(strstr(after, SK));
	assert_null(strstr(after, TOK));
	assert_non_null(strstr(after, "<redacted>"));
	assert_non_null(strstr(after, "debug:"));
	assert_non_null(strstr(after, AK)); /* the key id is not a secret */
	free(before);
	free(after);
	log_redact_clear();
}

/* ---- main ---------------------------------------------------------------- */

static int setup(void **state)
{
	size_t len;
	char *body;

	log_init("t", 1, LOG_LVL_DEBUG);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_creds.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* The IMDS file's token, so every error path is checked against it. */
	body = read_data("imds/security_credentials.json", &len);
	char *p = strstr(body, "\"Token\" : \"");
	if (p == NULL)
		return -1;
	p += strlen("\"Token\" : \"");
	size_t n = strcspn(p, "\"");
	if (n >= sizeof(imds_token))
		return -1;
	memcpy(imds_token, p, n);
	free(body);
	return 0;
}

static int teardown(void **state)
{
	static const char *const names[] = {"credentials", "link", "fifo"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *p = xasprintf("%s/%s", tmpdir, names[i]);
		unlink(p);
		free(p);
	}
	clear_env();
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env_none),
	    cmocka_unit_test(test_env_keys),
	    cmocka_unit_test(test_env_half),
	    cmocka_unit_test(test_env_bad_values),
	    cmocka_unit_test(test_file_default),
	    cmocka_unit_test(test_file_profile_token),
	    cmocka_unit_test(test_file_long_token),
	    cmocka_unit_test(test_file_symlink),
	    cmocka_unit_test(test_file_modes),
	    cmocka_unit_test(test_file_not_regular),
	    cmocka_unit_test(test_file_bad_content),
	    cmocka_unit_test(test_file_size_and_nul),
	    cmocka_unit_test(test_imds_good),
	    cmocka_unit_test(test_imds_bad),
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test(test_redact),
	};
	return cmocka_run_group_tests_name("creds", tests, setup, teardown);
}
