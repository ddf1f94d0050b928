/* fuzz_tcp — netmon/tcp.c's input: sock_diag datagrams as the dump socket
 * and the TCP destroy groups deliver them (the module's own dump_input and
 * event_input, so socket accounting runs too; messages must carry seq 0 and
 * port 0 to count as the dump's), and the /proc/net/snmp and
 * /proc/net/netstat texts. The first byte picks which. */
#include "netmon/tcp.c"
#include "tests/fuzz/fuzz.h"

#define DGRAM_MAX 65536

static uint64_t dgram[DGRAM_MAX / sizeof(uint64_t)]; /* aligned like rbuf */

/* Zone 0: 198.18.0.0/16 and 2001:db8::/32; zone 1: 10/8; else none. */
static int zone(void *ctx, int family, const void *daddr)
{
	const unsigned char *a = daddr;

	if (family == AF_INET)
		return a[0] == 198 && a[1] == 18 ? 0 : a[0] == 10 ? 1 : -1;
	return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8 ? 0 : -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nm_host_tcp host;
	struct nmt_tcpext ext;

	if (size < 1 || size - 1 > sizeof(dgram))
		return 0;
	size_t len = size - 1;
	memcpy(dgram, data + 1, len);
	switch (data[0] % 4) {
	case 0: /* a dump (baseline when bit 2 is set), then the same as events */
		set_zones(2, zone, NULL);
		mod.gen++;
		if (dump_input(dgram, len, 0, 0, data[0] & 4) == 1)
			sweep();
		event_input(dgram, len);
		nmt_ratio(0);
		nmt_fini();
		break;
	case 1: /* destroy events only: sockets no dump listed */
		set_zones(2, zone, NULL);
		event_input(dgram, len);
		nmt_fini();
		break;
	case 2:
		nmt_parse_snmp((const char *)dgram, len, &host);
		break;
	case 3:
		nmt_parse_netstat((const char *)dgram, len, &ext);
		break;
	}
	return 0;
}
