/*
 * iwpmd_preload.c - run the standard rdma-core iwpmd without NETLINK_RDMA.
 *
 * iwpmd talks to the kernel's iw_cm module over an AF_NETLINK socket of
 * protocol NETLINK_RDMA (20). On a kernel without RDMA netlink (or in a
 * container, or when the client is a user-space program such as this
 * project's PortMapperClient) that socket cannot be created, or nobody
 * answers on it. Loaded with LD_PRELOAD into iwpmd, this library:
 *
 *   1. turns socket(AF_NETLINK, *, NETLINK_RDMA) into NETLINK_USERSOCK (2),
 *      a protocol on which any user-space process can bind a port;
 *   2. rewrites the destination of datagrams that iwpmd addresses to the
 *      kernel (netlink port 0, no groups) to the port given in
 *      IWPM_CLIENT_PORT (decimal), where the user-space client is bound.
 *      iwpmd sends every unsolicited message (HELLO, MAPINFO request,
 *      REMOTE_INFO, HANDLE_ERR) to port 0; replies already go to the
 *      requester's nlmsg_pid and need no help;
 *   3. reports success for such a redirected send that fails with
 *      ECONNREFUSED (nobody bound at the client port yet). The real kernel
 *      always listens, and iwpmd exits if its start-up HELLO cannot be
 *      sent; the client learns of the daemon later through the MAPINFO
 *      request or a REG_PID reply.
 *
 * Environment:
 *   IWPM_CLIENT_PORT  client's netlink port id (decimal, 1..4294967295).
 *                     Unset (or 0): datagrams to port 0 are left alone,
 *                     which on NETLINK_USERSOCK means they fail.
 *   IWPM_PRELOAD_LOG  "1": one line per redirected datagram on stderr.
 *
 * rdma-core's iwpmd sends with sendto() only (it imports neither send()
 * nor sendmsg()); sendmsg() is wrapped as well so that a daemon built
 * differently still works. send() is not wrapped: it carries no
 * destination and iwpmd never connect()s its netlink socket.
 *
 * Constraints: every other socket and call passes through unchanged; the
 * wrappers are safe to call from any thread (iwpmd runs a timer and a
 * sender thread next to its main loop); nothing is allocated on the send
 * path (the rewritten address lives on the stack).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef NETLINK_RDMA
#define NETLINK_RDMA 20
#endif

#define LOG_PREFIX "iwpmd_preload: "

typedef int (*socket_fn)(int, int, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int,
			     const struct sockaddr *, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);

/*
 * Real libc entry points, resolved once. They are only written inside
 * pthread_once, whose completion orders the writes before every later
 * reader, so plain pointers are enough.
 */
static socket_fn real_socket;
static sendto_fn real_sendto;
static sendmsg_fn real_sendmsg;

/* Configuration, read once from the environment (see init()). */
static uint32_t client_port; /* 0 = no redirect */
static int log_redirects;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/*
 * Which descriptors are NETLINK_RDMA sockets turned into USERSOCK. Indexed
 * by fd; every socket() through this library writes the entry of the fd it
 * returns (1 or 0), so a number reused after close() is corrected as soon
 * as it names a new socket. A stale entry on a non-socket or non-netlink
 * descriptor is harmless: only a destination of family AF_NETLINK is ever
 * rewritten. Atomics because socket() and the senders run on different
 * threads; relaxed order suffices because the fd number itself reaches
 * another thread only through synchronisation of the program's own.
 */
#define TRACKED_FDS 65536
static atomic_uchar tracked[TRACKED_FDS];

static void log_line(const char *line, int len)
{
	if (len <= 0)
		return;
	/* One write() per line keeps lines whole between threads. */
	ssize_t ignored = write(STDERR_FILENO, line, (size_t)len);
	(void)ignored;
}

static void init(void)
{
	real_socket = (socket_fn)dlsym(RTLD_NEXT, "socket");
	real_sendto = (sendto_fn)dlsym(RTLD_NEXT, "sendto");
	real_sendmsg = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");

	/*
	 * getenv() is read here only: the send path must not race with a
	 * setenv() of the host program.
	 */
	const char *log = getenv("IWPM_PRELOAD_LOG");
	log_redirects = log != NULL && log[0] != '\0' && strcmp(log, "0") != 0;

	const char *port = getenv("IWPM_CLIENT_PORT");
	if (port != NULL && port[0] != '\0') {
		char *end = NULL;
		errno = 0;
		unsigned long long value = strtoull(port, &end, 10);
		if (errno != 0 || end == port || *end != '\0' || port[0] == '-' ||
		    value > UINT32_MAX) {
			char line[160];
			int n = snprintf(line, sizeof(line),
					 LOG_PREFIX "ignoring IWPM_CLIENT_PORT=\"%.40s\": "
					 "not a decimal port id\n",
					 port);
			log_line(line, n < (int)sizeof(line) ? n : (int)sizeof(line) - 1);
		} else {
			client_port = (uint32_t)value;
		}
	}
}

/* Runs before main(); the wrappers also call it in case another library's
 * constructor opens sockets first. */
__attribute__((constructor)) static void ensure_init(void)
{
	pthread_once(&init_once, init);
}

static void track(int fd, int rdma)
{
	if (fd >= 0 && fd < TRACKED_FDS)
		atomic_store_explicit(&tracked[fd], (unsigned char)rdma,
				      memory_order_relaxed);
}

static int is_tracked(int fd)
{
	return fd >= 0 && fd < TRACKED_FDS &&
	       atomic_load_explicit(&tracked[fd], memory_order_relaxed) != 0;
}

/*
 * Decide whether a datagram on fd addressed to addr goes to the client
 * instead. Fills *dst with the rewritten address when it does. The caller's
 * address is copied, never modified (it may be const or shared).
 */
static int redirect_target(int fd, const struct sockaddr *addr, socklen_t len,
			   struct sockaddr_nl *dst)
{
	if (client_port == 0 || !is_tracked(fd))
		return 0;
	if (addr == NULL || len < (socklen_t)sizeof(*dst))
		return 0;
	memcpy(dst, addr, sizeof(*dst)); /* addr need not be aligned */
	if (dst->nl_family != AF_NETLINK || dst->nl_pid != 0 || dst->nl_groups != 0)
		return 0;
	dst->nl_pid = client_port;
	return 1;
}

static void log_redirect(const char *call, int fd, const void *head,
			 size_t head_len, size_t total, int refused)
{
	struct nlmsghdr h;
	char line[200];

	memset(&h, 0, sizeof(h));
	if (head != NULL && head_len >= sizeof(h))
		memcpy(&h, head, sizeof(h));
	int n = snprintf(line, sizeof(line),
			 LOG_PREFIX "%s fd %d: %zu bytes, type 0x%04x seq %u pid %u, "
			 "port 0 -> %u%s\n",
			 call, fd, total, (unsigned)h.nlmsg_type,
			 (unsigned)h.nlmsg_seq, (unsigned)h.nlmsg_pid,
			 (unsigned)client_port,
			 refused ? " (nobody bound: ECONNREFUSED reported as sent)" : "");
	log_line(line, n < (int)sizeof(line) ? n : (int)sizeof(line) - 1);
}

int socket(int domain, int type, int protocol)
{
	ensure_init();
	if (real_socket == NULL) {
		errno = ENOSYS;
		return -1;
	}
	int rdma = domain == AF_NETLINK && protocol == NETLINK_RDMA;
	int fd = real_socket(domain, type, rdma ? NETLINK_USERSOCK : protocol);
	if (fd < 0)
		return fd;
	track(fd, rdma);
	if (rdma && fd >= TRACKED_FDS) {
		static const char msg[] =
			LOG_PREFIX "netlink fd beyond table; datagrams to port 0 "
			"on it are not redirected\n";
		log_line(msg, (int)sizeof(msg) - 1);
	}
	if (rdma && client_port == 0 && log_redirects) {
		static const char msg[] =
			LOG_PREFIX "IWPM_CLIENT_PORT not set; datagrams to port 0 "
			"are not redirected\n";
		log_line(msg, (int)sizeof(msg) - 1);
	}
	return fd;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *addr, socklen_t addrlen)
{
	struct sockaddr_nl dst;

	ensure_init();
	if (real_sendto == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (!redirect_target(fd, addr, addrlen, &dst))
		return real_sendto(fd, buf, len, flags, addr, addrlen);

	int saved_errno = errno;
	ssize_t n = real_sendto(fd, buf, len, flags, (const struct sockaddr *)&dst,
				sizeof(dst));
	int refused = n < 0 && errno == ECONNREFUSED;
	if (log_redirects && (n >= 0 || refused))
		log_redirect("sendto", fd, buf, len, len, refused);
	if (refused) {
		/* The kernel would have taken it: the datagram is simply lost. */
		errno = saved_errno;
		return len > (size_t)SSIZE_MAX ? SSIZE_MAX : (ssize_t)len;
	}
	return n;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct sockaddr_nl dst;

	ensure_init();
	if (real_sendmsg == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (msg == NULL || !redirect_target(fd, (const struct sockaddr *)msg->msg_name,
					    msg->msg_namelen, &dst))
		return real_sendmsg(fd, msg, flags);

	/* Same message with the rewritten address; the caller's header stays
	 * untouched. */
	struct msghdr copy = *msg;
	copy.msg_name = &dst;
	copy.msg_namelen = sizeof(dst);

	int saved_errno = errno;
	ssize_t n = real_sendmsg(fd, &copy, flags);
	int refused = n < 0 && errno == ECONNREFUSED;
	size_t total = 0;
	if (refused || log_redirects) {
		for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
			size_t part = msg->msg_iov[i].iov_len;
			total = part > (size_t)SSIZE_MAX - total ? (size_t)SSIZE_MAX
								   : total + part;
		}
	}
	if (log_redirects && (n >= 0 || refused)) {
		const void *head = msg->msg_iovlen > 0 ? msg->msg_iov[0].iov_base : NULL;
		size_t head_len = msg->msg_iovlen > 0 ? msg->msg_iov[0].iov_len : 0;
		log_redirect("sendmsg", fd, head, head_len, total, refused);
	}
	if (refused) {
		errno = saved_errno;
		return (ssize_t)total;
	}
	return n;
}
