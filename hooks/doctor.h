/* doctor.h — vpc-failover doctor: check a live setup end to end (config,
 * instance metadata, credentials, IAM with DryRun, route tables, this
 * node's ENI, keepalived.conf against the config, keepalived and the daemon
 * running) and say for each problem what to change. */
#ifndef VPCF_DOCTOR_H
#define VPCF_DOCTOR_H

#define DOCTOR_KA_CONF_DEFAULT "/etc/keepalived/keepalived.conf"

/* Run "doctor [--keepalived-conf FILE]" (argv[0] is "doctor") against the
 * configuration at cfg_path, printing one line per check to stdout.
 * Returns the exit code: 0 no FAIL, 1 some FAIL, 2 usage error. */
int doctor_main(const char *cfg_path, int argc, char **argv);

#endif
