/* identity.c — this node's identity: what the configuration says, and what
 * only instance metadata can. */
#include "daemon/identity.h"
#include "vpc/auth.h"

int ident_needs_metadata(const struct cfg *c, const struct cfg_group *only)
{
	int need = c->aws.region[0] == '\0';

	if (only)
		return need || only->network_interface[0] == '\0';
	for (size_t i = 0; i < c->ngroups; i++)
		need |= c->groups[i].network_interface[0] == '\0';
	return need;
}

const char *ident_group_eni(const struct cfg_group *g, const struct imds_identity *id)
{
	if (g->network_interface[0])
		return g->network_interface;
	return id ? id->eni : "";
}

int ident_group_creds(const struct cfg_group *g)
{
	return auth_slot(g->role_arn, g->external_id);
}
