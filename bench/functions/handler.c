/* The bench handler: reads its stdin to EOF and exits 0. Static and tiny, so a run costs what a
 * spawn costs; the same binary runs under the spawn floor and under hookhost (bench/functions.sh). */
#include <unistd.h>

int main(void) {
    char buf[4096];
    while (read(0, buf, sizeof buf) > 0) {}
    return 0;
}
