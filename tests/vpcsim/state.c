/* state.c — the simulated VPC's state file (jansson) and the route tables.
 * Loading is strict: unknown keys, wrong types, duplicate ids and bad CIDRs
 * are errors naming the file and the JSON path, so a typo in a test fixture
 * fails loudly instead of silently simulating something else. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tests/vpcsim/sim.h"

#define STATE_FILE_MAX (16 * 1024 * 1024)

struct loader {
	const char *file;
	char *err;
	size_t errsz;
};

static int lerr(struct loader *l, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int lerr(struct loader *l, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errsz, "%s: %s: %s", l->file, path, msg);
	return -1;
}

int sim_cidr_canon(const char *in, char *out, size_t outsz, int *family)
{
	char addr[SIM_CIDR_MAX];
	unsigned char bin[16];
	const char *slash = strchr(in, '/');
	char *end;
	int af, max;
	long plen;

	if (slash == NULL || (size_t)(slash - in) >= sizeof(addr) || slash == in)
		return -1;
	memcpy(addr, in, slash - in);
	addr[slash - in] = '\0';
	af = strchr(addr, ':') ? AF_INET6 : AF_INET;
	max = af == AF_INET ? 32 : 128;
	if (inet_pton(af, addr, bin) != 1)
		return -1;
	if (!isdigit((unsigned char)slash[1]))
		return -1;
	errno = 0;
	plen = strtol(slash + 1, &end, 10);
	if (errno || *end != '\0' || plen < 0 || plen > max)
		return -1;
	/* EC2 refuses CIDRs with host bits set ("not a valid CIDR block"). */
	for (int bit = (int)plen; bit < max; bit++)
		if (bin[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	if (inet_ntop(af, bin, addr, sizeof(addr)) == NULL)
		return -1;
	if ((size_t)snprintf(out, outsz, "%s/%ld", addr, plen) >= outsz)
		return -1;
	if (family)
		*family = af;
	return 0;
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int check_keys(struct loader *l, json_t *obj, const char *path,
		      const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		int found = 0;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				found = 1;
		if (!found)
			return lerr(l, path, "unknown key \"%s\"", key);
	}
	return 0;
}

static int get_obj(struct loader *l, json_t *parent, const char *key, const char *path,
		   json_t **out)
{
	json_t *v = json_object_get(parent, key);

	if (v == NULL)
		return lerr(l, path, "missing key \"%s\"", key);
	if (!json_is_object(v))
		return lerr(l, path, "\"%s\" must be an object", key);
	*out = v;
	return 0;
}

/* Copy a string member into out (required unless opt); "" when absent. */
static int get_str(struct loader *l, json_t *parent, const char *key, const char *path,
		   char *out, size_t outsz, int opt)
{
	json_t *v = json_object_get(parent, key);

	out[0] = '\0';
	if (v == NULL)
		return opt ? 0 : lerr(l, path, "missing key \"%s\"", key);
	if (!json_is_string(v))
		return lerr(l, path, "\"%s\" must be a string", key);
	if (json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return lerr(l, path, "\"%s\" must be a non-empty string", key);
	if (strlcpy_chk(out, json_string_value(v), outsz) == -1)
		return lerr(l, path, "\"%s\" is longer than %zu bytes", key, outsz - 1);
	return 0;
}

static int get_array(struct loader *l, json_t *parent, const char *key, const char *path,
		     size_t max, json_t **out, int opt)
{
	json_t *v = json_object_get(parent, key);

	*out = NULL;
	if (v == NULL)
		return opt ? 0 : lerr(l, path, "missing key \"%s\"", key);
	if (!json_is_array(v))
		return lerr(l, path, "\"%s\" must be an array", key);
	if (json_array_size(v) > max)
		return lerr(l, path, "\"%s\" has more than %zu entries", key, max);
	*out = v;
	return 0;
}

/* An account id is 12 digits. */
static int valid_account(const char *a)
{
	return strlen(a) == 12 && strspn(a, "0123456789") == 12;
}

/* An optional account member: out is dflt when absent. */
static int get_account(struct loader *l, json_t *o, const char *key, const char *path,
		       char *out, const char *dflt)
{
	if (get_str(l, o, key, path, out, SIM_ACCT_MAX, 1) == -1)
		return -1;
	if (out[0] == '\0')
		strlcpy_chk(out, dflt, SIM_ACCT_MAX);
	if (!valid_account(out))
		return lerr(l, path, "%s \"%s\" is not a 12-digit account id", key, out);
	return 0;
}

/* A list of non-empty strings, copied. */
static int get_strings(struct loader *l, json_t *o, const char *key, const char *path,
		       size_t max, char ***out, size_t *n)
{
	json_t *arr, *d;
	size_t j;

	*out = NULL;
	*n = 0;
	if (get_array(l, o, key, path, max, &arr, 1) == -1)
		return -1;
	if (arr == NULL)
		return 0;
	*out = xcalloc(json_array_size(arr) + 1, sizeof(**out));
	json_array_foreach(arr, j, d)
	{
		if (!json_is_string(d) || json_string_length(d) == 0)
			return lerr(l, path, "%s[%zu] must be a non-empty string", key,
				    j);
		(*out)[j] = xstrdup(json_string_value(d));
		*n = j + 1;
	}
	return 0;
}

static int load_vpc(struct loader *l, json_t *root, struct sim_state *st)
{
	static const char *const keys[] = {"id", "cidr", "owner", NULL};
	json_t *vpc = NULL;
	int fam;

	if (get_obj(l, root, "vpc", "$", &vpc) == -1 ||
	    check_keys(l, vpc, "$.vpc", keys) == -1)
		return -1;
	if (get_str(l, vpc, "id", "$.vpc", st->vpc_id, sizeof(st->vpc_id), 0) == -1 ||
	    get_str(l, vpc, "cidr", "$.vpc", st->vpc_cidr, sizeof(st->vpc_cidr), 0) ==
		-1 ||
	    get_str(l, vpc, "owner", "$.vpc", st->owner, sizeof(st->owner), 0) == -1)
		return -1;
	if (sim_cidr_canon(st->vpc_cidr, st->vpc_cidr, sizeof(st->vpc_cidr), &fam) ==
		-1 ||
	    fam != AF_INET)
		return lerr(l, "$.vpc.cidr", "\"%s\" is not an IPv4 CIDR block",
			    st->vpc_cidr);
	if (!valid_account(st->owner))
		return lerr(l, "$.vpc.owner", "\"%s\" is not a 12-digit account id",
			    st->owner);
	return 0;
}

static int load_creds(struct loader *l, json_t *root, struct sim_state *st)
{
	static const char *const keys[] = {"access_key_id", "secret_access_key", "deny",
					   "account", NULL};
	json_t *arr, *c;
	size_t i;
	char path[96];

	if (get_array(l, root, "credentials", "$", SIM_CREDS_MAX, &arr, 0) == -1)
		return -1;
	st->creds = xcalloc(json_array_size(arr), sizeof(*st->creds));
	json_array_foreach(arr, i, c)
	{
		struct sim_cred *cr = &st->creds[i];
		json_t *deny, *d;
		size_t j;

		st->ncreds = i + 1;
		snprintf(path, sizeof(path), "$.credentials[%zu]", i);
		if (!json_is_object(c))
			return lerr(l, path, "must be an object");
		if (check_keys(l, c, path, keys) == -1 ||
		    get_str(l, c, "access_key_id", path, cr->akid, sizeof(cr->akid), 0) ==
			-1 ||
		    get_str(l, c, "secret_access_key", path, cr->secret,
			    sizeof(cr->secret), 0) == -1 ||
		    get_array(l, c, "deny", path, 64, &deny, 1) == -1 ||
		    get_account(l, c, "account", path, cr->account, st->owner) == -1)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (strcmp(st->creds[k].akid, cr->akid) == 0)
				return lerr(l, path, "duplicate access_key_id %s",
					    cr->akid);
		if (deny == NULL)
			continue;
		cr->deny = xcalloc(json_array_size(deny), sizeof(*cr->deny));
		json_array_foreach(deny, j, d)
		{
			if (!json_is_string(d) || json_string_length(d) == 0)
				return lerr(l, path, "deny[%zu] must be an action name",
					    j);
			cr->deny[j] = xstrdup(json_string_value(d));
			cr->ndeny = j + 1;
		}
	}
	return 0;
}

static int load_insts(struct loader *l, json_t *root, struct sim_state *st)
{
	static const char *const keys[] = {
	    "id",      "az",   "eni",	 "mac",
	    "address", "role", "subnet", "source_dest_check",
	    "account", NULL};
	json_t *arr, *o;
	size_t i;
	char path[96];
	unsigned char bin[4];

	if (get_array(l, root, "instances", "$", SIM_INSTS_MAX, &arr, 0) == -1)
		return -1;
	st->insts = xcalloc(json_array_size(arr), sizeof(*st->insts));
	json_array_foreach(arr, i, o)
	{
		struct sim_instance *in = &st->insts[i];

		st->ninsts = i + 1;
		snprintf(path, sizeof(path), "$.instances[%zu]", i);
		if (!json_is_object(o))
			return lerr(l, path, "must be an object");
		if (check_keys(l, o, path, keys) == -1 ||
		    get_str(l, o, "id", path, in->id, sizeof(in->id), 0) == -1 ||
		    get_str(l, o, "az", path, in->az, sizeof(in->az), 0) == -1 ||
		    get_str(l, o, "eni", path, in->eni, sizeof(in->eni), 0) == -1 ||
		    get_str(l, o, "mac", path, in->mac, sizeof(in->mac), 0) == -1 ||
		    get_str(l, o, "address", path, in->address, sizeof(in->address), 0) ==
			-1 ||
		    get_str(l, o, "role", path, in->role, sizeof(in->role), 1) == -1 ||
		    get_account(l, o, "account", path, in->account, st->owner) == -1)
			return -1;
		if (get_str(l, o, "subnet", path, in->subnet, sizeof(in->subnet), 1) ==
		    -1)
			return -1;
		/* Every instance gets a subnet of its own unless told otherwise. */
		if (in->subnet[0] == '\0')
			snprintf(in->subnet, sizeof(in->subnet), "subnet-%017zx", i + 1);
		json_t *sdc = json_object_get(o, "source_dest_check");
		if (sdc && !json_is_boolean(sdc))
			return lerr(l, path,
				    "\"source_dest_check\" must be true or false");
		in->source_dest_check = sdc == NULL || json_is_true(sdc);
		if (inet_pton(AF_INET, in->address, bin) != 1)
			return lerr(l, path, "address \"%s\" is not an IPv4 address",
				    in->address);
		if (strchr(in->role, '/'))
			return lerr(l, path, "role must not contain '/'");
		for (size_t k = 0; k < i; k++) {
			if (strcmp(st->insts[k].id, in->id) == 0)
				return lerr(l, path, "duplicate instance id %s", in->id);
			if (strcmp(st->insts[k].eni, in->eni) == 0)
				return lerr(l, path, "duplicate eni %s", in->eni);
		}
	}
	return 0;
}

/* One role entry per distinct instance role, each with an empty deny list
 * (the control API fills it). */
static int load_roles(struct sim_state *st)
{
	st->roles = xcalloc(st->ninsts + 1, sizeof(*st->roles));
	for (size_t i = 0; i < st->ninsts; i++) {
		const char *r = st->insts[i].role;
		if (r[0] == '\0' || sim_role_find(st, r))
			continue;
		strlcpy_chk(st->roles[st->nroles++].name, r, sizeof(st->roles[0].name));
	}
	return 0;
}

static int load_routes(struct loader *l, json_t *arr, const char *tpath,
		       struct sim_table *t)
{
	static const char *const keys[] = {"dest", "eni", NULL};
	json_t *o;
	size_t i;
	char path[128], dest[SIM_CIDR_MAX], canon[SIM_CIDR_MAX], eni[SIM_ID_MAX];
	int fam;

	json_array_foreach(arr, i, o)
	{
		snprintf(path, sizeof(path), "%s.routes[%zu]", tpath, i);
		if (!json_is_object(o))
			return lerr(l, path, "must be an object");
		if (check_keys(l, o, path, keys) == -1 ||
		    get_str(l, o, "dest", path, dest, sizeof(dest), 0) == -1 ||
		    get_str(l, o, "eni", path, eni, sizeof(eni), 0) == -1)
			return -1;
		if (sim_cidr_canon(dest, canon, sizeof(canon), &fam) == -1)
			return lerr(l, path, "dest \"%s\" is not a CIDR block", dest);
		if (sim_route_find(t, canon))
			return lerr(l, path, "duplicate route for %s", canon);
		sim_route_add(t, canon, fam, eni);
	}
	return 0;
}

static int load_tables(struct loader *l, json_t *root, struct sim_state *st)
{
	static const char *const keys[] = {"id", "routes", "owner", NULL};
	json_t *arr, *o, *routes;
	size_t i;
	char path[96];

	if (get_array(l, root, "route_tables", "$", SIM_TABLES_MAX, &arr, 0) == -1)
		return -1;
	st->tables = xcalloc(json_array_size(arr), sizeof(*st->tables));
	json_array_foreach(arr, i, o)
	{
		struct sim_table *t = &st->tables[i];

		snprintf(path, sizeof(path), "$.route_tables[%zu]", i);
		if (!json_is_object(o))
			return lerr(l, path, "must be an object");
		if (check_keys(l, o, path, keys) == -1 ||
		    get_str(l, o, "id", path, t->id, sizeof(t->id), 0) == -1 ||
		    get_array(l, o, "routes", path, SIM_ROUTES_MAX - 1, &routes, 1) ==
			-1 ||
		    get_account(l, o, "owner", path, t->owner, st->owner) == -1)
			return -1;
		if (sim_table_find(st, t->id))
			return lerr(l, path, "duplicate route table id %s", t->id);
		st->ntables = i + 1;
		/* Every VPC table starts with the VPC's own local route. */
		sim_route_add(t, st->vpc_cidr, AF_INET, "");
		t->routes[0].local = 1;
		if (routes && load_routes(l, routes, path, t) == -1)
			return -1;
	}
	return 0;
}

/* "arn:aws:iam::ACCOUNT:role/[PATH/]NAME": the account and the name, or -1. */
static int role_arn_split(const char *arn, char *account, char *name, size_t namesz)
{
	static const char pfx[] = "arn:aws:iam::";
	const char *p = arn + sizeof(pfx) - 1, *slash;

	if (strncmp(arn, pfx, sizeof(pfx) - 1) != 0 || strspn(p, "0123456789") != 12 ||
	    strncmp(p + 12, ":role/", 6) != 0)
		return -1;
	memcpy(account, p, 12);
	account[12] = '\0';
	slash = strrchr(p, '/');
	if (slash[1] == '\0')
		return -1;
	return strlcpy_chk(name, slash + 1, namesz);
}

static int load_aroles(struct loader *l, json_t *root, struct sim_state *st)
{
	static const char *const keys[] = {
	    "arn", "trust", "external_id", "max_session_duration", "deny", NULL};
	json_t *arr, *o, *v;
	size_t i;
	char path[96];

	if (get_array(l, root, "roles", "$", SIM_AROLES_MAX, &arr, 1) == -1)
		return -1;
	if (arr == NULL)
		return 0;
	st->aroles = xcalloc(json_array_size(arr), sizeof(*st->aroles));
	json_array_foreach(arr, i, o)
	{
		struct sim_arole *a = &st->aroles[i];

		st->naroles = i + 1;
		snprintf(path, sizeof(path), "$.roles[%zu]", i);
		if (!json_is_object(o))
			return lerr(l, path, "must be an object");
		if (check_keys(l, o, path, keys) == -1 ||
		    get_str(l, o, "arn", path, a->arn, sizeof(a->arn), 0) == -1 ||
		    get_str(l, o, "external_id", path, a->external_id,
			    sizeof(a->external_id), 1) == -1 ||
		    get_strings(l, o, "trust", path, 64, &a->trust, &a->ntrust) == -1 ||
		    get_strings(l, o, "deny", path, 64, &a->deny, &a->ndeny) == -1)
			return -1;
		if (role_arn_split(a->arn, a->account, a->name, sizeof(a->name)) == -1)
			return lerr(l, path,
				    "arn \"%s\" is not arn:aws:iam::ACCOUNT:role/NAME",
				    a->arn);
		a->max_duration = 3600;
		if ((v = json_object_get(o, "max_session_duration")) != NULL) {
			if (!json_is_integer(v) || json_integer_value(v) < 3600 ||
			    json_integer_value(v) > 43200)
				return lerr(l, path,
					    "\"max_session_duration\" must be an integer "
					    "3600..43200");
			a->max_duration = (unsigned)json_integer_value(v);
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(st->aroles[k].arn, a->arn) == 0)
				return lerr(l, path, "duplicate role arn %s", a->arn);
	}
	return 0;
}

static int load_refs(struct loader *l, json_t *root, struct sim_state *st)
{
	char id[SIM_ID_MAX];

	st->default_inst = st->ninsts ? 0 : -1;
	st->kernel_table = -1;
	if (get_str(l, root, "imds_default_instance", "$", id, sizeof(id), 1) == -1)
		return -1;
	if (id[0]) {
		const struct sim_instance *in = sim_inst_by_id(st, id);
		if (in == NULL)
			return lerr(l, "$.imds_default_instance", "no instance \"%s\"",
				    id);
		st->default_inst = (int)(in - st->insts);
	}
	if (get_str(l, root, "kernel_table", "$", id, sizeof(id), 1) == -1)
		return -1;
	if (id[0]) {
		struct sim_table *t = sim_table_find(st, id);
		if (t == NULL)
			return lerr(l, "$.kernel_table", "no route table \"%s\"", id);
		st->kernel_table = (int)(t - st->tables);
	}
	return 0;
}

int sim_state_load(const char *path, struct sim_state *st, char *err, size_t errsz)
{
	static const char *const keys[] = {"region",
					   "vpc",
					   "credentials",
					   "instances",
					   "route_tables",
					   "kernel_table",
					   "imds_default_instance",
					   "roles",
					   NULL};
	struct loader l = {path, err, errsz};
	json_error_t jerr;
	json_t *root;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (jerr.line > 0)
			snprintf(err, errsz, "%s:%d:%d: %s", path, jerr.line, jerr.column,
				 jerr.text);
		else
			snprintf(err, errsz, "%s: %s", path, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		lerr(&l, "$", "must be an object");
		goto out;
	}
	if (check_keys(&l, root, "$", keys) == -1 ||
	    get_str(&l, root, "region", "$", st->region, sizeof(st->region), 0) == -1 ||
	    load_vpc(&l, root, st) == -1 || load_creds(&l, root, st) == -1 ||
	    load_insts(&l, root, st) == -1 || load_roles(st) == -1 ||
	    load_tables(&l, root, st) == -1 || load_aroles(&l, root, st) == -1 ||
	    load_refs(&l, root, st) == -1)
		goto out;
	rc = 0;
out:
	json_decref(root);
	if (rc == -1)
		sim_state_free(st);
	return rc;
}

void sim_state_free(struct sim_state *st)
{
	for (size_t i = 0; i < st->ncreds; i++) {
		for (size_t j = 0; j < st->creds[i].ndeny; j++)
			free(st->creds[i].deny[j]);
		free(st->creds[i].deny);
	}
	free(st->creds);
	for (size_t i = 0; i < st->nroles; i++) {
		for (size_t j = 0; j < st->roles[i].ndeny; j++)
			free(st->roles[i].deny[j]);
		free(st->roles[i].deny);
	}
	free(st->roles);
	for (size_t i = 0; i < st->naroles; i++) {
		sim_deny_set(&st->aroles[i].trust, &st->aroles[i].ntrust, NULL, 0);
		sim_deny_set(&st->aroles[i].deny, &st->aroles[i].ndeny, NULL, 0);
	}
	free(st->aroles);
	for (size_t i = 0; i < st->ntables; i++) {
		free(st->tables[i].routes);
		free(st->tables[i].changes);
	}
	/* A table that failed half-way may hold routes without being counted. */
	free(st->tables);
	free(st->insts);
	memset(st, 0, sizeof(*st));
}

struct sim_table *sim_table_find(struct sim_state *st, const char *id)
{
	for (size_t i = 0; i < st->ntables; i++)
		if (strcmp(st->tables[i].id, id) == 0)
			return &st->tables[i];
	return NULL;
}

struct sim_route *sim_route_find(struct sim_table *t, const char *dest)
{
	for (size_t i = 0; i < t->nroutes; i++)
		if (strcmp(t->routes[i].dest, dest) == 0)
			return &t->routes[i];
	return NULL;
}

void sim_route_add(struct sim_table *t, const char *dest, int family, const char *eni)
{
	struct sim_route *r;

	t->routes = xreallocarray(t->routes, t->nroutes + 1, sizeof(*t->routes));
	r = &t->routes[t->nroutes++];
	memset(r, 0, sizeof(*r));
	strlcpy_chk(r->dest, dest, sizeof(r->dest));
	strlcpy_chk(r->eni, eni, sizeof(r->eni));
	r->family = family;
}

void sim_route_del(struct sim_table *t, struct sim_route *r)
{
	size_t i = (size_t)(r - t->routes);

	memmove(&t->routes[i], &t->routes[i + 1], (t->nroutes - i - 1) * sizeof(*r));
	t->nroutes--;
}

const struct sim_instance *sim_inst_by_eni(const struct sim_state *st, const char *eni)
{
	for (size_t i = 0; i < st->ninsts; i++)
		if (strcmp(st->insts[i].eni, eni) == 0)
			return &st->insts[i];
	return NULL;
}

const struct sim_instance *sim_inst_by_id(const struct sim_state *st, const char *id)
{
	for (size_t i = 0; i < st->ninsts; i++)
		if (strcmp(st->insts[i].id, id) == 0)
			return &st->insts[i];
	return NULL;
}

const struct sim_instance *sim_inst_by_addr(const struct sim_state *st, const char *addr)
{
	for (size_t i = 0; i < st->ninsts; i++)
		if (strcmp(st->insts[i].address, addr) == 0)
			return &st->insts[i];
	return NULL;
}

int sim_cred_denies(const struct sim_cred *c, const char *action)
{
	for (size_t i = 0; i < c->ndeny; i++)
		if (strcmp(c->deny[i], action) == 0)
			return 1;
	return 0;
}

struct sim_role *sim_role_find(struct sim_state *st, const char *name)
{
	for (size_t i = 0; i < st->nroles; i++)
		if (strcmp(st->roles[i].name, name) == 0)
			return &st->roles[i];
	return NULL;
}

struct sim_arole *sim_arole_find(struct sim_state *st, const char *arn)
{
	for (size_t i = 0; i < st->naroles; i++)
		if (strcmp(st->aroles[i].arn, arn) == 0)
			return &st->aroles[i];
	return NULL;
}

int sim_deny_has(char *const *deny, size_t ndeny, const char *action)
{
	for (size_t i = 0; i < ndeny; i++)
		if (strcmp(deny[i], action) == 0)
			return 1;
	return 0;
}

int sim_role_denies(const struct sim_role *r, const char *action)
{
	for (size_t i = 0; i < r->ndeny; i++)
		if (strcmp(r->deny[i], action) == 0)
			return 1;
	return 0;
}

void sim_deny_set(char ***deny, size_t *ndeny, const char *const *actions, size_t n)
{
	for (size_t i = 0; i < *ndeny; i++)
		free((*deny)[i]);
	free(*deny);
	*deny = n ? xcalloc(n, sizeof(**deny)) : NULL;
	for (size_t i = 0; i < n; i++)
		(*deny)[i] = xstrdup(actions[i]);
	*ndeny = n;
}
