/* fuzz_nft — replies to netmon/nft.c's NFT_MSG_GETOBJ counter dump: one
 * datagram through the module's own nl_parse (libmnl callbacks: on_obj for
 * the counters, on_error for errors and acks), matched against three zones
 * by the sorted-name lookup that reads use. */
#include "netmon/nft.c"
#include "tests/fuzz/fuzz.h"

static uint64_t dgram[65536 / sizeof(uint64_t)];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const name_t names[3] = {"az2", "az1", "az1x"};
	static size_t *ord;
	struct nm_zone_counters out[3];
	unsigned char seen[4] = {0};
	struct counts cs = {.names = names, .n = 3, .out = out, .seen = seen};
	struct talk t = {.what = "read counters", .data = &cs};
	struct nl nl = {.buf = (char *)dgram, .bufsz = sizeof(dgram)};

	if (size > sizeof(dgram))
		return 0;
	if (ord == NULL)
		ord = names_order(names, 3); /* kept for the process's life */
	cs.ord = ord;
	memcpy(dgram, data, size);
	memset(out, 0, sizeof(out));
	/* seq 0: what a batch's replies are checked with (any sequence). */
	nl_parse(&nl, size, 0, on_obj, &t);
	return 0;
}
