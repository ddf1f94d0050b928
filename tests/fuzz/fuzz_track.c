/* fuzz_track — a keepalived track_file as `vpc-failover failover` and doctor
 * read it back (daemon/track.c trk_read). */
#include "daemon/track.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	const char *path = fuzz_file("track", data, size, 0644);

	trk_read(path, err, sizeof(err));
	return 0;
}
