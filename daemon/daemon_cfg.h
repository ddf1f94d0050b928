/* daemon_cfg.h — the daemon's own sections: [daemon] (control socket, state
 * directory) and [keepalived] (its notify FIFO and pid file). Parsed by the
 * INI engine (lib/ini.h); cfg.c lists the sections. */
#ifndef VPCF_DAEMON_CFG_H
#define VPCF_DAEMON_CFG_H

#include <limits.h>

#include "lib/ini.h"

#define CFG_CONTROL_SOCKET_DEFAULT "/run/vpc-failover/control.sock"
#define CFG_STATE_DIR_DEFAULT	   "/var/lib/vpc-failover"

struct daemon_cfg {
	char control_socket[PATH_MAX];
	char state_dir[PATH_MAX];
	char control_group[INI_NAME_MAX]; /* owns the 0660 socket; "root" default */
};

struct ka_cfg {
	char notify_fifo[PATH_MAX]; /* "" = events come through the notify hook */
	char pid_file[PATH_MAX];    /* keepalived's; "" = no liveness check */
};

/* [daemon] and its keys (struct daemon_cfg). */
extern const struct ini_section daemon_cfg_section;
/* [keepalived] and its keys (struct ka_cfg). */
extern const struct ini_section ka_cfg_section;

#endif
