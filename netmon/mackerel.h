/* mackerel.h — the metrics snapshot (netmon/netmon.h) as a mackerel-agent
 * metric plugin: "name\tvalue\tepoch" lines, counters turned into
 * per-minute rates against the previous run's values kept in a state file
 * (as go-mackerel-plugin does), ratios as percentages, and the graph
 * definitions printed when MACKEREL_AGENT_PLUGIN_META is set. Rendering is
 * pure; only mkr_state_load/mkr_state_save touch files. */
#ifndef VPCF_MACKEREL_H
#define VPCF_MACKEREL_H

#include <jansson.h>
#include <stddef.h>

#define MKR_PREFIX	   "vpc-failover"
#define MKR_STATE_FILE	   "mackerel-state.json" /* in [daemon] state_dir */
#define MKR_STATE_MAX	   (1024 * 1024)	 /* a larger state file is refused */
#define MKR_MAX_INTERVAL_S 600			 /* older previous values give no rate */
#define MKR_NAME_MAX	   256			 /* a longer metric name is skipped */
#define MKR_COMPONENT_MAX  64			 /* a name component is cut here */

/* Metric lines for snap (caller frees). Counters print a per-minute rate
 * (delta / elapsed seconds * 60) against prev, the state saved by the last
 * run (NULL: first run); a counter that is new, went backwards (a reset) or
 * whose previous value is more than MKR_MAX_INTERVAL_S old prints nothing
 * this time. *next gets the state to save for the next run. */
char *mkr_render(json_t *snap, json_t *prev, json_t **next);
/* "# mackerel-agent-plugin\n" and the graph definitions JSON (caller frees). */
char *mkr_meta(void);
/* One metric name component: [-a-zA-Z0-9_] kept, anything else becomes
 * '_', cut to MKR_COMPONENT_MAX - 1 (and outsz - 1) characters; "" gives
 * "_". */
void mkr_sanitize(const char *in, char *out, size_t outsz);
/* A metric key prefix (go-mackerel-plugin's -metric-key-prefix) is one
 * name component: 1 to MKR_COMPONENT_MAX - 1 characters of [-a-zA-Z0-9_].
 * 1 if prefix is one. */
int mkr_prefix_ok(const char *prefix);
/* text (mkr_render's lines or mkr_meta's definitions) with every name's
 * MKR_PREFIX replaced by prefix, which mkr_prefix_ok accepted (caller
 * frees). Names start a line or a JSON string. */
char *mkr_reprefix(const char *text, const char *prefix);
/* A state file's contents, checked: {"time": T, "values": {NAME: N >= 0}}.
 * NULL with the reason in err. */
json_t *mkr_state_parse(const char *text, size_t len, char *err, size_t errsz);
/* Read the state file: 0 with *state (NULL when there is none yet), or -1
 * with err when it is unreadable, larger than MKR_STATE_MAX or malformed. */
int mkr_state_load(const char *path, json_t **state, char *err, size_t errsz);
/* Replace the state file atomically (temporary file, fsync, rename; mode
 * 0600). 0, or -1 with err. */
int mkr_state_save(const char *path, json_t *state, char *err, size_t errsz);

#endif
