/* doctor.h — vpc-failover doctor: check a live setup end to end (config,
 * instance metadata, credentials, IAM with DryRun, route tables, this
 * node's ENI, keepalived.conf against the config, keepalived and the daemon
 * running) and say for each problem what to change. */
#ifndef VPCF_DOCTOR_H
#define VPCF_DOCTOR_H

#define DOCTOR_KA_CONF_DEFAULT "/etc/keepalived/keepalived.conf"

/* Check the setup of the configuration at cfg_path against keepalived.conf
 * at ka_path (NULL: DOCTOR_KA_CONF_DEFAULT), printing one line per check to
 * stdout, or with json one JSON object at the end (docs/json.md). The CLI
 * has checked the arguments. Returns the exit code: 0 no FAIL, 1 some
 * FAIL. */
int doctor_main(const char *cfg_path, const char *ka_path, int json);

#endif
