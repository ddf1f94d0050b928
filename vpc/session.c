/* session.c — an AWS session started and stopped in one order: HTTP client,
 * metadata, credentials (then EC2, once the caller knows the region), and
 * back. */
#include "vpc/session.h"

#include "lib/http.h"
#include "vpc/auth.h"
#include "vpc/ec2.h"
#include "vpc/imds.h"

int session_start(const struct aws_cfg *aws)
{
	if (http_init(aws->ca_file, aws->max_parallel) == -1)
		return SESSION_NO_HTTP;
	imds_init(aws->metadata_endpoint);
	if (auth_init(aws) == -1)
		return SESSION_NO_CREDS;
	return 0;
}

void session_stop(void)
{
	ec2_fini();
	auth_fini();
	imds_fini();
	http_fini();
}
