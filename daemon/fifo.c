/* fifo.c — keepalived writes the FIFO non-blocking and drops lines when
 * nobody reads, so we read it from the event loop, always. We also hold a
 * write end open ourselves: otherwise every keepalived restart would give us
 * EOF and a busy EPOLLHUP until we reopened. Malformed lines are logged and
 * skipped; an overlong line is discarded up to its newline. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/ev.h"
#include "daemon/fifo.h"
#include "lib/log.h"
#include "lib/util.h"

static int rfd = -1, wfd = -1;
static char line[KA_LINE_MAX];
static size_t len;
static int discarding;
static fifo_event_fn on_event;
static char fifo_path[256];

static void handle_line(void)
{
	struct ka_event ev;
	char err[256];

	line[len] = '\0';
	if (ka_parse_fifo(line, &ev, err, sizeof(err)) == -1) {
		log_warnx("notify fifo %s: ignoring '%.100s': %s", fifo_path, line, err);
		return;
	}
	ev.mono = ev_now();
	ev.wall = ev_wall();
	on_event(&ev);
}

static void on_readable(int fd, uint32_t events, void *arg)
{
	char buf[4096];

	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = read(rfd, buf, sizeof(buf));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (n == -1)
				log_warn("notify fifo %s", fifo_path);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				if (!discarding)
					handle_line();
				discarding = 0;
				len = 0;
				continue;
			}
			if (discarding)
				continue;
			if (len + 1 >= sizeof(line)) {
				log_warnx("notify fifo %s: line longer than %zu bytes "
					  "discarded",
					  fifo_path, sizeof(line) - 1);
				discarding = 1;
				len = 0;
				continue;
			}
			line[len++] = buf[i];
		}
	}
}

int fifo_init(const char *path, fifo_event_fn fn)
{
	struct stat st;

	snprintf(fifo_path, sizeof(fifo_path), "%s", path);
	if (mkfifo(path, 0600) == -1 && errno != EEXIST) {
		log_warn("notify fifo %s: mkfifo", path);
		return -1;
	}
	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd == -1) {
		log_warn("notify fifo %s", path);
		return -1;
	}
	if (fstat(rfd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		log_warnx("notify fifo %s: not a FIFO", path);
		goto fail;
	}
	wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (wfd == -1) {
		log_warn("notify fifo %s: holding a write end", path);
		goto fail;
	}
	on_event = fn;
	if (ev_fd_set(rfd, EPOLLIN, on_readable, NULL) == -1)
		goto fail;
	return 0;
fail:
	fifo_fini();
	return -1;
}

void fifo_fini(void)
{
	if (rfd != -1) {
		ev_fd_del(rfd);
		close(rfd);
	}
	if (wfd != -1)
		close(wfd);
	rfd = wfd = -1;
	len = 0;
	discarding = 0;
}
