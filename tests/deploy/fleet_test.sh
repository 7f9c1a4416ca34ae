#!/usr/bin/env bash
# tests/deploy/fleet_test.sh BUILD-DIR SOURCE-DIR VERSION
# deploy/ansible/fleet.yml against three "hosts": one sshd each on 127.0.0.2, .3 and .4 (a high
# port, a throwaway host key, an authorized key made here; nothing else listens), each host with
# its own root, keys, agents and planted problems (a bad signature, an unsigned file, an agent
# without its key file), all under this test's temp dir, given to the playbook as inventory
# variables. The .deb is built with cpack and installed per host with `dpkg --root` into that
# host's directory (never into /). Checks each fetched report record by record, the merged
# one's counts against them, and the HTML page.
# The sshd processes run in a private mount namespace (a tmpfs /run for their privilege
# separation directory) and are always stopped. Exit 77 (skip) unless root with ansible-core,
# openssh-server, cpack and dpkg-deb.
set -uo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) version=$3
skip() { echo "deploy: SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "not root (sshd on loopback addresses needs root)"
command -v ansible-playbook >/dev/null || skip "ansible-playbook not installed (Debian: ansible-core)"
[ -x /usr/sbin/sshd ] || skip "sshd not installed (Debian: openssh-server)"
for t in ssh ssh-keygen cpack dpkg-deb unshare python3; do
  command -v $t >/dev/null || skip "$t not installed"
done
set -e
bin=$build/cli/sigsweep
T=$(mktemp -d /tmp/sgs-deploy.XXXXXX)
pids=()
cleanup() {
  # Ansible's SSH masters (ControlPersist) first: their sessions on the sshd side end with them.
  # (Every command here may fail without stopping the clean-up: this runs under set -e.)
  for s in "$T"/cp/*; do
    [ ! -S "$s" ] || ssh -o ControlPath="$s" -O exit sgs-deploy-host >/dev/null 2>&1 || true
  done
  # Then each sshd's own children (its connections), then the sshd.
  for p in "${pids[@]}"; do
    pkill -TERM -P "$p" 2>/dev/null || true
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  [ -n "${SGS_DEPLOY_KEEP:-}" ] && echo "deploy: kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 2' INT TERM
fail() { echo "deploy: FAIL: $*" >&2; exit 1; }
started=$(date +%s)

# ---- the package --------------------------------------------------------------------------
(cd "$T" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$T/pkg" >"$T/cpack.log" 2>&1) ||
  { cat "$T/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$T"/pkg/sigsweep_"$version"_*.deb)

# ---- the hosts ----------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/id_ed25519"
cp "$T/id_ed25519.pub" "$T/authorized_keys"
chmod 700 "$T"
port_free() { ! ss -Hltn "src $1:$2" | grep -q .; }
port=$((20000 + RANDOM % 20000))
for _ in $(seq 20); do
  port_free 127.0.0.2 $port && port_free 127.0.0.3 $port && port_free 127.0.0.4 $port && break
  port=$((20000 + RANDOM % 20000))
done
hosts=(h2 h3 h4)
for i in 2 3 4; do
  h=h$i
  cat >"$T/sshd_$h.conf" <<CONF
ListenAddress 127.0.0.$i:$port
HostKey $T/hostkey
PidFile $T/sshd_$h.pid
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
MaxStartups 30
Subsystem sftp internal-sftp
CONF
  unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o mode=0755 sgs-deploy /run && mkdir -m 0755 /run/sshd &&
     /usr/sbin/sshd -t -f "$1" && exec /usr/sbin/sshd -D -e -f "$1"' _ "$T/sshd_$h.conf" >"$T/sshd_$h.log" 2>&1 </dev/null &
  pids+=($!)
done
for i in 2 3 4; do
  for _ in $(seq 50); do ! port_free 127.0.0.$i $port && break; sleep 0.1; done
  port_free 127.0.0.$i $port && { cat "$T"/sshd_h$i.log; fail "sshd on 127.0.0.$i:$port did not start"; }
done
echo "deploy: sshd on 127.0.0.2-4:$port"

# Each host: programs signed with its own key, one tampered after signing, one unsigned; agents
# with the server's key file, one without it.
key_type=([2]=ed25519 [3]=ec-p256 [4]=rsa2048)
for i in 2 3 4; do
  h=h$i d=$T/hosts/$h
  mkdir -p "$d/programs/bin" "$d/programs/lib" "$d/agents"
  "$bin" keygen --type "${key_type[$i]}" --out "$d/keys" >/dev/null
  for f in bin/agent bin/updater lib/libcore.so lib/libnet.so lib/libui.so; do
    head -c $((1000 * i + 17)) /dev/urandom >"$d/programs/$f"
  done
  "$bin" sign --key "$d/keys/server.key" -q "$d/programs" >/dev/null
  if [ $i != 2 ]; then  # CMS (not Ed25519): VALID only with the host's trust store
    head -c 3000 /dev/urandom >"$d/programs/lib/libcms.so"
    "$bin" sign --key "$d/keys/server.key" --cert "$d/keys/server.crt" -q "$d/programs/lib/libcms.so" >/dev/null
  fi
  printf 'tampered' >>"$d/programs/lib/libnet.so"              # BAD_SIGNATURE
  head -c 100 /dev/urandom >"$d/programs/bin/helper-$h"          # NO_SIGNATURE
  for a in 1 2 3 4; do mkdir -p "$d/agents/agent$a"; done
  for a in 1 2 3; do cp "$d/keys/OfcNTCer.dat" "$d/agents/agent$a/"; done  # agent4: MISSING_FILE
  printf '[Global Settings]\nCheckDigitalSignatureForUpgrade=1\n' >"$d/policy.ini"
done
shard_vars=""
if "$bin" verify --help | grep -q -- '--shard'; then shard_vars="sigsweep_shard=1/1"; fi

{
  echo "[fleet]"
  for i in 2 3 4; do
    h=h$i d=$T/hosts/$h
    echo "$h ansible_host=127.0.0.$i sigsweep_install_root=$d/root" \
         "sigsweep_work_dir=$d/work sigsweep_roots='[\"$d/programs\"]'" \
         "sigsweep_keys='[\"$d/keys/server.crt\"]' sigsweep_policy=$d/policy.ini" \
         "$([ $i != 2 ] && echo "sigsweep_trust='[\"$d/keys/server.crt\"]'")" \
         "sigsweep_cache_dir=$d/cache sigsweep_agents_server_cert=$d/keys/server.crt" \
         "sigsweep_agents_dirs='[\"$d/agents\"]' $([ $i = 4 ] && echo "$shard_vars")"
  done
  echo "[fleet:vars]"
  echo "ansible_port=$port"
  echo "ansible_user=root"
  echo "ansible_python_interpreter=/usr/bin/python3"
} >"$T/inventory.ini"
cat >"$T/ansible.cfg" <<CFG
[defaults]
host_key_checking = False
forks = 3
local_tmp = $T/ansible-local
remote_tmp = $T/ansible-remote
interpreter_python = /usr/bin/python3
retry_files_enabled = False
log_path = $T/ansible-timed.log
[ssh_connection]
pipelining = True
control_path_dir = $T/cp
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=$T/known_hosts -o IdentitiesOnly=yes -o IdentityFile=$T/id_ed25519 -o BatchMode=yes
CFG
mkdir -p "$T/reports"
export ANSIBLE_CONFIG=$T/ansible.cfg ANSIBLE_HOME=$T/ansible-home ANSIBLE_NOCOLOR=1
export PATH=$build/cli:$PATH  # the controller's sigsweep: the one built here
if ! ansible-playbook -i "$T/inventory.ini" "$src/deploy/ansible/fleet.yml" \
      -e "sigsweep_deb=$deb" -e "sigsweep_fetch_dir=$T/reports" >"$T/ansible.log" 2>&1; then
  cat "$T/ansible.log"; fail "ansible-playbook"
fi
grep -E '^(PLAY RECAP|h[234] |localhost )' -A0 "$T/ansible.log" | sed 's/^/deploy: /'

# ---- the reports ----------------------------------------------------------------------------
python3 - "$T" <<'PY' || fail "the reports (above)"
import json, os, sys
T = sys.argv[1]
errors = []
def records(path):
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                out.append(json.loads(line))
            except ValueError:
                errors.append(f"{path}:{n}: not JSON")
    return [r for r in out if r.get("type", "record") != "run"], out
total = {}
for i in (2, 3, 4):
    h, d = f"h{i}", f"{T}/hosts/h{i}"
    for cmd in ("verify", "agents"):
        p = f"{T}/reports/{h}-{cmd}.jsonl"
        if not os.path.exists(p):
            errors.append(f"{h}: no fetched {cmd} report {p}"); continue
        recs, _ = records(p)
        got = {}
        for r in recs:
            if not r["path"].startswith(d + "/"):
                errors.append(f"{h}: {cmd} record of another host's file: {r['path']}")
            got[os.path.relpath(r["path"], d)] = r["verdict"]
            total[r["verdict"]] = total.get(r["verdict"], 0) + 1
        if cmd == "verify":
            want = {f"programs/{f}": "VALID" for f in
                    ("bin/agent", "bin/updater", "lib/libcore.so", "lib/libui.so")}
            want["programs/lib/libnet.so"] = "BAD_SIGNATURE"
            want[f"programs/bin/helper-{h}"] = "NO_SIGNATURE"
            if i != 2:  # sigsweep_trust reached the command
                want["programs/lib/libcms.so"] = "VALID"
        else:
            want = {f"agents/agent{a}/OfcNTCer.dat": "VALID" for a in (1, 2, 3)}
            want["agents/agent4/OfcNTCer.dat"] = "MISSING_FILE"
        if got != want:
            errors.append(f"{h} {cmd}: got {sorted(got.items())}, want {sorted(want.items())}")
    if not os.listdir(f"{d}/cache"):  # sigsweep_cache_dir reached the command
        errors.append(f"{h}: nothing in its cache directory {d}/cache")
    for f in ("lib/libnet.so", f"bin/helper-{h}"):  # audit mode: nothing quarantined
        if not os.path.exists(f"{d}/programs/{f}"):
            errors.append(f"{h}: {f} was renamed (quarantined) by an audit")
log = open(f"{T}/ansible.log").read()
merged = f"{T}/reports/fleet.jsonl"
if not os.path.exists(merged):
    errors.append("no merged report fleet.jsonl (sigsweep report merge)")
else:
    recs, allrecs = records(merged)
    m = {}
    for r in recs:
        if "verdict" in r:
            m[r["verdict"]] = m.get(r["verdict"], 0) + 1
    if m != total:
        errors.append(f"merged report counts {m}, the hosts' reports {total}")
    if sum(1 for r in allrecs if r.get("type") == "run") != 6:
        errors.append("the merged report does not hold the 6 runs (3 hosts, verify and agents)")
html = f"{T}/reports/fleet.html"
if not os.path.exists(html):
    errors.append("no fleet.html (sigsweep report html)")
else:
    page = open(html, encoding="utf-8").read()
    # the hosts judged with other keys and trust (h2 without sigsweep_trust): the merge's notes
    if 'id="sgs-data"' not in page or "other keys" not in open(merged).read():
        errors.append("fleet.html without its data, or the merge without its note on mixed keys")
print(f"deploy: merged report: {total}")
for e in errors:
    print("deploy: FAIL:", e)
sys.exit(1 if errors else 0)
PY
for i in 2 3 4; do [ -x "$T/hosts/h$i/root/usr/bin/sigsweep" ] || fail "h$i: no sigsweep installed in its root"; done
echo "deploy: 3 hosts audited, reports checked in $(( $(date +%s) - started )) s"
