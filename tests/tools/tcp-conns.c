/* tcp-conns — many established TCP connections, for bench/netmon.sh.
 *
 *   tcp-conns serve ADDR PORT
 *       listen on ADDR:PORT (SO_REUSEPORT: run several to hold more
 *       connections than one process may have fds), accept everything and
 *       hold it; a connection is closed when its peer closes it. Prints
 *       "listening" once ready.
 *   tcp-conns connect DST PORT N SRC [SRC...]
 *       open N connections to DST:PORT, round robin over the source
 *       addresses SRC (so that they spread over zones), print
 *       "established N" once all are up, then hold them until SIGTERM or
 *       SIGINT; exit closes them all at once.
 *
 * Both raise RLIMIT_NOFILE to the hard limit (further only with
 * CAP_SYS_RESOURCE). Every loop is bounded: connect gives up after 120 s,
 * both exit after 24 h. Exit 0, or 1 with a message. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS    200000
#define INFLIGHT     512 /* connects outstanding at once: the listener keeps up */
#define CONNECT_SECS 120
#define SERVE_SECS   86400
#define EPOLL_BATCH  256

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* As many fds as allowed, at least want if possible; -1 if fewer. */
static int raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_max < want) {
		struct rlimit more = {want, want};
		if (setrlimit(RLIMIT_NOFILE, &more) == 0)
			return 0;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		return -1;
	return 0;
}

static int addr_of(const char *s, int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, s, &sa->sin_addr) == 1 ? 0 : -1;
}

static int serve(const char *addr, int port)
{
	struct sockaddr_in sa;
	struct epoll_event ev, evs[EPOLL_BATCH];
	int one = 1, lfd, ep;
	double end = now_s() + SERVE_SECS;
	char buf[4096];

	raise_nofile(MAX_CONNS + 64); /* holds what it can; SO_REUSEPORT spreads */
	if (addr_of(addr, port, &sa) == -1)
		return fprintf(stderr, "tcp-conns: bad address %s\n", addr), 1;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 4096) == -1)
		return perror("tcp-conns: listen"), 1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (ep == -1 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		return perror("tcp-conns: epoll"), 1;
	printf("listening\n");
	fflush(stdout);
	while (!stop && now_s() < end) {
		int n = epoll_wait(ep, evs, EPOLL_BATCH, 1000);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				/* Bounded: at most one batch per round. */
				for (int k = 0; k < EPOLL_BATCH; k++) {
					int c = accept4(lfd, NULL, NULL,
							SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (c == -1)
						break;
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.fd = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == -1)
						close(c);
				}
				continue;
			}
			/* The peer closed (or sent something: read and drop). */
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r == 0 || (r == -1 && errno != EAGAIN)) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
	}
	return 0;
}

static int connect_all(const char *dst, int port, long n, char **src, int nsrc)
{
	struct sockaddr_in da, sa;
	int *fds, ep, established = 0, started = 0, inflight = 0;
	struct epoll_event ev, evs[EPOLL_BATCH];
	double end = now_s() + CONNECT_SECS;

	if (n < 1 || n > MAX_CONNS)
		return fprintf(stderr, "tcp-conns: N must be 1..%d\n", MAX_CONNS), 1;
	if (raise_nofile((size_t)n + 64) == -1)
		return fprintf(stderr, "tcp-conns: %ld fds are more than allowed\n", n),
		       1;
	if (addr_of(dst, port, &da) == -1)
		return fprintf(stderr, "tcp-conns: bad address %s\n", dst), 1;
	fds = calloc((size_t)n, sizeof(*fds));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (fds == NULL || ep == -1)
		return perror("tcp-conns"), 1;
	while (established < n) {
		if (stop || now_s() > end) {
			fprintf(stderr, "tcp-conns: %d of %ld established in %d s\n",
				established, n, CONNECT_SECS);
			return 1;
		}
		while (started < n && inflight < INFLIGHT) {
			int fd = socket(AF_INET,
					SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			if (fd == -1 || addr_of(src[started % nsrc], 0, &sa) == -1 ||
			    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
				return perror("tcp-conns: socket/bind"), 1;
			if (connect(fd, (struct sockaddr *)&da, sizeof(da)) == -1 &&
			    errno != EINPROGRESS)
				return perror("tcp-conns: connect"), 1;
			ev.events = EPOLLOUT;
			ev.data.u64 = (uint64_t)started;
			fds[started++] = fd;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
				return perror("tcp-conns: epoll"), 1;
			inflight++;
		}
		int k = epoll_wait(ep, evs, EPOLL_BATCH, 1000);
		for (int i = 0; i < k; i++) {
			int fd = fds[evs[i].data.u64], err = 0;
			socklen_t len = sizeof(err);

			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			inflight--;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
			    err) {
				fprintf(stderr, "tcp-conns: connect: %s\n",
					strerror(err));
				return 1;
			}
			established++;
		}
	}
	printf("established %d\n", established);
	fflush(stdout);
	/* Hold until a signal. */
	while (!stop && now_s() < end + SERVE_SECS)
		poll(NULL, 0, 1000);
	/* exit() closes them all at once. */
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], atoi(argv[3]));
	if (argc >= 6 && strcmp(argv[1], "connect") == 0)
		return connect_all(argv[2], atoi(argv[3]), atol(argv[4]), argv + 5,
				   argc - 5);
	fprintf(stderr, "usage: tcp-conns serve ADDR PORT | connect DST PORT N SRC...\n");
	return 2;
}
