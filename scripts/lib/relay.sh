# Shared by scripts/relay-throughput.sh and scripts/relay-idle-rss.sh; sourced after servers.sh.
#
# RELAY_USER=NAME runs tstun as that user with no capabilities (as systemd's DynamicUser does), so
# that the kernel's per-user pipe budget (fs.pipe-user-pages-soft) applies to the relay's pipes;
# as root (or with CAP_SYS_RESOURCE) it does not. Needs root and setpriv (util-linux).

# relay_user_wrapper DIR: when RELAY_USER is set, points TSTUN at a wrapper in DIR that execs the
# binary as that user (the process id stays the same, so the CPU and RSS read are tstun's).
relay_user_wrapper() {
  [ -n "${RELAY_USER:-}" ] || return 0
  command -v setpriv >/dev/null || { echo "RELAY_USER needs setpriv (apt-get install util-linux)" >&2; return 1; }
  local binary uid gid
  binary=$(realpath "${TSTUN:-artifacts/tstun/tstun}")
  uid=$(id -u "$RELAY_USER") && gid=$(id -g "$RELAY_USER") || { echo "no user '$RELAY_USER'" >&2; return 1; }
  cat >"$1/tstun-as-user" <<WRAPPER
#!/bin/sh
exec setpriv --reuid=$uid --regid=$gid --clear-groups --inh-caps=-all --bounding-set=-all "$binary" "\$@"
WRAPPER
  chmod +x "$1/tstun-as-user"
  chmod o+x "$1"
  TSTUN=$1/tstun-as-user
  echo "tstun runs as $RELAY_USER (uid $uid), without capabilities: pipe budget $(cat /proc/sys/fs/pipe-user-pages-soft) pages" >&2
}
