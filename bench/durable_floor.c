/* The durable-ack floor for bench/run.sh: the least work any server must do to answer a delivery
 * only once it is on disk. One thread, one epoll loop, no hand-offs: read every ready request
 * (keep-alive, Content-Length bodies), append the bodies of one loop turn to a log with a single
 * pwrite + fdatasync (group commit), then answer 202 to each. No signature check, no dedup, no
 * index, no log lines: what is left is the kernel's TCP work and the disk's flush.
 *
 * usage: durable_floor PORT LOGFILE */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* A turn takes at most MAX_EVENTS connections and at most BUF bytes of requests from each, and a
 * request's log line (body + newline) is shorter than the request: LOG_CAP holds any turn. */
enum { MAX_CONNS = 1024, MAX_EVENTS = 256, BUF = 1 << 16, LOG_CAP = MAX_EVENTS * BUF };

struct conn {
    int fd;
    size_t len;       /* bytes buffered, not yet parsed */
    int answers;      /* requests stored this turn, answered after the sync */
    char buf[BUF];
};

static struct conn *conns[MAX_CONNS];
static char logbuf[LOG_CAP];
static size_t loglen;
static const char answer[] =
    "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n{\"status\":\"accepted\"}";

static void drop(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    free(c);
}

/* Takes every whole request out of c->buf; appends its body to the log. -1: malformed, or a body
 * framing other than Content-Length (a chunked body would otherwise be answered before it is read). */
static int parse(struct conn *c) {
    size_t off = 0;
    for (;;) {
        char *head_end = memmem(c->buf + off, c->len - off, "\r\n\r\n", 4);
        if (!head_end) break;
        size_t head = (size_t)(head_end - (c->buf + off)) + 4;
        long body = 0;
        for (char *p = c->buf + off; p < head_end; p++) {
            if (p != c->buf + off && p[-1] != '\n') continue;
            if (strncasecmp(p, "transfer-encoding:", 18) == 0) return -1;
            if (strncasecmp(p, "content-length:", 15) == 0) body = atol(p + 15);
        }
        if (body < 0 || head + (size_t)body > BUF) return -1;
        if (off + head + (size_t)body > c->len) break;
        if (loglen + (size_t)body + 1 > LOG_CAP) return -1;
        memcpy(logbuf + loglen, c->buf + off + head, (size_t)body);
        loglen += (size_t)body;
        logbuf[loglen++] = '\n';
        c->answers++;
        off += head + (size_t)body;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: durable_floor PORT LOGFILE\n"); return 2; }
    int logfd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (logfd < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1024) != 0) { perror("durable_floor"); return 1; }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    off_t logoff = 0, allocated = 0;
    const off_t chunk = 64 << 20; /* allocated ahead, as hookhost does: a growing file makes every sync write the inode too */
    struct epoll_event evs[MAX_EVENTS];
    struct conn *ready[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { perror("epoll_wait"); return 1; }
        int nready = 0;
        loglen = 0;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (c >= MAX_CONNS) { close(c); continue; }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[c] = calloc(1, sizeof(struct conn));
                    conns[c]->fd = c;
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            struct conn *c = conns[fd];
            if (!c) continue;
            ssize_t r = read(fd, c->buf + c->len, BUF - c->len);
            if (r == 0 || (r < 0 && errno != EAGAIN) || (r > 0 && (c->len += (size_t)r, parse(c) != 0))) { drop(ep, c); continue; }
            if (c->answers) ready[nready++] = c;
        }
        if (nready == 0) continue;
        if (logoff + (off_t)loglen > allocated && fallocate(logfd, 0, allocated, chunk) == 0) allocated += chunk;
        /* the promise: on disk before the answer */
        if (pwrite(logfd, logbuf, loglen, logoff) != (ssize_t)loglen || fdatasync(logfd) != 0) { perror("log"); return 1; }
        logoff += (off_t)loglen;
        for (int i = 0; i < nready; i++) {
            struct conn *c = ready[i];
            for (; c->answers > 0; c->answers--) {
                if (write(c->fd, answer, sizeof answer - 1) != (ssize_t)(sizeof answer - 1)) { c->answers = 0; drop(ep, c); break; }
            }
        }
    }
}
