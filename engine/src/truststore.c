/*
 * truststore.c - the trust directory as an admin manages it: list what is in it, add CA
 * certificates the way OpenSSL's hashed-directory lookup finds them.
 *
 * DESIGN: a trust directory holds one PEM file per certificate, named by its SHA-256 prefix,
 * and a link <subject-name-hash>.<n> to it (what `openssl rehash` makes). Adding never
 * overwrites: files are written by the one writer (fileio.c) with SGS_WFILE_NOREPLACE, which
 * fails if the name exists; a taken name is compared by content. Parsing is OpenSSL's (trust.c).
 */
#include "alloc.h"
#include "digest.h"
#include "fileio.h"
#include "scan.h"
#include "trust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h> /* qsort */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


static void
iso_time(const ASN1_TIME *t, char *buf, size_t n)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        snprintf(buf, n, "?");
    else
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
sgs_cert_describe(X509 *x, const char *path, sgs_cert_text *t, sgs_cert_info *info)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    sgs_dn(X509_get_subject_name(x), t->subject, sizeof(t->subject));
    sgs_dn(X509_get_issuer_name(x), t->issuer, sizeof(t->issuer));
    iso_time(X509_get0_notBefore(x), t->nb, sizeof(t->nb));
    iso_time(X509_get0_notAfter(x), t->na, sizeof(t->na));
    t->fp[0] = '\0';
    if (X509_digest(x, EVP_sha256(), md, &len) == 1 && len == 32)
        sgs_hex(md, 32, t->fp);
    t->kid[0] = '\0';
    const ASN1_OCTET_STRING *const kid = X509_get0_subject_key_id(x);
    if (kid != NULL && ASN1_STRING_length(kid) > 0 && ASN1_STRING_length(kid) <= 64)
        sgs_hex(ASN1_STRING_get0_data(kid), (size_t)ASN1_STRING_length(kid), t->kid);
    memset(info, 0, sizeof(*info));
    info->path = path;
    info->subject = t->subject;
    info->issuer = t->issuer;
    info->not_before = t->nb;
    info->not_after = t->na;
    info->fingerprint = t->fp;
    info->key_id = t->kid;
    info->is_ca = X509_check_ca(x) >= 1 || (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
    info->self_signed = X509_self_signed(x, 0) == 1;
    ERR_clear_error();
}

/* ---- list ------------------------------------------------------------------------------ */

typedef struct seen_set {
    uint8_t (*fps)[32];
    size_t count, cap;
} seen_set;

/* 1 if fp was new (and is now remembered), 0 if seen, -1 on allocation failure. */
static int
seen_add(seen_set *s, const uint8_t fp[32])
{
    for (size_t i = 0; i < s->count; i++)
        if (memcmp(s->fps[i], fp, 32) == 0)
            return 0;
    if (s->count == s->cap) {
        const size_t cap = s->cap ? 2 * s->cap : 32;
        uint8_t(*const p)[32] = sgs_calloc(NULL, cap, 32);
        if (p == NULL)
            return -1;
        if (s->count > 0)
            memcpy(p, s->fps, s->count * 32);
        sgs_free(NULL, s->fps);
        s->fps = p;
        s->cap = cap;
    }
    memcpy(s->fps[s->count++], fp, 32);
    return 1;
}

typedef struct list_ctx {
    sgs_cert_fn fn;
    void *opaque;
    seen_set seen;
} list_ctx;

static sgs_status
list_one(void *opaque, X509 *x, X509_CRL *crl, const char *path, char *err, size_t errlen)
{
    list_ctx *const c = opaque;
    (void)err;
    (void)errlen;
    X509_CRL_free(crl); /* a CRL in a trust directory is fine; it is not listed */
    if (x == NULL)
        return SGS_OK;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int fresh = 1;
    if (X509_digest(x, EVP_sha256(), md, &len) == 1 && len == 32)
        fresh = seen_add(&c->seen, md);
    if (fresh < 0) {
        X509_free(x);
        return SGS_ERR_NOMEM;
    }
    if (fresh) {
        sgs_cert_text t;
        sgs_cert_info info;
        sgs_cert_describe(x, path, &t, &info);
        c->fn(c->opaque, &info);
    }
    X509_free(x);
    return SGS_OK;
}

/* Sorted paths of the entries of dir (not dot files). Release with free_entries(). */
static sgs_status
dir_entries(const char *dir, char ***out, size_t *count, char *err, size_t errlen)
{
    const int rc = sgs_list_dir(NULL, dir, 1, 0, out, count);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(rc));
        return rc == ENOMEM ? SGS_ERR_NOMEM : SGS_ERR_IO;
    }
    return SGS_OK;
}

static void
free_entries(char **names, size_t n)
{
    sgs_list_free(NULL, names, n);
}

sgs_status
sgs_certs_list(const char *path, sgs_cert_fn fn, void *opaque, char *err, size_t errlen)
{
    list_ctx c = {fn, opaque, {NULL, 0, 0}};
    struct stat sb;
    err[0] = '\0';
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return SGS_ERR_IO;
    }
    sgs_status st = SGS_OK;
    if (!S_ISDIR(sb.st_mode)) {
        st = sgs_pki_parse_file(NULL, path, list_one, &c, err, errlen);
    } else {
        char **names = NULL;
        size_t n = 0;
        st = dir_entries(path, &names, &n, err, errlen);
        /* files first, then links: a hashed directory names each certificate by its file.
           A file that is no certificate (a README, a key) is skipped and named in err. */
        char first[512] = "";
        size_t skipped = 0;
        for (int links = 0; links < 2; links++) {
            for (size_t i = 0; i < n && st == SGS_OK; i++) {
                struct stat ls, fs;
                if (lstat(names[i], &ls) != 0 || (S_ISLNK(ls.st_mode) != 0) != links)
                    continue;
                if (stat(names[i], &fs) == 0 && S_ISREG(fs.st_mode))
                    st = sgs_pki_parse_file(NULL, names[i], list_one, &c, err, errlen);
                if (st == SGS_ERR_KEY) {
                    if (skipped++ == 0)
                        snprintf(first, sizeof(first), "%s", err);
                    st = SGS_OK;
                }
            }
        }
        free_entries(names, n);
        err[0] = '\0';
        if (st == SGS_OK && skipped > 0)
            snprintf(err, errlen, "skipped %zu file%s that %s no certificate: %s%s", skipped,
                     skipped == 1 ? "" : "s", skipped == 1 ? "holds" : "hold", first,
                     skipped > 1 ? ", ..." : "");
    }
    sgs_free(NULL, c.seen.fps);
    return st;
}

/* ---- add ------------------------------------------------------------------------------- */

typedef struct import_ctx {
    const char *dir;
    const char *source;
    int force;
    sgs_import_fn fn;
    void *opaque;
    seen_set present; /* fingerprints already in the directory */
    size_t imported;  /* certificates seen in the source (whatever became of them) */
} import_ctx;

static sgs_status
collect_present(void *opaque, X509 *x, X509_CRL *crl, const char *path, char *err, size_t errlen)
{
    seen_set *const s = opaque;
    (void)path;
    (void)err;
    (void)errlen;
    X509_CRL_free(crl);
    if (x != NULL) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (X509_digest(x, EVP_sha256(), md, &len) == 1 && len == 32 && seen_add(s, md) < 0) {
            X509_free(x);
            return SGS_ERR_NOMEM;
        }
    }
    X509_free(x);
    return SGS_OK;
}

/* Fingerprint of the (single) certificate in a file; 0 if it holds none or several. */
typedef struct one_fp {
    uint8_t fp[32];
    int count;
} one_fp;

static sgs_status
take_fp(void *opaque, X509 *x, X509_CRL *crl, const char *path, char *err, size_t errlen)
{
    one_fp *const o = opaque;
    unsigned int len = 0;
    (void)path;
    (void)err;
    (void)errlen;
    X509_CRL_free(crl);
    if (x != NULL && X509_digest(x, EVP_sha256(), o->fp, &len) == 1 && len == 32)
        o->count++;
    X509_free(x);
    return SGS_OK;
}

static int
file_holds(const char *path, const uint8_t fp[32])
{
    one_fp o;
    char err[256];
    memset(&o, 0, sizeof(o));
    return sgs_pki_parse_file(NULL, path, take_fp, &o, err, sizeof(err)) == SGS_OK &&
           o.count == 1 && memcmp(o.fp, fp, 32) == 0;
}

/* Writes x as PEM to dir/name through the one writer (fileio.c), never replacing anything at
   the name. 0 ok, else errno (EEXIST: the name is taken). */
static int
write_new_pem(const char *dir, const char *name, X509 *x)
{
    char final[4096], err[256];
    snprintf(final, sizeof(final), "%s/%s", dir, name);
    BIO *const mem = BIO_new(BIO_s_mem());
    char *data = NULL;
    int e = mem != NULL && PEM_write_bio_X509(mem, x) == 1 ? 0 : EIO;
    const long len = e == 0 ? BIO_get_mem_data(mem, &data) : 0;
    if (e == 0 && sgs_wfile_put(final, SGS_WFILE_NOREPLACE | SGS_WFILE_REGULAR_ONLY |
                                           SGS_WFILE_SYNC, 0644, data, len > 0 ? (size_t)len : 0,
                                err, sizeof(err)) != SGS_OK)
        e = errno != 0 ? errno : EIO;
    BIO_free(mem);
    ERR_clear_error();
    return e;
}

/* Is x reachable by its <subject hash>.<n> name in dir? If not, *link gets the first free name. */
static int
hash_linked(const char *dir, X509 *x, const uint8_t fp[32], char *link, size_t n)
{
    const unsigned long h = X509_subject_name_hash(x);
    link[0] = '\0';
    for (int i = 0; i < 1000; i++) {
        char lp[4096], name[32];
        struct stat sb;
        snprintf(name, sizeof(name), "%08lx.%d", h, i);
        snprintf(lp, sizeof(lp), "%s/%s", dir, name);
        if (lstat(lp, &sb) != 0) {
            snprintf(link, n, "%s", name);
            return 0;
        }
        if (file_holds(lp, fp))
            return 1;
    }
    return 0;
}

/* The name of a regular file in dir (not a link) that holds the certificate with SHA-256 fp. */
static int
find_holder(const char *dir, const uint8_t fp[32], char *name, size_t n)
{
    char **names = NULL, err[256];
    size_t count = 0;
    int found = 0;
    if (dir_entries(dir, &names, &count, err, sizeof(err)) != SGS_OK)
        return 0;
    for (size_t i = 0; i < count && !found; i++) {
        struct stat sb;
        if (lstat(names[i], &sb) == 0 && S_ISREG(sb.st_mode) && file_holds(names[i], fp)) {
            const char *const base = strrchr(names[i], '/');
            snprintf(name, n, "%s", base != NULL ? base + 1 : names[i]);
            found = 1;
        }
    }
    free_entries(names, count);
    return found;
}

static sgs_status
import_one(void *opaque, X509 *x, X509_CRL *crl, const char *path, char *err, size_t errlen)
{
    import_ctx *const c = opaque;
    (void)path;
    (void)err;
    (void)errlen;
    X509_CRL_free(crl);
    if (x == NULL)
        return SGS_OK;
    c->imported++;
    sgs_cert_text t;
    sgs_import_record r;
    char detail[4608], name[64], stored[4096] = "", link_name[32] = "";
    memset(&r, 0, sizeof(r));
    sgs_cert_describe(x, "", &t, &r.cert);
    r.source = c->source;
    r.link = "";
    r.detail = detail;
    uint8_t fp[32] = {0};
    unsigned int len = 0;
    (void)X509_digest(x, EVP_sha256(), fp, &len);
    int is_new = 1;
    for (size_t i = 0; i < c->present.count; i++)
        if (memcmp(c->present.fps[i], fp, 32) == 0)
            is_new = 0;
    if (!is_new) {
        r.action = SGS_IMPORT_PRESENT;
        snprintf(detail, sizeof(detail), "already in %s", c->dir);
        /* a copy put there by hand has no <subject hash>.<n> link, so OpenSSL's lookup by
           hash does not find it: link it (never replacing anything) */
        if (!hash_linked(c->dir, x, fp, link_name, sizeof(link_name)) &&
            find_holder(c->dir, fp, name, sizeof(name))) {
            char lp[4096];
            snprintf(lp, sizeof(lp), "%s/%s", c->dir, link_name);
            if (symlink(name, lp) == 0) {
                r.link = link_name;
                snprintf(detail, sizeof(detail), "already in %s as %s, now linked as %s", c->dir,
                         name, link_name);
            }
        }
        goto done;
    }
    if (!c->force && X509_check_ca(x) < 1) {
        const int ca_flag = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
        r.action = SGS_IMPORT_REFUSED;
        snprintf(detail, sizeof(detail), "%s; use --force to trust it anyway",
                 ca_flag ? "a CA that cannot sign certificates (key usage lacks keyCertSign)"
                         : "not a CA certificate (no basicConstraints CA:TRUE)");
        goto done;
    }
    snprintf(name, sizeof(name), "%.16s.pem", t.fp);
    snprintf(stored, sizeof(stored), "%s/%s", c->dir, name);
    const int werr = write_new_pem(c->dir, name, x);
    if (werr == EEXIST && !file_holds(stored, fp)) {
        r.action = SGS_IMPORT_REFUSED;
        snprintf(detail, sizeof(detail), "%s exists and holds something else; not overwritten",
                 stored);
        stored[0] = '\0';
        goto done;
    }
    if (werr != 0 && werr != EEXIST) {
        r.action = SGS_IMPORT_REFUSED;
        snprintf(detail, sizeof(detail), "cannot write %s: %s", stored, strerror(werr));
        stored[0] = '\0';
        goto done;
    }
    /* <subject hash>.<n>: the first free n, or the one already pointing at this cert */
    const unsigned long h = X509_subject_name_hash(x);
    for (int n = 0; n < 1000; n++) {
        char lp[4096];
        snprintf(link_name, sizeof(link_name), "%08lx.%d", h, n);
        snprintf(lp, sizeof(lp), "%s/%s", c->dir, link_name);
        if (symlink(name, lp) == 0)
            break;
        if (errno != EEXIST) {
            link_name[0] = '\0';
            break;
        }
        if (file_holds(lp, fp))
            break;
        link_name[0] = '\0';
    }
    if (seen_add(&c->present, fp) < 0)
        return SGS_ERR_NOMEM;
    r.action = SGS_IMPORT_ADDED;
    r.link = link_name;
    snprintf(detail, sizeof(detail), "added as %s%s%s", name, link_name[0] ? ", linked as " : "",
             link_name);
done:
    r.cert.path = stored;
    c->fn(c->opaque, &r);
    X509_free(x);
    ERR_clear_error();
    return SGS_OK;
}

sgs_status
sgs_trust_store_add(const char *dir, const char *cert_path, int force, sgs_import_fn fn,
                    void *opaque, char *err, size_t errlen)
{
    import_ctx c;
    memset(&c, 0, sizeof(c));
    char given[PATH_MAX]; /* DIR as given, without trailing slashes ("ts/" names "ts/x.pem") */
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    if (dlen >= sizeof(given)) {
        snprintf(err, errlen, "%s: %s", dir, strerror(ENAMETOOLONG));
        return SGS_ERR_INVALID_ARG;
    }
    memcpy(given, dir, dlen);
    given[dlen] = '\0';
    dir = given;
    c.dir = dir;
    c.source = cert_path;
    c.force = force;
    c.fn = fn;
    c.opaque = opaque;
    err[0] = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return SGS_ERR_IO;
    }
    char **names = NULL;
    size_t n = 0;
    sgs_status st = dir_entries(dir, &names, &n, err, errlen);
    for (size_t i = 0; i < n && st == SGS_OK; i++) {
        struct stat fs;
        char ignore[256];
        if (stat(names[i], &fs) == 0 && S_ISREG(fs.st_mode))
            if (sgs_pki_parse_file(NULL, names[i], collect_present, &c.present, ignore,
                                   sizeof(ignore)) == SGS_ERR_NOMEM)
                st = SGS_ERR_NOMEM; /* unreadable or foreign neighbours are not ours to judge */
    }
    free_entries(names, n);
    const size_t before = c.imported;
    if (st == SGS_OK)
        st = sgs_pki_parse_file(NULL, cert_path, import_one, &c, err, errlen);
    if (st == SGS_OK && c.imported == before) {
        snprintf(err, errlen, "%s: no certificate in it", cert_path);
        st = SGS_ERR_KEY;
    }
    sgs_free(NULL, c.present.fps);
    return st;
}
