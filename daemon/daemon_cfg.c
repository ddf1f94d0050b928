/* daemon_cfg.c — [daemon] and [keepalived] (see daemon_cfg.h). */
#include <stddef.h>

#include "daemon/daemon_cfg.h"

#define DMN(f) INI_FIELD(struct daemon_cfg, f)
#define KAL(f) INI_FIELD(struct ka_cfg, f)

/* The socket, its group, the state directory and the FIFO are set up once,
 * at start: a reload keeps them. The pid file is read at each check. */
/* clang-format off */
static const struct ini_key daemon_keys[] = {
	{"control_socket", ini_path, DMN(control_socket), .def = CFG_CONTROL_SOCKET_DEFAULT, .flags = INI_RESTART},
	{"state_dir", ini_path, DMN(state_dir), .def = CFG_STATE_DIR_DEFAULT, .flags = INI_RESTART},
	{"control_group", ini_unixgroup, DMN(control_group), .def = "root", .flags = INI_RESTART},
	{NULL},
};

static const struct ini_key ka_keys[] = {
	{"notify_fifo", ini_path, KAL(notify_fifo), .def = NULL, .flags = INI_RESTART},
	{"pid_file", ini_path, KAL(pid_file), .def = "/run/keepalived.pid"},
	{NULL},
};
/* clang-format on */

const struct ini_section daemon_cfg_section = {.word = "daemon", .keys = daemon_keys};
const struct ini_section ka_cfg_section = {.word = "keepalived", .keys = ka_keys};
