# shellcheck shell=bash
# bench/lib/sshd.sh - sourced by the benchmarks that collect over SSH
# (bench/collect.sh, bench/serve.sh): sshd instances on 127.0.0.1 with
# throw-away keys, and an inventory of "hosts" spread over them. Every
# host is this machine logging in as root.
#
# The caller sets W (a work folder it removes) and an array PIDS, and on
# exit kills each PID's process group (each sshd leads its own):
#   for p in "${PIDS[@]}"; do kill -- "-$p"; done
# sshd_start N starts N servers; it fills PORTS, writes $W/user (the
# client key), $W/authorized_keys and $W/known_hosts.

sshd_start() {
    local n=$1 i d port pid
    for t in /usr/sbin/sshd ssh-keygen; do
        command -v "$t" >/dev/null || { echo "$0: $t is missing (openssh-server, openssh-client)" >&2; exit 2; }
    done
    ssh-keygen -q -t ed25519 -N '' -C lvsdoctor-bench -f "$W/user"
    cp "$W/user.pub" "$W/authorized_keys"
    : >"$W/known_hosts"
    mkdir -p /run/sshd # sshd's privilege separation folder, which a container may lack
    PORTS=()
    for i in $(seq "$n"); do
        d="$W/sshd$i"; mkdir "$d"
        ssh-keygen -q -t ed25519 -N '' -f "$d/host"
        for _ in 1 2 3 4 5; do
            port=$((40000 + RANDOM % 20000))
            ss -Hltn "sport = :$port" | grep -q . && continue
            cat >"$d/sshd_config" <<EOC
Port $port
ListenAddress 127.0.0.1
HostKey $d/host
AuthorizedKeysFile $W/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
PidFile $d/sshd.pid
MaxStartups 200:30:400
EOC
            setsid /usr/sbin/sshd -D -e -f "$d/sshd_config" 2>"$d/log" &
            pid=$!; PIDS+=("$pid")
            for _ in $(seq 200); do
                grep -q "Server listening on 127.0.0.1 port $port" "$d/log" && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
            done
            if grep -q "Server listening on 127.0.0.1 port $port" "$d/log"; then
                PORTS+=("$port")
                echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$d/host.pub")" >>"$W/known_hosts"
                break
            fi
            kill -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
        done
        [ "${#PORTS[@]}" = "$i" ] || { echo "$0: sshd $i did not start:"; cat "$d/log"; exit 1; } >&2
    done
}

# sshd_hosts N: "name:port" words, the hosts spread over the servers.
sshd_hosts() {
    local i
    for ((i = 0; i < $1; i++)); do echo "h$i:${PORTS[i % ${#PORTS[@]}]}"; done
}

# sshd_inventory N: lvsdoctor's inventory of the same hosts.
sshd_inventory() {
    echo "defaults: {user: root, identity: $W/user, timeout: 5m}"
    echo "hosts:"
    local h
    for h in $(sshd_hosts "$1"); do echo "  - {name: ${h%:*}, address: 127.0.0.1, port: ${h#*:}}"; done
}
