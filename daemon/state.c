/* state.c — event files. One small JSON document per keepalived name:
 *   {"type":"INSTANCE","name":"VI_1","state":"MASTER","priority":150,
 *    "mono":123456,"wall":1795600000,"boot_id":"..."}
 * No fsync: a file only matters within the boot that wrote it, and a crash
 * of the process does not lose the page cache; rename keeps it atomic. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "daemon/state.h"
#include "lib/util.h"

static char boot_id[64];

const char *st_boot_id(void)
{
	if (boot_id[0] == '\0') {
		FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
		if (f) {
			if (fgets(boot_id, sizeof(boot_id), f) == NULL)
				boot_id[0] = '\0';
			boot_id[strcspn(boot_id, "\n")] = '\0';
			fclose(f);
		}
	}
	return boot_id;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	if (strlcpy_chk(tmp, path, sizeof(tmp)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int st_record(const char *state_dir, const struct ka_event *ev, char *err, size_t errsz)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char *text = NULL;
	int rc;

	/* A hint (MASTER_RX_LOWER_PRI, priority changes) is no state to come
	 * back to after a restart. */
	if (ev->state > KA_DELETED)
		return 0;
	snprintf(dir, sizeof(dir), "%s/events", state_dir);
	snprintf(path, sizeof(path), "%s/%s.%s", dir, ka_type_name(ev->type), ev->name);
	if (mkdir_p(dir, 0750) == -1) {
		snprintf(err, errsz, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:i, s:I, s:I, s:s}", "type", ka_type_name(ev->type), "name",
	    ev->name, "state", ka_state_name(ev->state), "priority", ev->priority, "mono",
	    (json_int_t)ev->mono, "wall", (json_int_t)ev->wall, "boot_id", st_boot_id());
	if (o == NULL) {
		snprintf(err, errsz, "cannot encode the event");
		return -1;
	}
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL) {
		snprintf(err, errsz, "cannot encode the event");
		return -1;
	}
	/* Not fsynced: the hook must stay quick, and an event lost to a crash
	 * of the whole host is superseded by keepalived's state at boot. */
	char *line = xasprintf("%s\n", text);
	rc = write_file_atomic(path, line, strlen(line), 0640, 0, err, errsz);
	free(line);
	free(text);
	return rc;
}

int st_parse(const char *text, size_t len, const char *boot, struct ka_event *ev,
	     char *err, size_t errsz)
{
	json_error_t je;
	const char *type, *name, *state, *bid;
	json_int_t prio, mono, wall;
	int rc = -1;

	memset(ev, 0, sizeof(*ev));
	if (len > ST_FILE_MAX) {
		snprintf(err, errsz, "larger than %d bytes", ST_FILE_MAX);
		return -1;
	}
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		snprintf(err, errsz, "not JSON: %s", je.text);
		return -1;
	}
	if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
			   "type", &type, "name", &name, "state", &state, "priority",
			   &prio, "mono", &mono, "wall", &wall, "boot_id", &bid) == -1) {
		snprintf(err, errsz, "%s", je.text);
		goto out;
	}
	if (strcmp(bid, boot) != 0) {
		snprintf(err, errsz, "recorded before the last reboot");
		goto out;
	}
	char *argv[4];
	char pbuf[16];
	snprintf(pbuf, sizeof(pbuf), "%lld", (long long)prio);
	argv[0] = (char *)type;
	argv[1] = (char *)name;
	argv[2] = (char *)state;
	argv[3] = pbuf;
	if (prio < 0 || mono < 0 || ka_parse_args(4, argv, ev, err, errsz) == -1)
		goto out;
	if (ev->state > KA_DELETED) {
		snprintf(err, errsz, "state %s is a hint, not a state", state);
		goto out;
	}
	ev->mono = (uint64_t)mono;
	ev->wall = (int64_t)wall;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

static int by_mono(const void *a, const void *b)
{
	const struct ka_event *x = a, *y = b;
	return x->mono < y->mono ? -1 : x->mono > y->mono;
}

int st_load(const char *state_dir, void (*fn)(const struct ka_event *ev, void *arg),
	    void *arg)
{
	char dir[PATH_MAX], path[PATH_MAX + 256], buf[ST_FILE_MAX + 1], err[256];
	struct ka_event *evs = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/events", state_dir);
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			log_warn("state: %s", dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ssize_t len =
		    read_file_capped(path, O_NOFOLLOW | O_NONBLOCK, buf, sizeof(buf) - 1);
		if (len == -1 && errno == EFBIG)
			len = ST_FILE_MAX + 1; /* st_parse: larger than allowed */
		if (len < 0) {
			log_warn("state: %s", path);
			continue;
		}
		evs = xgrow(evs, n, sizeof(*evs));
		if (st_parse(buf, (size_t)len, st_boot_id(), &evs[n], err, sizeof(err)) ==
		    -1) {
			log_info("state: ignoring %s: %s", path, err);
			continue;
		}
		n++;
	}
	closedir(d);
	qsort(evs, n, sizeof(*evs), by_mono);
	for (size_t i = 0; i < n; i++)
		fn(&evs[i], arg);
	free(evs);
	return (int)n;
}
