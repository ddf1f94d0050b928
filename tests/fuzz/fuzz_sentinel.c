/* fuzz_sentinel — what a sentinel answers the Sentinel follower
 * (daemon/sentinel.c): RESP bytes through hiredis's reader, as the daemon
 * gets them, then the follower's check of a get-master-addr-by-name reply
 * (first byte even), or a +switch-master message (first byte odd). */
#include <hiredis/hiredis.h>

#include "daemon/sentinel.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sen_answer a;
	char why[200], name[64];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (sen_parse_switch((const char *)data + 1, size - 1, name,
				     sizeof(name)) == 0 &&
		    strlen(name) >= sizeof(name))
			abort();
		return 0;
	}
	redisReader *r = redisReaderCreate();
	void *reply = NULL;
	if (redisReaderFeed(r, (const char *)data + 1, size - 1) == REDIS_OK &&
	    redisReaderGetReply(r, &reply) == REDIS_OK && reply) {
		if (sen_parse_reply(reply, &a, why, sizeof(why)) == 0 &&
		    a.kind == SEN_ADDR &&
		    (strlen(a.host) >= sizeof(a.host) || a.port < 1 || a.port > 65535))
			abort();
		freeReplyObject(reply);
	}
	redisReaderFree(r);
	return 0;
}
