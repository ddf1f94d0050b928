/* cidr.c — CIDR parsing (cidr.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/cidr.h"

/* The netmask's byte i for a prefix of plen bits. */
static unsigned char mask_byte(int i, int plen)
{
	int keep = plen - i * 8;

	if (keep <= 0)
		return 0;
	return keep >= 8 ? 0xff : (unsigned char)(0xff << (8 - keep));
}

int cidr_parse_why(const char *s, struct cidr *out, char *why, size_t whylen)
{
	char addr[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/'), *p;
	struct cidr c;
	size_t alen;
	int bits, plen = 0, host = 0;

	if (why == NULL || whylen == 0) {
		static char sink[1];
		why = sink, whylen = sizeof(sink);
	}
	memset(&c, 0, sizeof(c));
	if (slash == NULL) {
		snprintf(why, whylen, "no /prefix length");
		return -1;
	}
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(why, whylen, "not an IPv4 or IPv6 address");
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, c.addr) == 1)
		c.family = AF_INET, bits = 32;
	else if (inet_pton(AF_INET6, addr, c.addr) == 1)
		c.family = AF_INET6, bits = 128;
	else {
		snprintf(why, whylen, "'%s' is not an IPv4 or IPv6 address", addr);
		return -1;
	}
	/* Digits only: atoi would take "/+8", "/ 8", "/8x". */
	for (p = slash + 1; *p >= '0' && *p <= '9' && plen <= bits; p++)
		plen = plen * 10 + (*p - '0');
	if (p == slash + 1 || *p != '\0' || plen > bits) {
		snprintf(why, whylen, "prefix length '/%.8s' is not in 0..%d", slash + 1,
			 bits);
		return -1;
	}
	c.plen = plen;
	for (int i = 0; i < bits / 8; i++) {
		unsigned char m = mask_byte(i, plen);

		host |= c.addr[i] & ~m;
		c.addr[i] &= m;
	}
	inet_ntop(c.family, c.addr, net, sizeof(net));
	if (host) {
		snprintf(why, whylen, "host bits set: the network is %s/%d", net, plen);
		return -1;
	}
	snprintf(c.text, sizeof(c.text), "%s/%d", net, plen);
	*out = c;
	return 0;
}

int cidr_parse(const char *s, struct cidr *out)
{
	return cidr_parse_why(s, out, NULL, 0);
}
