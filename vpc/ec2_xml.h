/* ec2_xml.h — EC2 Query API response bodies (libxml2) and error classes.
 * Pure functions over a buffer: no I/O, no globals. */
#ifndef VPCF_EC2_XML_H
#define VPCF_EC2_XML_H

#include <stddef.h>

#include "vpc/aws_cfg.h" /* AWS_ID_MAX */
#include "vpc/creds.h"

#define EC2_CIDR_MAX 64
#define EC2_BODY_MAX (4 * 1024 * 1024) /* larger response bodies are refused */

struct ec2_route {
	char dest[EC2_CIDR_MAX];   /* destinationCidrBlock or destinationIpv6CidrBlock */
	char eni[AWS_ID_MAX];	   /* networkInterfaceId, "" when absent */
	char instance[AWS_ID_MAX]; /* instanceId, "" when absent */
	char gateway[AWS_ID_MAX];  /* gatewayId or another *GatewayId target, "" */
	char state[16];		   /* "active" | "blackhole" */
	char origin[32];	   /* CreateRouteTable | CreateRoute | ... */
};

struct ec2_table {
	char id[AWS_ID_MAX];
	char vpc[AWS_ID_MAX];
	struct ec2_route *routes;
	size_t nroutes;
};

/* One item of DescribeNetworkInterfaces. */
struct ec2_eni {
	char id[AWS_ID_MAX];
	char az[32];		   /* availabilityZone */
	char subnet[AWS_ID_MAX];   /* subnetId */
	char vpc[AWS_ID_MAX];	   /* vpcId */
	char status[32];	   /* available | in-use | attaching | detaching */
	char instance[AWS_ID_MAX]; /* attachment/instanceId, "" when unattached */
	int source_dest_check;	   /* 1 on (EC2's default), 0 off, -1 not reported */
};

struct ec2_error {
	int http_status;
	char code[64];
	char message[1024];
	char request_id[64];
};

/* What the caller should do with an answer. */
enum ec2_class {
	EC2_OK,		  /* success (also DryRunOperation for a DryRun call) */
	EC2_RETRY,	  /* throttled, 5xx, InternalError, Unavailable, network */
	EC2_PERMANENT,	  /* NotFound, UnauthorizedOperation, AuthFailure, ... */
	EC2_NO_ROUTE,	  /* ReplaceRoute found no route: CreateRoute instead */
	EC2_ROUTE_EXISTS, /* CreateRoute found one: ReplaceRoute instead */
	EC2_CLOCK_SKEW,	  /* RequestExpired / signature not yet current */
};

/* Parse a DescribeRouteTablesResponse, appending to *tables (*ntables
 * entries; caller frees with ec2_tables_free) and copying nextToken into
 * next ("" when none). 0, or -1 with a reason in errbuf. */
int ec2_xml_describe(const char *body, size_t len, struct ec2_table **tables,
		     size_t *ntables, char *next, size_t nextsz, char *errbuf,
		     size_t errsz);
/* Parse a DescribeNetworkInterfacesResponse like ec2_xml_describe: appends
 * to *enis (*nenis entries; caller frees), nextToken into next. 0, or -1
 * with a reason in errbuf. */
int ec2_xml_describe_enis(const char *body, size_t len, struct ec2_eni **enis,
			  size_t *nenis, char *next, size_t nextsz, char *errbuf,
			  size_t errsz);
/* Parse a success body of a mutating call (ReplaceRouteResponse, ...): the
 * root element must be <Action>Response; <return> is not required, but
 * <return>false</return> is a failure. 0 or -1 with errbuf. */
int ec2_xml_ok(const char *body, size_t len, const char *action, char *errbuf,
	       size_t errsz);
/* Parse an error body (<Response><Errors><Error><Code>...). Fills code,
 * message, request_id; leaves http_status alone. Unparseable bodies give
 * code "" and a message describing the body. 0 if an <Error> was found. */
int ec2_xml_error(const char *body, size_t len, struct ec2_error *err);
/* STS AssumeRoleResponse (Version 2011-06-15): the Credentials
 * (AccessKeyId, SecretAccessKey, SessionToken, Expiration) into c, source
 * "assume-role", and AssumedRoleUser/Arn into arn. 0, or -1 with errbuf
 * (never a secret). STS errors (ErrorResponse/Error) parse with
 * ec2_xml_error. */
int ec2_xml_assume_role(const char *body, size_t len, struct aws_creds *c, char *arn,
			size_t arnsz, char *errbuf, size_t errsz);
/* Classify an HTTP status (0 = transport failure) and EC2 error code. */
enum ec2_class ec2_classify(int http_status, const char *code, const char *message);
void ec2_tables_free(struct ec2_table *t, size_t n);

#endif
