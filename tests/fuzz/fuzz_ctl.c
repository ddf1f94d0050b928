/* fuzz_ctl — a control-socket request as the daemon receives it: the bytes
 * a client wrote, read by daemon/control.c's own client_io (line cap, JSON
 * parse, object check, reply, close) over a socketpair. control.c's command
 * handlers need the reconciler, so the handler here is a stand-in that
 * unpacks each command the way they do: "notify" through notify_event (the
 * request schema handle_notify uses), "failover" and "takeover" by the same
 * json_* accessors. */
#include "daemon/control.c"
#include "tests/fuzz/fuzz.h"

static int peer_fd = -1, own_fd = -1;

static json_t *handle(json_t *req, const struct peer *peer)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	struct ka_event ev;
	char err[256];
	json_t *v;
	size_t i;

	if (cmd == NULL)
		return reply_error("request has no \"cmd\" string");
	if (strcmp(cmd, "notify") == 0) {
		if (notify_event(req, 1000, 1795600000, &ev, err, sizeof(err)) == -1)
			return reply_error("notify: %s", err);
		return json_pack("{s:b, s:s, s:s}", "ok", 1, "name", ev.name, "state",
				 ka_state_name(ev.state));
	}
	if (strcmp(cmd, "failover") == 0) {
		const char *name = json_string_value(json_object_get(req, "group"));
		int all = json_is_true(json_object_get(req, "all"));
		int clear = json_is_true(json_object_get(req, "clear"));
		if (name && !ka_valid_name(name))
			return reply_error("no group '%.64s'", name);
		return json_pack("{s:b, s:s, s:b, s:b}", "ok", 1, "group",
				 name ? name : "", "all", all, "clear", clear);
	}
	if (strcmp(cmd, "takeover") == 0) {
		json_t *names = json_object_get(req, "groups");
		if (!json_is_array(names) || json_array_size(names) == 0)
			return reply_error(
			    "takeover: \"groups\" must be a non-empty array");
		json_array_foreach(names, i, v)
		{
			const char *s = json_string_value(v);
			if (s == NULL)
				return reply_error("takeover: no group '%.64s'",
						   "(not a string)");
		}
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "metrics") == 0)
		return json_pack("{s:b}", "ok", 1);
	return reply_error("unknown command '%.40s'", cmd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	if (ev_init() == -1)
		abort();
	handler = handle;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	char sink[4096];

	if (size > 3 * CTL_REQUEST_MAX)
		return 0; /* more than a socket buffer might take in one write */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	own_fd = sv[0];
	peer_fd = sv[1];
	if (size && write(peer_fd, data, size) != (ssize_t)size)
		abort();
	shutdown(peer_fd, SHUT_WR); /* the client is done sending */

	struct client *c = xcalloc(1, sizeof(*c));
	c->fd = own_fd;
	c->peer.uid = 0;
	c->next = clients;
	clients = c;
	if (ev_fd_set(own_fd, EPOLLIN, client_io, c) == -1)
		abort();
	/* client_io reads what is there each time; it closes the client once
	 * it replied or the peer went away. Bounded: the input is. */
	for (int i = 0; i < 8 && clients == c; i++)
		client_io(own_fd, EPOLLIN, c);
	if (clients == c)
		client_close(c);
	while (read(peer_fd, sink, sizeof(sink)) > 0)
		;
	close(peer_fd);
	return 0;
}
