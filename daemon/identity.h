/* identity.h — this node's identity as the configuration and instance
 * metadata give it: whether metadata is needed at all, and which ENI a group
 * points its routes at. One answer for the daemon, the CLI and doctor. */
#ifndef VPCF_IDENTITY_H
#define VPCF_IDENTITY_H

#include "daemon/cfg.h"
#include "vpc/imds.h"

/* Does c need instance metadata for this node's identity: no [aws] region,
 * or a group without network_interface (only that group, when given;
 * otherwise any)? 1 or 0. */
int ident_needs_metadata(const struct cfg *c, const struct cfg_group *only);
/* The ENI group g points its routes at: its network_interface, else the
 * instance's primary ENI from metadata (id; NULL when there is none), else
 * "". */
const char *ident_group_eni(const struct cfg_group *g, const struct imds_identity *id);
/* Whose credentials the group's EC2 calls use: the auth_slot of its own
 * role_arn, or 0 ([aws] role_arn, or none). -1 when too many roles. */
int ident_group_creds(const struct cfg_group *g);

#endif
