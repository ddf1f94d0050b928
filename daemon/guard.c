/* guard.c — the role guard's questions (see guard.h).
 *
 * One question at a time per guard, one connection per question, torn down
 * when it is answered. Every library runs in its non-blocking mode with its
 * socket on the daemon's loop (lib/ev.h): hiredis's async API through a
 * small adapter (daemon/rdev.c; its bundled ones are for other loops), libpq's
 * PQconnectPoll/PQsendQuery/PQconsumeInput, libmariadb's _start/_cont
 * calls. Hosts are IP literals (guard_cfg.c), so no library resolves a name,
 * which each would do blocking. A timer bounds the whole question; the
 * answer is handed to the caller from a zero-delay timer, never from inside
 * guard_ask or a library callback, so the caller may ask again or free the
 * guard in its callback. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <mysql.h>

#include "daemon/guard.h"
#include "daemon/rdev.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vpc/creds.h"

enum pg_step { PG_CONNECT, PG_QUERY };
enum my_step { MY_CONNECT, MY_QUERY, MY_STORE };

struct guard {
	struct guard_target t;
	char name[96];
	char *password; /* NULL = none; registered with the log redactor */
	char pw_err[300];
	unsigned timeout_ms;
	guard_fn fn;
	void *arg;
	int busy;
	uint64_t started;
	uint64_t timeout_timer, deliver_timer;
	enum guard_answer answer;
	char detail[320];
	int fd; /* watched on the loop; -1 none */
	/* One of these, by t.kind. */
	redisAsyncContext *rd;
	PGconn *pg;
	enum pg_step pg_step;
	MYSQL *my;
	enum my_step my_step;
	int my_wait; /* the step in flight's wait status, 0 = none */
	MYSQL_RES *my_res;
};

const char *guard_answer_name(enum guard_answer a)
{
	switch (a) {
	case GUARD_PRIMARY:
		return "primary";
	case GUARD_REPLICA:
		return "replica";
	case GUARD_UNKNOWN:
		return "unknown";
	case GUARD_UNASKED:
		break;
	}
	return "unasked";
}

const char *guard_name(const struct guard *gd)
{
	return gd->name;
}

int guard_busy(const struct guard *gd)
{
	return gd->busy;
}

static void unwatch(struct guard *gd)
{
	if (gd->fd != -1)
		ev_fd_del(gd->fd);
	gd->fd = -1;
}

/* Watch fd afresh: a library may have closed the last one and opened
 * another under the same number (libpq retrying without TLS). */
static int watch(struct guard *gd, int fd, uint32_t events, ev_fd_fn fn)
{
	unwatch(gd);
	if (ev_fd_set(fd, events, fn, gd) == -1)
		return -1;
	gd->fd = fd;
	return 0;
}

static void rd_close(struct guard *gd);
static void pg_close(struct guard *gd);
static void my_close(struct guard *gd);

/* Tear the connection down; the answer stays. */
static void teardown(struct guard *gd)
{
	if (gd->timeout_timer)
		ev_timer_cancel(gd->timeout_timer);
	gd->timeout_timer = 0;
	rd_close(gd);
	pg_close(gd);
	my_close(gd);
	unwatch(gd);
}

static void deliver(void *arg)
{
	struct guard *gd = arg;
	guard_fn fn = gd->fn;
	char detail[sizeof(gd->detail)];

	gd->deliver_timer = 0;
	gd->busy = 0;
	gd->fn = NULL;
	snprintf(detail, sizeof(detail), "%s", gd->detail);
	if (fn)
		fn(gd->arg, gd->answer, detail, (unsigned)(ev_now() - gd->started));
}

static void finish(struct guard *gd, enum guard_answer a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish(struct guard *gd, enum guard_answer a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!gd->busy || gd->deliver_timer)
		return; /* answered already */
	gd->answer = a;
	n = snprintf(gd->detail, sizeof(gd->detail), "%s ", gd->name);
	va_start(ap, fmt);
	vsnprintf(gd->detail + n, sizeof(gd->detail) - (size_t)n, fmt, ap);
	va_end(ap);
	/* Library messages end in newlines (libpq's do). */
	for (size_t l = strlen(gd->detail); l && (gd->detail[l - 1] == '\n'); l--)
		gd->detail[l - 1] = '\0';
	teardown(gd);
	gd->deliver_timer = ev_timer_add(0, deliver, gd);
}

static void on_timeout(void *arg)
{
	struct guard *gd = arg;

	gd->timeout_timer = 0;
	finish(gd, GUARD_UNKNOWN, "cannot be asked: no answer within %u ms",
	       gd->timeout_ms);
}

/* ---- Redis: hiredis async, ROLE ---- */

static void rd_close(struct guard *gd)
{
	redisAsyncContext *ac = gd->rd;

	if (ac == NULL)
		return;
	gd->rd = NULL;
	ac->data = NULL; /* callbacks still to come are for nobody */
	/* Inside a reply callback hiredis defers the free until it returns. */
	redisAsyncFree(ac);
}

static void rd_on_auth(redisAsyncContext *ac, void *r, void *priv)
{
	struct guard *gd = ac->data;
	redisReply *reply = r;

	if (gd == NULL || reply == NULL || reply->type != REDIS_REPLY_ERROR)
		return; /* ROLE's callback decides */
	finish(gd, GUARD_UNKNOWN, "cannot be asked: AUTH: %.200s", reply->str);
}

static void rd_on_role(redisAsyncContext *ac, void *r, void *priv)
{
	struct guard *gd = ac->data;
	redisReply *reply = r, *e0;

	if (gd == NULL)
		return;
	if (reply == NULL) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: %s", rdev_errstr(ac));
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: ROLE: %.200s", reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
	    (e0 = reply->element[0])->type != REDIS_REPLY_STRING) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: ROLE gave no role");
		return;
	}
	if (strcmp(e0->str, "master") == 0)
		finish(gd, GUARD_PRIMARY, "is the primary");
	else if (strcmp(e0->str, "slave") == 0 && reply->elements >= 3 &&
		 reply->element[1]->type == REDIS_REPLY_STRING &&
		 reply->element[2]->type == REDIS_REPLY_INTEGER)
		finish(gd, GUARD_REPLICA, "is a replica (of %.64s:%lld)",
		       reply->element[1]->str, reply->element[2]->integer);
	else if (strcmp(e0->str, "slave") == 0)
		finish(gd, GUARD_REPLICA, "is a replica");
	else
		finish(gd, GUARD_UNKNOWN, "cannot be asked: ROLE says '%.32s'", e0->str);
}

static void rd_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct guard *gd = ac->data;

	if (gd && gd->rd == ac) {
		gd->rd = NULL; /* hiredis frees it after this returns */
		finish(gd, GUARD_UNKNOWN, "cannot be asked: %s", rdev_errstr(ac));
	}
}

static void rd_ask(struct guard *gd)
{
	redisAsyncContext *ac = redisAsyncConnect(gd->t.host, gd->t.port);

	if (ac == NULL) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: out of memory");
		return;
	}
	if (ac->err) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: %s", ac->errstr);
		redisAsyncFree(ac);
		return;
	}
	rdev_attach(ac);
	ac->data = gd;
	gd->rd = ac;
	redisAsyncSetDisconnectCallback(ac, rd_on_disconnect);
	if (gd->password && gd->t.user[0])
		redisAsyncCommand(ac, rd_on_auth, NULL, "AUTH %s %s", gd->t.user,
				  gd->password);
	else if (gd->password)
		redisAsyncCommand(ac, rd_on_auth, NULL, "AUTH %s", gd->password);
	redisAsyncCommand(ac, rd_on_role, NULL, "ROLE");
}

/* ---- PostgreSQL: libpq, SELECT pg_is_in_recovery() ---- */

static void pg_close(struct guard *gd)
{
	if (gd->pg == NULL)
		return;
	unwatch(gd);
	/* Sends Terminate on the non-blocking socket; never waits. */
	PQfinish(gd->pg);
	gd->pg = NULL;
}

static void pg_on_fd(int fd, uint32_t events, void *arg);

static void pg_wait(struct guard *gd, uint32_t events)
{
	if (watch(gd, PQsocket(gd->pg), events, pg_on_fd) == -1)
		finish(gd, GUARD_UNKNOWN, "cannot be asked: cannot watch its socket");
}

static void pg_result(struct guard *gd)
{
	PGresult *res = PQgetResult(gd->pg);
	const char *v;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1 || PQnfields(res) != 1) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: pg_is_in_recovery(): %s",
		       res ? PQresultErrorMessage(res) : PQerrorMessage(gd->pg));
	} else if (strcmp((v = PQgetvalue(res, 0, 0)), "f") == 0)
		finish(gd, GUARD_PRIMARY, "is the primary (not in recovery)");
	else if (strcmp(v, "t") == 0)
		finish(gd, GUARD_REPLICA, "is a standby (in recovery)");
	else
		finish(gd, GUARD_UNKNOWN,
		       "cannot be asked: pg_is_in_recovery() said '%.16s'", v);
	PQclear(res);
}

static void pg_on_fd(int fd, uint32_t events, void *arg)
{
	struct guard *gd = arg;

	if (gd->pg_step == PG_CONNECT) {
		switch (PQconnectPoll(gd->pg)) {
		case PGRES_POLLING_READING:
			pg_wait(gd, EPOLLIN);
			return;
		case PGRES_POLLING_WRITING:
			pg_wait(gd, EPOLLOUT);
			return;
		case PGRES_POLLING_OK:
			break;
		default:
			finish(gd, GUARD_UNKNOWN, "cannot be asked: %s",
			       PQerrorMessage(gd->pg));
			return;
		}
		if (PQsetnonblocking(gd->pg, 1) == -1 ||
		    !PQsendQuery(gd->pg, "SELECT pg_is_in_recovery()")) {
			finish(gd, GUARD_UNKNOWN, "cannot be asked: %s",
			       PQerrorMessage(gd->pg));
			return;
		}
		gd->pg_step = PG_QUERY;
		events = 0; /* nothing read yet */
	}
	if (events & EPOLLIN) {
		if (!PQconsumeInput(gd->pg)) {
			finish(gd, GUARD_UNKNOWN, "cannot be asked: %s",
			       PQerrorMessage(gd->pg));
			return;
		}
	}
	int flush = PQflush(gd->pg);
	if (flush == -1) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: %s", PQerrorMessage(gd->pg));
		return;
	}
	if (flush == 0 && !PQisBusy(gd->pg)) {
		pg_result(gd);
		return;
	}
	pg_wait(gd, EPOLLIN | (flush == 1 ? EPOLLOUT : 0));
}

static void pg_ask(struct guard *gd)
{
	char port[8];
	const char *keys[8], *vals[8];
	int n = 0;

	snprintf(port, sizeof(port), "%d", gd->t.port);
#define KV(k, v) (keys[n] = (k), vals[n++] = (v))
	KV("hostaddr", gd->t.host);
	KV("port", port);
	KV("user", gd->t.user);
	KV("dbname", gd->t.db[0] ? gd->t.db : gd->t.user);
	KV("application_name", "vpc-failover-guard");
	KV("gssencmode", "disable"); /* a Kerberos credential lookup could block */
	if (gd->password)
		KV("password", gd->password);
	keys[n] = vals[n] = NULL;
#undef KV
	gd->pg = PQconnectStartParams(keys, vals, 0);
	if (gd->pg == NULL) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: out of memory");
		return;
	}
	if (PQstatus(gd->pg) == CONNECTION_BAD) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: %s", PQerrorMessage(gd->pg));
		return;
	}
	gd->pg_step = PG_CONNECT;
	/* As libpq's docs say: poll after the socket is writable. */
	pg_wait(gd, EPOLLOUT);
}

/* ---- MySQL/MariaDB: libmariadb's non-blocking API, @@read_only ---- */

static uint32_t my_events(int status)
{
	return ((status & MYSQL_WAIT_READ) ? EPOLLIN : 0) |
	       ((status & MYSQL_WAIT_WRITE) ? EPOLLOUT : 0) |
	       ((status & MYSQL_WAIT_EXCEPT) ? EPOLLPRI : 0);
}

/* Drive the current step to its end without waiting: the socket is shut
 * down, so every read and write fails at once. */
static int my_abandon_step(struct guard *gd, int status)
{
	MYSQL *ret;
	int err;

	for (int i = 0; status && i < 32; i++) {
		switch (gd->my_step) {
		case MY_CONNECT:
			status = mysql_real_connect_cont(&ret, gd->my, status);
			break;
		case MY_QUERY:
			status = mysql_real_query_cont(&err, gd->my, status);
			break;
		case MY_STORE:
			status = mysql_store_result_cont(&gd->my_res, gd->my, status);
			break;
		}
	}
	return status;
}

static void my_close(struct guard *gd)
{
	int st;

	if (gd->my == NULL)
		return;
	unwatch(gd);
	if (gd->my_res)
		mysql_free_result(gd->my_res);
	gd->my_res = NULL;
	if (gd->my_wait) {
		shutdown(mysql_get_socket(gd->my), SHUT_RDWR);
		gd->my_wait = my_abandon_step(gd, MYSQL_WAIT_READ | MYSQL_WAIT_WRITE);
	}
	if (gd->my_wait) {
		/* Never seen; a handle stuck mid-step cannot be closed safely. */
		log_warnx("guard %s: a connection would not end; left open", gd->name);
	} else if ((st = mysql_close_start(gd->my)) != 0) {
		/* COM_QUIT did not fit in the socket buffer: give up on it rather
		 * than wait. mysql_close_*() free the handle when done. */
		shutdown(mysql_get_socket(gd->my), SHUT_RDWR);
		for (int i = 0; st && i < 32; i++)
			st = mysql_close_cont(gd->my, MYSQL_WAIT_READ | MYSQL_WAIT_WRITE);
	}
	gd->my_wait = 0;
	gd->my = NULL;
}

static void my_on_fd(int fd, uint32_t events, void *arg);

/* Go on from a step's status: wait for its socket, or take its result. */
static void my_step(struct guard *gd, int status)
{
	int err = 0;
	MYSQL_ROW row;
	static const char q[] = "SELECT @@global.read_only";

	for (;;) {
		if (status) {
			gd->my_wait = status;
			if (watch(gd, mysql_get_socket(gd->my), my_events(status),
				  my_on_fd) == -1)
				finish(gd, GUARD_UNKNOWN,
				       "cannot be asked: cannot watch its socket");
			return;
		}
		gd->my_wait = 0;
		switch (gd->my_step) {
		case MY_CONNECT:
			if (mysql_errno(gd->my)) {
				finish(gd, GUARD_UNKNOWN, "cannot be asked: %s",
				       mysql_error(gd->my));
				return;
			}
			gd->my_step = MY_QUERY;
			status = mysql_real_query_start(&err, gd->my, q, sizeof(q) - 1);
			break;
		case MY_QUERY:
			if (mysql_errno(gd->my)) {
				finish(gd, GUARD_UNKNOWN, "cannot be asked: %s",
				       mysql_error(gd->my));
				return;
			}
			gd->my_step = MY_STORE;
			status = mysql_store_result_start(&gd->my_res, gd->my);
			break;
		case MY_STORE:
			if (gd->my_res == NULL || mysql_num_fields(gd->my_res) != 1 ||
			    (row = mysql_fetch_row(gd->my_res)) == NULL ||
			    row[0] == NULL) {
				finish(gd, GUARD_UNKNOWN, "cannot be asked: %s",
				       mysql_errno(gd->my) ? mysql_error(gd->my)
							   : "@@read_only: no value");
				return;
			}
			if (strcmp(row[0], "0") == 0)
				finish(gd, GUARD_PRIMARY,
				       "is the primary (read_only off)");
			else if (strcmp(row[0], "1") == 0)
				finish(gd, GUARD_REPLICA, "is read-only (a replica)");
			else
				finish(gd, GUARD_UNKNOWN,
				       "cannot be asked: @@read_only is '%.16s'", row[0]);
			return;
		}
	}
}

static void my_on_fd(int fd, uint32_t events, void *arg)
{
	struct guard *gd = arg;
	int ready = ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? MYSQL_WAIT_READ : 0) |
		    ((events & (EPOLLOUT | EPOLLERR)) ? MYSQL_WAIT_WRITE : 0) |
		    ((events & EPOLLPRI) ? MYSQL_WAIT_EXCEPT : 0);
	MYSQL *ret;
	int err, status = 0;

	switch (gd->my_step) {
	case MY_CONNECT:
		status = mysql_real_connect_cont(&ret, gd->my, ready);
		break;
	case MY_QUERY:
		status = mysql_real_query_cont(&err, gd->my, ready);
		break;
	case MY_STORE:
		status = mysql_store_result_cont(&gd->my_res, gd->my, ready);
		break;
	}
	my_step(gd, status);
}

static void my_ask(struct guard *gd)
{
	MYSQL *ret;
	unsigned secs = (gd->timeout_ms + 999) / 1000;
	int status;

	if ((gd->my = mysql_init(NULL)) == NULL) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: out of memory");
		return;
	}
	mysql_options(gd->my, MYSQL_OPT_NONBLOCK, 0);
	mysql_options(gd->my, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
	mysql_options(gd->my, MYSQL_OPT_READ_TIMEOUT, &secs);
	gd->my_step = MY_CONNECT;
	status = mysql_real_connect_start(&ret, gd->my, gd->t.host, gd->t.user,
					  gd->password ? gd->password : "", NULL,
					  (unsigned)gd->t.port, NULL, 0);
	my_step(gd, status);
}

/* ---- the guard ---- */

struct guard *guard_new(const char *url, const char *password_file, unsigned timeout_ms)
{
	struct guard *gd = xcalloc(1, sizeof(*gd));
	char why[200];

	gd->fd = -1;
	gd->timeout_ms = timeout_ms;
	if (guard_target_parse(url, &gd->t, why, sizeof(why)) == -1)
		fatal("guard %s: %s", url, why); /* the configuration checked it */
	snprintf(gd->name, sizeof(gd->name),
		 gd->t.host[0] && strchr(gd->t.host, ':') ? "%s at [%s]:%d"
							  : "%s at %s:%d",
		 guard_kind_name(gd->t.kind), gd->t.host, gd->t.port);
	if (password_file && *password_file &&
	    creds_read_password(password_file, "guard_password_file", &gd->password,
				gd->pw_err, sizeof(gd->pw_err)) == -1)
		log_warnx("guard %s: %s", gd->name, gd->pw_err);
	return gd;
}

void guard_cancel(struct guard *gd)
{
	if (gd == NULL)
		return;
	teardown(gd);
	if (gd->deliver_timer)
		ev_timer_cancel(gd->deliver_timer);
	gd->deliver_timer = 0;
	gd->busy = 0;
	gd->fn = NULL;
}

void guard_free(struct guard *gd)
{
	if (gd == NULL)
		return;
	guard_cancel(gd);
	if (gd->password) {
		explicit_bzero(gd->password, strlen(gd->password));
		free(gd->password);
	}
	free(gd);
}

void guard_ask(struct guard *gd, guard_fn fn, void *arg)
{
	guard_cancel(gd);
	gd->fn = fn;
	gd->arg = arg;
	gd->busy = 1;
	gd->started = ev_now();
	if (gd->pw_err[0]) {
		finish(gd, GUARD_UNKNOWN, "cannot be asked: %s", gd->pw_err);
		return;
	}
	gd->timeout_timer = ev_timer_add(gd->timeout_ms, on_timeout, gd);
	switch (gd->t.kind) {
	case GUARD_REDIS:
		rd_ask(gd);
		break;
	case GUARD_POSTGRES:
		pg_ask(gd);
		break;
	case GUARD_MYSQL:
		my_ask(gd);
		break;
	case GUARD_NONE:
		finish(gd, GUARD_UNKNOWN, "cannot be asked: no service");
		break;
	}
}
