/* fuzz_zbpf — rtnetlink link messages as netmon/zbpf.c reads them (the
 * RTM_GETLINK dump and the RTNLGRP_LINK events that decide which interfaces
 * get the eBPF zone counters): one datagram through the module's nl_run
 * (length checks, then libmnl's mnl_cb_run) into link_parse and link_kind. */
#include "netmon/zbpf.c"
#include "tests/fuzz/fuzz.h"

static uint64_t dgram[65536 / sizeof(uint64_t)];

static int on_msg(const struct nlmsghdr *nh, void *data)
{
	struct link l;
	size_t *n = data;

	if (link_parse(nh, &l) == 0)
		*n += strlen(l.name) + (size_t)(link_kind(l.type) + 1) + l.master % 2;
	return MNL_CB_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;

	if (size > sizeof(dgram))
		return 0;
	memcpy(dgram, data, size);
	nl_run((const char *)dgram, size, 0, 0, on_msg, &n);
	return 0;
}
