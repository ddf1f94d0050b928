/* version.h — the one version of vpc-failover, from the VERSION file. */
#ifndef VPCF_VERSION_H
#define VPCF_VERSION_H

/* "0.1.0": --version of both binaries, the User-Agent, status, metrics. */
extern const char vpcf_version[];

#endif
