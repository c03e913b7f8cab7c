/* The spawn floor for bench/functions.sh: N runs of HANDLER with CONCURRENCY threads, each
 * posix_spawn + the stdin document fed through a pipe + waitpid, nothing else. That is the least
 * work a host can do per function run; prints runs/s.
 *
 * usage: spawn_floor HANDLER N CONCURRENCY STDIN_FILE */
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

static void *worker(void *arg) {
    (void)arg;
    char *argv[] = {(char *)handler, NULL};
    char *envp[] = {NULL};
    while (atomic_fetch_add(&next_run, 1) < total) {
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
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: spawn_floor HANDLER N CONCURRENCY STDIN_FILE\n"); return 2; }
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
    printf("FLOOR runs=%ld seconds=%.3f rps=%.0f failures=%ld\n", total, s, (double)total / s, atomic_load(&failures));
    return atomic_load(&failures) ? 1 : 0;
}
