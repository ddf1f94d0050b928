/* fuzz.h — helpers shared by the libFuzzer targets (header-only: each target
 * is one translation unit). */
#ifndef VPCF_FUZZ_H
#define VPCF_FUZZ_H
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Logging costs more than parsing: errors only, unless FUZZ_LOG is set (to
 * see why an input was refused when reproducing). */
static inline void fuzz_log_init(void)
{
	log_init("fuzz", 1, getenv("FUZZ_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
}

/* A private directory for the files a target writes its input to, made once
 * per process (in /dev/shm when there is one: cheaper than a disk). */
static inline const char *fuzz_dir(void)
{
	static char dir[64];

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "%s/vpcf-fuzz.XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			abort();
		}
	}
	return dir;
}

/* Write data to fuzz_dir()/name with mode; returns the path (static). */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size,
				    mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) == -1 ||
	    fchmod(fd, mode) == -1 || (size && write(fd, data, size) != (ssize_t)size)) {
		perror(path);
		abort();
	}
	close(fd);
	return path;
}

/* A NUL-terminated copy of the input (caller frees). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
#endif
