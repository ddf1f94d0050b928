/* simutil.c — the simulator's small helpers: bounded text building, time
 * stamps, randomness (system CSPRNG for ids and secrets, a seeded PRNG for
 * fault decisions so a run can be replayed), the change log and counters. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "lib/log.h"
#include "tests/vpcsim/sim.h"

int sim_bprintf(struct buf *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, n);
	if ((size_t)n > b->limit)
		return -1;
	big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = buf_append(b, big, n);
	free(big);
	return rc;
}

int sim_xml_escape(struct buf *b, const char *s)
{
	/* Element text only (never attributes): quotes stay as EC2 sends them. */
	for (; *s; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '&':
			rep = "&amp;";
			break;
		}
		if (rep ? buf_append(b, rep, strlen(rep)) : buf_append(b, s, 1))
			return -1;
	}
	return 0;
}

void sim_iso_now_ms(char *out, size_t outsz)
{
	struct timespec ts;
	struct tm tm;
	char sec[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outsz, "%s.%03ldZ", sec, ts.tv_nsec / 1000000);
}

void sim_iso_time(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void random_bytes(unsigned char *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1)
		fatalx("RAND_bytes failed");
}

int64_t sim_wall_s(const struct sim *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return fake_wall_ms(&s->clock, &ts) / 1000;
}

uint64_t sim_mono_ms(const struct sim *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return fake_mono_ms(&s->clock, &ts);
}

void sim_uuid(char out[37])
{
	unsigned char u[16];

	random_bytes(u, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

void sim_random_text(char *out, size_t n, const char *alphabet)
{
	size_t alen = strlen(alphabet);
	unsigned char r;

	for (size_t i = 0; i < n;) {
		random_bytes(&r, 1);
		/* Reject the tail of the byte range so every symbol is equally likely. */
		if (r >= 256 - 256 % alen)
			continue;
		out[i++] = alphabet[r % alen];
	}
	out[n] = '\0';
}

double sim_rand01(struct sim *s)
{
	/* splitmix64: tiny, good enough for fault dice, and replayable by seed. */
	uint64_t z = (s->prng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) * 0x1.0p-53;
}

void sim_client_addr(struct MHD_Connection *conn, char *out, size_t outsz)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	out[0] = '\0';
	if (sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  (socklen_t)outsz);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		/* A dual-stack listener's IPv4 client is still that IPv4 address. */
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)outsz);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)outsz);
	}
}

int sim_who_canon(const char *in, char *out, size_t outsz)
{
	unsigned char bin[16];
	size_t n = strlen(in);

	/* The text inet_ntop gives, as sim_client_addr reports peers. */
	if (inet_pton(AF_INET, in, bin) == 1)
		return inet_ntop(AF_INET, bin, out, (socklen_t)outsz) ? 0 : -1;
	if (inet_pton(AF_INET6, in, bin) == 1)
		return inet_ntop(AF_INET6, bin, out, (socklen_t)outsz) ? 0 : -1;
	if (n == 0 || n >= outsz)
		return -1;
	for (const char *p = in; *p; p++)
		if (!isalnum((unsigned char)*p))
			return -1;
	memcpy(out, in, n + 1);
	return 0;
}

int sim_slow_set(struct sim_faults *f, const char *who, unsigned ms)
{
	char canon[SIM_KEY_MAX];
	size_t i;

	if (sim_who_canon(who, canon, sizeof(canon)) == -1)
		return -1;
	for (i = 0; i < f->nslow && strcmp(f->slow[i].who, canon) != 0; i++)
		;
	if (i == SIM_SLOW_MAX)
		return -1;
	if (i == f->nslow)
		f->nslow++;
	memcpy(f->slow[i].who, canon, sizeof(canon));
	f->slow[i].ms = ms;
	return 0;
}

static const char *const dist_names[] = {
    [SIM_DIST_UNIFORM] = "uniform", [SIM_DIST_PARETO] = "pareto"};

int sim_dist_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(dist_names); i++)
		if (strcmp(dist_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *sim_dist_name(enum sim_dist d)
{
	return dist_names[d];
}

void sim_sleep_ms(struct sim *s, unsigned ms)
{
	/* In slices, so SIGTERM does not wait for a long injected stall. */
	while (ms > 0 && !s->stopping) {
		unsigned slice = ms < 50 ? ms : 50;
		usleep(slice * 1000);
		ms -= slice;
	}
}

void sim_log(struct sim *s, const char *fmt, ...)
{
	char ts[40], line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Lines quote client input: keep each entry on one line. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	sim_iso_now_ms(ts, sizeof(ts));
	pthread_mutex_lock(&s->logmu);
	fprintf(s->log, "%s %s\n", ts, line);
	fflush(s->log);
	pthread_mutex_unlock(&s->logmu);
}

void sim_bump(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v)
		json_integer_set(v, json_integer_value(v) + 1);
	else
		json_object_set_new(obj, key, json_integer(1));
}

void sim_count(struct sim *s, const char *action, const char *code)
{
	s->total++;
	/* Only known actions are keys, so a client cannot grow the map at will. */
	if (action)
		sim_bump(s->actions, action);
	if (code)
		sim_bump(s->errors, code);
}
