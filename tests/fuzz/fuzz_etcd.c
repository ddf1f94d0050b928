/* fuzz_etcd — what etcd's v3 JSON gateway answers the Patroni follower
 * (daemon/patroni.c): a range read's body (first byte even) or one message
 * of a watch stream (first byte odd); base64 values included. */
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

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0)
		pat_parse_range((const char *)data + 1, size - 1, &m);
	else
		pat_parse_watch((const char *)data + 1, size - 1, &m);
	if (m.present && !m.bad && strlen(m.value) >= sizeof(m.value))
		abort();
	return 0;
}
