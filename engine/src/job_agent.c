/*
 * job_agent.c - the agents job kind: one agent key file per job, judged by agents.c.
 */
#include "engine.h"

static sgs_status
agents_only(sgs_engine *e)
{
    e->err[0] = '\0';
    if (e->agents == NULL) {
        snprintf(e->err, sizeof(e->err), "not an agents engine (cfg.op = SGS_OP_AGENTS)");
        return SGS_ERR_STATE;
    }
    if (e->started) {
        snprintf(e->err, sizeof(e->err), "set before the first submit");
        return SGS_ERR_STATE;
    }
    return SGS_OK;
}

sgs_status
sgs_engine_set_server_key(sgs_engine *e, const char *path)
{
    SGS_TRY(agents_only(e));
    return sgs_agents_set_server(e->agents, path, e->err, sizeof(e->err));
}

sgs_status
sgs_engine_add_known_key(sgs_engine *e, const char *path)
{
    SGS_TRY(agents_only(e));
    return sgs_agents_add_known(e->agents, path, e->err, sizeof(e->err));
}

sgs_status
sgs_engine_set_command(sgs_engine *e, const char *message, const char *signature)
{
    SGS_TRY(agents_only(e));
    return sgs_agents_set_command(e->agents, message, signature, e->md, e->cfg.pss, e->err,
                                  sizeof(e->err));
}

/*
 * Opens an agent's key file. A fleet job (name_at > 0: path = FLEET/AGENT/KEY) goes beneath
 * the fleet directory and the agent directory without following a link at either step, so an
 * agent directory swapped for a link after the listing cannot lend another directory's key. A
 * listed one (--list: the path as given) follows no link in any component of its path either.
 */
static int
open_key_file(const job *j)
{
    const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    if (j->name_at == 0)
        return sgs_open_nofollow(AT_FDCWD, j->path, flags);
    char *const fleet = strndup(j->path, j->name_at - 1);
    const char *const agent = j->path + j->name_at;
    const char *const key = strrchr(agent, '/');
    if (fleet == NULL || key == NULL) {
        free(fleet);
        errno = ENOMEM;
        return -1;
    }
    char *const name = strndup(agent, (size_t)(key - agent));
    const int ffd = open(fleet, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const int afd = ffd >= 0 && name != NULL
                        ? openat(ffd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        : -1;
    const int fd = afd >= 0 ? openat(afd, key + 1, flags) : -1;
    const int err = errno;
    if (afd >= 0)
        close(afd);
    if (ffd >= 0)
        close(ffd);
    free(name);
    free(fleet);
    errno = err;
    return fd;
}

/* One agent: read its key file (never following links, never blocking), judge the content. */
void
sgs_agent_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    if (j->kind == SGS_SCAN_SYMLINK || j->kind == SGS_SCAN_SPECIAL) {
        rec->verdict = SGS_V_SKIPPED;
        sgs_say(w, "%s", j->kind == SGS_SCAN_SYMLINK
                         ? "the agent directory is a symbolic link (not followed)"
                         : "not an agent directory");
        return;
    }
    const int fd = open_key_file(j);
    struct stat ls;
    if (fd < 0 && errno == ELOOP && j->name_at == 0 && lstat(j->path, &ls) == 0 &&
        !S_ISLNK(ls.st_mode)) { /* (lstat only words the reason: the open decided) */
        rec->verdict = SGS_V_SKIPPED;
        sgs_say(w, "a directory of the key file's path %s is a symbolic link (not followed): "
                   "list the path without links (e.g. as realpath prints it)", j->path);
        return;
    }
    if (fd < 0) {
        rec->verdict = sgs_job_open_failure(w, SGS_ROLE_AGENT_KEY, errno, j->path);
        return;
    }
    struct stat sb;
    if (!sgs_job_stat_regular(fd, w, rec, &sb, "the key file"))
        return;
    if ((uint64_t)sb.st_size > SGS_AGENT_FILE_MAX) {
        rec->verdict = SGS_V_MALFORMED;
        sgs_say(w, "the key file is larger than %u bytes (%llu)", SGS_AGENT_FILE_MAX,
            (unsigned long long)sb.st_size);
        close(fd);
        return;
    }
    size_t got = 0;
    const size_t size = (size_t)sb.st_size;
    while (got < size) {
        const ssize_t n = read(fd, w->sig + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    struct stat after;
    const int changed = got != size || fstat(fd, &after) != 0 || after.st_size != sb.st_size ||
                        after.st_mtim.tv_nsec != sb.st_mtim.tv_nsec ||
                        after.st_mtim.tv_sec != sb.st_mtim.tv_sec;
    close(fd);
    if (changed) {
        rec->verdict = SGS_V_CHANGED;
        sgs_say(w, "the key file changed while being read");
        return;
    }
    sgs_agent_result r;
    sgs_agents_judge(e->agents, w->sig, got, &r);
    OPENSSL_cleanse(w->sig, got); /* it may have held a private key */
    memcpy(w->signer_hex, r.key_fp, sizeof(w->signer_hex));
    snprintf(w->alg, sizeof(w->alg), "%s", r.alg);
    snprintf(w->reason, sizeof(w->reason), "%s", r.reason);
    rec->signer = w->signer_hex;
    rec->alg = w->alg;
    rec->verdict = r.verdict; /* agents.c is the judge: its one VALID is in sgs_agents_judge */
}

static sgs_status
queue_agent(sgs_engine *e, const char *agent, const char *path, sgs_scan_kind kind,
            size_t name_at)
{
    if (!sgs_engine_in_shard(e, agent))
        return SGS_OK; /* another shard's agent (fleet.c) */
    const size_t alen = strlen(agent), plen = strlen(path);
    job *const j = sgs_malloc(&e->alloc, sizeof(job) + plen + alen + 2);
    if (j == NULL) {
        snprintf(e->err, sizeof(e->err), "%s: out of memory while queueing", agent);
        return SGS_ERR_NOMEM;
    }
    j->kind = kind;
    j->errno_value = 0;
    memcpy(j->path, path, plen + 1);
    j->sig_path = j->path + plen; /* unused: "" */
    j->p7s_path = NULL;
    j->minisig_path = NULL;
    j->present = SGS_SCAN_PRESENT_UNKNOWN;
    j->dir_dev = 0;
    j->dir_ino = 0;
    j->dir = NULL;
    j->name_at = name_at;
    j->listed = NULL;
    memcpy(j->path + plen + 1, agent, alen + 1);
    j->agent = j->path + plen + 1;
    sgs_engine_queue(e, j);
    return SGS_OK;
}

static sgs_status
agents_submit_start(sgs_engine *e)
{
    e->err[0] = '\0';
    if (e->agents == NULL) {
        snprintf(e->err, sizeof(e->err), "not an agents engine (cfg.op = SGS_OP_AGENTS)");
        return SGS_ERR_STATE;
    }
    return sgs_engine_ready(e);
}

sgs_status
sgs_engine_submit_agent(sgs_engine *e, const char *agent_id, const char *path)
{
    SGS_TRY(agents_submit_start(e));
    const sgs_status st = queue_agent(e, agent_id, path, SGS_SCAN_FILE, 0);
    sgs_engine_flush(e);
    return st;
}

sgs_status
sgs_engine_submit_fleet(sgs_engine *e, const char *dir, const char *key_file)
{
    SGS_TRY(agents_submit_start(e));
    if (key_file == NULL || key_file[0] == '\0' || strchr(key_file, '/') != NULL) {
        snprintf(e->err, sizeof(e->err), "bad key file name");
        return SGS_ERR_INVALID_ARG;
    }
    /* Names first, sorted, so the report is in a stable order; the fleet's size bounds this
       list (one string per agent), the job queue stays bounded as elsewhere. */
    char **names = NULL;
    size_t n = 0;
    const int lrc = sgs_list_dir(&e->alloc, dir, 0, 1, &names, &n);
    if (lrc != 0) {
        snprintf(e->err, sizeof(e->err), "%s: %s", dir, strerror(lrc));
        return lrc == ENOMEM ? SGS_ERR_NOMEM : SGS_ERR_IO;
    }
    const int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    sgs_status st = SGS_OK;
    size_t dlen = strlen(dir); /* "fleet/" as given: fleet/agent, not fleet//agent */
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    const size_t klen = strlen(key_file);
    for (size_t i = 0; i < n && st == SGS_OK; i++) {
        const size_t len = dlen + strlen(names[i]) + klen + 3;
        char *const path = sgs_malloc(&e->alloc, len);
        if (path == NULL) {
            st = SGS_ERR_NOMEM;
            break;
        }
        struct stat sb;
        sgs_scan_kind kind = SGS_SCAN_FILE;
        if (dfd >= 0 && fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISLNK(sb.st_mode))
                kind = SGS_SCAN_SYMLINK;
            else if (!S_ISDIR(sb.st_mode))
                kind = SGS_SCAN_SPECIAL;
        }
        snprintf(path, len, "%.*s/%s/%s", (int)dlen, dir, names[i], key_file);
        /* the job opens the key file beneath FLEET and AGENT (name_at: where AGENT starts) */
        st = queue_agent(e, names[i], path, kind, dlen + 1);
        sgs_free(&e->alloc, path);
    }
    if (dfd >= 0)
        close(dfd);
    sgs_list_free(&e->alloc, names, n);
    sgs_engine_flush(e);
    if (st == SGS_ERR_NOMEM)
        snprintf(e->err, sizeof(e->err), "%s: out of memory", dir);
    return st;
}

