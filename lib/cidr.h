/* cidr.h — IPv4 and IPv6 CIDR blocks ("10.0.0.0/24", "2001:db8::/64"), parsed
 * strictly into canonical form. */
#ifndef VPCF_CIDR_H
#define VPCF_CIDR_H

#include <stddef.h>

/* A CIDR, validated and in canonical text form. */
struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network byte order */
	int plen;
	char text[64]; /* canonical: "10.255.0.10/32", "2001:db8::/64" */
};

/* Parse one CIDR (IPv4 or IPv6) into canonical form; the prefix length is
 * required and host bits must be zero. 0 or -1; logs nothing. */
int cidr_parse(const char *s, struct cidr *out);
/* cidr_parse that also says why s was refused ("host bits set: the network
 * is 10.0.0.0/24") into why; logs nothing. */
int cidr_parse_why(const char *s, struct cidr *out, char *why, size_t whylen);

#endif
