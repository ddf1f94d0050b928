/* session.h — an AWS session: the HTTP client, instance metadata,
 * credentials and the EC2 client, started and stopped in one order. The
 * daemon, the CLI (routes, takeover, failover) and doctor all use it. The
 * event loop is the caller's: ev_init before, ev_fini after. */
#ifndef VPCF_SESSION_H
#define VPCF_SESSION_H

struct aws_cfg;

enum {
	SESSION_NO_HTTP = -1,  /* the HTTP client could not start */
	SESSION_NO_CREDS = -2, /* a configured credentials source is broken */
};

/* The HTTP client, the metadata client and the credentials chain for aws
 * (the EC2 client follows with ec2_init once the region is known). 0;
 * SESSION_NO_HTTP; or SESSION_NO_CREDS, said by auth_init, with the HTTP
 * and metadata clients up (metadata can still be asked). */
int session_start(const struct aws_cfg *aws);
/* Stop what session_start and ec2_init started, in reverse order; safe
 * whatever was started, and more than once. */
void session_stop(void);

#endif
