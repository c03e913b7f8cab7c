/* The spawn floor for bench/functions.sh: N runs of HANDLER with CONCURRENCY threads, each
 * posix_spawn + the stdin document fed through a pipe + waitpid, nothing else. That is the least
 * work a host can do per function run; prints runs/s.
 *
 * With DIR, the contract floor: each run also pays what hookhost's promises cost whatever the
 * implementation — a record appended to DIR/log and fdatasync'd before the spawn ("a function
 * that was running is run again with attempt + 1"), a private scratch directory made before and
 * removed after (HOOKHOST_WORK_DIR), and an outcome record appended after (not waited for).
 *
 * usage: spawn_floor HANDLER N CONCURRENCY STDIN_FILE [DIR] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *handler;
static long total;
static atomic_long next_run;
static char *doc;
static size_t doc_len;
static atomic_long failures;
static const char *dir;           /* contract floor when set */
static int logfd = -1;
static atomic_long log_end;

/* Appends a record-sized line to the log; durable when `sync` is set. */
static int record(long run, const char *what, int sync) {
    char line[320];
    int n = snprintf(line, sizeof line, "{\"id\":\"bench_%08ld\",\"state\":\"%s\",\"attempt\":1,\"function\":\"bench.ping\",\"at\":1796200000.123}\n", run, what);
    long at = atomic_fetch_add(&log_end, n);
    if (pwrite(logfd, line, (size_t)n, at) != n) return -1;
    return sync ? fdatasync(logfd) : 0;
}

static void *worker(void *arg) {
    (void)arg;
    char *argv[] = {(char *)handler, NULL};
    char *envp[] = {NULL};
    long run;
    while ((run = atomic_fetch_add(&next_run, 1)) < total) {
        char work[4096];
        if (dir) {
            snprintf(work, sizeof work, "%s/work/bench_%08ld.1", dir, run);
            if (record(run, "running", 1) != 0 || mkdir(work, 0700) != 0) { atomic_fetch_add(&failures, 1); continue; }
        }
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) { atomic_fetch_add(&failures, 1); continue; }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[0], 0);
        pid_t pid;
        int rc = posix_spawn(&pid, handler, &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        close(p[0]);
        if (rc != 0) { close(p[1]); atomic_fetch_add(&failures, 1); continue; }
        size_t off = 0;
        while (off < doc_len) {
            ssize_t n = write(p[1], doc + off, doc_len - off);
            if (n <= 0) break;
            off += (size_t)n;
        }
        close(p[1]);
        int st;
        while (waitpid(pid, &st, 0) < 0) {}
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) atomic_fetch_add(&failures, 1);
        if (dir && (rmdir(work) != 0 || record(run, "done", 0) != 0)) atomic_fetch_add(&failures, 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) { fprintf(stderr, "usage: spawn_floor HANDLER N CONCURRENCY STDIN_FILE [DIR]\n"); return 2; }
    if (argc == 6) {
        dir = argv[5];
        char path[4096];
        snprintf(path, sizeof path, "%s/work", dir);
        mkdir(path, 0700);
        snprintf(path, sizeof path, "%s/log", dir);
        logfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (logfd < 0) { fprintf(stderr, "cannot create %s\n", path); return 2; }
        /* allocated ahead, as hookhost's spool is; like hookhost, without it where the file system
         * cannot (a growing file: every sync writes the inode too) */
        if (fallocate(logfd, 0, 0, 64 << 20) != 0) fprintf(stderr, "%s: not allocated ahead\n", path);
    }
    handler = argv[1];
    total = atol(argv[2]);
    int conc = atoi(argv[3]);
    FILE *f = fopen(argv[4], "rb");
    if (!f || conc < 1 || total < 1) { fprintf(stderr, "bad arguments\n"); return 2; }
    struct stat st;
    fstat(fileno(f), &st);
    doc_len = (size_t)st.st_size;
    doc = malloc(doc_len + 1);
    if (fread(doc, 1, doc_len, f) != doc_len) { fprintf(stderr, "cannot read %s\n", argv[4]); return 2; }
    fclose(f);
    pthread_t t[conc];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < conc; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < conc; i++) pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%s runs=%ld seconds=%.3f rps=%.0f failures=%ld\n", dir ? "CONTRACT" : "FLOOR", total, s, (double)total / s, atomic_load(&failures));
    return atomic_load(&failures) ? 1 : 0;
}
