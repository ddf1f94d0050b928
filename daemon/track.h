/* track.h — keepalived track_file, the lever of a planned switchover.
 * keepalived adds value x weight to the instance's priority (weight 0: any
 * non-zero value puts it in FAULT), and watches the file with inotify. */
#ifndef VPCF_TRACK_H
#define VPCF_TRACK_H

#include <stddef.h>

/* Write "1" (demote) or "0" (clear) to path atomically: a temporary file in
 * the same directory, fsync, rename over path. 0, or -1 with err. */
int trk_write(const char *path, int demote, char *err, size_t errsz);
/* 1 if path holds a non-zero number (demoted), 0 if zero, empty or missing,
 * -1 if unreadable or not a number (with err). */
int trk_read(const char *path, char *err, size_t errsz);

#endif
