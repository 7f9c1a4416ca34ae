/*
 * trust_load.c - the run's trust material from files: certificates and CRLs (--trust,
 * --untrusted, --search, --crl, --tsa-trust), and the one certificate/CRL file parser.
 *
 * DESIGN: sgs_pki_parse reads PEM (any number of CERTIFICATE, TRUSTED CERTIFICATE and X509 CRL
 * blocks through keys.c's one PEM reader; other public blocks skipped, private keys refused) or
 * exactly one DER certificate or CRL, and hands each object to a callback that owns it from
 * then on. sgs_trust_add files what it parses under sgs_trust's lists (a certificate already
 * held is kept once, with the first file that held it, so a diagnosis can name where a fix
 * would come from) or its CRL stack. A file is taken whole or not at all; a directory is every
 * regular file in it (hashed directories link the same certificates twice). Validation of what
 * is loaded here is trust.c's.
 */
#include "trust.h"

#include "alloc.h"
#include "err.h"
#include "keys.h"
#include "scan.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static sgs_status
list_add(const sgs_allocator *a, sgs_certlist *l, X509 *x, const char *path)
{
    for (size_t i = 0; i < l->count; i++) {
        if (X509_cmp(l->items[i].cert, x) == 0) { /* same certificate: keep the first file */
            X509_free(x);
            return SGS_OK;
        }
    }
    if (l->count == l->cap) {
        const size_t cap = l->cap ? 2 * l->cap : 8;
        sgs_certref *const items = sgs_calloc(a, cap, sizeof(*items));
        if (items == NULL) {
            X509_free(x);
            return SGS_ERR_NOMEM;
        }
        if (l->count > 0)
            memcpy(items, l->items, l->count * sizeof(*items));
        sgs_free(a, l->items);
        l->items = items;
        l->cap = cap;
    }
    char *const copy = sgs_strdup(a, path);
    if (copy == NULL) {
        X509_free(x);
        return SGS_ERR_NOMEM;
    }
    l->items[l->count].cert = x;
    l->items[l->count].path = copy;
    l->count++;
    return SGS_OK;
}

static sgs_certlist *
list_of(sgs_trust *t, sgs_material kind)
{
    switch (kind) {
    case SGS_MAT_TRUST:
        return &t->trusted;
    case SGS_MAT_UNTRUSTED:
        return &t->untrusted;
    case SGS_MAT_SEARCH:
        return &t->search;
    case SGS_MAT_CRL:
    case SGS_MAT_TSA: /* a store of its own (engine.c), filled as SGS_MAT_TRUST */
        break;
    }
    return NULL;
}

/* Takes one parsed object: a certificate (x) or a CRL (crl). */
static sgs_status
take(sgs_trust *t, sgs_material kind, X509 *x, X509_CRL *crl, const char *path, char *err,
     size_t errlen)
{
    if (kind == SGS_MAT_CRL) {
        X509_free(x);
        if (crl == NULL) {
            snprintf(err, errlen, "%s: a certificate where a CRL was expected", path);
            return SGS_ERR_KEY;
        }
        if (t->crls == NULL && (t->crls = sk_X509_CRL_new_null()) == NULL) {
            X509_CRL_free(crl);
            return SGS_ERR_NOMEM;
        }
        if (!sk_X509_CRL_push(t->crls, crl)) {
            X509_CRL_free(crl);
            return SGS_ERR_NOMEM;
        }
        return SGS_OK;
    }
    X509_CRL_free(crl);
    if (x == NULL) {
        snprintf(err, errlen, "%s: a CRL where a certificate was expected", path);
        return SGS_ERR_KEY;
    }
    sgs_certlist *const list = list_of(t, kind);
    if (list == NULL) {
        X509_free(x);
        return SGS_ERR_INVALID_ARG;
    }
    return list_add(t->alloc, list, x, path);
}

typedef struct pki_blocks {
    sgs_pki_fn fn;
    void *opaque;
    const char *path;
    char *err;
    size_t errlen;
    unsigned found;
} pki_blocks;

/* One PEM block of a certificate file: certificates and CRLs go to fn; other public blocks are
   skipped; a private key or a block that does not decode stops the file. */
static sgs_status
pki_block(void *opaque, unsigned index, const char *name, const unsigned char *data, long dlen)
{
    pki_blocks *const pb = opaque;
    const unsigned char *p = data;
    X509 *x = NULL;
    X509_CRL *crl = NULL;
    if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0)
        x = d2i_X509(NULL, &p, dlen);
    else if (strcmp(name, "TRUSTED CERTIFICATE") == 0)
        x = d2i_X509_AUX(NULL, &p, dlen);
    else if (strcmp(name, "X509 CRL") == 0)
        crl = d2i_X509_CRL(NULL, &p, dlen);
    const int skip = x == NULL && crl == NULL && strstr(name, "PRIVATE KEY") == NULL &&
                     strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CRL") != 0;
    if ((x != NULL || crl != NULL) && p != data + dlen) {
        X509_free(x);
        X509_CRL_free(crl);
        x = NULL;
        crl = NULL;
    }
    ERR_clear_error();
    if (x == NULL && crl == NULL && !skip) {
        snprintf(pb->err, pb->errlen, "%s: PEM block %u (%s) %s", pb->path, index, name,
                 strstr(name, "PRIVATE KEY") ? "is a private key" : "does not decode");
        return SGS_ERR_KEY;
    }
    if (x == NULL && crl == NULL)
        return SGS_OK;
    pb->found++;
    return pb->fn(pb->opaque, x, crl, pb->path, pb->err, pb->errlen);
}

sgs_status
sgs_pki_parse(const uint8_t *buf, size_t len, const char *path, sgs_pki_fn fn, void *opaque,
              char *err, size_t errlen)
{
    char cause[160];
    if (!sgs_pem_present(buf, len)) {
        const unsigned char *p = buf;
        X509 *const x = d2i_X509(NULL, &p, (long)len);
        if (x != NULL && p == buf + len)
            return fn(opaque, x, NULL, path, err, errlen);
        X509_free(x);
        p = buf;
        X509_CRL *const crl = d2i_X509_CRL(NULL, &p, (long)len);
        if (crl != NULL && p == buf + len)
            return fn(opaque, NULL, crl, path, err, errlen);
        X509_CRL_free(crl);
        (void)sgs_crypto_error(cause, sizeof(cause));
        snprintf(err, errlen, "%s: not a PEM or DER certificate or CRL", path);
        return SGS_ERR_KEY;
    }
    pki_blocks pb = {fn, opaque, path, err, errlen, 0};
    sgs_status st = sgs_pem_each(buf, len, pki_block, &pb, path, "no block", err, errlen);
    if (st == SGS_OK && pb.found == 0) {
        snprintf(err, errlen, "%s: no certificate or CRL in it", path);
        st = SGS_ERR_KEY;
    }
    return st;
}

sgs_status
sgs_pki_parse_file(const sgs_allocator *a, const char *path, sgs_pki_fn fn, void *opaque,
                   char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    sgs_status st = sgs_read_small_file_follow(a, path, SGS_CERT_FILE_MAX, &buf, &len, err, errlen);
    if (st != SGS_OK)
        return st;
    st = sgs_pki_parse(buf, len, path, fn, opaque, err, errlen);
    sgs_free(a, buf);
    return st;
}

typedef struct take_ctx {
    sgs_trust *t;
    sgs_material kind;
} take_ctx;

static sgs_status
take_cb(void *opaque, X509 *x, X509_CRL *crl, const char *path, char *err, size_t errlen)
{
    const take_ctx *const c = opaque;
    return take(c->t, c->kind, x, crl, path, err, errlen);
}

/* All of a file or none of it: a file that fails half-way leaves nothing behind. */
static sgs_status
add_file(sgs_trust *t, sgs_material kind, const char *path, char *err, size_t errlen)
{
    take_ctx c = {t, kind};
    if (kind == SGS_MAT_CRL) {
        const int crls = sk_X509_CRL_num(t->crls) > 0 ? sk_X509_CRL_num(t->crls) : 0;
        const sgs_status st = sgs_pki_parse_file(t->alloc, path, take_cb, &c, err, errlen);
        while (st != SGS_OK && sk_X509_CRL_num(t->crls) > crls)
            X509_CRL_free(sk_X509_CRL_pop(t->crls));
        return st;
    }
    sgs_certlist *const list = list_of(t, kind);
    if (list == NULL) { /* SGS_MAT_TSA: a store of its own, filled as SGS_MAT_TRUST */
        snprintf(err, errlen, "%s: not a kind of certificate this store holds", path);
        return SGS_ERR_INVALID_ARG;
    }
    const size_t count = list->count;
    const sgs_status st = sgs_pki_parse_file(t->alloc, path, take_cb, &c, err, errlen);
    while (st != SGS_OK && list->count > count) {
        list->count--;
        X509_free(list->items[list->count].cert);
        sgs_free(t->alloc, list->items[list->count].path);
    }
    return st;
}

sgs_status
sgs_trust_add(sgs_trust *t, sgs_material kind, const char *path, char *err, size_t errlen)
{
    struct stat sb;
    err[0] = '\0';
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return SGS_ERR_IO;
    }
    if (!S_ISDIR(sb.st_mode))
        return add_file(t, kind, path, err, errlen);
    /* A directory: every regular file in it (hashed directories hold links to the same
       certificates; duplicates are kept once). Files that are not certificates are an error:
       a trust directory should hold nothing else. */
    char **names = NULL;
    size_t n = 0;
    const int lrc = sgs_list_dir(t->alloc, path, 1, 0, &names, &n);
    if (lrc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(lrc));
        return lrc == ENOMEM ? SGS_ERR_NOMEM : SGS_ERR_IO;
    }
    sgs_status st = SGS_OK;
    for (size_t i = 0; i < n && st == SGS_OK; i++) {
        struct stat fs;
        if (stat(names[i], &fs) == 0 && S_ISREG(fs.st_mode))
            st = add_file(t, kind, names[i], err, errlen);
    }
    sgs_list_free(t->alloc, names, n);
    /* An empty directory is not an error: an empty trust store is a state to report (every
       chain is then UNTRUSTED, saying so), not a reason to refuse the run. */
    return st;
}
