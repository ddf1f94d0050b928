/* ec2_xml.c — EC2 Query API response bodies, parsed with libxml2.
 *
 * Bodies come from the network and are parsed with entity substitution off
 * (no XML_PARSE_NOENT), no DTD loading, no network access and libxml2's
 * default size and depth limits (no XML_PARSE_HUGE). EC2 never sends a
 * DOCTYPE, so a document that carries one is refused outright: that closes
 * entity-expansion tricks even where libxml2 would not.
 *
 * Elements are matched by local name, so the default namespace
 * (http://ec2.amazonaws.com/doc/2016-11-15/) or its absence does not matter,
 * and only where they belong: <item> nests (associationSet, tagSet,
 * propagatingVgwSet), so routes are the items of a table's own routeSet. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr; the Makefile defines it too */
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lib/util.h"
#include "vpc/ec2_xml.h"

/* Sanity caps on top of EC2_BODY_MAX: AWS allows at most 1000 routes per
 * table, and we only ever ask for a handful of tables. */
#define TABLES_MAX 10000
#define ROUTES_MAX 10000
#define ENIS_MAX   10000
#define TEXT_MAX   4096 /* longest element text we ever look at */

/* Server text ends up in log lines: no control characters in there. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST name);
}

/* First child element called name, or NULL. */
static xmlNode *child(const xmlNode *parent, const char *name)
{
	for (xmlNode *n = parent->children; n; n = n->next)
		if (is_elem(n, name))
			return n;
	return NULL;
}

/* The element's own text (text and CDATA children, whitespace-trimmed) into
 * dst. Entity references are never followed. -1 if it does not fit. */
static int node_text(const xmlNode *el, char *dst, size_t dstsz)
{
	size_t len = 0;

	if (dstsz == 0)
		return -1;
	dst[0] = '\0';
	for (const xmlNode *n = el->children; n; n = n->next) {
		if (n->type != XML_TEXT_NODE && n->type != XML_CDATA_SECTION_NODE)
			continue;
		if (n->content == NULL)
			continue;
		size_t add = strlen((const char *)n->content);
		if (add >= dstsz - len)
			return -1;
		memcpy(dst + len, n->content, add);
		len += add;
		dst[len] = '\0';
	}
	/* Trim: pretty-printed bodies put newlines around values. */
	size_t start = strspn(dst, " \t\r\n");
	while (len > start && strchr(" \t\r\n", dst[len - 1]))
		len--;
	memmove(dst, dst + start, len - start);
	dst[len - start] = '\0';
	return 0;
}

/* node_text with an error naming where the value was and how long it was. */
static int field(const xmlNode *el, char *dst, size_t dstsz, const char *where,
		 char *errbuf, size_t errsz)
{
	if (node_text(el, dst, dstsz) == 0)
		return 0;
	errf(errbuf, errsz, "%s/%s: value longer than %zu bytes", where, el->name,
	     dstsz - 1);
	return -1;
}

/* Parse a body into a tree, or NULL with errbuf set. */
static xmlDoc *parse(const char *body, size_t len, char *errbuf, size_t errsz)
{
	xmlParserCtxt *ctxt = NULL;
	xmlDoc *doc = NULL;

	if (body == NULL || len == 0) {
		errf(errbuf, errsz, "empty response body");
		goto out;
	}
	if (len > EC2_BODY_MAX) {
		errf(errbuf, errsz,
		     "response body of %zu bytes exceeds the %d byte limit", len,
		     EC2_BODY_MAX);
		goto out;
	}
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		errf(errbuf, errsz, "out of memory creating an XML parser");
		goto out;
	}
	/* No NOENT (entities stay references), no DTDLOAD, no HUGE. */
	doc =
	    xmlCtxtReadMemory(ctxt, body, (int)len, "ec2-response.xml", NULL,
			      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || !ctxt->wellFormed) {
		const xmlError *e = &ctxt->lastError;
		char msg[256];

		strlcpy_chk(msg, e->message ? e->message : "not well-formed",
			    sizeof(msg));
		msg[strcspn(msg, "\n")] = '\0';
		sanitize(msg);
		errf(errbuf, errsz, "malformed XML at line %d: %s", e->line, msg);
		xmlFreeDoc(doc);
		doc = NULL;
		goto out;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		errf(errbuf, errsz, "XML with a DOCTYPE declaration is refused");
		xmlFreeDoc(doc);
		doc = NULL;
		goto out;
	}
	if (xmlDocGetRootElement(doc) == NULL) {
		errf(errbuf, errsz, "XML without a root element");
		xmlFreeDoc(doc);
		doc = NULL;
	}
out:
	xmlFreeParserCtxt(ctxt);
	return doc;
}

static int is_error_root(const xmlNode *root)
{
	return is_elem(root, "Response") || is_elem(root, "ErrorResponse");
}

/* The first <Error> of an error document: Response/Errors/Error or
 * ErrorResponse/Error. */
static xmlNode *find_error(const xmlNode *root)
{
	xmlNode *errs, *e;

	if ((errs = child(root, "Errors")) != NULL && (e = child(errs, "Error")) != NULL)
		return e;
	return child(root, "Error");
}

/* Describe an error document found where a success body was expected. */
static void error_root(const xmlNode *root, char *errbuf, size_t errsz)
{
	char code[64] = "", msg[256] = "";
	xmlNode *e, *n;

	if ((e = find_error(root)) != NULL) {
		if ((n = child(e, "Code")) != NULL)
			node_text(n, code, sizeof(code));
		if ((n = child(e, "Message")) != NULL)
			node_text(n, msg, sizeof(msg));
	}
	sanitize(code);
	sanitize(msg);
	errf(errbuf, errsz, "error response: %s: %s", code[0] ? code : "(no code)",
	     msg[0] ? msg : "(no message)");
}

static int wrong_root(const xmlNode *root, const char *want, char *errbuf, size_t errsz)
{
	char name[64];

	if (is_error_root(root)) {
		error_root(root, errbuf, errsz);
		return -1;
	}
	strlcpy_chk(name, (const char *)root->name, sizeof(name));
	sanitize(name);
	errf(errbuf, errsz, "unexpected root element <%s>, wanted <%s>", name, want);
	return -1;
}

/* A gateway-like target: ARNs (coreNetworkArn) are longer than an id, keep
 * their resource id, the part after the last '/' or ':'. */
static int gateway_field(const xmlNode *el, char *dst, size_t dstsz, const char *where,
			 char *errbuf, size_t errsz)
{
	char v[TEXT_MAX];
	const char *id = v;

	if (field(el, v, sizeof(v), where, errbuf, errsz) == -1)
		return -1;
	if (strncmp(v, "arn:", 4) == 0) {
		const char *p = strrchr(v, '/');
		if (p == NULL)
			p = strrchr(v, ':');
		id = p + 1;
	}
	if (strlcpy_chk(dst, id, dstsz) == -1) {
		errf(errbuf, errsz, "%s/%s: value longer than %zu bytes", where, el->name,
		     dstsz - 1);
		return -1;
	}
	return 0;
}

static const char *const gateway_names[] = {
    "gatewayId",
    "natGatewayId",
    "transitGatewayId",
    "vpcPeeringConnectionId",
    "egressOnlyInternetGatewayId",
    "carrierGatewayId",
    "localGatewayId",
    "coreNetworkArn",
};

static int is_gateway(const xmlNode *n)
{
	for (size_t i = 0; i < ARRAY_SIZE(gateway_names); i++)
		if (is_elem(n, gateway_names[i]))
			return 1;
	return 0;
}

static int parse_route(const xmlNode *item, struct ec2_route *r, const char *where,
		       char *errbuf, size_t errsz)
{
	int rc = 0;

	memset(r, 0, sizeof(*r));
	for (const xmlNode *n = item->children; n && rc == 0; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		/* A prefix-list route (VPC endpoints) has no CIDR: its list id is
		 * its destination, and it never equals an overlay /32. */
		if (is_elem(n, "destinationCidrBlock") ||
		    is_elem(n, "destinationIpv6CidrBlock") ||
		    is_elem(n, "destinationPrefixListId"))
			rc = field(n, r->dest, sizeof(r->dest), where, errbuf, errsz);
		else if (is_elem(n, "networkInterfaceId"))
			rc = field(n, r->eni, sizeof(r->eni), where, errbuf, errsz);
		else if (is_elem(n, "instanceId"))
			rc = field(n, r->instance, sizeof(r->instance), where, errbuf,
				   errsz);
		else if (is_gateway(n))
			rc = gateway_field(n, r->gateway, sizeof(r->gateway), where,
					   errbuf, errsz);
		else if (is_elem(n, "state"))
			rc = field(n, r->state, sizeof(r->state), where, errbuf, errsz);
		else if (is_elem(n, "origin"))
			rc = field(n, r->origin, sizeof(r->origin), where, errbuf, errsz);
	}
	if (rc == 0 && r->dest[0] == '\0') {
		errf(errbuf, errsz, "%s: route without a destination", where);
		rc = -1;
	}
	return rc;
}

static int parse_routes(const xmlNode *set, struct ec2_table *t, const char *where,
			char *errbuf, size_t errsz)
{
	char at[128];

	for (const xmlNode *n = set->children; n; n = n->next) {
		if (!is_elem(n, "item"))
			continue;
		if (t->nroutes >= ROUTES_MAX) {
			errf(errbuf, errsz, "%s: more than %d routes", where, ROUTES_MAX);
			return -1;
		}
		snprintf(at, sizeof(at), "%s/routeSet/item[%zu]", where, t->nroutes + 1);
		t->routes = xgrow(t->routes, t->nroutes, sizeof(*t->routes));
		if (parse_route(n, &t->routes[t->nroutes], at, errbuf, errsz) == -1)
			return -1;
		t->nroutes++;
	}
	return 0;
}

/* One routeTableSet item into *t (zeroed first; t->routes owned by t even on
 * failure). */
static int parse_table(const xmlNode *item, struct ec2_table *t, const char *where,
		       char *errbuf, size_t errsz)
{
	int rc = 0;

	memset(t, 0, sizeof(*t));
	for (const xmlNode *n = item->children; n && rc == 0; n = n->next) {
		if (is_elem(n, "routeTableId"))
			rc = field(n, t->id, sizeof(t->id), where, errbuf, errsz);
		else if (is_elem(n, "vpcId"))
			rc = field(n, t->vpc, sizeof(t->vpc), where, errbuf, errsz);
		else if (is_elem(n, "routeSet"))
			rc = parse_routes(n, t, where, errbuf, errsz);
	}
	if (rc == 0 && t->id[0] == '\0') {
		errf(errbuf, errsz, "%s: route table without a routeTableId", where);
		rc = -1;
	}
	return rc;
}

/* Hand a page's nextToken to the caller. Losing a page silently would hide
 * routes or interfaces: a token must fit. */
static int take_token(const char *token, char *next, size_t nextsz, char *errbuf,
		      size_t errsz)
{
	if (token[0] == '\0')
		return 0;
	if (next == NULL || strlcpy_chk(next, token, nextsz) == -1) {
		errf(errbuf, errsz, "nextToken longer than %zu bytes",
		     nextsz ? nextsz - 1 : 0);
		if (next && nextsz)
			next[0] = '\0';
		return -1;
	}
	return 0;
}

int ec2_xml_describe(const char *body, size_t len, struct ec2_table **tables,
		     size_t *ntables, char *next, size_t nextsz, char *errbuf,
		     size_t errsz)
{
	struct ec2_table *got = NULL;
	size_t ngot = 0;
	char token[TEXT_MAX] = "";
	char where[64];
	xmlDoc *doc;
	xmlNode *root;
	int rc = -1;

	if (next && nextsz)
		next[0] = '\0';
	if ((doc = parse(body, len, errbuf, errsz)) == NULL)
		goto out;
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "DescribeRouteTablesResponse")) {
		wrong_root(root, "DescribeRouteTablesResponse", errbuf, errsz);
		goto out;
	}
	for (xmlNode *n = root->children; n; n = n->next) {
		if (is_elem(n, "nextToken")) {
			if (field(n, token, sizeof(token), "DescribeRouteTablesResponse",
				  errbuf, errsz) == -1)
				goto out;
			continue;
		}
		if (!is_elem(n, "routeTableSet"))
			continue;
		for (xmlNode *it = n->children; it; it = it->next) {
			if (!is_elem(it, "item"))
				continue;
			if (ngot >= TABLES_MAX) {
				errf(errbuf, errsz, "more than %d route tables",
				     TABLES_MAX);
				goto out;
			}
			snprintf(where, sizeof(where), "routeTableSet/item[%zu]",
				 ngot + 1);
			got = xgrow(got, ngot, sizeof(*got));
			/* Counted before parsing so a failed table's routes are freed. */
			if (parse_table(it, &got[ngot++], where, errbuf, errsz) == -1)
				goto out;
		}
	}
	if (take_token(token, next, nextsz, errbuf, errsz) == -1)
		goto out;
	if (ngot > 0) {
		*tables = xreallocarray(*tables, *ntables + ngot, sizeof(**tables));
		memcpy(*tables + *ntables, got, ngot * sizeof(*got));
		*ntables += ngot;
		free(got);
		got = NULL; /* the routes now belong to *tables */
		ngot = 0;
	}
	rc = 0;
out:
	ec2_tables_free(got, ngot);
	xmlFreeDoc(doc);
	return rc;
}

/* "true" / "false" of a boolean element into *out (1 / 0). */
static int bool_field(const xmlNode *el, int *out, const char *where, char *errbuf,
		      size_t errsz)
{
	char v[16];

	if (field(el, v, sizeof(v), where, errbuf, errsz) == -1)
		return -1;
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		*out = v[0] == 't';
		return 0;
	}
	sanitize(v);
	errf(errbuf, errsz, "%s/%s: '%s' is neither true nor false", where, el->name, v);
	return -1;
}

/* One networkInterfaceSet item. Only the item's own children count: status
 * and instanceId also appear inside attachment, groupSet and friends. */
static int parse_eni(const xmlNode *item, struct ec2_eni *e, const char *where,
		     char *errbuf, size_t errsz)
{
	char at[128];
	int rc = 0;

	memset(e, 0, sizeof(*e));
	e->source_dest_check = -1;
	for (const xmlNode *n = item->children; n && rc == 0; n = n->next) {
		if (is_elem(n, "networkInterfaceId"))
			rc = field(n, e->id, sizeof(e->id), where, errbuf, errsz);
		else if (is_elem(n, "availabilityZone"))
			rc = field(n, e->az, sizeof(e->az), where, errbuf, errsz);
		else if (is_elem(n, "subnetId"))
			rc = field(n, e->subnet, sizeof(e->subnet), where, errbuf, errsz);
		else if (is_elem(n, "vpcId"))
			rc = field(n, e->vpc, sizeof(e->vpc), where, errbuf, errsz);
		else if (is_elem(n, "status"))
			rc = field(n, e->status, sizeof(e->status), where, errbuf, errsz);
		else if (is_elem(n, "sourceDestCheck"))
			rc = bool_field(n, &e->source_dest_check, where, errbuf, errsz);
		else if (is_elem(n, "attachment")) {
			const xmlNode *iid = child(n, "instanceId");
			snprintf(at, sizeof(at), "%s/attachment", where);
			if (iid)
				rc = field(iid, e->instance, sizeof(e->instance), at,
					   errbuf, errsz);
		}
	}
	if (rc == 0 && e->id[0] == '\0') {
		errf(errbuf, errsz, "%s: network interface without a networkInterfaceId",
		     where);
		rc = -1;
	}
	return rc;
}

int ec2_xml_describe_enis(const char *body, size_t len, struct ec2_eni **enis,
			  size_t *nenis, char *next, size_t nextsz, char *errbuf,
			  size_t errsz)
{
	struct ec2_eni *got = NULL;
	size_t ngot = 0;
	char token[TEXT_MAX] = "";
	char where[64];
	xmlDoc *doc;
	xmlNode *root;
	int rc = -1;

	if (next && nextsz)
		next[0] = '\0';
	if ((doc = parse(body, len, errbuf, errsz)) == NULL)
		goto out;
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "DescribeNetworkInterfacesResponse")) {
		wrong_root(root, "DescribeNetworkInterfacesResponse", errbuf, errsz);
		goto out;
	}
	for (xmlNode *n = root->children; n; n = n->next) {
		if (is_elem(n, "nextToken")) {
			if (field(n, token, sizeof(token),
				  "DescribeNetworkInterfacesResponse", errbuf,
				  errsz) == -1)
				goto out;
			continue;
		}
		if (!is_elem(n, "networkInterfaceSet"))
			continue;
		for (xmlNode *it = n->children; it; it = it->next) {
			if (!is_elem(it, "item"))
				continue;
			if (ngot >= ENIS_MAX) {
				errf(errbuf, errsz, "more than %d network interfaces",
				     ENIS_MAX);
				goto out;
			}
			snprintf(where, sizeof(where), "networkInterfaceSet/item[%zu]",
				 ngot + 1);
			got = xgrow(got, ngot, sizeof(*got));
			if (parse_eni(it, &got[ngot], where, errbuf, errsz) == -1)
				goto out;
			ngot++;
		}
	}
	if (take_token(token, next, nextsz, errbuf, errsz) == -1)
		goto out;
	if (ngot > 0) {
		*enis = xreallocarray(*enis, *nenis + ngot, sizeof(**enis));
		memcpy(*enis + *nenis, got, ngot * sizeof(*got));
		*nenis += ngot;
	}
	rc = 0;
out:
	free(got);
	xmlFreeDoc(doc);
	return rc;
}

int ec2_xml_ok(const char *body, size_t len, const char *action, char *errbuf,
	       size_t errsz)
{
	char want[128], ret[16];
	xmlDoc *doc;
	xmlNode *root, *n;
	int rc = -1;

	if ((doc = parse(body, len, errbuf, errsz)) == NULL)
		goto out;
	root = xmlDocGetRootElement(doc);
	if ((size_t)snprintf(want, sizeof(want), "%sResponse", action) >= sizeof(want)) {
		errf(errbuf, errsz, "action name too long");
		goto out;
	}
	if (!is_elem(root, want)) {
		wrong_root(root, want, errbuf, errsz);
		goto out;
	}
	if ((n = child(root, "return")) != NULL) {
		if (node_text(n, ret, sizeof(ret)) == -1 ||
		    (strcmp(ret, "true") != 0 && strcmp(ret, "false") != 0)) {
			errf(errbuf, errsz, "%s: <return> is neither true nor false",
			     want);
			goto out;
		}
		if (strcmp(ret, "false") == 0) {
			errf(errbuf, errsz, "%s: <return>false</return>", want);
			goto out;
		}
	}
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

/* A field of an error body: truncated rather than refused (it is only
 * reported), but a code must be whole or classification would be wrong. */
static void error_text(const xmlNode *parent, const char *name, char *dst, size_t dstsz)
{
	char v[TEXT_MAX];
	xmlNode *n;

	dst[0] = '\0';
	if ((n = child(parent, name)) == NULL || node_text(n, v, sizeof(v)) == -1)
		return;
	if (strlcpy_chk(dst, v, dstsz) == -1 && dstsz > 4)
		memcpy(dst + dstsz - 4, "...", 4);
	sanitize(dst);
}

/* Describe an unparseable body: its size and a printable prefix. */
static void describe_body(const char *body, size_t len, const char *why, char *dst,
			  size_t dstsz)
{
	char head[61];
	size_t i, n = len < sizeof(head) - 1 ? len : sizeof(head) - 1;

	for (i = 0; i < n && body; i++)
		head[i] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : '.';
	head[i] = '\0';
	snprintf(dst, dstsz, "unparseable error body (%zu bytes: %s): \"%s\"", len, why,
		 head);
}

/* One child of Credentials, checked as any credential; what names it. */
static int sts_cred(const xmlNode *parent, const char *name, char *dst, size_t dstsz,
		    char *errbuf, size_t errsz)
{
	char what[64];
	xmlNode *n = child(parent, name);
	char *v;
	int rc;

	snprintf(what, sizeof(what), "AssumeRoleResponse: Credentials/%s", name);
	if (n == NULL) {
		errf(errbuf, errsz, "%s is missing", what);
		return -1;
	}
	v = xmalloc(TEXT_MAX);
	if (node_text(n, v, TEXT_MAX) == -1) {
		errf(errbuf, errsz, "%s is longer than %d bytes", what, TEXT_MAX - 1);
		rc = -1;
	} else {
		rc = creds_field(dst, dstsz, v, strlen(v), what, errbuf, errsz);
	}
	explicit_bzero(v, TEXT_MAX);
	free(v);
	return rc;
}

int ec2_xml_assume_role(const char *body, size_t len, struct aws_creds *c, char *arn,
			size_t arnsz, char *errbuf, size_t errsz)
{
	struct aws_creds t;
	char exp[64];
	xmlDoc *doc;
	xmlNode *root, *res, *cr, *n, *user;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	arn[0] = '\0';
	if ((doc = parse(body, len, errbuf, errsz)) == NULL)
		goto out;
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "AssumeRoleResponse")) {
		wrong_root(root, "AssumeRoleResponse", errbuf, errsz);
		goto out;
	}
	if ((res = child(root, "AssumeRoleResult")) == NULL ||
	    (cr = child(res, "Credentials")) == NULL) {
		errf(errbuf, errsz,
		     "AssumeRoleResponse: no AssumeRoleResult/Credentials");
		goto out;
	}
	if (sts_cred(cr, "AccessKeyId", t.access_key_id, sizeof(t.access_key_id), errbuf,
		     errsz) == -1 ||
	    sts_cred(cr, "SecretAccessKey", t.secret_access_key,
		     sizeof(t.secret_access_key), errbuf, errsz) == -1 ||
	    sts_cred(cr, "SessionToken", t.session_token, sizeof(t.session_token), errbuf,
		     errsz) == -1)
		goto out;
	if ((n = child(cr, "Expiration")) == NULL ||
	    node_text(n, exp, sizeof(exp)) == -1) {
		errf(errbuf, errsz, "AssumeRoleResponse: Credentials/Expiration is %s",
		     n ? "too long" : "missing");
		goto out;
	}
	/* STS writes 2026-11-25T16:00:00Z; some SDK fixtures carry .000Z. */
	size_t el = strlen(exp);
	if (el == 24 && exp[19] == '.' && exp[23] == 'Z') {
		exp[19] = 'Z';
		exp[20] = '\0';
	}
	if ((t.expiration = creds_parse_time(exp)) == -1) {
		sanitize(exp);
		errf(errbuf, errsz,
		     "AssumeRoleResponse: Credentials/Expiration \"%s\" is not "
		     "YYYY-MM-DDTHH:MM:SSZ",
		     exp);
		goto out;
	}
	if ((user = child(res, "AssumedRoleUser")) != NULL)
		error_text(user, "Arn", arn, arnsz);
	snprintf(t.source, sizeof(t.source), "assume-role");
	*c = t;
	rc = 0;
out:
	explicit_bzero(&t, sizeof(t));
	xmlFreeDoc(doc);
	return rc;
}

int ec2_xml_error(const char *body, size_t len, struct ec2_error *err)
{
	char why[256] = "";
	xmlDoc *doc;
	xmlNode *root, *e, *n;
	int rc = -1;

	err->code[0] = err->message[0] = err->request_id[0] = '\0';
	if ((doc = parse(body, len, why, sizeof(why))) == NULL)
		goto fail;
	root = xmlDocGetRootElement(doc);
	if (!is_error_root(root) || (e = find_error(root)) == NULL) {
		snprintf(why, sizeof(why), "no Response/Errors/Error element");
		goto fail;
	}
	/* The code decides what happens next: never a truncated one. */
	if ((n = child(e, "Code")) != NULL &&
	    node_text(n, err->code, sizeof(err->code)) == -1) {
		err->code[0] = '\0';
		snprintf(why, sizeof(why), "error code longer than %zu bytes",
			 sizeof(err->code) - 1);
		goto fail;
	}
	sanitize(err->code);
	error_text(e, "Message", err->message, sizeof(err->message));
	for (n = root->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcasecmp((const char *)n->name, "RequestID") == 0)
			break;
	if (n != NULL)
		error_text(root, (const char *)n->name, err->request_id,
			   sizeof(err->request_id));
	rc = 0;
	goto out;
fail:
	describe_body(body, len, why, err->message, sizeof(err->message));
out:
	xmlFreeDoc(doc);
	return rc;
}

/* Old API versions prefixed codes with "Client." or "Server.". */
static const char *bare_code(const char *code)
{
	if (strncmp(code, "Client.", 7) == 0)
		return code + 7;
	if (strncmp(code, "Server.", 7) == 0)
		return code + 7;
	return code;
}

static const char *const retry_codes[] = {
    "RequestLimitExceeded", "Throttling",  "InternalError",
    "InternalFailure",	    "Unavailable", "ServiceUnavailable",
};

enum ec2_class ec2_classify(int http_status, const char *code, const char *message)
{
	const char *c = bare_code(code ? code : "");
	const char *m = message ? message : "";

	if (http_status == 0)
		return EC2_RETRY;
	if (c[0] == '\0') {
		if (http_status >= 200 && http_status < 300)
			return EC2_OK;
		return http_status >= 500 ? EC2_RETRY : EC2_PERMANENT;
	}
	if (strcmp(c, "DryRunOperation") == 0)
		return EC2_OK;
	for (size_t i = 0; i < ARRAY_SIZE(retry_codes); i++)
		if (strcmp(c, retry_codes[i]) == 0)
			return EC2_RETRY;
	if (strcmp(c, "InvalidParameterValue") == 0 && strcasestr(m, "no route defined"))
		return EC2_NO_ROUTE;
	if (strcmp(c, "RouteAlreadyExists") == 0)
		return EC2_ROUTE_EXISTS;
	if (strcmp(c, "RequestExpired") == 0)
		return EC2_CLOCK_SKEW;
	if (strcmp(c, "SignatureDoesNotMatch") == 0 &&
	    (strcasestr(m, "Signature expired") || strcasestr(m, "not yet current")))
		return EC2_CLOCK_SKEW;
	if (http_status >= 500)
		return EC2_RETRY;
	return EC2_PERMANENT;
}

void ec2_tables_free(struct ec2_table *t, size_t n)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(t[i].routes);
	free(t);
}
