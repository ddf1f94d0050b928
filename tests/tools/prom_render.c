/* prom_render — a metrics snapshot (JSON on stdin) rendered by the
 * exporters, for integration tests that check snapshots the running daemon
 * cannot produce yet (zones) with promtool:
 *   prom_render [--mackerel]  <snapshot.json */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netmon/mackerel.h"
#include "netmon/prom.h"

int main(int argc, char **argv)
{
	json_error_t je;
	json_t *snap = json_loadf(stdin, 0, &je), *next = NULL;
	char *text;

	if (snap == NULL) {
		fprintf(stderr, "prom_render: %s\n", je.text);
		return 2;
	}
	if (argc > 1 && strcmp(argv[1], "--mackerel") == 0)
		text = mkr_render(snap, NULL, &next);
	else
		text = nmp_render(snap);
	if (text == NULL)
		return 1;
	fputs(text, stdout);
	free(text);
	json_decref(next);
	json_decref(snap);
	return 0;
}
