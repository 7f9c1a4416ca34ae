#!/usr/bin/env python3
"""legacy_tsa.py - an offline Authenticode (legacy, PKCS#9 countersignature) timestamp server.

usage: legacy_tsa.py --cert TSA.pem --key TSA.key --port-file FILE [--certs EXTRA.pem]

A test tool for corpus/pe.sh (stdlib only, plus the openssl CLI for the RSA signature). It
listens on 127.0.0.1 on an ephemeral port, writes the port number to FILE (atomically, once
it accepts connections) and answers `osslsigncode sign -t http://127.0.0.1:PORT/TIME[/MD]`:

  request   POST, body = base64 (or raw DER) of
              TimeStampRequest ::= SEQUENCE {
                countersignatureType OBJECT IDENTIFIER,   -- 1.3.6.1.4.1.311.3.2.1
                content SEQUENCE {                        -- a ContentInfo
                  contentType OBJECT IDENTIFIER,          -- 1.2.840.113549.1.7.1 (data)
                  content [0] EXPLICIT OCTET STRING } }   -- the SignerInfo's encryptedDigest
  response  200, Content-Type application/octet-stream, body = base64 (one line, no newline)
            of a DER ContentInfo(PKCS#7 SignedData) {
              digestAlgorithms {MD}, contentInfo {data, [0] the same octets},
              certificates [0] {TSA.pem, EXTRA.pem...},
              signerInfos { SignerInfo v1 { issuerAndSerialNumber of TSA.pem, MD,
                authenticatedAttributes [0] { contentType data, signingTime TIME,
                                              messageDigest MD(octets) },
                rsaEncryption, encryptedDigest = RSA-PKCS#1-v1.5 with MD over the DER SET OF
                the attributes (openssl dgst -sign) } } }
osslsigncode copies the certificates into the signature's bag and the SignerInfo into the
primary SignerInfo's unauthenticated attributes as a pkcs9 counterSignature (1.2.840.113549.1.9.6).

The URL path pins the signingTime: /TIME is seconds since the epoch (UTCTime, so 1950..2049),
/TIME/MD also picks the digest (sha1, sha256 [default], sha384, sha512). Anything malformed
gets a 400 and a line on stderr. The server exits when its parent process goes away (checked
about once a second), so a killed pe.sh leaves nothing behind.
"""
import argparse
import base64
import hashlib
import http.server
import os
import subprocess
import sys
import tempfile
import time

OID_TS_REQUEST = "1.3.6.1.4.1.311.3.2.1"
OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_RSA = "1.2.840.113549.1.1.1"
DIGESTS = {
    "sha1": "1.3.14.3.2.26",
    "sha256": "2.16.840.1.101.3.4.2.1",
    "sha384": "2.16.840.1.101.3.4.2.2",
    "sha512": "2.16.840.1.101.3.4.2.3",
}


class Bad(Exception):
    pass


# --- DER, the little that is needed ---------------------------------------------------------
def tlv(d, i):
    """(tag, value start, value end) of the element at i; definite lengths only."""
    if i + 2 > len(d):
        raise Bad("DER truncated at %d" % i)
    tag, n = d[i], d[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        if not 1 <= k <= 4 or i + k > len(d):
            raise Bad("DER length of %d bytes at %d" % (k, i))
        n = int.from_bytes(d[i:i + k], "big")
        i += k
    if i + n > len(d):
        raise Bad("DER element overruns its buffer at %d" % i)
    return tag, i, i + n


def children(d, start, end):
    out, i = [], start
    while i < end:
        tag, vs, ve = tlv(d, i)
        out.append((tag, i, vs, ve))
        i = ve
    if i != end:
        raise Bad("DER children overrun their parent")
    return out


def enc(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes([tag, n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([tag, 0x80 | len(b)]) + b
    return head + body


def oid(text):
    parts = [int(x) for x in text.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for v in parts[2:]:
        chunk = [v & 0x7F]
        v >>= 7
        while v:
            chunk.append(0x80 | (v & 0x7F))
            v >>= 7
        body += bytes(reversed(chunk))
    return enc(0x06, bytes(body))


def seq(*parts):
    return enc(0x30, b"".join(parts))


def der_set(*parts, sort=False):
    return enc(0x31, b"".join(sorted(parts) if sort else parts))


def algid(o):
    return seq(oid(o), b"\x05\x00")


# --- the certificate ------------------------------------------------------------------------
def pem_certs(path):
    out, cur = [], None
    with open(path, encoding="ascii") as f:
        for line in f:
            line = line.strip()
            if line == "-----BEGIN CERTIFICATE-----":
                cur = []
            elif line == "-----END CERTIFICATE-----" and cur is not None:
                out.append(base64.b64decode("".join(cur)))
                cur = None
            elif cur is not None:
                cur.append(line)
    if not out:
        raise SystemExit("legacy_tsa: no certificate in %s" % path)
    return out


def issuer_and_serial(cert):
    """DER SEQUENCE {issuer, serialNumber} of a DER certificate."""
    _, vs, ve = tlv(cert, 0)
    tbs = children(cert, vs, ve)[0]
    k = children(cert, tbs[2], tbs[3])
    if k[0][0] == 0xA0:                      # [0] version
        k = k[1:]
    serial, issuer = k[0], k[2]
    if serial[0] != 0x02 or issuer[0] != 0x30:
        raise SystemExit("legacy_tsa: cannot find the issuer and serial number")
    return seq(cert[issuer[1]:issuer[3]], cert[serial[1]:serial[3]])


# --- the request and the response -----------------------------------------------------------
def request_octets(body):
    """The OCTET STRING of a TimeStampRequest (body: base64 or DER)."""
    body = body.strip()
    if not body.startswith(b"\x30"):
        try:
            body = base64.b64decode(body, validate=False)
        except ValueError as e:
            raise Bad("body is neither DER nor base64: %s" % e)
    tag, vs, ve = tlv(body, 0)
    if tag != 0x30 or ve != len(body):
        raise Bad("not one DER SEQUENCE")
    k = children(body, vs, ve)
    if len(k) != 2 or body[k[0][1]:k[0][3]] != oid(OID_TS_REQUEST) or k[1][0] != 0x30:
        raise Bad("not a TimeStampRequest (countersignatureType %s)" % OID_TS_REQUEST)
    ci = children(body, k[1][2], k[1][3])
    if len(ci) != 2 or body[ci[0][1]:ci[0][3]] != oid(OID_DATA) or ci[1][0] != 0xA0:
        raise Bad("the request's content is not a data ContentInfo with [0] content")
    inner = children(body, ci[1][2], ci[1][3])
    if len(inner) != 1 or inner[0][0] != 0x04:
        raise Bad("the request's [0] content is not one OCTET STRING")
    return body[inner[0][2]:inner[0][3]]


def utctime(t):
    tm = time.gmtime(t)
    if not 1950 <= tm.tm_year <= 2049:
        raise Bad("signingTime %d outside UTCTime's 1950..2049" % t)
    return enc(0x17, time.strftime("%y%m%d%H%M%SZ", tm).encode("ascii"))


def rsa_sign(key, md, data):
    with tempfile.NamedTemporaryFile(prefix="legacy_tsa.", suffix=".sig") as out:
        p = subprocess.run(["openssl", "dgst", "-" + md, "-sign", key, "-out", out.name],
                           input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           check=False)
        if p.returncode != 0:
            raise Bad("openssl dgst -sign failed: %s" % p.stderr.decode(errors="replace"))
        return out.read()


def response(octets, when, md, cfg):
    attrs = der_set(
        seq(oid(OID_CONTENT_TYPE), der_set(oid(OID_DATA))),
        seq(oid(OID_SIGNING_TIME), der_set(utctime(when))),
        seq(oid(OID_MESSAGE_DIGEST), der_set(enc(0x04, hashlib.new(md, octets).digest()))),
        sort=True)                           # DER: SET OF in encoding order
    sig = rsa_sign(cfg.key, md, attrs)
    signer_info = seq(
        b"\x02\x01\x01", cfg.ias, algid(DIGESTS[md]),
        b"\xA0" + attrs[1:],                 # [0] IMPLICIT SET OF Attribute
        algid(OID_RSA), enc(0x04, sig))
    signed_data = seq(
        b"\x02\x01\x01", der_set(algid(DIGESTS[md])),
        seq(oid(OID_DATA), enc(0xA0, enc(0x04, octets))),
        enc(0xA0, b"".join(cfg.certs)),
        der_set(signer_info))
    return seq(oid(OID_SIGNED_DATA), enc(0xA0, signed_data))


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "sigsweep-legacy-tsa/1"

    def log_message(self, fmt, *args):  # noqa: N802 (stdlib name)
        sys.stderr.write("legacy_tsa: %s\n" % (fmt % args))

    def do_POST(self):  # noqa: N802
        try:
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            if not 1 <= len(parts) <= 2 or not parts[0].isdigit():
                raise Bad("path %r: want /TIME or /TIME/MD" % self.path)
            when, md = int(parts[0]), parts[1] if len(parts) == 2 else "sha256"
            if md not in DIGESTS:
                raise Bad("digest %r: want one of %s" % (md, ", ".join(DIGESTS)))
            n = int(self.headers.get("Content-Length", "-1"))
            if not 0 < n <= 1 << 20:
                raise Bad("Content-Length %d" % n)
            octets = request_octets(self.rfile.read(n))
            body = base64.b64encode(response(octets, when, md, self.server.cfg))
        except Bad as e:
            self.log_message("400: %s", e)
            self.send_error(400, str(e))
            return
        self.log_message("timestamped %d octets at %d with %s", len(octets), when, md)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cert", required=True, help="the TSA certificate (PEM)")
    ap.add_argument("--key", required=True, help="its private key (PEM, RSA)")
    ap.add_argument("--certs", help="more certificates for the response (PEM)")
    ap.add_argument("--port-file", required=True)
    cfg = ap.parse_args()
    tsa = pem_certs(cfg.cert)[0]
    cfg.ias = issuer_and_serial(tsa)
    cfg.certs = [tsa] + (pem_certs(cfg.certs) if cfg.certs else [])

    parent = os.getppid()
    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    srv.cfg = cfg
    srv.timeout = 1.0
    tmp = cfg.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, cfg.port_file)
    while os.getppid() == parent:
        srv.handle_request()
    srv.server_close()


if __name__ == "__main__":
    main()
