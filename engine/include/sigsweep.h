/*
 * sigsweep.h - the one public header of libsigsweep, a parallel batch signature verifier.
 *
 * Three levels of use, in this order:
 *   1. Run a check: fill an sgs_config, create an engine, add keys and certificates, submit
 *      paths (or agents, or a package), finish. Every input yields one sgs_record.
 *   2. Administer, without an engine: the trust store (list, add), the persistent cache
 *      (stats, clear, export), the quarantine journal (restore), the policy file,
 *      server keys (keygen, export), package manifests (create).
 *   3. Low-level helpers: names and parsers of the enums, the one file writer and the one way
 *      to open a named input, the self-test.
 *
 * Usage (level 1):
 *
 *     sgs_config cfg;
 *     sgs_config_init(&cfg);
 *     cfg.on_record = print_record;            (called once per input, one call at a time)
 *     sgs_engine *e = NULL;
 *     if (sgs_engine_create(&cfg, &e) != SGS_OK) ...
 *     sgs_engine_add_key(e, "server.pem");     (file or directory; repeatable)
 *     sgs_engine_submit(e, "/srv/programs");    (file or directory, walked recursively)
 *     sgs_engine_finish(e);
 *     sgs_engine_free(e);
 *
 * A bad file is not an error: it is a record with a non-VALID verdict and a reason.
 * Errors (sgs_status) are for the caller's mistakes and for resources the run needs, and they
 * have one channel. Every call that can fail returns an sgs_status (SGS_OK, or an SGS_ERR_*
 * that sgs_status_str() names); the detail is text in exactly one place: for a call on an
 * engine, sgs_engine_error(e); for a free function, the caller's `char *err, size_t errlen`
 * ("" when there is nothing to add; a few calls leave a note there on SGS_OK, and say so). The
 * library never prints and never exits. Three shapes differ, each for a reason:
 * sgs_engine_create() has no engine to hold text when it fails (its doc names each cause);
 * sgs_hash_from_name() and sgs_verdict_from_name() return 0 or -1 (an unknown name, nothing
 * more to say); sgs_open_regular() returns a descriptor, or -1 with err. A run's one-time
 * warning (e.g. a cache rebuilt, or not used) is not an error: sgs_engine_notice(e).
 */

#ifndef SIGSWEEP_H
#define SIGSWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* mode_t */

#ifdef __cplusplus
extern "C" {
#endif

#define SGS_VERSION_MAJOR 0
#define SGS_VERSION_MINOR 1
#define SGS_VERSION_PATCH 0

#if defined(SGS_BUILDING_ENGINE) && defined(__GNUC__)
#define SGS_API __attribute__((visibility("default")))
#else
#define SGS_API
#endif

#if defined(__GNUC__)
#define SGS_NODISCARD __attribute__((warn_unused_result))
#else
#define SGS_NODISCARD
#endif

/* ==============================================================================================
 * 1. Run a check: the engine, its configuration and its records.
 * Everything a caller needs to verify (or sign, hash, audit agents, check a package) a set
 * of files: the status, verdict, hash and operation enums, the record handed to the
 * callback, the configuration, the counters, and the engine's calls in the order of a run.
 * ============================================================================================== */

/* ---- values: status, verdict, hash, operation, material -------------------------------------- */

/* Errors of the API itself. Released values never change; new ones are appended. */
typedef enum sgs_status {
    SGS_OK = 0,
    SGS_ERR_NOMEM,       /* an allocation failed */
    SGS_ERR_INVALID_ARG, /* a parameter or configuration value is out of range */
    SGS_ERR_IO,          /* a key file or directory could not be read */
    SGS_ERR_KEY,         /* a key file does not hold a usable key */
    SGS_ERR_CRYPTO,      /* libcrypto failed where it should not */
    SGS_ERR_THREAD,      /* a thread could not be started */
    SGS_ERR_STATE,       /* call out of order (e.g. add_key after submit) */
    SGS_ERR_FORMAT,      /* an input file (e.g. a manifest) does not parse */
    SGS_ERR_PERMISSION,  /* the system does not allow it: privileges, kernel features (guard) */
    SGS_STATUS_COUNT
} sgs_status;

/*
 * One verdict per input (DESIGN 4). Only SGS_V_VALID is good. SGS_V_UNJUDGED is the zero
 * value on purpose: a zeroed record means "not judged", so a record nobody judged can never
 * read as VALID; the engine never delivers it (it fails closed to SGS_V_IO_ERROR with an
 * "internal error" reason). Values changed once (issue 13: UNJUDGED inserted at 0); new ones
 * are appended.
 */
typedef enum sgs_verdict {
    SGS_V_UNJUDGED = 0,
    SGS_V_VALID,
    SGS_V_BAD_SIGNATURE,
    SGS_V_DIGEST_MISMATCH,
    SGS_V_NO_SIGNATURE,
    SGS_V_MISSING_FILE,
    SGS_V_EXTRA_FILE,
    SGS_V_UNTRUSTED,
    SGS_V_EXPIRED,
    SGS_V_NOT_YET_VALID,
    SGS_V_REVOKED,
    SGS_V_KEY_MISMATCH,
    SGS_V_MALFORMED,
    SGS_V_UNSUPPORTED,
    SGS_V_IO_ERROR,
    SGS_V_CHANGED,
    SGS_V_SKIPPED,
    SGS_V_PRIVATE_KEY_EXPOSED, /* agents: a key file holds a private key (a security finding) */
    SGS_VERDICT_COUNT
} sgs_verdict;

typedef enum sgs_hash {
    SGS_HASH_SHA256 = 0,
    SGS_HASH_SHA384,
    SGS_HASH_SHA512,
    SGS_HASH_COUNT
} sgs_hash;

/* What the engine does with each submitted file. */
typedef enum sgs_op {
    SGS_OP_VERIFY = 0, /* judge F against F<sig_suffix> with the public keys added */
    SGS_OP_SIGN,       /* write F<sig_suffix> with the signing key set */
    SGS_OP_DIAGNOSE,   /* as VERIFY, and a file with no signature that holds a certificate is
                          judged as that certificate's chain (trust diagnose) */
    SGS_OP_AGENTS,     /* judge agents' copies of the server key (sgs_engine_submit_agent) */
    SGS_OP_HASH,       /* digest each file with cfg.hash; records VALID carry the digest */
    SGS_OP_PACKAGE     /* an update package against its signed manifest (sgs_engine_set_package) */
} sgs_op;

/* What a certificate file given to sgs_engine_add_certs() is for. */
typedef enum sgs_material {
    SGS_MAT_TRUST = 0, /* trust anchors (--trust) */
    SGS_MAT_UNTRUSTED, /* intermediates that may help build a chain (--untrusted) */
    SGS_MAT_SEARCH,    /* candidate CAs, never trusted, only named as fixes (--search) */
    SGS_MAT_CRL,       /* certificate revocation lists (--crl) */
    SGS_MAT_TSA        /* anchors for timestamp authorities (--tsa-trust): an RFC 3161
                          timestamp by a TSA chaining to one dates an Authenticode signature */
} sgs_material;

/* Longest digest in hex (SHA-512) plus NUL. */
#define SGS_DIGEST_HEX_MAX 129
/* SPKI SHA-256 fingerprint in hex plus NUL. */
#define SGS_FP_HEX_LEN 65

/* ---- records, configuration, counters -------------------------------------------------------- */

/*
 * A result, handed to sgs_config.on_record. Read-only; every pointer is valid only until the
 * callback returns (copy what you keep). Strings are NUL-terminated; `path` is the path as
 * submitted or walked, raw bytes (not necessarily UTF-8). Empty strings mean "not known".
 */
typedef struct sgs_record {
    const char *path;
    const char *agent;  /* SGS_OP_AGENTS: the agent id (raw bytes); "" otherwise */
    sgs_verdict verdict;
    const char *reason; /* human reason; never NULL */
    const char *alg;    /* e.g. "rsa-pkcs1-sha256", "ecdsa-p256-sha256", "ed25519" */
    const char *signer; /* SPKI SHA-256 fingerprint (hex) of the key that verified or signed
                           (CMS: also when the signature verified but its chain did not);
                           SGS_OP_AGENTS: of the agent's key, whatever the verdict */
    const char *digest; /* hex digest of the file's bytes as read, with cfg.hash */
    const char *chain;  /* CMS/certificates: the chain built, subject DNs from the signer up,
                           '\n'-separated (as far as it got when it failed); "" otherwise */
    uint64_t size;      /* file size in bytes; valid when has_size */
    int has_size;
    /* Authenticode (PE files); format NULL for every other record. */
    const char *format;       /* "authenticode" */
    const char *image_hash;   /* algorithm and layout that matched: "sha256 file-order" */
    const char *signer_subject, *signing_time, *tsa; /* of the deciding signature ("" unknown) */
    const struct sgs_sig_line *sigs; /* every signature, primary first */
    size_t nsigs;
} sgs_record;

/* One Authenticode signature of a record. */
typedef struct sgs_sig_line {
    const char *role;      /* "primary", "nested 1", "entry 2", ... */
    sgs_verdict verdict;
    const char *reason;
    const char *hash_alg, *layout, *signer, *signing_time, *tsa;
} sgs_sig_line;

/*
 * Record callback. THREAD SAFETY: called from worker threads, but never concurrently: the
 * engine serialises calls (one writer), so the callback needs no locking of its own.
 */
typedef void (*sgs_record_fn)(void *opaque, const sgs_record *rec);

/* Custom allocator (tests use it to fail the Nth allocation). Both NULL: malloc/free. */
typedef struct sgs_allocator {
    void *(*malloc_fn)(void *opaque, size_t size);
    void (*free_fn)(void *opaque, void *ptr);
    void *opaque;
} sgs_allocator;

/* The default floor for keys that can make VALID: 112-bit security (NIST SP 800-57, OpenSSL's
   authentication level 2): RSA >= 2048 bits, EC P-256 and up, Ed25519. */
#define SGS_MIN_SECURITY_BITS_DEFAULT 112

/*
 * What a run trusts and how it validates certificate chains and keys: sgs_config.trust. The
 * engine copies it once at sgs_engine_create(). sgs_config_init() sets every field to 0 except
 * min_security_bits (SGS_MIN_SECURITY_BITS_DEFAULT).
 */
typedef struct sgs_trust_opts {
    int system;            /* CMS: also trust OpenSSL's default CA file and directory */
    int codesign;          /* CMS: signer needs the codeSigning EKU (--purpose codesign) */
    int strict;            /* CMS: X509_V_FLAG_X509_STRICT (RFC 5280 strictness) */
    int has_at_time;       /* CMS, PE: validate chains at at_time instead of now (also
                              instead of a timestamp's time) */
    int64_t at_time;       /* seconds since the epoch, UTC */
    int partial_chain;     /* CMS, PE: a trusted intermediate is an anchor (UEFI db) */
    int no_time_check;     /* CMS, PE: certificate validity dates are not checked */
    int min_security_bits; /* the floor for every key that can make VALID (raw and agent
                              keys, CMS and Authenticode signers, their chains, TSAs), in
                              bits of security: default 112 (RSA-2048, P-256, Ed25519);
                              0..256. Degenerate keys (RSA e < 3 or even, Ed25519 points
                              of small order) are refused whatever the floor. */
} sgs_trust_opts;

/* Caller-owned configuration. Initialise with sgs_config_init(), then change fields. */
typedef struct sgs_config {
    sgs_op op;
    unsigned threads;          /* worker threads; 0 = online CPUs */
    sgs_hash hash;             /* file digest and RSA/ECDSA prehash; default SHA-256 */
    int pss;                   /* RSA keys: 1 = RSA-PSS (salt auto on verify), 0 = PKCS#1 v1.5 */
    const char *sig_suffix;    /* default ".sig"; copied at create */
    int sign_replace;          /* SGS_OP_SIGN: replace existing signature files; 0 (default):
                                  an existing one is kept, its file is not signed (SKIPPED,
                                  counted in sgs_stats.signatures_kept) */
    size_t queue_depth;        /* bounded job queue; 0 = 256 x threads */
    size_t cache_entries;      /* in-run result cache slots; 0 disables; default 16384;
                                  at most 2^26 */
    uint64_t max_file_size;    /* a larger file is not read: SKIPPED ("larger than the limit"),
                                  never VALID; 0 = no limit; default 64 GiB */
    uint64_t max_whole_file;   /* Ed25519 (pure) needs the whole file in memory: cap in bytes,
                                  > 0; default 256 MiB; larger files are UNSUPPORTED */
    sgs_trust_opts trust;      /* chains and key strength (CMS, PE, raw and agent keys) */
    int pe_uefi;               /* PE: any signature that verifies decides; the section-sorted
                                  image hash is accepted too, with a warning */
    int pe_require_all;        /* PE: every signature (nested, further entries) must be VALID */
    int pe_lenient;            /* PE: data after the signature, bytes stuffed in the certificate
                                  table, a directory size that disagrees: warnings, not MALFORMED */
    const char *cache_dir;     /* verify: persistent result cache directory (LMDB); NULL: none */
    int paranoid;              /* with cache_dir: re-hash every file, still record */
    int cache_required;        /* with cache_dir: a cache that cannot be used (not owned by this
                                  user, writable by others, unreadable) fails sgs_engine_create
                                  with SGS_ERR_IO instead of a run without it */
    int64_t cache_max_age;     /* with cache_dir: identity entries older than this many seconds
                                  are re-hashed; 0 = no limit */
    const char *quarantine_journal; /* verify: when set, failing regular files are renamed
                                  <name>_invalid[.N], each rename journalled here first */
    uint64_t max_quarantine;   /* enforcement's circuit breaker: with quarantine_journal,
                                  nothing is renamed when more files than
                                  max(max_quarantine, max_quarantine_percent % of the records)
                                  would be, or when no file of the run is VALID; the records
                                  say why (stats.quarantine_refused). Default 10 and 5 %. */
    unsigned max_quarantine_percent; /* 0..100 */
    int force_quarantine;      /* the breaker does not stop the renames */
    unsigned shard_index;      /* --shard K/N: judge only the inputs of shard K (1..N) of N; */
    unsigned shard_count;      /* 0 (default) or 1: every input. An input's shard is
                                  sgs_shard_of() of its path relative to the path submitted
                                  (verify: a path submitted that is not a directory is its own
                                  relative path, as given), of the agent id (agents), of the
                                  manifest-relative path (package verify, listed and extra
                                  files; the manifest's own failure record: of its path as
                                  given). An input of another shard gets no record and is never
                                  opened; a signature goes with the file it signs. */
    sgs_record_fn on_record;   /* required */
    void *opaque;              /* passed to on_record */
    sgs_allocator alloc;
} sgs_config;

/* Counters of a run. THREAD SAFETY: sgs_engine_stats() may be called from any thread. */
typedef struct sgs_stats {
    uint64_t files;                       /* records delivered */
    uint64_t bytes;                       /* file bytes hashed */
    uint64_t verdicts[SGS_VERDICT_COUNT]; /* records per verdict */
    uint64_t cache_hits;                  /* verifications answered by the result cache */
    uint64_t verifications;               /* public-key operations performed */
    uint64_t quarantined;                 /* files renamed <name>_invalid */
    uint64_t interrupted;                 /* 1: sgs_engine_cancel() stopped the run early */
    uint64_t quarantine_failed;           /* judged bad, still there, could not be renamed
                                             (name, EXDEV, permissions, journal): an error */
    uint64_t quarantine_refused;          /* judged bad, not renamed: the circuit breaker
                                             tripped (or the run was interrupted) */
    uint64_t pcache_digest_hits;          /* files not read: digest from the persistent cache */
    uint64_t pcache_verdict_hits;         /* verdicts from the persistent cache */
    uint64_t signatures_kept;             /* SGS_OP_SIGN: files not signed because their
                                             signature file exists (cfg.sign_replace 0) */
} sgs_stats;

typedef struct sgs_engine sgs_engine; /* opaque; one per run */

/* ---- the engine: create, configure, submit --------------------------------------------------- */

/* Fills *cfg with safe defaults. */
SGS_API void sgs_config_init(sgs_config *cfg);

/*
 * Validates cfg and creates an engine. Worker threads start at the first submit.
 * Returns SGS_OK, SGS_ERR_INVALID_ARG (on_record NULL, bad hash/op, empty suffix or one with
 * '/', threads > 1024, cache_entries > 2^26, max_whole_file 0, half an allocator, a shard_index
 * not in 1..shard_count),
 * SGS_ERR_NOMEM. On success *out is owned by the caller; release with sgs_engine_free().
 * THREAD SAFETY: an engine is driven by one controlling thread (add_key, submit, finish,
 * free); records arrive on worker threads.
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_create(const sgs_config *cfg, sgs_engine **out);

/*
 * Keeps one file out of the run: an entry named `name` (its last path component) whose
 * identity is (dev, ino) gets no record and is never quarantined (the run's own report and its
 * temporary file, when --output lies inside the audited tree). At most 8. Before the first
 * submit. Returns SGS_OK, SGS_ERR_STATE, SGS_ERR_INVALID_ARG (too many, or a name over 255).
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_exclude(sgs_engine *e, const char *name,
                                                    uint64_t dev, uint64_t ino);

/*
 * Adds public keys for SGS_OP_VERIFY: `path` is a PEM or DER SubjectPublicKeyInfo or X.509
 * certificate (several PEM blocks allowed), or a directory of them read as a trust store is
 * (links followed, each file once): its entries that are no usable public key are skipped, and
 * sgs_engine_error() names each, one line apiece, even on SGS_OK ("" when none was skipped).
 * Keys with the same SPKI are kept once. Must be called before the first submit.
 * Returns SGS_OK, SGS_ERR_IO, SGS_ERR_KEY (not a public key, private keys are refused; a
 * directory without any), SGS_ERR_STATE, SGS_ERR_NOMEM; sgs_engine_error() then says which file
 * and why.
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_add_key(sgs_engine *e, const char *path);

/* The two kinds of Ed25519 keys with a key number: minisign's and OpenBSD signify's. */
typedef enum sgs_edkey_kind {
    SGS_EDKEY_MINISIGN = 0, /* F.minisig */
    SGS_EDKEY_SIGNIFY = 1   /* F<suffix> in signify's format; signed checksum lists (package) */
} sgs_edkey_kind;

/*
 * Adds a minisign or signify public key for SGS_OP_VERIFY and SGS_OP_PACKAGE: `key` is a
 * public key file as `minisign -G` / `signify -G` write it, or (minisign) the base64 string
 * `minisign -P` takes, when no file of that name exists. Keys of small order or not canonically
 * encoded are refused, as for --key. Must be called before the first submit. Returns SGS_OK,
 * SGS_ERR_IO, SGS_ERR_KEY, SGS_ERR_STATE, SGS_ERR_NOMEM, SGS_ERR_INVALID_ARG;
 * sgs_engine_error() says which key and why. THREAD SAFETY: the controlling thread.
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_add_edkey(sgs_engine *e, sgs_edkey_kind kind,
                                                      const char *key);

/*
 * Adds certificates (or CRLs) for CMS signatures: `path` is a PEM bundle, a DER file, or a
 * directory (plain or hashed) of them; see sgs_material. Must be called before the first submit.
 * Returns SGS_OK, SGS_ERR_IO, SGS_ERR_KEY (a file that is not a certificate/CRL),
 * SGS_ERR_STATE, SGS_ERR_NOMEM, SGS_ERR_INVALID_ARG; sgs_engine_error() says which file.
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_add_certs(sgs_engine *e, sgs_material kind,
                                                      const char *path);

/*
 * Sets the private key (PEM or DER, PKCS#8 or traditional; unencrypted) for SGS_OP_SIGN.
 * The key bytes read are wiped. Same statuses as sgs_engine_add_key().
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_set_signing_key(sgs_engine *e, const char *path);

/*
 * SGS_OP_SIGN with a certificate: files get a detached CMS SignedData (F.p7s, DER, signed
 * attributes, digest cfg.hash, RSA-PSS with cfg.pss) by this certificate and the private key
 * of sgs_engine_set_signing_key(), which must match it. Certificates added with
 * sgs_engine_add_certs(SGS_MAT_UNTRUSTED) are embedded too (the intermediates). Same statuses
 * as sgs_engine_add_certs().
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_set_signing_cert(sgs_engine *e, const char *path);

/*
 * Queues `path` (a file, or a directory walked recursively without following symbolic
 * links; files ending in the signature suffix, ".p7s" or ".minisig" beside a regular file are
 * signatures,
 * not inputs, and such a path given names that file: sgs_signature_subject). Blocks
 * while the queue is full. Every file yields exactly one record, possibly before this returns.
 * In SGS_OP_VERIFY a file F is judged against F.p7s when it exists (CMS), else F.minisig
 * (minisign), else F<suffix> (a raw signature, or CMS or signify detected by content).
 * Returns SGS_OK, SGS_ERR_STATE (no keys and no trust / after finish), SGS_ERR_NOMEM,
 * SGS_ERR_THREAD.
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_submit(sgs_engine *e, const char *path);

/*
 * Whether `path` (there, not a directory) names the detached signature of a regular file F
 * beside it: F<sig_suffix>, or F.p7s and F.minisig when p7s (verify, diagnose and CMS signing
 * read them), F
 * not itself such a signature. sgs_engine_submit(path) judges F for such a path. Returns F's
 * length (F is path's first bytes), or 0. THREAD SAFETY: no shared state.
 */
SGS_API size_t sgs_signature_subject(const char *path, const char *sig_suffix, int p7s);

/*
 * The shard (1..count) of an input whose relative path (or agent id) is (rel, len): XXH64 of
 * those bytes with seed 0, as an unsigned 64-bit number, modulo count, plus 1. The same on
 * every host and architecture (XXH64 is defined on bytes, its result is a number), so N jobs
 * given --shard 1/N .. N/N cover a tree exactly once. count 0 or 1: 1. THREAD SAFETY: pure.
 */
SGS_API unsigned sgs_shard_of(const char *rel, size_t len, unsigned count);

/* What a run's verdicts depend on besides the files, each as SHA-256 hex (see
   sgs_engine_fingerprints). */
typedef struct sgs_fingerprints {
    char keys[SGS_FP_HEX_LEN];    /* over the sorted SPKI fingerprints (hex, one a line) of the
                                     keys loaded; agents: the server key and the known keys */
    char trust[SGS_FP_HEX_LEN];   /* over the sorted lines "KIND SHA256-OF-DER" of every
                                     certificate (trust, untrusted, search, tsa) and CRL loaded,
                                     and "system" with --trust-system */
    char options[SGS_FP_HEX_LEN]; /* over one canonical text of the options that change
                                     verdicts: op, hash, pss, suffix, purpose, strict, at,
                                     partial chain, time check, min security, PE policy,
                                     max file size, max whole file */
} sgs_fingerprints;

/*
 * Fills *out for the keys, certificates and configuration added so far: call it once they are
 * all added (before or after submit). Equal fingerprints mean two runs judged with the same
 * material and options, whatever the host, the order of the options or the architecture.
 * Returns SGS_OK, SGS_ERR_NOMEM, SGS_ERR_CRYPTO. THREAD SAFETY: controlling thread.
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_fingerprints(const sgs_engine *e,
                                                         sgs_fingerprints *out);

/* ---- SGS_OP_AGENTS: the fleet key audit ------------------------------------------------------ */

/*
 * SGS_OP_AGENTS: the server's certificate or public key (PEM/DER) the agents' copies must
 * match. Required before the first submit. Statuses as sgs_engine_add_key().
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_set_server_key(sgs_engine *e, const char *path);

/* SGS_OP_AGENTS: another known server key or certificate (an old server's); a mismatched agent
   key equal to it is named by the file's base name. */
SGS_API SGS_NODISCARD sgs_status sgs_engine_add_known_key(sgs_engine *e, const char *path);

/*
 * SGS_OP_AGENTS: a command message and its detached signature by the server key (raw, as
 * `openssl dgst -sign`/`pkeyutl -sign -rawin` make it, with cfg.hash/cfg.pss; or CMS). Each
 * agent's key then verifies it: the record says whether that agent would accept the command.
 * Once the server key and the command are both set (either first), the signature must verify
 * with the server key: if not, the command is at fault and this call (or
 * sgs_engine_set_server_key, when it comes second) returns SGS_ERR_KEY, sgs_engine_error()
 * saying so (and naming a known key it verifies with), before any agent is judged.
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_set_command(sgs_engine *e, const char *message,
                                                        const char *signature);

/* SGS_OP_AGENTS: queues one agent whose key file is `path`. Blocks while the queue is full. */
SGS_API SGS_NODISCARD sgs_status sgs_engine_submit_agent(sgs_engine *e, const char *agent_id,
                                                         const char *path);

/*
 * SGS_OP_AGENTS: queues every agent of a fleet directory: each entry of `dir` is an agent (its
 * name the id) whose key file is dir/<agent>/<key_file>. Entries that are symbolic links or not
 * directories are reported (SKIPPED), never followed. In name order.
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_submit_fleet(sgs_engine *e, const char *dir,
                                                         const char *key_file);

/* ---- SGS_OP_PACKAGE: an update package against its manifest ---------------------------------- */

/*
 * SGS_OP_PACKAGE: the package root and its manifest (sha256sum-style, see README). The
 * manifest is read once here; its signature (MANIFEST.p7s, else MANIFEST.sig: raw with the keys
 * added, or CMS with the trust material) is checked over exactly those bytes at the first
 * submit, before anything else. Returns SGS_OK, SGS_ERR_IO (root or manifest unreadable),
 * SGS_ERR_STATE, SGS_ERR_NOMEM.
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_set_package(sgs_engine *e, const char *root,
                                                        const char *manifest);

/*
 * SGS_OP_PACKAGE: checks the manifest's signature and syntax; if either fails, one record for
 * the manifest carries that verdict and nothing else is judged. Otherwise every listed file
 * is queued (opened beneath the root, never leaving it: openat2 RESOLVE_BENEATH, or a
 * component-by-component walk that follows no link), and the root is walked for files the
 * manifest does not list (EXTRA_FILE), except the manifest and its signature and relative paths
 * or base names matching one of the `ignore` fnmatch(3) patterns.
 */
SGS_API SGS_NODISCARD sgs_status sgs_engine_submit_package(sgs_engine *e,
                                                           const char *const *ignore,
                                                           size_t nignore);

/* SGS_OP_PACKAGE, after submit: the manifest's own verdict (VALID once signature and syntax
   passed) and its reason. */
SGS_API sgs_verdict sgs_engine_manifest_verdict(const sgs_engine *e, const char **reason);

/* ---- the end of a run: finish, counters, messages, cancel, free ------------------------------ */

/* Waits until every submitted file has its record and stops the workers. */
SGS_API SGS_NODISCARD sgs_status sgs_engine_finish(sgs_engine *e);

/* Copies the counters so far into *out. */
SGS_API void sgs_engine_stats(const sgs_engine *e, sgs_stats *out);

/* Number of distinct public keys loaded. */
SGS_API size_t sgs_engine_key_count(const sgs_engine *e);

/* A one-time notice of the run (e.g. "cache ... was corrupt: rebuilt"); "" if none. */
SGS_API const char *sgs_engine_notice(const sgs_engine *e);

/* After sgs_engine_finish(): why enforcement renamed nothing (the circuit breaker, see
   sgs_config.max_quarantine, or an interrupted run); "" when it went ahead or had nothing. */
SGS_API const char *sgs_engine_breaker(const sgs_engine *e);

/* Detail of the last failed call on the controlling thread; "" if none. Never NULL. */
SGS_API const char *sgs_engine_error(const sgs_engine *e);

/*
 * Stops a run early (SIGTERM, SIGINT): the walk stops, queued jobs are dropped without a
 * record, jobs being judged finish (their records and quarantine steps complete, so the
 * journal stays consistent); sgs_engine_finish() then returns as usual and sgs_stats says
 * `interrupted`. THREAD SAFETY: any thread, and async-signal-safe (one atomic store).
 */
SGS_API void sgs_engine_cancel(sgs_engine *e);

/* Finishes if needed, then frees everything. NULL is a no-op. */
SGS_API void sgs_engine_free(sgs_engine *e);

/* ---- the guard: allow or deny each exec in watched trees (Linux fanotify) ------------------ */

/* How a guard came to its decision on one exec. */
typedef enum sgs_guard_how {
    SGS_GUARD_STORE = 0, /* the verdict store knew the file (its identity, unchanged) */
    SGS_GUARD_JUDGED,    /* judged now, through the event's descriptor */
    SGS_GUARD_TIMEOUT,   /* no verdict within the deadline (or the guard was saturated or
                            stopping): the on-timeout decision */
    SGS_GUARD_LATE,      /* a judgement that finished after its timeout decision: the verdict,
                            stored for the next exec; no decision of its own (allowed -1) */
    SGS_GUARD_EXEMPT     /* an exempt path: allowed unjudged */
} sgs_guard_how;

/* What a guard with quarantine (an engine with quarantine_journal, enforce) did with the file of
   one decision. */
typedef enum sgs_guard_quarantine {
    SGS_GUARD_Q_OFF = 0,  /* the guard does not quarantine */
    SGS_GUARD_Q_DONE,     /* renamed <name>_invalid[.N], journalled (event.quarantined) */
    SGS_GUARD_Q_NOT,      /* not renamed: event.quarantine_why says why (allowed, not a
                             verdict on its contents, decided at the deadline, not the judged
                             file any more, a failed rename) */
    SGS_GUARD_Q_BREAKER   /* not renamed: the circuit breaker has tripped (event.quarantine_why);
                             the first such event has breaker_tripped 1 */
} sgs_guard_quarantine;

/*
 * One decision (or late verdict), handed to sgs_guard_config.on_event. Read-only; pointers
 * valid until the callback returns. `path` is the executable's path as the kernel reports it
 * (the file itself was read only through the event's descriptor).
 */
typedef struct sgs_guard_event {
    int64_t time_ns;      /* CLOCK_REALTIME when the answer was given */
    int32_t pid;          /* the process exec'ing */
    int64_t uid;          /* its effective uid (owner of /proc/PID) before the answer, -1
                             when gone */
    const char *path;
    uint64_t dev, ino, size; /* the file's identity (fstat of the descriptor) */
    int64_t mtime_ns, ctime_ns;
    sgs_verdict verdict;  /* SGS_V_UNJUDGED for TIMEOUT and EXEMPT */
    const char *reason;   /* never NULL */
    int allowed;          /* 1 allowed, 0 denied (EPERM), -1 no decision (LATE) */
    sgs_guard_how how;
    uint64_t latency_ns;  /* from reading the event to writing its answer (LATE: to the verdict) */
    sgs_guard_quarantine quarantine;
    const char *quarantined;    /* Q_DONE: the new name; else NULL */
    const char *quarantine_why; /* Q_NOT, Q_BREAKER: why not renamed; else "" */
    int breaker_tripped;        /* 1 on the event that tripped the circuit breaker (once) */
} sgs_guard_event;

/* THREAD SAFETY: called from the guard's threads, never concurrently (one writer). */
typedef void (*sgs_guard_fn)(void *opaque, const sgs_guard_event *ev);

/* Caller-owned; sgs_guard_config_init() sets the defaults. Copied at sgs_guard_create(). */
typedef struct sgs_guard_config {
    const char *const *watch; /* directories (or files) whose execs are judged; >= 1 */
    size_t nwatch;
    const char *const *exempt; /* paths always allowed unjudged (a file, or a directory and
                                  everything under it), as the kernel reports them */
    size_t nexempt;
    int enforce;            /* 1: deny what is not VALID; 0 (audit): allow and record */
    unsigned deadline_ms;   /* every exec is answered within this (default 200; 1..60000) */
    int timeout_allow;      /* the decision at the deadline: 1 allow, 0 deny, -1 (default):
                               deny when enforcing, allow in audit */
    unsigned threads;       /* judging threads (default 2; 1..64) */
    int quarantine;         /* enforce only, with the engine's quarantine_journal: a file denied
                               by its verdict (judged now or stored; never at the deadline) that
                               the verdict says is bad (BAD_SIGNATURE, NO_SIGNATURE, MALFORMED,
                               UNTRUSTED, EXPIRED, NOT_YET_VALID, REVOKED, UNSUPPORTED) is also
                               renamed <name>_invalid[.N] by a judging thread after the denial,
                               through the journal (restore undoes it); at most the engine's
                               max_quarantine files (1..SGS_GUARD_MAX_QUARANTINE) in the guard's
                               lifetime, then the circuit breaker stops the renames (the denials
                               go on) */
    sgs_guard_fn on_event;  /* required */
    void *opaque;
} sgs_guard_config;

#define SGS_GUARD_MAX_QUARANTINE 4096u /* the largest circuit breaker of a guard */

typedef struct sgs_guard sgs_guard;

SGS_API void sgs_guard_config_init(sgs_guard_config *gc);

/*
 * Makes a guard judging with engine e (SGS_OP_VERIFY, its keys and certificates added, a
 * cache_dir for the verdict store; the engine then takes no submit of its own and must outlive
 * the guard). Every check comes before the first mark: the engine's material, each watched
 * path (it must exist), fanotify permission events (root or CAP_SYS_ADMIN, a kernel with
 * CONFIG_FANOTIFY_ACCESS_PERMISSIONS and FAN_OPEN_EXEC_PERM); a failure leaves no mark.
 * The marks are mount marks (FAN_MARK_MOUNT) on the mounts holding the watched paths: execs
 * elsewhere on those mounts are allowed at once, unlogged. A second group, notification only,
 * marks their file systems (FAN_MARK_FILESYSTEM) for renames, creations and deletions; when it
 * cannot, the guard runs without it (sgs_guard_notice says why).
 * Returns SGS_OK, SGS_ERR_INVALID_ARG, SGS_ERR_STATE (no key and no trust), SGS_ERR_IO (a
 * watched path missing), SGS_ERR_PERMISSION (not permitted, or the kernel lacks the events),
 * SGS_ERR_NOMEM, SGS_ERR_THREAD; err says why. On success *out is owned by the caller:
 * sgs_guard_free(). THREAD SAFETY: the controlling thread.
 */
SGS_API SGS_NODISCARD sgs_status sgs_guard_create(sgs_engine *e, const sgs_guard_config *gc,
                                                  sgs_guard **out, char *err, size_t errlen);

/*
 * Answers exec events until sgs_guard_stop(): the guard's own process and exempt paths are
 * allowed; a file the verdict store knows as it is now is decided at once; any other is judged
 * through the event's descriptor by the judging threads (and stored), or answered at the
 * deadline while its judgement goes on. A file written since it was judged
 * (FAN_MODIFY, FAN_CLOSE_WRITE), or moved, created or deleted at a name (the second group), is
 * judged again, whatever the store says. Returns SGS_OK after
 * a stop (every pending exec answered), SGS_ERR_IO when reading events failed (err says why).
 */
SGS_API SGS_NODISCARD sgs_status sgs_guard_run(sgs_guard *g, char *err, size_t errlen);

/* What the guard runs without, said once after sgs_guard_create() (a warning, not a failure):
   "" or, e.g., that renames are not watched (the file system has no fsid for FAN_MARK_FILESYSTEM,
   or the kernel lacks FAN_REPORT_DFID_NAME). Valid until sgs_guard_free(). */
SGS_API const char *sgs_guard_notice(const sgs_guard *g);

/* Makes sgs_guard_run() return. Async-signal-safe; any thread. */
SGS_API void sgs_guard_stop(sgs_guard *g);

/* Removes the marks (closing the group: pending execs are allowed by the kernel), frees g.
   NULL-safe. After sgs_guard_run() has returned. */
SGS_API void sgs_guard_free(sgs_guard *g);

/* "store", "judged", "timeout", "late", "exempt"; "?" out of range. */
SGS_API const char *sgs_guard_how_name(sgs_guard_how how);

/* ==============================================================================================
 * 2. Administer: the trust store, the cache, the journal, the policy, keys, packages.
 * Free functions, each a whole task (no engine): the detail of a failure is their err.
 * ============================================================================================== */

/* ---- the trust store: list certificates, add them -------------------------------------------- */

/* A certificate as `trust list` shows it. Strings valid until the callback returns. */
typedef struct sgs_cert_info {
    const char *path;        /* the file it is in */
    const char *subject;     /* RFC 2253 */
    const char *issuer;
    const char *not_before;  /* ISO 8601 UTC, e.g. 2026-01-31T00:00:00Z */
    const char *not_after;
    const char *fingerprint; /* SHA-256 of the DER certificate, hex */
    const char *key_id;      /* subjectKeyIdentifier, hex; "" when absent */
    int is_ca;               /* basicConstraints CA:TRUE (or a v1 self-signed root) */
    int self_signed;
} sgs_cert_info;

typedef void (*sgs_cert_fn)(void *opaque, const sgs_cert_info *info);

/*
 * Lists the certificates in a file (PEM bundle or DER) or a directory (its regular files and
 * links, in name order; a certificate reached twice, as in hashed directories, is listed once).
 * Returns SGS_OK, SGS_ERR_IO, SGS_ERR_KEY (the file given is not a certificate),
 * SGS_ERR_NOMEM; err says which file and why. In a directory, files that hold no certificate
 * are skipped: SGS_OK with err naming them (err is "" otherwise). THREAD SAFETY: no shared
 * state.
 */
SGS_API SGS_NODISCARD sgs_status sgs_certs_list(const char *path, sgs_cert_fn fn, void *opaque,
                                                char *err, size_t errlen);

typedef enum sgs_import_action {
    SGS_IMPORT_ADDED = 0, /* written to the directory and linked under its subject hash */
    SGS_IMPORT_PRESENT,   /* the same certificate is already there */
    SGS_IMPORT_REFUSED    /* not a CA (without force), or a name is taken by something else */
} sgs_import_action;

typedef struct sgs_import_record {
    const char *source;   /* the file the certificate came from */
    sgs_cert_info cert;   /* cert.path: the file in the trust directory ("" when refused) */
    const char *link;     /* the <subject hash>.<n> link name, "" when none */
    sgs_import_action action;
    const char *detail;   /* human reason */
} sgs_import_record;

typedef void (*sgs_import_fn)(void *opaque, const sgs_import_record *rec);

/*
 * Imports every certificate of cert_path into the trust directory dir (created if missing):
 * each is written as <sha256 prefix>.pem (never overwriting a file) and linked as
 * <subject hash>.<n>, the names OpenSSL's hashed-directory lookup uses (`openssl rehash`).
 * Certificates that are not CAs are refused unless force. One callback per certificate.
 * Returns SGS_OK (even when some were refused: see the records), SGS_ERR_IO, SGS_ERR_KEY,
 * SGS_ERR_NOMEM.
 */
SGS_API SGS_NODISCARD sgs_status sgs_trust_store_add(const char *dir, const char *cert_path,
                                                     int force, sgs_import_fn fn, void *opaque,
                                                     char *err, size_t errlen);

/* ---- kernel images: the certificates their modules are checked against (kernel-keys) --------- */

/*
 * Writes the X.509 certificates built into a kernel image to `out` (PEM, one block per
 * certificate, in image order; never overwriting: an existing `out` is SGS_ERR_IO) and calls
 * fn (may be NULL) for each, described as `trust list` does (info->path: the image). The
 * image: an x86 bzImage (also one signed for EFI) with a gzip, xz, zstd or lz4 payload, an
 * EFI zboot image, a kernel that is one gzip/xz/zstd/lz4 stream (Image.gz), or an
 * uncompressed vmlinux or Image; the payload is decompressed in memory, at most 512 MiB.
 * Every certificate found is written: the module-signing key's, and any other the kernel was
 * built with (CONFIG_SYSTEM_TRUSTED_KEYS, a wireless regulatory database's). `what` (whatlen
 * bytes, may be 0) says what the image was. Returns SGS_OK, SGS_ERR_IO (the image cannot be
 * read, `out` cannot be written), SGS_ERR_KEY (a payload that does not decompress, no
 * certificate found), SGS_ERR_NOMEM; err says why. THREAD SAFETY: no shared state.
 */
SGS_API SGS_NODISCARD sgs_status sgs_kernel_keys(const char *image, const char *out,
                                                 sgs_cert_fn fn, void *opaque, char *what,
                                                 size_t whatlen, char *err, size_t errlen);

/* ---- the persistent cache (verify --cache-dir) ----------------------------------------------- */

/* $XDG_CACHE_HOME/sigsweep, else ~/.cache/sigsweep */
SGS_API const char *sgs_default_cache_dir(char *buf, size_t n);

typedef struct sgs_cache_info {
    uint64_t files;    /* file identities with their digest */
    uint64_t verdicts; /* content keys with their verdict */
    uint64_t bytes;    /* disk used by the cache file */
} sgs_cache_info;

/*
 * `sigsweep cache stats|clear|export` on the cache in dir. Nothing is printed: err says
 * why a call failed ("" on success, except as clear says).
 * stats and export read an existing, usable cache and change nothing: SGS_ERR_IO with "no
 * cache at DIR: ..." when dir, or its data.mdb, does not exist (nothing is created), "cache DIR
 * is unusable (...)" when it is corrupt or not a cache (nothing is moved).
 * clear is the repair tool: it empties an existing cache; a corrupt one is moved aside
 * (data.mdb.broken-TIME) and a new, empty one made, and err then says so with SGS_OK. A missing
 * dir or data.mdb is SGS_ERR_IO ("no cache at DIR").
 * export writes the verdicts (content-keyed, portable; file identities are machine-local) in a
 * versioned text format, atomically, never a VALID one (a listing: there is no import, since
 * an unsigned file cannot be trusted to decide a verdict).
 * Returns SGS_OK or SGS_ERR_IO. THREAD SAFETY: no shared state; other processes may use the
 * cache meanwhile.
 */
SGS_API SGS_NODISCARD sgs_status sgs_cache_stats(const char *dir, sgs_cache_info *out, char *err,
                                                 size_t errlen);
SGS_API SGS_NODISCARD sgs_status sgs_cache_clear(const char *dir, char *err, size_t errlen);
SGS_API SGS_NODISCARD sgs_status sgs_cache_export(const char *dir, const char *file,
                                                  uint64_t *count, char *err, size_t errlen);

/* ---- the quarantine journal: restore --------------------------------------------------------- */

typedef enum sgs_restore_action {
    SGS_RESTORE_DONE = 0,  /* renamed back */
    SGS_RESTORE_REFUSED,   /* left as it is: reason says why */
    SGS_RESTORE_WOULD,     /* dry run: would be renamed back */
    SGS_RESTORE_NOT_MOVED  /* journalled, but the rename never happened (crash) */
} sgs_restore_action;

typedef struct sgs_restore_record {
    const char *original;
    const char *quarantined;
    sgs_restore_action action;
    const char *reason;
} sgs_restore_record;

typedef void (*sgs_restore_fn)(void *opaque, const sgs_restore_record *r);

typedef struct sgs_restore_opts {
    const char *journal;        /* NULL: only --scan */
    const char *const *paths;   /* restore only originals at or under these (none: all) */
    size_t npaths;
    const char *const *scan;    /* also restore stray *_invalid[.N] files under these dirs */
    size_t nscan;
    int dry_run;
    sgs_allocator alloc;        /* both NULL: malloc/free (tests fail the Nth allocation) */
} sgs_restore_opts;

/*
 * Puts quarantined files back exactly: a journal entry is restored only when its file is still
 * the one journalled (dev, inode, size, mtime) and its original name is free (renameat2
 * RENAME_NOREPLACE); otherwise it is refused with a reason. Returns SGS_OK, SGS_ERR_STATE when
 * something was refused, SGS_ERR_FORMAT (not a journal), SGS_ERR_IO (also for a journal that is
 * not trusted: owned by another user than this one or root, or writable by group or others;
 * nothing is read from it, in a dry run too), SGS_ERR_NOMEM (o->alloc failed: nothing was
 * renamed after that; a stray found then is refused with "out of memory").
 */
SGS_API SGS_NODISCARD sgs_status sgs_restore(const sgs_restore_opts *o, sgs_restore_fn fn,
                                             void *opaque, char *err, size_t errlen);

/* $XDG_STATE_HOME/sigsweep/quarantine.journal, else ~/.local/state/sigsweep/quarantine.journal */
SGS_API const char *sgs_default_journal(char *buf, size_t n);

/* ---- the product's policy file --------------------------------------------------------------- */

/*
 * Reads the policy INI the seed product uses: [INI_SERVER_SECTION] CheckDigitalSignatureForHotfix
 * (or, absent, [Global Settings] CheckDigitalSignatureForUpgrade): 1 enforce, 0 audit. *enforce
 * is set to 1/0, or -1 when neither key is there. Malformed lines and other values are passed to
 * warn (line number, text) and ignored. Returns SGS_OK or SGS_ERR_IO.
 */
typedef void (*sgs_policy_warn_fn)(void *opaque, unsigned line, const char *what);
SGS_API SGS_NODISCARD sgs_status sgs_policy_read(const char *path, int *enforce,
                                                 sgs_policy_warn_fn warn, void *opaque, char *err,
                                                 size_t errlen);

/* ---- keys: a server key pair, a public key --------------------------------------------------- */

/*
 * Makes a server key pair for an installation: dir/server.key (PKCS#8 PEM, mode 0600),
 * dir/server.crt (self-signed, CN=sigsweep server, 10 years) and dir/<agent_file> (the agents'
 * copy: the public key as DER SubjectPublicKeyInfo). type: "rsa2048", "rsa3072", "ec-p256",
 * "ed25519". Never overwrites (SGS_ERR_IO when a file exists). The private key is wiped from
 * memory. Returns SGS_OK, SGS_ERR_INVALID_ARG, SGS_ERR_IO, SGS_ERR_CRYPTO; err says why.
 */
SGS_API SGS_NODISCARD sgs_status sgs_keygen(const char *type, const char *dir,
                                            const char *agent_file, char *err, size_t errlen);

/* Writes the public key (SPKI) of a certificate or public key file to out, DER or PEM; never
   overwrites. Returns SGS_OK, SGS_ERR_IO, SGS_ERR_KEY; err says why. */
SGS_API SGS_NODISCARD sgs_status sgs_export_public_key(const char *cert, const char *out, int pem,
                                                       char *err, size_t errlen);

/* ---- packages: write a manifest -------------------------------------------------------------- */

/*
 * Writes a manifest of every regular file under dir (recursive; links and special files are
 * not listed), sorted by path, one line each in sha256sum's own format (with its escaping),
 * hashed in parallel with `threads` workers (0 = online CPUs). Written to a temporary file
 * beside `out` and renamed over it; `out` is not listed if it lies under dir. A file that
 * cannot be read fails the whole manifest. Returns SGS_OK, SGS_ERR_IO, SGS_ERR_NOMEM.
 */
SGS_API SGS_NODISCARD sgs_status sgs_package_create(const char *dir, const char *out,
                                                    sgs_hash hash, unsigned threads, char *err,
                                                    size_t errlen);

/* ==============================================================================================
 * 3. Low-level helpers: names and parsers, files, the self-test.
 * ============================================================================================== */

/* ---- names and parsers ----------------------------------------------------------------------- */

/* Stable tokens and names; never NULL ("?" for out-of-range values). */
SGS_API const char *sgs_verdict_name(sgs_verdict v);
SGS_API const char *sgs_status_str(sgs_status s);
SGS_API const char *sgs_hash_name(sgs_hash h);
/* Parses "sha256", "sha384", "sha512". Returns 0 on success, -1 if unknown. */
SGS_API SGS_NODISCARD int sgs_hash_from_name(const char *name, sgs_hash *out);
/* Parses a verdict token as printed by sgs_verdict_name(). 0 on success, -1 if unknown. */
SGS_API SGS_NODISCARD int sgs_verdict_from_name(const char *name, sgs_verdict *out);
SGS_API const char *sgs_version_string(void);

/* ---- files: the one writer and the one way to open a named input (fileio.c) ------------------ */

/* Flags of sgs_wfile_open. */
#define SGS_WFILE_NOREPLACE 1u    /* an existing destination (of any kind) is refused */
#define SGS_WFILE_REGULAR_ONLY 2u /* a FIFO or character device is refused, not written into */
#define SGS_WFILE_SYNC 4u         /* fsync the file, and its directory after the rename */

typedef struct sgs_wfile sgs_wfile;

/*
 * Starts writing `path`. Where the destination is (or will be) a regular file, the bytes go
 * to a new temporary file beside it (O_CREAT|O_EXCL|O_NOFOLLOW, an unpredictable name, the
 * final mode) that sgs_wfile_commit() renames over it; a symbolic link at `path` is replaced,
 * never written through; an existing regular file's mode and owner are kept. A FIFO or a
 * character device (/dev/null, a terminal) is written into directly, as `dd of=` does (a FIFO
 * without a reader is an error, not a hang), unless SGS_WFILE_REGULAR_ONLY. A directory,
 * socket or block device is refused. `mode` is the mode of a new file (umask not applied).
 * On success *out is owned by the caller: release it with sgs_wfile_commit() or
 * sgs_wfile_abort(). On failure err says why, naming the path.
 * Returns SGS_OK, SGS_ERR_IO (err says why), SGS_ERR_NOMEM, SGS_ERR_INVALID_ARG.
 * THREAD SAFETY: a handle is used by one thread at a time.
 */
SGS_API SGS_NODISCARD sgs_status sgs_wfile_open(const char *path, unsigned flags, mode_t mode,
                                                sgs_wfile **out, char *err, size_t errlen);

/* The descriptor to write to (blocking). Owned by the handle. */
SGS_API int sgs_wfile_fd(const sgs_wfile *w);

/* Writes all of (buf, len), retrying short writes. SGS_OK or SGS_ERR_IO (err says why). */
SGS_API SGS_NODISCARD sgs_status sgs_wfile_write(sgs_wfile *w, const void *buf, size_t len,
                                                 char *err, size_t errlen);

/* The temporary file's name in the destination's directory, or NULL when writing straight
   into a FIFO or device. Valid until commit or abort. */
SGS_API const char *sgs_wfile_temp_name(const sgs_wfile *w);

/* Whether the bytes go to a temporary file (1) or straight into a FIFO or device (0). */
SGS_API int sgs_wfile_is_replacing(const sgs_wfile *w);

/*
 * Finishes: closes the file and renames the temporary file over the destination (with
 * SGS_WFILE_NOREPLACE, only if the name is still free). Frees w in every case; on failure the
 * temporary file is removed and the destination is as it was. SGS_OK or SGS_ERR_IO.
 */
SGS_API SGS_NODISCARD sgs_status sgs_wfile_commit(sgs_wfile *w, char *err, size_t errlen);

/*
 * Puts (buf, len) before the bytes written so far (a report's first record, known only at the
 * end): a new temporary file gets buf, then the old one's bytes (copied in the kernel where it
 * can), with the same mode and owner, and replaces the old one; the caller must have flushed
 * what it wrote through its own buffers. Only where the bytes go to a temporary file
 * (sgs_wfile_is_replacing): SGS_ERR_INVALID_ARG otherwise. On failure the handle is as it was.
 * Returns SGS_OK, SGS_ERR_IO (err says why), SGS_ERR_INVALID_ARG.
 */
SGS_API SGS_NODISCARD sgs_status sgs_wfile_prepend(sgs_wfile *w, const void *buf, size_t len,
                                                   char *err, size_t errlen);

/* Abandons: removes the temporary file, leaves the destination as it was, frees w. NULL-safe. */
SGS_API void sgs_wfile_abort(sgs_wfile *w);

/*
 * Opens an input sigsweep was given (a list, journal, policy, manifest, key or certificate
 * file) for reading: O_NONBLOCK, so a FIFO without a writer cannot hang the open, then
 * fstat: only a regular file is accepted (a FIFO, socket, device or directory is refused with
 * err naming the path and what it is). `follow`: 0 refuses a symbolic link as the last
 * component. Returns a blocking descriptor the caller closes, or -1 with err.
 */
SGS_API int sgs_open_regular(const char *path, int follow, char *err, size_t errlen);

/* ---- self-test ------------------------------------------------------------------------------- */

/*
 * Known-answer self-test of the digest and signature paths (used by `--version`).
 * Returns SGS_OK or SGS_ERR_CRYPTO.
 */
SGS_API SGS_NODISCARD sgs_status sgs_selftest(void);

#ifdef __cplusplus
}
#endif
#endif /* SIGSWEEP_H */
