#!/usr/bin/env python3
"""cli.pe_datatype: the data type of an Authenticode signature's SpcIndirectDataContent.

A PE built with mingw-w64 is signed with osslsigncode (SPC_PE_IMAGE_DATA, 1.3.6.1.4.1.311.2.1.15),
then re-encoded as other signers write it: the data type's last arc changed, the messageDigest
attribute recomputed over the new content and the signed attributes signed again with the same
key, so each variant is a correct signature of its own content. Expected:
  2.1.15 (as signed)        VALID
  2.1.21 (Debian's fwupd)   VALID, the type named in the reason
  2.1.25 (a CAB hash)       UNSUPPORTED, naming the type
  2.1.21, not re-signed     not VALID (the content the signer signed was changed)
Skipped (77) without x86_64-w64-mingw32-gcc, osslsigncode or openssl.
Usage: pe_datatype.py SIGSWEEP WORKDIR"""
import hashlib
import os
import shutil
import struct
import subprocess
import sys

from sgs_cli import Checker

TOOLS = ("x86_64-w64-mingw32-gcc", "osslsigncode", "openssl")
PE_IMAGE_OID = bytes.fromhex("060a2b0601040182370201") + b"\x0f"


def tlv(d, i):
    """(tag, content start, content length) of the DER element at i."""
    tag, first = d[i], d[i + 1]
    if first < 0x80:
        return tag, i + 2, first
    n = first & 0x7F
    return tag, i + 2 + n, int.from_bytes(d[i + 2:i + 2 + n], "big")


def kids(d, start, length):
    """The elements inside content [start, start+length): (tag, header start, content start, len)."""
    out, i = [], start
    while i < start + length:
        tag, c, n = tlv(d, i)
        out.append((tag, i, c, n))
        i = c + n
    return out


def cert_table(pe):
    """(offset, size) of the PE certificate table (data directory 4)."""
    lfanew = struct.unpack_from("<I", pe, 0x3C)[0]
    opt = lfanew + 24
    magic = struct.unpack_from("<H", pe, opt)[0]
    dirs = opt + (96 if magic == 0x10B else 112)
    return struct.unpack_from("<II", pe, dirs + 4 * 8)


def variant(pe, key, last_arc, resign, work):
    """The signed PE with its data type's last arc set to last_arc (re-signed or not)."""
    d = bytearray(pe)
    off, _size = cert_table(pe)
    p7 = off + 8                                    # WIN_CERTIFICATE header
    _t, c, n = tlv(d, p7)                           # ContentInfo
    _oid, explicit = kids(d, c, n)[:2]
    _t, sc, sn = tlv(d, explicit[2])                # SignedData
    sd = kids(d, sc, sn)
    content_info = sd[2]
    ci = kids(d, content_info[2], content_info[3])
    idc_tag, idc_c, idc_n = tlv(d, ci[1][2])        # [0] holds SpcIndirectDataContent
    assert idc_tag == 0x30
    old_md = hashlib.sha256(bytes(d[idc_c:idc_c + idc_n])).digest()
    at = bytes(d).find(PE_IMAGE_OID, idc_c, idc_c + idc_n)
    assert at > 0, "no SPC_PE_IMAGE_DATA in the content"
    d[at + len(PE_IMAGE_OID) - 1] = last_arc
    if not resign:
        return bytes(d)
    new_md = hashlib.sha256(bytes(d[idc_c:idc_c + idc_n])).digest()
    signer_infos = sd[-1]
    si = kids(d, signer_infos[2], signer_infos[3])[0]
    parts = kids(d, si[2], si[3])
    attrs = [p for p in parts if p[0] == 0xA0][0]
    enc = parts[-1]
    assert enc[0] == 0x04
    a0, a1 = attrs[1], attrs[2] + attrs[3]
    md_at = bytes(d).find(old_md, a0, a1)
    assert md_at > 0, "no messageDigest attribute"
    d[md_at:md_at + 32] = new_md
    to_sign = b"\x31" + bytes(d[a0 + 1:a1])          # signed as a SET OF
    path = os.path.join(work, "attrs.der")
    with open(path, "wb") as f:
        f.write(to_sign)
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key, path],
                         capture_output=True, check=True).stdout
    assert len(sig) == enc[3], "signature length changed"
    d[enc[2]:enc[2] + enc[3]] = sig
    return bytes(d)


def verdict(sigsweep, trust, path):
    p = subprocess.run([sigsweep, "verify", "--trust", trust, path],
                       capture_output=True, text=True, timeout=60)
    line = p.stdout.strip().splitlines()[0] if p.stdout.strip() else ""
    return p.returncode, line


def main():
    sigsweep, work = sys.argv[1], sys.argv[2]
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print("pe_datatype: SKIP: missing %s" % " ".join(missing))
        return 77
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    run = lambda *a: subprocess.run(a, cwd=work, capture_output=True, check=True)  # noqa: E731
    with open(os.path.join(work, "hello.c"), "w") as f:
        f.write("int main(void) { return 0; }\n")
    run("x86_64-w64-mingw32-gcc", "-O0", "-o", "hello.exe", "hello.c")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem",
        "-out", "c.pem", "-subj", "/CN=pe datatype test", "-days", "30",
        "-addext", "extendedKeyUsage=codeSigning")
    run("osslsigncode", "sign", "-certs", "c.pem", "-key", "k.pem", "-h", "sha256",
        "-in", "hello.exe", "-out", "signed.exe")
    with open(os.path.join(work, "signed.exe"), "rb") as f:
        pe = f.read()
    key, trust = os.path.join(work, "k.pem"), os.path.join(work, "c.pem")
    ck = Checker()
    cases = [("pe_image.exe", 0x0F, True, "VALID", None),
             ("individual.exe", 0x15, True, "VALID", "1.3.6.1.4.1.311.2.1.21"),
             ("cab.exe", 0x19, True, "UNSUPPORTED", "1.3.6.1.4.1.311.2.1.25"),
             ("individual_unsigned.exe", 0x15, False, "BAD_SIGNATURE", None)]
    for name, arc, resign, want, named in cases:
        path = os.path.join(work, name)
        with open(path, "wb") as f:
            f.write(variant(pe, key, arc, resign, work) if arc != 0x0F else pe)
        rc, line = verdict(sigsweep, trust, path)
        ck.check(("%s: %s " % (path, want)) in line + " ",
                 "%s: want %s, got %r (rc %d)" % (name, want, line, rc))
        ck.check(rc == (0 if want == "VALID" else 1), "%s: exit status %d" % (name, rc))
        if named:
            ck.check(named in line, "%s: the reason does not name %s: %r" % (name, named, line))
    return ck.finish("pe_datatype", "%d variants" % len(cases))


if __name__ == "__main__":
    sys.exit(main())
