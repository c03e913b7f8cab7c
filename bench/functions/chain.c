/* The chain bench's handler (bench/chain.sh): reads its stdin to EOF; for an event of type
 * `*.step1` it emits one `chain.step2` event, for `*.step2` one `chain.step3`, and for anything
 * else nothing, so the same binary is the single-step function and every step of the chain (the
 * two sides differ only in what the host does with the emitted line). Static and tiny, like
 * handler.c: a run costs what a spawn costs. Exits 1 if it cannot write the event (the host
 * then counts a failed run, which the bench reports). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int main(void) {
    char buf[4096];
    while (read(0, buf, sizeof buf) > 0) {}
    const char *type = getenv("HOOKHOST_EVENT_TYPE");
    const char *line = NULL;
    if (type && ends_with(type, ".step1")) line = "{\"type\":\"chain.step2\",\"data\":{}}\n";
    else if (type && ends_with(type, ".step2")) line = "{\"type\":\"chain.step3\",\"data\":{}}\n";
    if (!line) return 0;
    const char *path = getenv("HOOKHOST_EMIT");
    if (!path) return 1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 1;
    size_t len = strlen(line);
    ssize_t w = write(fd, line, len);
    close(fd);
    return w == (ssize_t)len ? 0 : 1;
}
