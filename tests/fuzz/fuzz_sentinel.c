/* fuzz_sentinel — what a sentinel answers the Sentinel follower
 * (daemon/sentinel.c): RESP bytes through hiredis's reader, as the daemon
 * gets them, then the follower's check of a get-master-addr-by-name reply
 * (first byte 0 mod 3), a +switch-master message (1 mod 3), or Sentinel's
 * client-reconfig-script arguments, NUL-separated, as `vpc-failover
 * sentinel-reconfig` checks them (2 mod 3; hooks/notify.c). */
#include <hiredis/hiredis.h>

#include "daemon/sentinel.h"
#include "hooks/notify.h"
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
	if (data[0] % 3 == 2) {
		char buf[1024], *argv[16], err[300];
		struct hook_reconfig rc;
		int argc = 0;
		size_t n = size - 1 < sizeof(buf) - 1 ? size - 1 : sizeof(buf) - 1;
		memcpy(buf, data + 1, n);
		buf[n] = '\0';
		for (char *p = buf; argc < 16 && p <= buf + n; p += strlen(p) + 1)
			argv[argc++] = p;
		if (hook_reconfig_parse(argc, argv, &rc, err, sizeof(err)) == 0 &&
		    (rc.to_port < 1 || rc.to_port > 65535 ||
		     strlen(rc.master) >= sizeof(rc.master)))
			abort();
		return 0;
	}
	if (data[0] % 3 == 1) {
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
