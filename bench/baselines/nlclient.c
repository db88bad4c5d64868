/*
 * nlclient.c - baseline (d): a minimal C client of the real iwpmd (running
 * under the project's LD_PRELOAD library, docs/iwpmd-userspace.md), doing the
 * same netlink exchange as the W4 clients: the transport's limit.
 *
 *   1. a NETLINK_USERSOCK socket bound to the port given to iwpmd as
 *      IWPM_CLIENT_PORT; prints {"ready":true,...} and waits for iwpmd's HELLO;
 *   2. answers HELLO (version min(4, offered)) to the HELLO's nlmsg_pid;
 *   3. REG_PID (reference §2.2, 116 bytes) multicast to group 2 with the
 *      daemon's port as explicit destination, waits for the reply;
 *   4. ADD_MAPPING round trips, each followed by REMOVE_MAPPING of the same
 *      local address (fire and forget, as the kernel sends it): one at a time,
 *      then with `inflight` ADDs outstanding. Latency = ADD sent → reply
 *      received; rate = completed ADD+REMOVE pairs per second.
 *
 *   nlclient port seqCount pipeCount inflight reps warmup
 *
 * Local addresses are distinct 10/8 addresses (bench/baselines/gen.h, W4
 * salts), so iwpmd never sees a duplicate. Blocking sockets, one datagram per
 * sendto/recv. Prints one JSON line per repetition and a final summary line.
 *
 * Build: gcc -O2 -o nlclient nlclient.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

#ifndef NETLINK_USERSOCK
#define NETLINK_USERSOCK 2
#endif

#define IWCM 2
#define OP_REG_PID 0
#define OP_ADD_MAPPING 1
#define OP_REMOVE_MAPPING 3
#define OP_HANDLE_ERR 5
#define OP_HELLO 8
#define GROUP_IWPM_MASK 2u
#define NLM_F_REQUEST_ 1
#define ULIB_NAME "iWarpPortMapperUser"
#define ALIGN4(n) (((n) + 3u) & ~3u)

static int fd;
static uint32_t own_port, daemon_port, next_seq = 1, echo_seq;
static uint32_t k_ip, k_port, addr_counter;

static inline uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what) {
	printf("{\"error\":\"%s: %s\"}\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

/* ---- building ------------------------------------------------------------------------------ */

static uint8_t *put_attr(uint8_t *p, uint16_t id, const void *payload, uint16_t len) {
	uint16_t nla_len = (uint16_t)(4 + len);
	memcpy(p, &nla_len, 2);
	memcpy(p + 2, &id, 2);
	memcpy(p + 4, payload, len);
	memset(p + 4 + len, 0, ALIGN4(len) - len);
	return p + 4 + ALIGN4(len);
}

static uint32_t finish(uint8_t *buf, uint8_t *end, uint16_t op, uint32_t seq) {
	uint32_t len = (uint32_t)(end - buf);
	uint16_t type = (IWCM << 10) | op, flags = NLM_F_REQUEST_;
	memcpy(buf, &len, 4);
	memcpy(buf + 4, &type, 2);
	memcpy(buf + 6, &flags, 2);
	memcpy(buf + 8, &seq, 4);
	memcpy(buf + 12, &own_port, 4);
	return len;
}

static void send_to(const uint8_t *buf, uint32_t len, uint32_t port, uint32_t groups) {
	struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = port, .nl_groups = groups};
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)len) fail("sendto");
}

static void local_addr(uint32_t idx, struct sockaddr_storage *ss) {
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *sin = (void *)ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(gen_local_port(hash32(idx ^ k_port)));
	sin->sin_addr.s_addr = htonl(NET10 | ip24(idx, k_ip));
}

static uint32_t send_add(uint32_t idx) {
	uint8_t buf[256];
	struct sockaddr_storage local;
	local_addr(idx, &local);
	uint32_t flags = 0, seq = next_seq++;
	uint8_t *p = put_attr(buf + 16, 1, &echo_seq, 4);
	p = put_attr(p, 2, &local, 128);
	p = put_attr(p, 3, &flags, 4);
	send_to(buf, finish(buf, p, OP_ADD_MAPPING, seq), daemon_port, 0);
	return seq;
}

static void send_remove(uint32_t idx) {
	uint8_t buf[256];
	struct sockaddr_storage local;
	local_addr(idx, &local);
	uint8_t *p = put_attr(buf + 16, 1, &echo_seq, 4);
	p = put_attr(p, 2, &local, 128);
	send_to(buf, finish(buf, p, OP_REMOVE_MAPPING, next_seq++), daemon_port, 0);
}

/* ---- receiving ------------------------------------------------------------------------------- */

struct msg {
	uint16_t op;
	uint32_t seq, pid, attr1;
	uint16_t u16_2; /* HANDLE_ERR code */
	uint16_t u16_1; /* HELLO version */
};

static uint8_t rx[65536];

/* One datagram; calls `on` for every message. Returns 0 on timeout. */
static int recv_datagram(void (*on)(const struct msg *, void *), void *ctx) {
	ssize_t n = recv(fd, rx, sizeof rx, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
		fail("recv");
	}
	uint32_t off = 0;
	while (n - (ssize_t)off >= 16) {
		uint32_t len;
		uint16_t type;
		memcpy(&len, rx + off, 4);
		memcpy(&type, rx + off + 4, 2);
		if (len < 16 || off + len > (uint32_t)n) break;
		struct msg m = {.op = type & 0x3ff};
		memcpy(&m.seq, rx + off + 8, 4);
		memcpy(&m.pid, rx + off + 12, 4);
		for (uint32_t a = off + 16; a + 4 <= off + len;) {
			uint16_t alen, id;
			memcpy(&alen, rx + a, 2);
			memcpy(&id, rx + a + 2, 2);
			if (alen < 4) break;
			id &= 0x3fff;
			if (id == 1 && alen >= 8) memcpy(&m.attr1, rx + a + 4, 4);
			if (id == 1 && alen >= 6) memcpy(&m.u16_1, rx + a + 4, 2);
			if (id == 2 && alen >= 6) memcpy(&m.u16_2, rx + a + 4, 2);
			a += ALIGN4(alen);
		}
		if (type >= 16 && (type >> 10) == IWCM) on(&m, ctx);
		off += ALIGN4(len);
	}
	return 1;
}

/* ---- set-up: HELLO, REG_PID ---------------------------------------------------------------------- */

struct setup {
	int hello, registered;
	uint32_t reg_seq, version;
};

static void on_setup(const struct msg *m, void *ctx) {
	struct setup *s = ctx;
	if (m->op == OP_HELLO && !s->hello) {
		daemon_port = m->pid;
		echo_seq = m->seq;
		s->version = m->u16_1 < 4 ? m->u16_1 : 4;
		uint8_t buf[64];
		uint16_t v = (uint16_t)s->version;
		uint8_t *p = put_attr(buf + 16, 1, &v, 2);
		send_to(buf, finish(buf, p, OP_HELLO, next_seq++), daemon_port, 0);
		s->hello = 1;
	} else if (m->op == OP_REG_PID && s->reg_seq && m->attr1 == s->reg_seq) {
		echo_seq = m->seq;
		s->registered = 1;
	}
}

/* ---- phases ------------------------------------------------------------------------------------ */

#define SLOTS 4096

struct pipe_state {
	uint64_t sent_at[SLOTS];
	uint32_t idx[SLOTS], seq[SLOTS];
	double *lat;
	uint32_t done, errors, waiting_seq;
	int got;
};

static void on_reply(const struct msg *m, void *ctx) {
	struct pipe_state *st = ctx;
	uint32_t seq;
	int error = 0;
	if (m->op == OP_ADD_MAPPING) seq = m->attr1;
	else if (m->op == OP_HANDLE_ERR) {
		seq = m->attr1;
		error = 1;
	} else
		return;
	uint32_t slot = seq & (SLOTS - 1);
	if (st->seq[slot] != seq) return;
	st->seq[slot] = 0;
	echo_seq = m->seq;
	uint64_t t = now_ns();
	if (error) st->errors++;
	else send_remove(st->idx[slot]);
	st->lat[st->done++] = (double)(t - st->sent_at[slot]) / 1000.0;
	st->got = 1;
}

static int cmp_double(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *sorted, uint32_t n, double p) {
	uint32_t rank = (uint32_t)(p * n + 0.999999);
	if (rank < 1) rank = 1;
	if (rank > n) rank = n;
	return sorted[rank - 1];
}

struct result {
	double p50, p99, rate, cpu_us;
	uint32_t errors;
};

static double cpu_us(void) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

static struct pipe_state st;

static void issue(uint32_t idx) {
	uint32_t seq = send_add(idx);
	uint32_t slot = seq & (SLOTS - 1);
	st.seq[slot] = seq;
	st.idx[slot] = idx;
	st.sent_at[slot] = now_ns();
}

static struct result run_phase(uint32_t count, uint32_t inflight) {
	st.done = 0;
	st.errors = 0;
	memset(st.seq, 0, sizeof st.seq);
	uint32_t issued = 0;
	double c0 = cpu_us();
	uint64_t t0 = now_ns();
	while (issued < count && issued < inflight) issue(addr_counter + issued++);
	while (st.done < count) {
		uint32_t before = st.done;
		if (!recv_datagram(on_reply, &st)) {
			errno = ETIMEDOUT;
			fail("no reply from iwpmd");
		}
		for (uint32_t k = before; k < st.done && issued < count; k++) issue(addr_counter + issued++);
	}
	uint64_t t1 = now_ns();
	double c1 = cpu_us();
	addr_counter += count;
	qsort(st.lat, count, sizeof(double), cmp_double);
	struct result r = {pct(st.lat, count, 0.5), pct(st.lat, count, 0.99), count / ((double)(t1 - t0) / 1e9), (c1 - c0) / count, st.errors};
	return r;
}

int main(int argc, char **argv) {
	if (argc != 7) {
		fprintf(stderr, "usage: %s port seqCount pipeCount inflight reps warmup\n", argv[0]);
		return 2;
	}
	own_port = (uint32_t)strtoul(argv[1], NULL, 10);
	uint32_t seq_count = (uint32_t)strtoul(argv[2], NULL, 10), pipe_count = (uint32_t)strtoul(argv[3], NULL, 10),
		 inflight = (uint32_t)strtoul(argv[4], NULL, 10);
	int reps = atoi(argv[5]), warmup = atoi(argv[6]);
	if (!own_port || !seq_count || !pipe_count || !inflight || inflight > SLOTS / 2 || reps < 1 || warmup < 0) return 2;
	k_ip = gen_key(SEED, SALT_W4_IP);
	k_port = gen_key(SEED, SALT_W4_PORT);
	uint32_t most = seq_count > pipe_count ? seq_count : pipe_count;
	st.lat = malloc(most * sizeof(double));

	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_USERSOCK);
	if (fd < 0) fail("socket");
	int rcvbuf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_nl me = {.nl_family = AF_NETLINK, .nl_pid = own_port};
	if (bind(fd, (struct sockaddr *)&me, sizeof me)) fail("bind");
	printf("{\"ready\":true,\"port\":%u}\n", own_port);
	fflush(stdout);

	struct setup s = {0};
	while (!s.hello)
		if (!recv_datagram(on_setup, &s)) {
			errno = ETIMEDOUT;
			fail("no HELLO from iwpmd");
		}
	/* REG_PID, multicast to the port mappers' group with the daemon's port as destination */
	uint8_t buf[256];
	char ifname[16] = "lo", devname[32] = "siw0", ulib[32] = ULIB_NAME;
	s.reg_seq = next_seq++;
	uint8_t *p = put_attr(buf + 16, 1, &echo_seq, 4);
	p = put_attr(p, 2, ifname, 16);
	p = put_attr(p, 3, devname, 32);
	p = put_attr(p, 4, ulib, 32);
	send_to(buf, finish(buf, p, OP_REG_PID, s.reg_seq), daemon_port, GROUP_IWPM_MASK);
	while (!s.registered)
		if (!recv_datagram(on_setup, &s)) {
			errno = ETIMEDOUT;
			fail("no REG_PID reply from iwpmd");
		}
	printf("{\"registered\":true,\"daemon\":%u,\"version\":%u}\n", daemon_port, s.version);
	fflush(stdout);

	uint32_t errors = 0;
	for (int r = -warmup; r < reps; r++) {
		struct result seq = run_phase(seq_count, 1);
		struct result pipe = run_phase(pipe_count, inflight);
		errors += seq.errors + pipe.errors;
		if (r < 0) continue;
		printf("{\"rep\":%d,\"sequential\":{\"p50Us\":%.3f,\"p99Us\":%.3f,\"rate\":%.1f,\"cpuUsPerPair\":%.3f,\"errors\":%u},"
		       "\"pipelined\":{\"p50Us\":%.3f,\"p99Us\":%.3f,\"rate\":%.1f,\"cpuUsPerPair\":%.3f,\"errors\":%u}}\n",
			r, seq.p50, seq.p99, seq.rate, seq.cpu_us, seq.errors, pipe.p50, pipe.p99, pipe.rate, pipe.cpu_us, pipe.errors);
		fflush(stdout);
	}
	printf("{\"done\":true,\"errors\":%u}\n", errors);
	fflush(stdout);
	close(fd);
	return 0;
}
