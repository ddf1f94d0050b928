/* imds.h — EC2 instance metadata over IMDSv2: session token kept in memory
 * only, renewed on 401; asynchronous, on the ev loop. */
#ifndef VPCF_IMDS_H
#define VPCF_IMDS_H

#include <stddef.h>

#define IMDS_ENDPOINT_DEFAULT "http://169.254.169.254"

struct imds_identity {
	char instance_id[64];
	char region[32];
	char az[32];
	char mac[32];
	char eni[64]; /* the primary ENI: the interface of meta-data/mac */
};

/* rc 0 with the body (status 200), or -1 with a reason in err. */
typedef void (*imds_fn)(void *arg, int rc, const char *body, size_t len, const char *err);
typedef void (*imds_identity_fn)(void *arg, int rc, const struct imds_identity *id,
				 const char *err);

/* Use this endpoint ("" = the default address). 0 or -1. */
int imds_init(const char *endpoint);
void imds_fini(void);
/* GET latest/<path> ("meta-data/instance-id"), with token handling and a few
 * retries within a short deadline. */
int imds_get(const char *path, imds_fn fn, void *arg);
/* Instance id, region, AZ, MAC and primary ENI, each validated. */
int imds_identity(imds_identity_fn fn, void *arg);
/* Forget the session token (the next call fetches a new one). */
void imds_drop_token(void);

#endif
