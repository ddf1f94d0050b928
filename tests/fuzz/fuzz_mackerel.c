/* fuzz_mackerel — the Mackerel plugin's state file (netmon/mackerel.c), then
 * a render against it as the previous run's values, as `vpc-failover metrics
 * --format=mackerel` does. An input starting with a space (JSON white space,
 * so the text means the same) goes through mkr_state_load on a file holding
 * it; others straight to mkr_state_parse, which is what mkr_state_load runs
 * on what it read. */
#include "netmon/mackerel.h"
#include "tests/fuzz/fuzz.h"

static json_t *snap;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	snap = json_pack(
	    "{s:f, s:i, s:[{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f}],"
	    " s:{s:I, s:I},"
	    " s:[{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:f}],"
	    " s:[{s:s, s:s, s:I}], s:{s:I, s:I, s:b}}",
	    "time", 1718000060.0, "up", 1, "zones", "zone", "az1", "packets_in",
	    (json_int_t)10, "bytes_in", (json_int_t)1000, "packets_out", (json_int_t)20,
	    "bytes_out", (json_int_t)2000, "tcp_segments_out", (json_int_t)300,
	    "tcp_retrans_segments", (json_int_t)3, "tcp_retrans_ratio", 0.01, "tcp",
	    "segments_out", (json_int_t)900, "retrans_segments", (json_int_t)100,
	    "groups", "group", "redis", "state", "MASTER", "transitions", "MASTER",
	    (json_int_t)1, "BACKUP", (json_int_t)1, "FAULT", (json_int_t)0, "STOP",
	    (json_int_t)0, "DELETED", (json_int_t)0, "route_updates", "ok", (json_int_t)3,
	    "failed", (json_int_t)0, "convergence_seconds", 0.02, "api_requests",
	    "action", "ReplaceRoute", "code", "OK", "count", (json_int_t)4, "netmon",
	    "collections", (json_int_t)1, "lost_events", (json_int_t)0, "enabled", 1);
	if (snap == NULL)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *prev = NULL, *next = NULL;
	char err[256];

	if (size > MKR_STATE_MAX + 1)
		return 0;
	if (size > 0 && data[0] == ' ') {
		const char *path = fuzz_file(MKR_STATE_FILE, data, size, 0600);
		if (mkr_state_load(path, &prev, err, sizeof(err)) == -1)
			prev = NULL;
	} else {
		prev = mkr_state_parse((const char *)data, size, err, sizeof(err));
	}
	if (prev) {
		free(mkr_render(snap, prev, &next));
		json_decref(next);
		json_decref(prev);
	}
	return 0;
}
