/* test_ec2_xml.c — EC2 response bodies: DescribeRouteTables, mutating-call
 * successes, every error shape, error classes, and hostile input.
 * Bodies live in tests/data/ec2 (also the fuzzers' seeds). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/util.h"
#include "tests/unit/read_data.h"
#include "vpc/ec2_xml.h"

#define APPEND(b, s) buf_append((b), (s), strlen(s))

static int describe_file(const char *rel, struct ec2_table **t, size_t *n, char *next,
			 size_t nextsz, char *err, size_t errsz)
{
	size_t len;
	char *body = read_data(rel, &len);
	int rc = ec2_xml_describe(body, len, t, n, next, nextsz, err, errsz);
	free(body);
	return rc;
}

static const struct ec2_route *find_route(const struct ec2_table *t, const char *dest)
{
	for (size_t i = 0; i < t->nroutes; i++)
		if (strcmp(t->routes[i].dest, dest) == 0)
			return &t->routes[i];
	return NULL;
}

static void test_describe_full(void **state)
{
	struct ec2_table *t = NULL;
	size_t n = 0;
	char next[256] = "stale", err[256] = "";
	const struct ec2_route *r;

	assert_int_equal(describe_file("ec2/describe_route_tables.xml", &t, &n, next,
				       sizeof(next), err, sizeof(err)),
			 0);
	assert_string_equal(next, "");
	assert_int_equal(n, 2);

	assert_string_equal(t[0].id, "rtb-0a1b2c3d4e5f60718");
	assert_string_equal(t[0].vpc, "vpc-0123456789abcdef0");
	/* Six routes: associationSet, propagatingVgwSet and tagSet items are
	 * not routes. */
	assert_int_equal(t[0].nroutes, 6);

	r = &t[0].routes[0];
	assert_string_equal(r->dest, "10.0.0.0/16");
	assert_string_equal(r->gateway, "local");
	assert_string_equal(r->eni, "");
	assert_string_equal(r->instance, "");
	assert_string_equal(r->state, "active");
	assert_string_equal(r->origin, "CreateRouteTable");

	assert_non_null(r = find_route(&t[0], "2600:1f16:e3e:7f00::/56"));
	assert_string_equal(r->gateway, "local");

	assert_non_null(r = find_route(&t[0], "0.0.0.0/0"));
	assert_string_equal(r->gateway, "igw-0fedcba9876543210");
	assert_string_equal(r->origin, "CreateRoute");

	assert_non_null(r = find_route(&t[0], "10.255.0.10/32"));
	assert_string_equal(r->eni, "eni-0aaaaaaaaaaaaaaa1");
	assert_string_equal(r->instance, "i-0aaaaaaaaaaaaaaa1");
	assert_string_equal(r->gateway, "");
	assert_string_equal(r->state, "active");

	assert_non_null(r = find_route(&t[0], "10.255.0.20/32"));
	assert_string_equal(r->eni, "eni-0bbbbbbbbbbbbbbb2");
	assert_string_equal(r->instance, "");
	assert_string_equal(r->state, "blackhole");

	assert_non_null(r = find_route(&t[0], "pl-63a5400a"));
	assert_string_equal(r->gateway, "vpce-0c0c0c0c0c0c0c0c0");

	assert_string_equal(t[1].id, "rtb-0c1d2e3f405162738");
	assert_int_equal(t[1].nroutes, 4);
	assert_non_null(r = find_route(&t[1], "0.0.0.0/0"));
	assert_string_equal(r->gateway, "nat-0123456789abcdef0");
	assert_non_null(r = find_route(&t[1], "172.16.0.0/12"));
	assert_string_equal(r->gateway, "vgw-0123456789abcdef0");
	assert_string_equal(r->origin, "EnableVgwRoutePropagation");
	ec2_tables_free(t, n);
}

static void test_describe_targets(void **state)
{
	static const struct {
		const char *dest, *gateway;
	} want[] = {
	    {"192.168.0.0/16", "tgw-0123456789abcdef0"},
	    {"10.1.0.0/16", "pcx-0123456789abcdef0"},
	    {"::/0", "eigw-0123456789abcdef0"},
	    {"100.64.0.0/10", "cagw-0123456789abcdef0"},
	    {"198.51.100.0/24", "lgw-0123456789abcdef0"},
	    /* An ARN is kept as its resource id. */
	    {"203.0.113.0/24", "core-network-0a1b2c3d4e5f6a7b8"},
	};
	struct ec2_table *t = NULL;
	size_t n = 0;
	char next[64], err[256] = "";

	assert_int_equal(describe_file("ec2/describe_route_tables_targets.xml", &t, &n,
				       next, sizeof(next), err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].nroutes, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct ec2_route *r = find_route(&t[0], want[i].dest);
		assert_non_null(r);
		assert_string_equal(r->gateway, want[i].gateway);
		assert_string_equal(r->eni, "");
	}
	ec2_tables_free(t, n);
}

/* Two pages append to the same array; the token comes and goes. */
static void test_describe_paged(void **state)
{
	struct ec2_table *t = NULL;
	size_t n = 0;
	char next[256], err[256] = "";

	assert_int_equal(describe_file("ec2/describe_route_tables_page1.xml", &t, &n,
				       next, sizeof(next), err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(
	    next, "eyJ2IjoiMyIsImMiOiJyOXJ3UFl1ZUdCMDhXTitJbWhXRm9nPT0iLCJzIjoiMSJ9");
	assert_int_equal(describe_file("ec2/describe_route_tables_page2.xml", &t, &n,
				       next, sizeof(next), err, sizeof(err)),
			 0);
	assert_string_equal(next, "");
	assert_int_equal(n, 2);
	assert_string_equal(t[0].id, "rtb-0a1b2c3d4e5f60718");
	assert_int_equal(t[0].nroutes, 2);
	assert_string_equal(t[1].id, "rtb-0c1d2e3f405162738");
	assert_int_equal(t[1].nroutes, 1);

	/* A token that does not fit the caller's buffer is an error, not a
	 * silently lost page; the tables already held stay as they were. */
	assert_int_equal(describe_file("ec2/describe_route_tables_page1.xml", &t, &n,
				       next, 16, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "nextToken"));
	assert_int_equal(n, 2);
	ec2_tables_free(t, n);
}

static void test_describe_empty(void **state)
{
	struct ec2_table *t = NULL;
	size_t n = 0;
	char next[64], err[256] = "";

	assert_int_equal(describe_file("ec2/describe_route_tables_empty.xml", &t, &n,
				       next, sizeof(next), err, sizeof(err)),
			 0);
	assert_int_equal(n, 0);
	assert_null(t);
}

/* Names match whatever the namespace: none, default, or a prefix. */
static void test_describe_namespaces(void **state)
{
	static const char *const bodies[] = {
	    "<DescribeRouteTablesResponse><routeTableSet><item><routeTableId>rtb-1</"
	    "routeTableId><routeSet><item><destinationCidrBlock>10.255.0.10/32</"
	    "destinationCidrBlock><networkInterfaceId>eni-1</networkInterfaceId></item></"
	    "routeSet></item></routeTableSet></DescribeRouteTablesResponse>",
	    "<ec2:DescribeRouteTablesResponse "
	    "xmlns:ec2=\"http://ec2.amazonaws.com/doc/2016-11-15/"
	    "\"><ec2:routeTableSet><ec2:"
	    "item><ec2:routeTableId>rtb-1</ec2:routeTableId><ec2:routeSet><ec2:item><ec2:"
	    "destinationCidrBlock>10.255.0.10/32</ec2:destinationCidrBlock><ec2:"
	    "networkInterfaceId>eni-1</ec2:networkInterfaceId></ec2:item></"
	    "ec2:routeSet></"
	    "ec2:item></ec2:routeTableSet></ec2:DescribeRouteTablesResponse>",
	    /* CDATA and surrounding whitespace are text too. */
	    "<DescribeRouteTablesResponse "
	    "xmlns=\"urn:x\"><routeTableSet><item><routeTableId>"
	    "\n  "
	    "<![CDATA[rtb-1]]>\n</routeTableId><routeSet><item><destinationCidrBlock>10."
	    "255.0.10/32</destinationCidrBlock><networkInterfaceId>eni-1</"
	    "networkInterfaceId></item></routeSet></item></routeTableSet></"
	    "DescribeRouteTablesResponse>",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		struct ec2_table *t = NULL;
		size_t n = 0;
		char next[64], err[256] = "";

		assert_int_equal(ec2_xml_describe(bodies[i], strlen(bodies[i]), &t, &n,
						  next, sizeof(next), err, sizeof(err)),
				 0);
		assert_int_equal(n, 1);
		assert_string_equal(t[0].id, "rtb-1");
		assert_int_equal(t[0].nroutes, 1);
		assert_string_equal(t[0].routes[0].dest, "10.255.0.10/32");
		assert_string_equal(t[0].routes[0].eni, "eni-1");
		ec2_tables_free(t, n);
	}
}

/* Every hostile or broken body fails with a reason, leaves the caller's
 * tables alone, and does not crash or leak (ASan builds check that). */
struct bad_case {
	const char *name;
	const char *file; /* under tests/data, or NULL for body */
	const char *body;
	const char *errsub; /* expected in errbuf */
};

static const struct bad_case bad_describe[] = {
    {"empty body", NULL, "", "empty"},
    {"not XML", "ec2/not_xml.xml", NULL, "malformed XML"},
    {"truncated XML", "ec2/truncated.xml", NULL, "malformed XML"},
    {"wrong root", "ec2/wrong_root.xml", NULL, "DescribeInstancesResponse"},
    {"HTML page", "ec2/html_503.xml", NULL, "<html>"},
    {"error body", "ec2/error_request_limit.xml", NULL, "RequestLimitExceeded"},
    {"oversize field", "ec2/oversize_field.xml", NULL, "networkInterfaceId"},
    {"billion laughs", "ec2/billion_laughs.xml", NULL, ""},
    {"harmless DOCTYPE", "ec2/small_entity.xml", NULL, "DOCTYPE"},
    {"external entity", "ec2/external_entity.xml", NULL, "DOCTYPE"},
    {"table without id", NULL,
     "<DescribeRouteTablesResponse><routeTableSet><item><vpcId>vpc-1</vpcId></item></"
     "routeTableSet></DescribeRouteTablesResponse>",
     "routeTableId"},
    {"route without destination", NULL,
     "<DescribeRouteTablesResponse><routeTableSet><item><routeTableId>rtb-1</"
     "routeTableId><routeSet><item><gatewayId>local</gatewayId></item></routeSet></"
     "item></routeTableSet></DescribeRouteTablesResponse>",
     "without a destination"},
    {"oversize state", NULL,
     "<DescribeRouteTablesResponse><routeTableSet><item><routeTableId>rtb-1</"
     "routeTableId><routeSet><item><destinationCidrBlock>10.0.0.0/8</"
     "destinationCidrBlock><state>activeactiveactive</state></item></routeSet></item></"
     "routeTableSet></DescribeRouteTablesResponse>",
     "state: value longer than 15 bytes"},
    {"oversize id in later table", NULL,
     "<DescribeRouteTablesResponse><routeTableSet><item><routeTableId>rtb-1</"
     "routeTableId><routeSet><item><destinationCidrBlock>10.0.0.0/8</"
     "destinationCidrBlock></item></routeSet></item><item><routeTableId>rtb-"
     "0123456789012345678901234567890123456789012345678901234567890123456789</"
     "routeTableId></item></routeTableSet></DescribeRouteTablesResponse>",
     "item[2]"},
    {"undeclared entity", NULL,
     "<DescribeRouteTablesResponse><nextToken>&foo;</nextToken></"
     "DescribeRouteTablesResponse>",
     "malformed XML"},
    {"two roots", NULL, "<DescribeRouteTablesResponse/><DescribeRouteTablesResponse/>",
     "malformed XML"},
};

static void test_describe_bad(void **state)
{
	const struct bad_case *c = *state;
	struct ec2_table *t = NULL;
	size_t n = 0, len;
	char next[64] = "x", err[256] = "";
	char *body = c->file ? read_data(c->file, &len) : xstrdup(c->body);

	if (c->file == NULL)
		len = strlen(body);
	/* A page already held must survive a failed parse of the next one. */
	assert_int_equal(describe_file("ec2/describe_route_tables_page2.xml", &t, &n,
				       next, sizeof(next), err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	struct ec2_table *before = t;
	assert_int_equal(
	    ec2_xml_describe(body, len, &t, &n, next, sizeof(next), err, sizeof(err)),
	    -1);
	print_message("# %s: %s\n", c->name, err);
	assert_true(err[0] != '\0');
	assert_non_null(strstr(err, c->errsub));
	assert_int_equal(n, 1);
	assert_ptr_equal(t, before);
	assert_string_equal(t[0].id, "rtb-0c1d2e3f405162738");
	ec2_tables_free(t, n);
	free(body);
}

/* The billion-laughs document must be refused quickly, and no expansion may
 * ever reach a field: nothing is parsed at all. */
static void test_billion_laughs_fast(void **state)
{
	struct timespec a, b;
	struct ec2_table *t = NULL;
	size_t n = 0, len;
	char next[64], err[256];
	char *body = read_data("ec2/billion_laughs.xml", &len);

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 20; i++)
		assert_int_equal(ec2_xml_describe(body, len, &t, &n, next, sizeof(next),
						  err, sizeof(err)),
				 -1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	assert_true(s < 2.0);
	assert_int_equal(n, 0);
	assert_null(t);
	free(body);
}

static void test_oversize_body(void **state)
{
	size_t len = (size_t)EC2_BODY_MAX + 1;
	char *body = xmalloc(len + 1);
	static const char head[] = "<DescribeRouteTablesResponse><requestId>";
	static const char tail[] = "</requestId></DescribeRouteTablesResponse>";
	struct ec2_table *t = NULL;
	size_t n = 0;
	char next[64], err[256] = "";
	struct ec2_error e;

	/* Well-formed, padded with whitespace: refused by its size alone. */
	memset(body, ' ', len);
	memcpy(body, head, sizeof(head) - 1);
	memcpy(body + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	body[len] = '\0';
	assert_int_equal(
	    ec2_xml_describe(body, len, &t, &n, next, sizeof(next), err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "exceeds"));
	assert_int_equal(ec2_xml_ok(body, len, "ReplaceRoute", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exceeds"));
	assert_int_equal(ec2_xml_error(body, len, &e), -1);
	assert_string_equal(e.code, "");
	assert_non_null(strstr(e.message, "exceeds"));
	free(body);
}

/* Deeper than libxml2's default limit (no XML_PARSE_HUGE): refused. */
static void test_too_deep(void **state)
{
	struct buf b;
	struct ec2_table *t = NULL;
	size_t n = 0;
	char next[64], err[256] = "";

	buf_init(&b, 1 << 20);
	APPEND(&b, "<DescribeRouteTablesResponse>");
	for (int i = 0; i < 5000; i++)
		assert_int_equal(APPEND(&b, "<a>"), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(APPEND(&b, "</a>"), 0);
	APPEND(&b, "</DescribeRouteTablesResponse>");
	assert_int_equal(
	    ec2_xml_describe(b.data, b.len, &t, &n, next, sizeof(next), err, sizeof(err)),
	    -1);
	print_message("# deep: %s\n", err);
	assert_non_null(strstr(err, "malformed XML"));
	buf_free(&b);
}

static int ok_file(const char *rel, const char *action, char *err, size_t errsz)
{
	size_t len;
	char *body = read_data(rel, &len);
	int rc = ec2_xml_ok(body, len, action, err, errsz);
	free(body);
	return rc;
}

static void test_ok(void **state)
{
	char err[256] = "";

	assert_int_equal(
	    ok_file("ec2/replace_route.xml", "ReplaceRoute", err, sizeof(err)), 0);
	assert_int_equal(ok_file("ec2/create_route.xml", "CreateRoute", err, sizeof(err)),
			 0);
	/* <return> is not required. */
	assert_int_equal(
	    ok_file("ec2/replace_route_noreturn.xml", "ReplaceRoute", err, sizeof(err)),
	    0);
	/* The right shape for the wrong call is not a success. */
	assert_int_equal(
	    ok_file("ec2/create_route.xml", "ReplaceRoute", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CreateRouteResponse"));
}

static void test_ok_bad(void **state)
{
	static const struct {
		const char *body, *errsub;
	} cases[] = {
	    {"", "empty"},
	    {"Service Unavailable", "malformed XML"},
	    {"<ReplaceRouteResponse><return>true</return>", "malformed XML"},
	    {"<ReplaceRouteResponse><return>false</return></ReplaceRouteResponse>",
	     "false"},
	    {"<ReplaceRouteResponse><return>maybe</return></ReplaceRouteResponse>",
	     "neither true nor false"},
	    {"<ReplaceRouteResponse><return>truetruetruetruetrue</return></"
	     "ReplaceRouteResponse>",
	     "neither true nor false"},
	    {"<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able "
	     "to "
	     "validate the provided access credentials</Message></Error></"
	     "Errors><RequestID>x</RequestID></Response>",
	     "AuthFailure: AWS was not able"},
	};
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		assert_int_equal(ec2_xml_ok(cases[i].body, strlen(cases[i].body),
					    "ReplaceRoute", err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, cases[i].errsub));
	}
	assert_int_equal(
	    ok_file("ec2/replace_route_false.xml", "ReplaceRoute", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "false"));
	assert_int_equal(
	    ok_file("ec2/billion_laughs.xml", "DescribeRouteTables", err, sizeof(err)),
	    -1);
}

/* Each error body: parsed fields and the class the caller acts on. */
struct err_case {
	const char *file;
	int http;
	const char *code;
	const char *msgsub;
	const char *request_id;
	enum ec2_class cls;
};

static const struct err_case err_cases[] = {
    {"error_no_route", 400, "InvalidParameterValue", "There is no route defined for",
     "0c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_NO_ROUTE},
    {"error_invalid_parameter", 400, "InvalidParameterValue", "not a valid CIDR",
     "1c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_PERMANENT},
    {"error_route_exists", 400, "RouteAlreadyExists", "already exists",
     "2c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_ROUTE_EXISTS},
    {"error_request_limit", 503, "RequestLimitExceeded", "Request limit exceeded.",
     "3c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_RETRY},
    /* Throttling answers are retried whatever status they came with. */
    {"error_request_limit", 400, "RequestLimitExceeded", "Request limit",
     "3c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_RETRY},
    {"error_internal", 500, "InternalError", "internal error",
     "4c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_RETRY},
    {"error_unavailable", 503, "Unavailable", "overloaded",
     "5c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_RETRY},
    {"error_service_unavailable", 503, "ServiceUnavailable", "Service Unavailable",
     "5d7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_RETRY},
    {"error_internal_failure", 500, "InternalFailure", "unknown error",
     "5e7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_RETRY},
    {"error_response_throttling", 400, "Throttling", "Rate exceeded",
     "fc7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_RETRY},
    {"error_rtb_not_found", 400, "InvalidRouteTableID.NotFound", "does not exist",
     "6c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_PERMANENT},
    {"error_eni_not_found", 400, "InvalidNetworkInterfaceID.NotFound", "does not exist",
     "7c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_PERMANENT},
    {"error_unauthorized", 403, "UnauthorizedOperation", "not authorized",
     "8c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_PERMANENT},
    {"error_auth_failure", 401, "AuthFailure", "not able to validate",
     "9c7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_PERMANENT},
    {"error_request_expired", 400, "RequestExpired", "expired",
     "ac7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_CLOCK_SKEW},
    {"error_signature_expired", 403, "SignatureDoesNotMatch", "Signature expired",
     "bc7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_CLOCK_SKEW},
    {"error_signature_not_current", 403, "SignatureDoesNotMatch", "not yet current",
     "cc7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_CLOCK_SKEW},
    {"error_signature_mismatch", 403, "SignatureDoesNotMatch", "does not match",
     "dc7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_PERMANENT},
    {"error_dry_run", 412, "DryRunOperation", "DryRun flag is set",
     "ec7a2b1e-3f4d-4e5a-9b6c-7d8e9f0a1b2c", EC2_OK},
};

static void test_error_case(void **state)
{
	const struct err_case *c = *state;
	char rel[128];
	struct ec2_error e;
	size_t len;
	char *body;

	snprintf(rel, sizeof(rel), "ec2/%s.xml", c->file);
	body = read_data(rel, &len);
	memset(&e, 0x55, sizeof(e));
	e.http_status = c->http;
	assert_int_equal(ec2_xml_error(body, len, &e), 0);
	assert_int_equal(e.http_status, c->http); /* left alone */
	assert_string_equal(e.code, c->code);
	assert_non_null(strstr(e.message, c->msgsub));
	assert_string_equal(e.request_id, c->request_id);
	assert_int_equal(ec2_classify(e.http_status, e.code, e.message), c->cls);
	free(body);
}

static void test_error_unparseable(void **state)
{
	static const char *const files[] = {"ec2/not_xml.xml", "ec2/html_503.xml",
					    "ec2/truncated.xml", "ec2/replace_route.xml",
					    "ec2/billion_laughs.xml"};
	struct ec2_error e;
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *body = read_data(files[i], &len);
		assert_int_equal(ec2_xml_error(body, len, &e), -1);
		assert_string_equal(e.code, "");
		assert_string_equal(e.request_id, "");
		print_message("# %s: %s\n", files[i], e.message);
		assert_non_null(strstr(e.message, "unparseable error body"));
		/* Only printable characters reach a log line. */
		for (const char *p = e.message; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
		free(body);
	}
	assert_int_equal(ec2_xml_error("", 0, &e), -1);
	assert_non_null(strstr(e.message, "0 bytes"));
	assert_int_equal(ec2_xml_error(NULL, 0, &e), -1);

	/* A code too long to hold is not truncated into another code. */
	static const char longcode[] =
	    "<Response><Errors><Error><Code>"
	    "InvalidParameterValue.InvalidParameterValue.InvalidParameterValue"
	    "</Code><Message>m</Message></Error></Errors></Response>";
	assert_int_equal(ec2_xml_error(longcode, strlen(longcode), &e), -1);
	assert_string_equal(e.code, "");
	assert_non_null(strstr(e.message, "code longer"));

	/* A long message is cut (it is only reported), control bytes masked. */
	struct buf b;
	buf_init(&b, 1 << 16);
	APPEND(&b, "<Response><Errors><Error><Code>Unavailable</Code><Message>a\t");
	for (int i = 0; i < 2000; i++)
		APPEND(&b, "x");
	APPEND(&b, "</Message></Error></Errors><RequestId>r-1</RequestId></Response>");
	assert_int_equal(ec2_xml_error(b.data, b.len, &e), 0);
	assert_string_equal(e.code, "Unavailable");
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
	assert_memory_equal(e.message, "a?xxx", 5);
	assert_string_equal(e.message + sizeof(e.message) - 4, "...");
	assert_string_equal(e.request_id, "r-1");
	buf_free(&b);
}

static void test_classify(void **state)
{
	static const struct {
		int http;
		const char *code, *msg;
		enum ec2_class cls;
	} cases[] = {
	    {0, NULL, NULL, EC2_RETRY},
	    {0, "", "", EC2_RETRY},
	    {200, "", "", EC2_OK},
	    {200, NULL, NULL, EC2_OK},
	    {204, "", "", EC2_OK},
	    {500, "", "", EC2_RETRY},
	    {502, NULL, NULL, EC2_RETRY},
	    {503, "", "", EC2_RETRY},
	    {504, "", "", EC2_RETRY},
	    {400, "", "", EC2_PERMANENT},
	    {403, "", "", EC2_PERMANENT},
	    {404, NULL, NULL, EC2_PERMANENT},
	    {301, "", "", EC2_PERMANENT},
	    {503, "RequestLimitExceeded", "Request limit exceeded.", EC2_RETRY},
	    {400, "Throttling", "Rate exceeded", EC2_RETRY},
	    {500, "InternalError", "", EC2_RETRY},
	    {500, "InternalFailure", "", EC2_RETRY},
	    {503, "Unavailable", "", EC2_RETRY},
	    {503, "ServiceUnavailable", "", EC2_RETRY},
	    {500, "Server.InternalError", "", EC2_RETRY},
	    {400, "InvalidParameterValue",
	     "There is no route defined for '10.255.0.10/32' in the route table. Use "
	     "CreateRoute instead.",
	     EC2_NO_ROUTE},
	    {400, "InvalidParameterValue", "Value (x) for parameter cidr is invalid",
	     EC2_PERMANENT},
	    {400, "InvalidParameterValue", NULL, EC2_PERMANENT},
	    {400, "InvalidRoute.NotFound", "no route defined", EC2_PERMANENT},
	    {400, "RouteAlreadyExists", "The route identified by x already exists.",
	     EC2_ROUTE_EXISTS},
	    {400, "RequestExpired", "Request has expired.", EC2_CLOCK_SKEW},
	    {403, "SignatureDoesNotMatch", "Signature expired: 20260101T000000Z is now",
	     EC2_CLOCK_SKEW},
	    {403, "SignatureDoesNotMatch", "Signature not yet current: x",
	     EC2_CLOCK_SKEW},
	    {403, "SignatureDoesNotMatch", "The request signature we calculated does not",
	     EC2_PERMANENT},
	    {412, "DryRunOperation", "Request would have succeeded", EC2_OK},
	    {400, "InvalidRouteTableID.NotFound", "", EC2_PERMANENT},
	    {400, "InvalidNetworkInterfaceID.NotFound", "", EC2_PERMANENT},
	    {403, "UnauthorizedOperation", "", EC2_PERMANENT},
	    {401, "AuthFailure", "", EC2_PERMANENT},
	    {400, "SomethingNew", "", EC2_PERMANENT},
	    {503, "SomethingNew", "", EC2_RETRY},
	    {0, "AuthFailure", "", EC2_RETRY},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum ec2_class got =
		    ec2_classify(cases[i].http, cases[i].code, cases[i].msg);
		if (got != cases[i].cls)
			fail_msg("case %zu: http %d code %s: got %d want %d", i,
				 cases[i].http, cases[i].code ? cases[i].code : "(null)",
				 got, cases[i].cls);
	}
}

#define T(f)                                                                             \
	{                                                                                \
#f, f, NULL, NULL, NULL                                                  \
	}

/* ---- DescribeNetworkInterfaces ---- */

static int enis_file(const char *rel, struct ec2_eni **e, size_t *n, char *next,
		     size_t nextsz, char *err, size_t errsz)
{
	size_t len;
	char *body = read_data(rel, &len);
	int rc = ec2_xml_describe_enis(body, len, e, n, next, nextsz, err, errsz);
	free(body);
	return rc;
}

/* AWS's documented response shape: the item's own status and instanceId,
 * never the attachment's status or a nested item's fields. */
static void test_enis_full(void **state)
{
	struct ec2_eni *e = NULL;
	size_t n = 0;
	char next[64] = "stale", err[256] = "";

	assert_int_equal(enis_file("ec2/describe_network_interfaces.xml", &e, &n, next,
				   sizeof(next), err, sizeof(err)),
			 0);
	assert_string_equal(next, "");
	assert_int_equal(n, 2);
	assert_string_equal(e[0].id, "eni-0f782d2ba00b8e7d2");
	assert_string_equal(e[0].az, "ap-northeast-1a");
	assert_string_equal(e[0].subnet, "subnet-0c93466a0b1a2c3d4");
	assert_string_equal(e[0].vpc, "vpc-0cc3466a5e6f7a8b9");
	assert_string_equal(e[0].status, "in-use");
	assert_string_equal(e[0].instance, "i-0a0ea1d6e1ef4e9e4");
	assert_int_equal(e[0].source_dest_check, 0);
	/* Unattached, check on. */
	assert_string_equal(e[1].id, "eni-0b1cafe0b1cafe0b1");
	assert_string_equal(e[1].az, "ap-northeast-1c");
	assert_string_equal(e[1].status, "available");
	assert_string_equal(e[1].instance, "");
	assert_int_equal(e[1].source_dest_check, 1);
	free(e);
}

static void test_enis_paged_empty(void **state)
{
	struct ec2_eni *e = NULL;
	size_t n = 0;
	char next[64], err[256] = "";

	assert_int_equal(enis_file("ec2/describe_network_interfaces_page1.xml", &e, &n,
				   next, sizeof(next), err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(next, "eyJ2IjoiMiIsImMiOiJwYWdlMiJ9");
	assert_string_equal(e[0].instance, "i-0aaaaaaaaaaaaaaa1");
	assert_string_equal(e[0].status, "in-use");
	assert_int_equal(e[0].source_dest_check, 1);
	/* The next page appends (here: nothing) and clears the token. */
	assert_int_equal(enis_file("ec2/describe_network_interfaces_empty.xml", &e, &n,
				   next, sizeof(next), err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(next, "");
	/* A token that does not fit is an error, not a lost page. */
	assert_int_equal(enis_file("ec2/describe_network_interfaces_page1.xml", &e, &n,
				   next, 8, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "nextToken"));
	assert_int_equal(n, 1);
	free(e);
}

static const struct bad_case bad_enis[] = {
    {"wrong root", NULL,
     "<DescribeRouteTablesResponse><routeTableSet/></DescribeRouteTablesResponse>",
     "unexpected root element <DescribeRouteTablesResponse>"},
    {"error document", "ec2/error_eni_not_found.xml", NULL,
     "InvalidNetworkInterfaceID.NotFound"},
    {"sourceDestCheck not a boolean", NULL,
     "<DescribeNetworkInterfacesResponse><networkInterfaceSet><item>"
     "<networkInterfaceId>eni-1</networkInterfaceId><sourceDestCheck>yes"
     "</sourceDestCheck></item></networkInterfaceSet>"
     "</DescribeNetworkInterfacesResponse>",
     "networkInterfaceSet/item[1]/sourceDestCheck: 'yes' is neither true nor false"},
    {"item without an id", NULL,
     "<DescribeNetworkInterfacesResponse><networkInterfaceSet><item>"
     "<status>in-use</status></item></networkInterfaceSet>"
     "</DescribeNetworkInterfacesResponse>",
     "without a networkInterfaceId"},
    {"oversize availabilityZone", NULL,
     "<DescribeNetworkInterfacesResponse><networkInterfaceSet><item>"
     "<networkInterfaceId>eni-1</networkInterfaceId><availabilityZone>"
     "us-east-1a-us-east-1a-us-east-1a-us-east-1a</availabilityZone></item>"
     "</networkInterfaceSet></DescribeNetworkInterfacesResponse>",
     "availabilityZone: value longer than 31 bytes"},
    {"oversize attachment instanceId", NULL,
     "<DescribeNetworkInterfacesResponse><networkInterfaceSet><item>"
     "<networkInterfaceId>eni-1</networkInterfaceId><attachment><instanceId>"
     "i-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"
     "</instanceId></attachment></item></networkInterfaceSet>"
     "</DescribeNetworkInterfacesResponse>",
     "item[1]/attachment/instanceId: value longer than"},
    {"truncated", NULL,
     "<DescribeNetworkInterfacesResponse><networkInterfaceSet><item>"
     "<networkInterfaceId>eni-1</networkInterfaceId>",
     "malformed XML"},
    {"billion laughs", "ec2/billion_laughs.xml", NULL, "entity reference loop"},
};

/* A failed page leaves what earlier pages gave untouched. */
static void test_enis_bad(void **state)
{
	const struct bad_case *c = *state;
	struct ec2_eni *e = NULL;
	size_t n = 0, len;
	char next[64] = "x", err[256] = "";
	char *body = c->file ? read_data(c->file, &len) : xstrdup(c->body);

	if (c->file == NULL)
		len = strlen(body);
	assert_int_equal(enis_file("ec2/describe_network_interfaces_page1.xml", &e, &n,
				   next, sizeof(next), err, sizeof(err)),
			 0);
	struct ec2_eni *before = e;
	assert_int_equal(ec2_xml_describe_enis(body, len, &e, &n, next, sizeof(next), err,
					       sizeof(err)),
			 -1);
	print_message("# %s: %s\n", c->name, err);
	assert_non_null(strstr(err, c->errsub));
	assert_int_equal(n, 1);
	assert_ptr_equal(e, before);
	assert_string_equal(e[0].id, "eni-0aaaaaaaaaaaaaaa1");
	free(e);
	free(body);
}

/* STS AssumeRole: the answer of AWS's API reference (namespace, extra
 * elements, pretty-printed), parsed into credentials. */
#define ASSUME_OK(exp, token)                                                            \
	"<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"     \
	"  <AssumeRoleResult>\n"                                                         \
	"  <SourceIdentity>Alice</SourceIdentity>\n"                                     \
	"    <AssumedRoleUser>\n"                                                        \
	"      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>\n"          \
	"      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>\n"                 \
	"    </AssumedRoleUser>\n"                                                       \
	"    <Credentials>\n"                                                            \
	"      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"                        \
	"      "                                                                         \
	"<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n" \
	"      <SessionToken>" token "</SessionToken>\n"                                 \
	"      <Expiration>" exp "</Expiration>\n"                                       \
	"    </Credentials>\n"                                                           \
	"    <PackedPolicySize>6</PackedPolicySize>\n"                                   \
	"  </AssumeRoleResult>\n"                                                        \
	"  <ResponseMetadata>\n"                                                         \
	"    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"              \
	"  </ResponseMetadata>\n"                                                        \
	"</AssumeRoleResponse>\n"

static void test_assume_role(void **state)
{
	static const char ok[] =
	    ASSUME_OK("2019-11-09T13:34:41Z", "AQoDYXdzEPT//////////wEXAMPLE");
	static const char ms[] = ASSUME_OK("2019-11-09T13:34:41.000Z", "tok");
	struct aws_creds c;
	char arn[256], err[256];

	memset(&c, 0, sizeof(c));
	assert_int_equal(
	    ec2_xml_assume_role(ok, strlen(ok), &c, arn, sizeof(arn), err, sizeof(err)),
	    0);
	assert_string_equal(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	assert_string_equal(c.secret_access_key,
			    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	assert_string_equal(c.session_token, "AQoDYXdzEPT//////////wEXAMPLE");
	assert_int_equal(c.expiration, 1573306481);
	assert_string_equal(c.source, "assume-role");
	assert_string_equal(arn, "arn:aws:sts::123456789012:assumed-role/demo/TestAR");
	/* Milliseconds, as some SDK fixtures write them. */
	assert_int_equal(
	    ec2_xml_assume_role(ms, strlen(ms), &c, arn, sizeof(arn), err, sizeof(err)),
	    0);
	assert_int_equal(c.expiration, 1573306481);
}

/* Answers that are not credentials: refused, and the message never quotes
 * a secret. */
static void test_assume_role_bad(void **state)
{
	static const struct {
		const char *name, *body, *want;
	} cases[] = {
	    {"bad expiration", ASSUME_OK("tomorrow", "tok"),
	     "Credentials/Expiration \"tomorrow\""},
	    {"token with a space", ASSUME_OK("2019-11-09T13:34:41Z", "secret tok"),
	     "Credentials/SessionToken contains a space"},
	    {"empty token", ASSUME_OK("2019-11-09T13:34:41Z", ""),
	     "Credentials/SessionToken is empty"},
	    {"no credentials",
	     "<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>",
	     "no AssumeRoleResult/Credentials"},
	    {"missing secret",
	     "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</"
	     "AccessKeyId>"
	     "</Credentials></AssumeRoleResult></AssumeRoleResponse>",
	     "Credentials/SecretAccessKey is missing"},
	    {"another answer", "<GetCallerIdentityResponse/>", "AssumeRoleResponse"},
	    {"an error document",
	     "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></"
	     "Error>"
	     "</ErrorResponse>",
	     "AccessDenied"},
	    {"not XML", "Service Unavailable", "malformed XML"},
	};
	struct aws_creds c;
	char arn[256], err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		print_message("# %s\n", cases[i].name);
		memset(&c, 0, sizeof(c));
		assert_int_equal(ec2_xml_assume_role(cases[i].body, strlen(cases[i].body),
						     &c, arn, sizeof(arn), err,
						     sizeof(err)),
				 -1);
		assert_non_null(strstr(err, cases[i].want));
		assert_null(strstr(err, "secret tok"));
		assert_string_equal(c.access_key_id, ""); /* nothing half-filled */
	}
}

/* STS's ErrorResponse parses like EC2's error documents. */
static void test_sts_error(void **state)
{
	static const char body[] =
	    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
	    "  <Error>\n    <Type>Sender</Type>\n    <Code>AccessDenied</Code>\n"
	    "    <Message>User: arn:aws:iam::222222222222:user/x is not authorized to "
	    "perform: sts:AssumeRole on resource: "
	    "arn:aws:iam::111111111111:role/r</Message>\n"
	    "  </Error>\n  <RequestId>4f1b1c2e-0000-0000-0000-000000000000</RequestId>\n"
	    "</ErrorResponse>\n";
	struct ec2_error e;

	memset(&e, 0, sizeof(e));
	assert_int_equal(ec2_xml_error(body, strlen(body), &e), 0);
	assert_string_equal(e.code, "AccessDenied");
	assert_non_null(
	    strstr(e.message, "is not authorized to perform: sts:AssumeRole"));
	assert_string_equal(e.request_id, "4f1b1c2e-0000-0000-0000-000000000000");
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    T(test_assume_role),
	    T(test_assume_role_bad),
	    T(test_sts_error),
	    T(test_describe_full),
	    T(test_describe_targets),
	    T(test_describe_paged),
	    T(test_describe_empty),
	    T(test_describe_namespaces),
	    T(test_billion_laughs_fast),
	    T(test_oversize_body),
	    T(test_too_deep),
	    T(test_ok),
	    T(test_ok_bad),
	    T(test_error_unparseable),
	    T(test_classify),
	    T(test_enis_full),
	    T(test_enis_paged_empty),
	};
	size_t nfixed = ARRAY_SIZE(fixed), nbad = ARRAY_SIZE(bad_describe),
	       nerr = ARRAY_SIZE(err_cases), nbadeni = ARRAY_SIZE(bad_enis);
	size_t n = nfixed + nbad + nerr + nbadeni;
	struct CMUnitTest *tests = xcalloc(n, sizeof(*tests));
	char **names = xcalloc(n, sizeof(*names));
	size_t k = 0;

	/* One TAP line per data case, named after it. */
	for (size_t i = 0; i < nfixed; i++)
		tests[k++] = fixed[i];
	for (size_t i = 0; i < nbad; i++, k++) {
		names[k] = xasprintf("describe refuses %s", bad_describe[i].name);
		tests[k] = (struct CMUnitTest){names[k], test_describe_bad, NULL, NULL,
					       (void *)&bad_describe[i]};
	}
	for (size_t i = 0; i < nerr; i++, k++) {
		names[k] = xasprintf("error body %s (HTTP %d)", err_cases[i].file,
				     err_cases[i].http);
		tests[k] = (struct CMUnitTest){names[k], test_error_case, NULL, NULL,
					       (void *)&err_cases[i]};
	}
	for (size_t i = 0; i < nbadeni; i++, k++) {
		names[k] =
		    xasprintf("DescribeNetworkInterfaces refuses %s", bad_enis[i].name);
		tests[k] = (struct CMUnitTest){names[k], test_enis_bad, NULL, NULL,
					       (void *)&bad_enis[i]};
	}
	int rc = _cmocka_run_group_tests("ec2_xml", tests, n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	return rc;
}
