#!/bin/bash
# The role guard (daemon/guard.c) against real servers from Debian 12's
# packages, each started once, in a network namespace of its own (so the
# default ports are ours, never the host's), with data in $T:
#   Redis: a primary, a replica of it (REPLICAOF), one with requirepass
#     (the password from guard_password_file), promotion by REPLICAOF NO ONE;
#   PostgreSQL 15: a throwaway primary (initdb) and a standby made by
#     pg_basebackup -R, scram password from the file, promotion (pg_promote);
#   MariaDB: mariadbd --read-only, then SET GLOBAL read_only = 0.
# Also what "cannot be asked" answers (nothing listening, a wrong password, a
# password file others can read, a server that accepts but never answers):
# all "unknown", which the daemon treats as "not primary". Each check runs
# tests/tools/guard-probe, the daemon's guard on its event loop; latency
# medians (GUARD_N questions each, 50 by default) are printed as "# " lines,
# never asserted.
. "$(dirname "$0")/../lib.sh"

PROBE=$B/tools/guard-probe
PGBIN=/usr/lib/postgresql/15/bin
N=${GUARD_N:-50} # GUARD_N=200 for the figures in docs/config.md
NS=$(ns_new guard) || {
	not_ok "namespace"
	exit 1
}
chmod 755 "$T"
inns() { ip netns exec "$NS" "$@"; }
# ask URL [PWFILE] -> "ANSWER DETAIL", exit status 0 primary, 1 replica, 2 unknown
ask() { inns "$PROBE" "$1" "${2:--}" 1000 1; }
answer_is() { # WANT URL [PWFILE]
	local out
	out=$(ask "$2" "${3:-}")
	[ "${out%% *}" = "$1" ] || {
		echo "# $2: $out"
		return 1
	}
}
median() { # URL [PWFILE]: the median line of N questions
	inns "$PROBE" "$1" "${2:--}" 1000 "$N" | tail -1
}

# == Redis =====================================================================
redis() { # PORT [ARGS]: a redis-server in the namespace
	local port=$1
	shift
	mkdir -p "$T/redis$port"
	spawn "$T/redis$port.log" ip netns exec "$NS" redis-server --port "$port" \
		--bind 127.0.0.1 --save '' --appendonly no --dir "$T/redis$port" "$@"
	wait_for 10 inns redis-cli -p "$port" ${RPASS:+-a "$RPASS" --no-auth-warning} ping
}
check "redis: primary starts" redis 6379
check "redis: replica starts" redis 6380 --replicaof 127.0.0.1 6379
RPASS=s3cret-Guard-pw check "redis: a primary with requirepass starts" redis 6381 --requirepass s3cret-Guard-pw
check "redis: the primary answers primary" answer_is primary redis://127.0.0.1:6379
check "redis: the replica answers replica" answer_is replica redis://127.0.0.1:6380
out=$(ask redis://127.0.0.1:6380)
expect_eq "redis: the replica's answer names its primary" "$out" \
	"replica redis at 127.0.0.1:6380 is a replica (of 127.0.0.1:6379)"
ask redis://127.0.0.1:6380 >/dev/null
expect_eq "redis: exit status 1 for a replica" "$?" 1
check "redis: nothing listening: unknown" answer_is unknown redis://127.0.0.1:6390
printf 's3cret-Guard-pw\n' >"$T/rpw"
chmod 600 "$T/rpw"
check "redis: requirepass, no password: unknown" answer_is unknown redis://127.0.0.1:6381
check "redis: requirepass, password from the file: primary" answer_is primary redis://127.0.0.1:6381 "$T/rpw"
printf 'wrong\n' >"$T/rpw-bad" && chmod 600 "$T/rpw-bad"
out=$(ask redis://127.0.0.1:6381 "$T/rpw-bad")
check "redis: a wrong password: unknown, saying AUTH" grep -q "^unknown .*AUTH" <<<"$out"
cp "$T/rpw" "$T/rpw-open" && chmod 644 "$T/rpw-open"
out=$(ask redis://127.0.0.1:6381 "$T/rpw-open" 2>&1)
check "redis: a password file others can read is refused" grep -q "unknown .*mode 0644 is readable by others; chmod 600 it" <<<"$out"
check "redis: the password never shows" bash -c "! grep -q s3cret <<<'$out'"
inns redis-cli -p 6380 replicaof no one >/dev/null
check "redis: REPLICAOF NO ONE: the replica answers primary" wait_for 5 answer_is primary redis://127.0.0.1:6380
echo "# redis ROLE (a connection per question): $(median redis://127.0.0.1:6379)"

# A server that accepts and never answers: the timeout bounds the question.
spawn "$T/mute.log" ip netns exec "$NS" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 6399)); s.listen(8); c = []
while True: c.append(s.accept()[0])'
wait_for 5 inns bash -c 'exec 3<>/dev/tcp/127.0.0.1/6399'
t0=${EPOCHREALTIME/./}
out=$(inns "$PROBE" redis://127.0.0.1:6399 - 300 1)
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
expect_eq "mute server: unknown after the timeout" "$out" \
	"unknown redis at 127.0.0.1:6399 cannot be asked: no answer within 300 ms"
echo "# mute server: answered unknown after $ms ms (guard_timeout_ms 300)"
out=$(inns "$PROBE" postgres://g@127.0.0.1:6399 - 300 1)
expect_eq "mute server, postgres: unknown after the timeout" "${out%% *}" unknown
out=$(inns "$PROBE" mysql://g@127.0.0.1:6399 - 300 1)
expect_eq "mute server, mysql: unknown after the timeout" "${out%% *}" unknown

# Servers that answer without end (daemon/rdev.c holds a reply to 4 MiB):
# a bulk string of 1 GiB, and an array of 2^31-1 integers, sent for as long
# as the client reads. Either is hung up on well before the timeout, saying
# why, and the probe's memory stays small.
spawn "$T/flood.log" ip netns exec "$NS" python3 -c '
import socket, threading
def serve(port, head, unit):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(8)
    while True:
        c = s.accept()[0]
        def flood(c=c):
            try:
                c.recv(4096); c.sendall(head)
                for _ in range(100000): c.sendall(unit * (65536 // len(unit)))
            except OSError: pass
            c.close()
        threading.Thread(target=flood, daemon=True).start()
threading.Thread(target=serve, args=(6397, b"$1073741824\r\n", b"x"), daemon=True).start()
serve(6398, b"*2147483647\r\n", b":1\r\n")'
wait_for 5 inns bash -c 'exec 3<>/dev/tcp/127.0.0.1/6398'
for f in "6397 a bulk string of 1 GiB" "6398 an array of 2^31-1 elements"; do
	port=${f%% *}
	out=$(inns /usr/bin/time -f "maxrss %M" "$PROBE" "redis://127.0.0.1:$port" - 5000 1 2>"$T/rss$port")
	expect_eq "flooding server ($f): unknown, hung up at the limit" "$out" \
		"unknown redis at 127.0.0.1:$port cannot be asked: a reply larger than 4 MiB: hung up"
	rss=$(sed -n 's/^maxrss //p' "$T/rss$port")
	check "flooding server ($f): the probe's peak RSS stays under 32 MiB (${rss:-?} KiB)" \
		test "${rss:-999999}" -lt 32768
done

# == PostgreSQL 15 ===============================================================
pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
pgx() { inns setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$T/pgsock" "$T/pg"
chown postgres: "$T/pgsock" "$T/pg"
printf 'guard-pg-pw\n' >"$T/pgpw"
chmod 600 "$T/pgpw"
pg_up() { # DIR PORT
	spawn "$T/pg${1##*/}.log" ip netns exec "$NS" setpriv --reuid=postgres --regid=postgres \
		--init-groups "$PGBIN/postgres" -D "$1" -p "$2" -k "$T/pgsock" \
		-c listen_addresses=127.0.0.1 -c fsync=off -c ssl=off
	wait_for 20 pgx "$PGBIN/pg_isready" -q -h "$T/pgsock" -p "$2"
}
if pg "$PGBIN/initdb" -D "$T/pg/1" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
	>"$T/initdb.log" 2>&1; then
	ok "postgres: initdb a throwaway cluster"
else
	not_ok "postgres: initdb" "$(tail -3 "$T/initdb.log")"
fi
# replication for pg_basebackup; guardt without a password, to show what
# SCRAM costs a question
sed -i '1i host replication postgres 127.0.0.1/32 trust\nhost all guardt 127.0.0.1/32 trust' \
	"$T/pg/1/pg_hba.conf"
check "postgres: the primary starts" pg_up "$T/pg/1" 5432
pgx "$PGBIN/psql" -q -h "$T/pgsock" -p 5432 -U postgres \
	-c "CREATE ROLE guard LOGIN PASSWORD 'guard-pg-pw'" -c "CREATE ROLE guardt LOGIN" >/dev/null
check "postgres: a standby by pg_basebackup -R" pgx "$PGBIN/pg_basebackup" -h 127.0.0.1 \
	-p 5432 -U postgres -D "$T/pg/2" -R -X stream -c fast
check "postgres: the standby starts" pg_up "$T/pg/2" 5433
check "postgres: the primary answers primary" answer_is primary postgres://guard@127.0.0.1:5432/postgres "$T/pgpw"
check "postgres: the standby answers replica" answer_is replica postgres://guard@127.0.0.1:5433/postgres "$T/pgpw"
check "postgres: no password: unknown" answer_is unknown postgres://guard@127.0.0.1:5432/postgres
out=$(ask postgres://guard@127.0.0.1:5432/postgres "$T/rpw-bad")
check "postgres: a wrong password: unknown, saying so" grep -q "^unknown .*password authentication failed" <<<"$out"
check "postgres: nothing listening: unknown" answer_is unknown postgres://guard@127.0.0.1:5439/postgres "$T/pgpw"
echo "# postgres pg_is_in_recovery(), scram-sha-256: $(median postgres://guard@127.0.0.1:5432/postgres "$T/pgpw")"
check "postgres: a trust role answers primary" answer_is primary postgres://guardt@127.0.0.1:5432/postgres
echo "# postgres pg_is_in_recovery(), trust: $(median postgres://guardt@127.0.0.1:5432/postgres)"
pgx "$PGBIN/psql" -q -h "$T/pgsock" -p 5433 -U postgres -c "SELECT pg_promote()" >/dev/null
check "postgres: pg_promote(): the standby answers primary" wait_for 10 \
	answer_is primary postgres://guard@127.0.0.1:5433/postgres "$T/pgpw"

# == MariaDB =====================================================================
mkdir -p "$T/my" "$T/myrun"
chown mysql: "$T/my" "$T/myrun"
if mariadb-install-db --no-defaults --user=mysql --datadir="$T/my" --auth-root-authentication-method=normal \
	--skip-test-db >"$T/my-install.log" 2>&1; then
	ok "mariadb: install a throwaway datadir"
else
	not_ok "mariadb: install-db" "$(tail -3 "$T/my-install.log")"
fi
spawn "$T/mariadbd.log" ip netns exec "$NS" mariadbd --no-defaults --user=mysql \
	--datadir="$T/my" --socket="$T/myrun/my.sock" --pid-file="$T/myrun/my.pid" --port=3306 \
	--bind-address=127.0.0.1 --skip-name-resolve --read-only --skip-log-bin \
	--innodb-buffer-pool-size=16M --log-error="$T/mariadb-err.log"
check "mariadb: mariadbd --read-only starts" wait_for 30 inns mariadb -S "$T/myrun/my.sock" -u root -e "SELECT 1"
inns mariadb -S "$T/myrun/my.sock" -u root -e \
	"CREATE USER 'guard'@'127.0.0.1' IDENTIFIED BY 'guard-my-pw'" >/dev/null
printf 'guard-my-pw\n' >"$T/mypw" && chmod 400 "$T/mypw"
check "mariadb: --read-only answers replica" answer_is replica mysql://guard@127.0.0.1:3306 "$T/mypw"
check "mariadb: a wrong password: unknown" answer_is unknown mysql://guard@127.0.0.1:3306 "$T/rpw-bad"
inns mariadb -S "$T/myrun/my.sock" -u root -e "SET GLOBAL read_only = 0"
check "mariadb: read_only off: primary" answer_is primary mariadb://guard@127.0.0.1:3306 "$T/mypw"
echo "# mariadb @@read_only: $(median mysql://guard@127.0.0.1:3306 "$T/mypw")"

# Fast shutdowns (a smart one waits for the standby's connection).
for d in 2 1; do pg "$PGBIN/pg_ctl" stop -s -D "$T/pg/$d" -m fast >/dev/null 2>&1; done
