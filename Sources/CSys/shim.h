#ifndef HOOKHOST_CSYS_SHIM_H
#define HOOKHOST_CSYS_SHIM_H
#include <sys/epoll.h>
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

// Glibc's Swift overlay hides these or imports them awkwardly; thin wrappers keep pointers here.
static inline int hh_accept4(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }
static inline int hh_pipe2(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
static inline int hh_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline int hh_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
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
static inline uint64_t hh_epoll_event_data(const struct epoll_event *evs, int i) { return evs[i].data.u64; }
static inline uint32_t hh_epoll_event_flags(const struct epoll_event *evs, int i) { return evs[i].events; }
static const uint32_t HH_EPOLLIN = EPOLLIN, HH_EPOLLOUT = EPOLLOUT, HH_EPOLLERR = EPOLLERR,
    HH_EPOLLHUP = EPOLLHUP, HH_EPOLLRDHUP = EPOLLRDHUP;
static inline int hh_sock_stream_cloexec(void) { return SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK; }

static inline int hh_wifexited(int s) { return WIFEXITED(s); }
static inline int hh_wexitstatus(int s) { return WEXITSTATUS(s); }
static inline int hh_wifsignaled(int s) { return WIFSIGNALED(s); }
static inline int hh_wtermsig(int s) { return WTERMSIG(s); }
#include <sys/syscall.h>
#include <pthread.h>
#include <sys/statvfs.h>
static inline int hh_set_thread_nice(int nice) { return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice); }
static inline void hh_malloc_trim(void) { malloc_trim(0); }
static inline int hh_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
static inline int hh_spawn_addchdir(posix_spawn_file_actions_t *fa, const char *dir) {
    return posix_spawn_file_actions_addchdir_np(fa, dir);
}
static const short HH_SPAWN_FLAGS = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
static inline int hh_open3(const char *p, int flags, int mode) { return open(p, flags, mode); }
static inline int hh_fcntl_setfl_nonblock(int fd) { int f = fcntl(fd, F_GETFL); return fcntl(fd, F_SETFL, f | O_NONBLOCK); }
static inline int hh_flock_try(int fd) { return flock(fd, LOCK_EX | LOCK_NB); }
#endif
