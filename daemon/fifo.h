/* fifo.h — keepalived's vrrp_notify_fifo, read line by line. */
#ifndef VPCF_FIFO_H
#define VPCF_FIFO_H

#include "daemon/kaevent.h"

typedef void (*fifo_event_fn)(const struct ka_event *ev);

/* Open (creating it 0600 if missing) and watch path. 0 or -1. */
int fifo_init(const char *path, fifo_event_fn fn);
void fifo_fini(void);

#endif
