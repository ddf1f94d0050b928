/* version.c — the version, compiled in from the VERSION file by the Makefile
 * (this file alone gets -DVPCF_VERSION, so a new version rebuilds one
 * object). */
#include "lib/version.h"

#ifndef VPCF_VERSION
#error "VPCF_VERSION is set by the Makefile from the VERSION file"
#endif

const char vpcf_version[] = VPCF_VERSION;
