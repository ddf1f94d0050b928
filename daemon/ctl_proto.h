/* ctl_proto.h — the control socket's wire protocol, shared by the daemon
 * (daemon/control.c) and its client (daemon/ctlclient.c). A client connects
 * to the unix stream socket, sends one JSON object on one line (at most
 * CTL_REQUEST_MAX bytes), reads one JSON object on one line back, and the
 * daemon closes the connection.
 *
 * Requests:
 *   {"cmd":"notify","type":"INSTANCE","name":"VI_1","state":"MASTER",
 *    "priority":150,"mono":<CLOCK_MONOTONIC ms>,"wall":<unix s>}
 *   {"cmd":"status"}
 *   {"cmd":"metrics"}   -> {"ok":true,"metrics":<snapshot, see netmon/netmon.h>}
 *   {"cmd":"failover","group":"redis"|"all":true,"clear":false}
 *        -> {"ok":true,"groups":[{"name","state","eni","track_file"}]}
 *        writes each group's track_file ("1", or "0" with clear)
 *   {"cmd":"takeover","groups":["redis"]}   -> {"ok":true}  (logged: who)
 *   {"cmd":"sentinel-reconfig","master":"mymaster","role":"leader",
 *    "state":"failover","from":IP,"from_port":N,"to":IP,"to_port":N}
 *        -> {"ok":true,"groups":N}: the groups following that Sentinel
 *        master ask their sentinels now (the arguments are only logged)
 *   {"cmd":"patroni-callback","action":"on_role_change","role":"primary",
 *    "scope":"pg-main"}
 *        -> {"ok":true,"groups":N}: the groups following that Patroni scope
 *        read the leader key now (action and role are only logged)
 * Replies: {"ok":true, ...} or {"ok":false,"error":"what was wrong",
 * "reason":"permission"|"config"|"state"|"environment"} (reason optional).
 * notify, failover and takeover are for root (or the daemon's user) only,
 * judged by SO_PEERCRED, never by anything in the request. */
#ifndef VPCF_CTL_PROTO_H
#define VPCF_CTL_PROTO_H

#define CTL_REQUEST_MAX 4096
#define CTL_REPLY_MAX	(1024 * 1024)
#define CTL_IDLE_MS	5000 /* a client that sends nothing for this long is dropped */

#endif
