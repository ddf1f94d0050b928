/* min-notify.c — the least a notify hook can do, for bench/notify.sh to
 * measure the lean hook against: connect to the control socket, write the
 * hook's request line, read the reply to its end, exit 0 if it says ok.
 * libc alone, no configuration, no checks.
 *   min-notify SOCKET TYPE NAME STATE PRIORITY */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timespec ts;
	char line[512], reply[4096];
	size_t got = 0;
	ssize_t n;
	int fd, len;

	if (argc != 6) {
		fprintf(stderr, "usage: min-notify SOCKET TYPE NAME STATE PRIORITY\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	len = snprintf(
	    line, sizeof(line),
	    "{\"cmd\":\"notify\",\"type\":\"%s\",\"name\":\"%s\",\"state\":\"%s\","
	    "\"priority\":%s,\"mono\":%lld,\"wall\":%lld}\n",
	    argv[2], argv[3], argv[4], argv[5],
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, (long long)time(NULL));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    write(fd, line, (size_t)len) != len)
		return 3;
	while (got < sizeof(reply) - 1 &&
	       (n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0)
		got += (size_t)n;
	reply[got] = '\0';
	return strstr(reply, "\"ok\":true") || strstr(reply, "\"ok\": true") ? 0 : 1;
}
