# corpus/lib.sh - what the corpus scripts share; sourced, not run. Needs a die() function.

# claim_outdir DIR STAMP MAKER: create DIR, or wipe one a corpus script made before (it holds
# the file STAMP); never touch anything else. Sets `out` to DIR's absolute path and writes
# STAMP saying MAKER made it, "state=incomplete" until the script marks it complete.
claim_outdir() {
    local dir=$1 stamp=$2 maker=$3
    if [[ -e $dir || -L $dir ]]; then
        [[ -d $dir && ! -L $dir ]] || die "$dir exists and is not a directory"
        if [[ -n $(ls -A -- "$dir") ]]; then
            [[ -f $dir/$stamp ]] ||
                die "refusing to write into non-empty $dir: no $stamp stamp (not made by me)"
            chmod -R u+rwX -- "$dir" 2>/dev/null || true # unreadable test files, too
            find "$dir" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
        fi
    else
        mkdir -p -- "$dir"
    fi
    out=$(cd -- "$dir" && pwd)
    printf 'made by %s; may be deleted and regenerated\nstate=incomplete\n' "$maker" \
        >"$out/$stamp"
}

# new_ca NAME SERIAL: an `openssl ca` directory $out/ca/NAME (its key and certificate go to
# ca.key and ca.pem), able to issue certificates and CRLs.
new_ca() {
    local d=$out/ca/$1
    mkdir -p "$d/newcerts"
    : >"$d/index.txt"
    printf '%s\n' "$2" >"$d/serial"
    printf '%s\n' "$2" >"$d/crlnumber"
    cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
crl_extensions = crl_ext
[ policy_any ]
organizationName = optional
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
}
