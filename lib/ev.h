/* ev.h — the one event loop: epoll for fds, one timerfd for all timeouts.
 * Two primitives, as in chrony's scheduler: watch an fd, add a timeout.
 * Single-threaded; callbacks may add or remove fds and timers freely. */
#ifndef VPCF_EV_H
#define VPCF_EV_H

#include <stdint.h>
#include <sys/epoll.h>

struct fake_clock; /* lib/util.h */

typedef void (*ev_fd_fn)(int fd, uint32_t events, void *arg);
typedef void (*ev_timer_fn)(void *arg);

/* Create the loop; 0 or -1. */
int ev_init(void);
/* Close the loop; pending timers are dropped without running. */
void ev_fini(void);

/* Watch fd for EPOLLIN/EPOLLOUT; replaces any earlier watch of fd. */
int ev_fd_set(int fd, uint32_t events, ev_fd_fn fn, void *arg);
/* Stop watching fd (does not close it). */
void ev_fd_del(int fd);

/* Run fn once after delay_ms; returns a non-zero id for ev_timer_cancel. */
uint64_t ev_timer_add(uint64_t delay_ms, ev_timer_fn fn, void *arg);
/* Cancel a pending timer; ids of timers that already ran are ignored. */
void ev_timer_cancel(uint64_t id);

/* Dispatch until ev_stop(); 0, or -1 on an epoll failure. */
int ev_run(void);
/* Make ev_run() return after the current dispatch round. */
void ev_stop(void);

/* Monotonic milliseconds, the loop's clock (replaceable in unit tests). */
uint64_t ev_now(void);
/* Replace the clock (tests); NULL restores the monotonic clock. */
void ev_set_clock(uint64_t (*now)(void));
/* Run the loop on a fake clock (VPCF_FAKE_CLOCK): ev_now() and ev_wall()
 * run fc->scale times faster, timers fire that much sooner in real time.
 * NULL: real time again. */
void ev_set_fake_clock(const struct fake_clock *fc);
/* Wall-clock seconds on the loop's clock: what the daemon judges wall time
 * by (credential expiry, event stamps). */
int64_t ev_wall(void);
/* Loop ms for real ms: a real timeout (curl's, MHD's, a client's idle
 * limit) or a CLOCK_MONOTONIC stamp another process took. Saturates. */
uint64_t ev_from_real(uint64_t real_ms);
/* Loop wall seconds for a real wall-clock stamp another process took. */
int64_t ev_wall_from_real(int64_t real_s);

#endif
