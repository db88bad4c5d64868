/* Test helper: binds an AF_UNIX datagram socket at PATH ('@name' = abstract namespace), prints
 * "ready", then copies the first datagram it receives to stdout and exits. Usage: unix-recv PATH */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: unix-recv PATH\n");
    return 2;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t n = strlen(argv[1]);
  socklen_t len;
  if (n >= sizeof addr.sun_path) return 2;
  memcpy(addr.sun_path, argv[1], n);
  if (argv[1][0] == '@') {
    addr.sun_path[0] = '\0';
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  } else {
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, len) < 0) {
    perror("unix-recv: bind");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  char buf[65536];
  ssize_t got = recv(fd, buf, sizeof buf, 0);
  if (got < 0) {
    perror("unix-recv: recv");
    return 1;
  }
  fwrite(buf, 1, (size_t)got, stdout);
  return 0;
}
