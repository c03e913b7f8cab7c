#ifndef HOOKHOST_CSYS_SHIM_H
#define HOOKHOST_CSYS_SHIM_H
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/un.h>
#include <spawn.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <poll.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>

// Declared here because defining _GNU_SOURCE would make these headers disagree with SwiftGlibc's.
extern int accept4(int, struct sockaddr *, socklen_t *, int);
extern int pipe2(int pipefd[2], int flags);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *, const char *);
extern int pthread_setname_np(pthread_t, const char *);
extern int pthread_getname_np(pthread_t, char *, size_t);
extern int pthread_clockjoin_np(pthread_t, void **, clockid_t, const struct timespec *);
extern void *memmem(const void *, size_t, const void *, size_t);

// Glibc's Swift overlay hides these or imports them awkwardly; thin wrappers keep pointers here.
static inline int hh_accept4(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }
static inline int hh_pipe2(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
static inline int hh_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline int hh_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
/* Where `needle` first occurs in `hay` (linear time, glibc's two-way search), or -1. */
static inline long hh_memmem(const void *hay, size_t hay_len, const void *needle, size_t needle_len) {
    const char *at = memmem(hay, hay_len, needle, needle_len);
    return at ? (long)(at - (const char *)hay) : -1;
}
/* CRC-32C with the SSE4.2 instruction (8 bytes per step); hh_has_sse42 says whether the CPU
   has it. `crc` is the running value, already inverted by the caller. */
#include <cpuid.h>
#include <string.h>
static inline int hh_has_sse42(void) {
    static int known = -1;  /* a benign race: every thread computes the same answer */
    if (known < 0) {
        unsigned a, b, c, d;
        known = (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2)) ? 1 : 0;
    }
    return known;
}
__attribute__((target("sse4.2"))) static inline uint32_t hh_crc32c_sse42(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) { uint64_t v; memcpy(&v, p, 8); c = __builtin_ia32_crc32di(c, v); p += 8; n -= 8; }
    uint32_t c32 = (uint32_t)c;
    while (n > 0) { c32 = __builtin_ia32_crc32qi(c32, *p++); n--; }
    return c32;
}
/* The fallocate system call itself: glibc's posix_fallocate emulates a filesystem without it by
   writing zeros, which on a nearly full disk fails late (at fdatasync) instead of at once.
   Returns 0 or the errno. */
static inline int hh_fallocate(int fd, off_t offset, off_t length) {
    long rc = syscall(SYS_fallocate, fd, 0, offset, length);
    return rc == 0 ? 0 : errno;
}
static inline int hh_epoll_add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = { .events = events, .data = { .u64 = data } };
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}
static inline int hh_epoll_mod(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = { .events = events, .data = { .u64 = data } };
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}
static inline int hh_epoll_del(int ep, int fd) { return epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL); }
static inline int hh_set_thread_name(const char *n) { return pthread_setname_np(pthread_self(), n); }
static inline int hh_get_thread_name(char *buf, size_t len) { return pthread_getname_np(pthread_self(), buf, len); }
/// A reader/writer lock that lets a waiting writer in before new readers.
static inline int hh_rwlock_init_writer_first(pthread_rwlock_t *l) {
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(l, &a);
    pthread_rwlockattr_destroy(&a);
    return rc;
}
/// Joins `t` if it ends before the CLOCK_MONOTONIC time `deadline` (seconds); ETIMEDOUT otherwise.
static inline int hh_thread_join_until(pthread_t t, double deadline) {
    struct timespec ts = { .tv_sec = (time_t)deadline, .tv_nsec = (long)((deadline - (double)(time_t)deadline) * 1e9) };
    return pthread_clockjoin_np(t, NULL, CLOCK_MONOTONIC, &ts);
}
static inline uint64_t hh_epoll_event_data(const struct epoll_event *evs, int i) { return evs[i].data.u64; }
static inline uint32_t hh_epoll_event_flags(const struct epoll_event *evs, int i) { return evs[i].events; }
static const uint32_t HH_EPOLLIN = EPOLLIN, HH_EPOLLOUT = EPOLLOUT, HH_EPOLLERR = EPOLLERR,
    HH_EPOLLHUP = EPOLLHUP, HH_EPOLLRDHUP = EPOLLRDHUP;
static inline int hh_sock_stream_cloexec(void) { return SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK; }

static inline int hh_wifexited(int s) { return WIFEXITED(s); }
static inline int hh_wexitstatus(int s) { return WEXITSTATUS(s); }
static inline int hh_wifsignaled(int s) { return WIFSIGNALED(s); }
static inline int hh_wtermsig(int s) { return WTERMSIG(s); }
#include <pthread.h>
#include <sys/statvfs.h>
static inline int hh_set_thread_nice(int nice) { return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice); }
static inline void hh_malloc_trim(void) { malloc_trim(0); }
/* arenas <= 0 or mmap_threshold < 0: leave that setting as glibc has it (e.g. from the environment). */
static inline void hh_malloc_tune(int arenas, int mmap_threshold) {
    if (arenas > 0) mallopt(M_ARENA_MAX, arenas);
    if (mmap_threshold >= 0) mallopt(M_MMAP_THRESHOLD, mmap_threshold);
}
static inline int hh_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
static inline int hh_spawn_addchdir(posix_spawn_file_actions_t *fa, const char *dir) {
    return posix_spawn_file_actions_addchdir_np(fa, dir);
}
static const short HH_SPAWN_FLAGS = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
static inline int hh_open3(const char *p, int flags, int mode) { return open(p, flags, mode); }
static inline int hh_openat3(int dir, const char *name, int flags, int mode) { return openat(dir, name, flags, mode); }
static inline int hh_fcntl_setfl_nonblock(int fd) { int f = fcntl(fd, F_GETFL); return fcntl(fd, F_SETFL, f | O_NONBLOCK); }
static inline int hh_flock_try(int fd) { return flock(fd, LOCK_EX | LOCK_NB); }
/* A directory handle for path lookups only (O_PATH is hidden without _GNU_SOURCE; glibc always has __O_PATH). */
static inline int hh_open_dir_path(const char *p) { return open(p, __O_PATH | O_DIRECTORY | O_CLOEXEC); }
// --- Process containment (PosixProcessLauncher, Reaper) -----------------------------------------
#include <sys/prctl.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *, int);
/// Closes every descriptor >= `from` in the child (glibc >= 2.34), whatever the host inherited.
static inline int hh_spawn_addclosefrom(posix_spawn_file_actions_t *fa, int from) {
    return posix_spawn_file_actions_addclosefrom_np(fa, from);
}
/// Orphans of our descendants are re-parented to us instead of init, so we can kill and reap them.
static inline int hh_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

/// Whether `pid` (our child) has exited, without reaping it: the zombie keeps its pid and process
/// group reserved, so the group can still be signalled safely. Returns 1 with `*code`/`*sig` set
/// (one of them -1), 0 while it runs, -1 with errno on error.
static inline int hh_exited_nowait(pid_t pid, int *code, int *sig) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return -1;
    if (info.si_pid != pid) return 0;
    *code = -1; *sig = -1;
    if (info.si_code == CLD_EXITED) *code = info.si_status; else *sig = info.si_status;
    return 1;
}

/// An exited child not reaped yet, left unreaped: its pid, 0 when no child has exited, -1 with
/// errno (ECHILD: no children at all). Which zombie the kernel names first is its choice.
static inline pid_t hh_exited_child_nowait(void) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return -1;
    return info.si_pid;
}

/// fork + exec as another user, for what posix_spawn cannot do (change uid/gid). The child runs
/// only async-signal-safe steps, mirroring the posix_spawn path: own process group, default
/// signal dispositions and an empty mask, the three pipes as 0/1/2, every other descriptor
/// closed, cwd, then groups/gid/uid via raw syscalls (glibc's wrappers broadcast to threads that
/// do not exist in the child). An exec failure comes back as an errno through a close-on-exec
/// pipe, so it is a spawn error rather than exit 127. Returns 0 with *pid_out, or an errno.
static inline int hh_fork_exec_as(const char *path, char *const argv[], char *const envp[],
                                  int in_fd, int out_fd, int err_fd, const char *dir,
                                  unsigned uid, unsigned gid, pid_t *pid_out) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    sigset_t all, old;
    sigfillset(&all);
    // No host signal handler may run in the child between fork and exec.
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        int err = 0;
        setpgid(0, 0);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++) if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, NULL);
        if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) { err = errno; goto fail; }
        // Everything but the report pipe; it is close-on-exec and closes itself on success.
        if (report[1] > 3 && syscall(SYS_close_range, 3u, (unsigned)report[1] - 1, 0u) != 0) { err = errno; goto fail; }
        if (syscall(SYS_close_range, (unsigned)report[1] + 1, ~0u, 0u) != 0) { err = errno; goto fail; }
        if (report[1] < 3) { err = EBADF; goto fail; }
        // cwd first, as root: the work dir's parents need not be searchable by the function user.
        if (dir && chdir(dir) != 0) { err = errno; goto fail; }
        gid_t groups[1] = { (gid_t)gid };
        if (syscall(SYS_setgroups, 1, groups) != 0) { err = errno; goto fail; }
        if (syscall(SYS_setresgid, (gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) { err = errno; goto fail; }
        if (syscall(SYS_setresuid, (uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) { err = errno; goto fail; }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        err = errno;
    fail:
        while (write(report[1], &err, sizeof err) < 0 && errno == EINTR) {}
        _exit(127);
    }
    int forkErr = pid < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(report[1]);
    if (pid < 0) { close(report[0]); return forkErr; }
    setpgid(pid, pid);  // both sides set it, so it holds before anyone signals the group
    int childErr = 0;
    ssize_t n;
    while ((n = read(report[0], &childErr, sizeof childErr)) < 0 && errno == EINTR) {}
    close(report[0]);
    if (n == (ssize_t)sizeof childErr) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        return childErr ? childErr : EIO;
    }
    *pid_out = pid;
    return 0;
}

/// getpwnam_r into caller-sized storage: 0 found, ENOENT unknown, else an errno.
static inline int hh_lookup_user(const char *name, unsigned *uid, unsigned *gid) {
    struct passwd pw, *res = NULL;
    char buf[16384];
    int rc = getpwnam_r(name, &pw, buf, sizeof buf, &res);
    if (rc != 0) return rc;
    if (!res) return ENOENT;
    *uid = pw.pw_uid; *gid = pw.pw_gid;
    return 0;
}
#endif
