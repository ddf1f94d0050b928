/* sdnotify.h — tell systemd (Type=notify) where the daemon is: ready,
 * reloading, stopping, and alive (the watchdog, from the event loop). Every
 * call is a no-op when NOTIFY_SOCKET is unset (not started by systemd). */
#ifndef VPCF_SDNOTIFY_H
#define VPCF_SDNOTIFY_H

/* READY=1 with STATUS=; the first call also starts the watchdog timer on the
 * event loop when systemd set WatchdogSec= for this process. */
void sdn_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* RELOADING=1 with MONOTONIC_USEC=now: a SIGHUP reload starts. */
void sdn_reloading(void);
/* STOPPING=1: the daemon is on its way out. */
void sdn_stopping(void);

#endif
