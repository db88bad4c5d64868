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
 * Recording mode: with IWPM_CAPTURE set, every datagram iwpmd sends or
 * receives on its netlink socket (sendto, sendmsg, recvfrom, recvmsg, recv)
 * is appended to a pcap file of link type LINKTYPE_NETLINK (253): a 16-byte
 * pseudo-header (packet type 4 sent / 0 received, ARPHRD_NETLINK 824, the
 * peer's port id and groups as an 8-byte address, protocol 20) and the
 * datagram. The file is opened with O_APPEND; its header is written once,
 * when the file is empty (under flock, so concurrent starters agree); an
 * existing file must already be a little-endian netlink pcap. Each record
 * is one writev(), serialised by a mutex. With IWPM_CAPTURE_ONLY=1 the
 * library records and nothing else: the socket stays NETLINK_RDMA and no
 * destination is rewritten, so on a host with the kernel's iw_cm the
 * kernel <-> iwpmd traffic is captured as it is.
 *
 * Environment:
 *   IWPM_CLIENT_PORT  client's netlink port id (decimal, 1..4294967295).
 *                     Unset (or 0): datagrams to port 0 are left alone,
 *                     which on NETLINK_USERSOCK means they fail.
 *   IWPM_PRELOAD_LOG  "1": one line per redirected datagram on stderr.
 *   IWPM_CAPTURE      path of a pcap file to append iwpmd's netlink
 *                     datagrams to (opened at start-up, before iwpmd
 *                     changes directory).
 *   IWPM_CAPTURE_ONLY "1": record only (needs IWPM_CAPTURE); the NETLINK_RDMA
 *                     socket is kept and IWPM_CLIENT_PORT is ignored.
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
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_RDMA
#define NETLINK_RDMA 20
#endif

#define LOG_PREFIX "iwpmd_preload: "

typedef int (*socket_fn)(int, int, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int,
			     const struct sockaddr *, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *,
			       socklen_t *);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef int (*recvmmsg_fn)(int, struct mmsghdr *, unsigned int, int, struct timespec *);

/*
 * Real libc entry points, resolved once. They are only written inside
 * pthread_once, whose completion orders the writes before every later
 * reader, so plain pointers are enough.
 */
static socket_fn real_socket;
static sendto_fn real_sendto;
static sendmsg_fn real_sendmsg;
static recvfrom_fn real_recvfrom;
static recvmsg_fn real_recvmsg;
static recv_fn real_recv;
static recvmmsg_fn real_recvmmsg;

/* Configuration, read once from the environment (see init()). */
static uint32_t client_port; /* 0 = no redirect */
static int log_redirects;
static int capture_only;	/* record only: keep NETLINK_RDMA, no redirect */

/* Recording mode: the pcap file, -1 when not recording. */
static int capture_fd = -1;
static int capture_ns;		/* nanosecond timestamps (file magic a1b23c4d) */
static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;

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

static void open_capture(const char *path);

static int env_flag(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

static void init(void)
{
	real_socket = (socket_fn)dlsym(RTLD_NEXT, "socket");
	real_sendto = (sendto_fn)dlsym(RTLD_NEXT, "sendto");
	real_sendmsg = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");
	real_recvfrom = (recvfrom_fn)dlsym(RTLD_NEXT, "recvfrom");
	real_recvmsg = (recvmsg_fn)dlsym(RTLD_NEXT, "recvmsg");
	real_recv = (recv_fn)dlsym(RTLD_NEXT, "recv");
	real_recvmmsg = (recvmmsg_fn)dlsym(RTLD_NEXT, "recvmmsg");

	/*
	 * getenv() is read here only: the send path must not race with a
	 * setenv() of the host program.
	 */
	log_redirects = env_flag("IWPM_PRELOAD_LOG");

	const char *capture = getenv("IWPM_CAPTURE");
	if (capture != NULL && capture[0] != '\0')
		open_capture(capture);
	capture_only = env_flag("IWPM_CAPTURE_ONLY");
	if (capture_only && capture_fd < 0) {
		static const char msg[] =
			LOG_PREFIX "IWPM_CAPTURE_ONLY without a usable IWPM_CAPTURE: "
			"nothing to do\n";
		log_line(msg, (int)sizeof(msg) - 1);
	}

	const char *port = getenv("IWPM_CLIENT_PORT");
	if (capture_only) {
		/* Pure recording: iwpmd talks to the kernel as usual. */
	} else if (port != NULL && port[0] != '\0') {
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

/* ---- recording mode ------------------------------------------------------ */

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define LINKTYPE_NETLINK 253u
#define ARPHRD_NETLINK 824u
#define CAPTURE_SNAPLEN 262144u
#define CAPTURE_IOVS 64

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void put_be16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void capture_failed(const char *path, const char *why)
{
	char line[PATH_MAX + 160];
	int n = snprintf(line, sizeof(line),
			 LOG_PREFIX "IWPM_CAPTURE=%s: %s; not recording\n", path, why);
	log_line(line, n < (int)sizeof(line) ? n : (int)sizeof(line) - 1);
}

/*
 * Opens the capture file for appending. The header goes in only when the
 * file is empty; the check and the write happen under an exclusive flock,
 * so two processes starting together write one header between them.
 */
static void open_capture(const char *path)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		capture_failed(path, strerror(errno));
		return;
	}
	if (flock(fd, LOCK_EX) != 0) {
		capture_failed(path, strerror(errno));
		close(fd);
		return;
	}
	struct stat st;
	unsigned char head[24];
	const char *problem = NULL;
	if (fstat(fd, &st) != 0) {
		problem = strerror(errno);
	} else if (st.st_size == 0) {
		memset(head, 0, sizeof(head));
		put_le32(head, PCAP_MAGIC_US);
		head[4] = 2; /* version 2.4, little-endian */
		head[6] = 4;
		put_le32(head + 16, CAPTURE_SNAPLEN);
		put_le32(head + 20, LINKTYPE_NETLINK);
		if (write(fd, head, sizeof(head)) != (ssize_t)sizeof(head))
			problem = "cannot write the pcap header";
	} else {
		ssize_t got = pread(fd, head, sizeof(head), 0);
		uint32_t magic = got >= 4 ? get_le32(head) : 0;
		if (got < 0)
			problem = strerror(errno);
		else if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS)
			problem = "existing file is not a little-endian pcap";
		else if (got != (ssize_t)sizeof(head))
			problem = "existing file too short for a pcap header";
		else if ((get_le32(head + 20) & 0x0fffffffu) != LINKTYPE_NETLINK)
			problem = "existing pcap is not of link type netlink (253)";
		else
			capture_ns = magic == PCAP_MAGIC_NS;
	}
	flock(fd, LOCK_UN);
	if (problem != NULL) {
		capture_failed(path, problem);
		close(fd);
		return;
	}
	capture_fd = fd;
	if (log_redirects) {
		char line[PATH_MAX + 64];
		int n = snprintf(line, sizeof(line), LOG_PREFIX "recording to %s\n",
				 path);
		log_line(line, n < (int)sizeof(line) ? n : (int)sizeof(line) - 1);
	}
}

/*
 * Appends one datagram: `iov` holds `total` bytes of it (the first
 * `total` bytes of a datagram of `orig` bytes). `outgoing` is 1 when iwpmd
 * sent it; `nl` (may be NULL) is the destination or the source. Keeps
 * errno; never fails the caller.
 */
static void capture(int fd, int outgoing, const struct sockaddr_nl *nl,
		    const struct iovec *iov, size_t iovcnt, size_t total,
		    size_t orig)
{
	if (capture_fd < 0 || !is_tracked(fd))
		return;
	int saved_errno = errno;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);

	size_t room = CAPTURE_SNAPLEN - 16;
	size_t stored = total < room ? total : room;
	unsigned char rec[32];
	memset(rec, 0, sizeof(rec));
	put_le32(rec, (uint32_t)ts.tv_sec);
	put_le32(rec + 4, (uint32_t)(capture_ns ? ts.tv_nsec : ts.tv_nsec / 1000));
	put_le32(rec + 8, (uint32_t)(16 + stored));
	put_le32(rec + 12, (uint32_t)(16 + (orig > UINT32_MAX - 16 ? UINT32_MAX - 16 : orig)));
	put_be16(rec + 16, outgoing ? 4 : 0);
	put_be16(rec + 18, ARPHRD_NETLINK);
	if (nl != NULL && nl->nl_family == AF_NETLINK) {
		put_be16(rec + 20, 8);
		put_be32(rec + 22, nl->nl_pid);
		put_be32(rec + 26, nl->nl_groups);
	}
	put_be16(rec + 30, NETLINK_RDMA);

	struct iovec v[CAPTURE_IOVS + 1];
	size_t n = 1, left = stored;
	v[0].iov_base = rec;
	v[0].iov_len = sizeof(rec);
	for (size_t i = 0; i < iovcnt && left > 0 && n <= CAPTURE_IOVS; i++) {
		size_t part = iov[i].iov_len < left ? iov[i].iov_len : left;
		if (part == 0)
			continue;
		v[n].iov_base = iov[i].iov_base;
		v[n].iov_len = part;
		left -= part;
		n++;
	}
	if (left > 0) /* more pieces than we carry: the record says what it holds */
		put_le32(rec + 8, (uint32_t)(16 + stored - left));

	pthread_mutex_lock(&capture_lock);
	ssize_t ignored = writev(capture_fd, v, (int)n);
	pthread_mutex_unlock(&capture_lock);
	(void)ignored;
	errno = saved_errno;
}

/* Bytes in the first `n` iovecs, saturated. */
static size_t iov_total(const struct iovec *iov, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		size_t part = iov[i].iov_len;
		total = part > (size_t)SSIZE_MAX - total ? (size_t)SSIZE_MAX
							   : total + part;
	}
	return total;
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
	int convert = rdma && !capture_only;
	int fd = real_socket(domain, type, convert ? NETLINK_USERSOCK : protocol);
	if (fd < 0)
		return fd;
	track(fd, rdma);
	if (rdma && fd >= TRACKED_FDS) {
		static const char msg[] =
			LOG_PREFIX "netlink fd beyond table; datagrams to port 0 "
			"on it are not redirected\n";
		log_line(msg, (int)sizeof(msg) - 1);
	}
	if (convert && client_port == 0 && log_redirects) {
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
	struct iovec one = { .iov_base = (void *)buf, .iov_len = len };
	if (!redirect_target(fd, addr, addrlen, &dst)) {
		ssize_t n = real_sendto(fd, buf, len, flags, addr, addrlen);
		if (n >= 0) {
			struct sockaddr_nl to;
			int known = addr != NULL && addrlen >= (socklen_t)sizeof(to);
			if (known)
				memcpy(&to, addr, sizeof(to));
			capture(fd, 1, known ? &to : NULL, &one, 1, len, len);
		}
		return n;
	}

	int saved_errno = errno;
	ssize_t n = real_sendto(fd, buf, len, flags, (const struct sockaddr *)&dst,
				sizeof(dst));
	int refused = n < 0 && errno == ECONNREFUSED;
	if (n >= 0 || refused)
		capture(fd, 1, &dst, &one, 1, len, len);
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
					    msg->msg_namelen, &dst)) {
		ssize_t n = real_sendmsg(fd, msg, flags);
		if (n >= 0 && msg != NULL) {
			struct sockaddr_nl to;
			int known = msg->msg_name != NULL &&
				    msg->msg_namelen >= (socklen_t)sizeof(to);
			if (known)
				memcpy(&to, msg->msg_name, sizeof(to));
			size_t total = iov_total(msg->msg_iov, msg->msg_iovlen);
			capture(fd, 1, known ? &to : NULL, msg->msg_iov,
				msg->msg_iovlen, total, total);
		}
		return n;
	}

	/* Same message with the rewritten address; the caller's header stays
	 * untouched. */
	struct msghdr copy = *msg;
	copy.msg_name = &dst;
	copy.msg_namelen = sizeof(dst);

	int saved_errno = errno;
	ssize_t n = real_sendmsg(fd, &copy, flags);
	int refused = n < 0 && errno == ECONNREFUSED;
	size_t total = iov_total(msg->msg_iov, msg->msg_iovlen);
	if (n >= 0 || refused)
		capture(fd, 1, &dst, msg->msg_iov, msg->msg_iovlen, total, total);
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

/*
 * Receive wrappers: only for the recording mode, and only on the tracked
 * netlink socket; everything else passes straight through. A peek is not a
 * receipt (the real read follows). The source address is captured even
 * when the caller did not ask for it.
 */
ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
		 struct sockaddr *addr, socklen_t *addrlen)
{
	ensure_init();
	if (real_recvfrom == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (capture_fd < 0 || !is_tracked(fd) || (flags & MSG_PEEK))
		return real_recvfrom(fd, buf, len, flags, addr, addrlen);

	struct sockaddr_nl own;
	socklen_t own_len = sizeof(own);
	int mine = addr == NULL || addrlen == NULL;
	memset(&own, 0, sizeof(own));
	ssize_t n = mine ? real_recvfrom(fd, buf, len, flags,
					 (struct sockaddr *)&own, &own_len)
			 : real_recvfrom(fd, buf, len, flags, addr, addrlen);
	if (n >= 0) {
		struct sockaddr_nl from;
		const struct sockaddr_nl *src = NULL;
		if (mine) {
			src = &own;
		} else if (*addrlen >= (socklen_t)sizeof(from)) {
			memcpy(&from, addr, sizeof(from));
			src = &from;
		}
		size_t got = (size_t)n < len ? (size_t)n : len; /* MSG_TRUNC */
		struct iovec one = { .iov_base = buf, .iov_len = got };
		capture(fd, 0, src, &one, 1, got, (size_t)n);
	}
	return n;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	ensure_init();
	if (real_recv == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (capture_fd < 0 || !is_tracked(fd) || (flags & MSG_PEEK))
		return real_recv(fd, buf, len, flags);
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ensure_init();
	if (real_recvmsg == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (capture_fd < 0 || !is_tracked(fd) || msg == NULL || (flags & MSG_PEEK))
		return real_recvmsg(fd, msg, flags);

	struct sockaddr_nl own;
	memset(&own, 0, sizeof(own));
	int mine = msg->msg_name == NULL;
	if (mine) {
		msg->msg_name = &own;
		msg->msg_namelen = sizeof(own);
	}
	ssize_t n = real_recvmsg(fd, msg, flags);
	int saved_errno = errno;
	struct sockaddr_nl from;
	const struct sockaddr_nl *src = NULL;
	if (mine) {
		src = &own;
		msg->msg_name = NULL;
		msg->msg_namelen = 0;
	} else if (n >= 0 && msg->msg_namelen >= (socklen_t)sizeof(from)) {
		memcpy(&from, msg->msg_name, sizeof(from));
		src = &from;
	}
	if (n >= 0) {
		size_t room = iov_total(msg->msg_iov, msg->msg_iovlen);
		size_t got = (size_t)n < room ? (size_t)n : room; /* MSG_TRUNC */
		capture(fd, 0, src, msg->msg_iov, msg->msg_iovlen, got, (size_t)n);
	}
	errno = saved_errno;
	return n;
}

/*
 * The batch calls (a port mapper built on recvmmsg/sendmmsg, such as the
 * project's own service): a send batch goes out one message at a time through
 * sendmsg above, so each is redirected and recorded as a single send would be;
 * a receive batch is recorded message by message after the real call.
 */
int sendmmsg(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags)
{
	unsigned int i;

	if (msgs == NULL) {
		errno = EFAULT;
		return -1;
	}
	for (i = 0; i < vlen; i++) {
		ssize_t n = sendmsg(fd, &msgs[i].msg_hdr, flags);
		if (n < 0)
			return i > 0 ? (int)i : -1;
		msgs[i].msg_len = (unsigned int)n;
	}
	return (int)i;
}

int recvmmsg(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags,
	     struct timespec *timeout)
{
	ensure_init();
	if (real_recvmmsg == NULL) {
		errno = ENOSYS;
		return -1;
	}
	int n = real_recvmmsg(fd, msgs, vlen, flags, timeout);
	if (n <= 0 || capture_fd < 0 || !is_tracked(fd) || (flags & MSG_PEEK))
		return n;
	int saved_errno = errno;
	for (int i = 0; i < n; i++) {
		const struct msghdr *msg = &msgs[i].msg_hdr;
		struct sockaddr_nl from;
		const struct sockaddr_nl *src = NULL;
		if (msg->msg_name != NULL && msg->msg_namelen >= (socklen_t)sizeof(from)) {
			memcpy(&from, msg->msg_name, sizeof(from));
			src = &from;
		}
		size_t room = iov_total(msg->msg_iov, msg->msg_iovlen);
		size_t len = msgs[i].msg_len;
		size_t got = len < room ? len : room; /* MSG_TRUNC */
		capture(fd, 0, src, msg->msg_iov, msg->msg_iovlen, got, len);
	}
	errno = saved_errno;
	return n;
}
