/* Test helper: sends COUNT datagrams carrying PAYLOAD from a fresh netlink socket to
 * (PORT, GROUPS), non-blocking, ignoring failures (a flood does not wait for its receivers).
 * Prints "<own port> <datagrams the kernel accepted>". Usage: nl-send PROTOCOL PORT GROUPS COUNT PAYLOAD */
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: nl-send PROTOCOL PORT GROUPS COUNT PAYLOAD\n");
    return 2;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, atoi(argv[1]));
  struct sockaddr_nl self = {.nl_family = AF_NETLINK}, to = {.nl_family = AF_NETLINK};
  socklen_t len = sizeof self;
  if (fd < 0 || bind(fd, (struct sockaddr *)&self, sizeof self) < 0 || getsockname(fd, (struct sockaddr *)&self, &len) < 0) {
    perror("nl-send: socket");
    return 1;
  }
  to.nl_pid = (unsigned)strtoul(argv[2], NULL, 0);
  to.nl_groups = (unsigned)strtoul(argv[3], NULL, 0);
  long count = atol(argv[4]), accepted = 0;
  for (long i = 0; i < count; i++) {
    if (sendto(fd, argv[5], strlen(argv[5]), MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) >= 0) accepted++;
  }
  printf("%u %ld\n", self.nl_pid, accepted);
  return 0;
}
