/* fuzz_kaevent — keepalived's state events (daemon/kaevent.c): a line of
 * vrrp_notify_fifo (first byte even), or the arguments keepalived appends to
 * a notify script, split on spaces (first byte odd). */
#include "daemon/kaevent.h"
#include "tests/fuzz/fuzz.h"

#define ARGS_MAX 16

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_event ev;
	char err[256], *argv[ARGS_MAX], *save = NULL, *tok;
	int argc = 0;

	if (size < 1)
		return 0;
	char *s = fuzz_str(data + 1, size - 1);
	if ((data[0] & 1) == 0) {
		/* The FIFO reader hands over lines without their newline. */
		s[strcspn(s, "\n")] = '\0';
		if (ka_parse_fifo(s, &ev, err, sizeof(err)) == 0) {
			ka_state_name(ev.state);
			ka_type_name(ev.type);
		}
	} else {
		for (tok = strtok_r(s, " ", &save); tok && argc < ARGS_MAX;
		     tok = strtok_r(NULL, " ", &save))
			argv[argc++] = tok;
		if (ka_parse_args(argc, argv, &ev, err, sizeof(err)) == 0)
			ka_state_name(ev.state);
	}
	free(s);
	return 0;
}
