/* fuzz_etcd — what etcd's v3 JSON gateway answers the Patroni follower
 * (daemon/patroni.c): by the first byte's two low bits, a range read's
 * body (0), one message of a watch stream (1), an /v3/auth/authenticate
 * answer (2), an error answer (3); base64 values included. */
#include <stdlib.h>
#include <string.h>

#include "daemon/patroni.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pat_msg m;
	char token[PAT_TOKEN_MAX], said[240];
	const char *text = (const char *)data + 1;

	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 2: /* the token goes into a header: one printable word */
		if (pat_parse_auth(text, size - 1, token, sizeof(token)) == 0 &&
		    (token[0] == '\0' || strpbrk(token, " \r\n\t") != NULL))
			abort();
		return 0;
	case 3: /* what etcd said goes into a log line: one line */
		pat_etcd_error(text, size - 1, said, sizeof(said));
		if (strpbrk(said, "\r\n") != NULL)
			abort();
		return 0;
	case 0:
		pat_parse_range(text, size - 1, &m);
		break;
	default:
		pat_parse_watch(text, size - 1, &m);
	}
	if (m.present && !m.bad && strlen(m.value) >= sizeof(m.value))
		abort();
	return 0;
}
