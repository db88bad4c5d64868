/*
 * codec.c - baseline (c): a plain C encoder of the ADD_MAPPING request and
 * decoder + validator of the ADD_MAPPING reply (protocol reference §2.2,
 * §2.3, §6 (c)), the native counterpart of the core's W3 rows.
 *
 *   encode  ADD_MAPPING request, ABI v4 (164 bytes): header, echo seq, the
 *           local sockaddr_storage (128 bytes, copied whole as the kernel's
 *           nla_put does), flags; from a struct whose address is rewritten
 *           per message as the core's argument slot is.
 *   decode  ADD_MAPPING reply (296 bytes): framing (nlmsg_len), type (client
 *           index < 64, op 1), attribute walk with nla framing checks (last
 *           occurrence wins), every id 1..4 present with its minimum size
 *           (u32 >= 4, sockaddr >= 128, u16 >= 2), values copied out.
 *
 *   codec ops reps warmup    → one JSON line, ns/message per phase and repetition
 *
 * Build: gcc -O2 -o codec codec.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "gen.h"

#define NLA_ALIGN(n) (((n) + 3u) & ~3u)
#define OP_ADD_MAPPING 1
#define IWCM 2

struct add_mapping_req {
	uint16_t client;
	uint32_t seq, pid, echo, flags;
	struct sockaddr_storage local;
};

struct add_mapping_reply {
	uint32_t len, seq, pid, req_seq;
	uint16_t type, flags, err;
	struct sockaddr_storage local, mapped;
};

static inline uint8_t *put_header(uint8_t *p, uint16_t len, uint16_t id) {
	memcpy(p, &len, 2);
	memcpy(p + 2, &id, 2);
	return p + 4;
}

__attribute__((noinline)) static uint32_t encode_add_mapping(uint8_t *buf, size_t cap, const struct add_mapping_req *r, int version) {
	uint32_t len = 16 + 8 + 4 + 128 + (version > 3 ? 8 : 0);
	if (cap < len) return 0;
	uint16_t type = (uint16_t)((r->client << 10) | OP_ADD_MAPPING), flags = 1;
	memcpy(buf, &len, 4);
	memcpy(buf + 4, &type, 2);
	memcpy(buf + 6, &flags, 2);
	memcpy(buf + 8, &r->seq, 4);
	memcpy(buf + 12, &r->pid, 4);
	uint8_t *p = put_header(buf + 16, 8, 1);
	memcpy(p, &r->echo, 4);
	p = put_header(p + 4, 4 + 128, 2);
	memcpy(p, &r->local, 128);
	p += 128;
	if (version > 3) {
		p = put_header(p, 8, 3);
		memcpy(p, &r->flags, 4);
	}
	return len;
}

__attribute__((noinline)) static int decode_add_mapping_reply(const uint8_t *msg, uint32_t avail, struct add_mapping_reply *out) {
	if (avail < 16) return -1;
	memcpy(&out->len, msg, 4);
	if (out->len < 16 || out->len > avail) return -2;
	memcpy(&out->type, msg + 4, 2);
	memcpy(&out->flags, msg + 6, 2);
	memcpy(&out->seq, msg + 8, 4);
	memcpy(&out->pid, msg + 12, 4);
	if ((out->type >> 10) >= 64 || (out->type & 0x3ff) != OP_ADD_MAPPING) return -6;
	const uint8_t *tb[5] = {0};
	uint16_t tl[5] = {0};
	int32_t rem = (int32_t)out->len - 16;
	const uint8_t *p = msg + 16;
	while (rem >= 4) {
		uint16_t nla_len, nla_type;
		memcpy(&nla_len, p, 2);
		memcpy(&nla_type, p + 2, 2);
		if (nla_len < 4 || nla_len > rem) return -3;
		nla_type &= 0x3fff;
		if (nla_type >= 1 && nla_type <= 4) {
			tb[nla_type] = p + 4;
			tl[nla_type] = (uint16_t)(nla_len - 4);
		}
		uint32_t step = NLA_ALIGN(nla_len);
		p += step;
		rem -= (int32_t)step;
	}
	for (int id = 1; id <= 4; id++)
		if (!tb[id]) return -5;
	if (tl[1] < 4 || tl[2] < 128 || tl[3] < 128 || tl[4] < 2) return -4;
	memcpy(&out->req_seq, tb[1], 4);
	memcpy(&out->local, tb[2], 128);
	memcpy(&out->mapped, tb[3], 128);
	memcpy(&out->err, tb[4], 2);
	return 0;
}

static inline uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static volatile uint32_t sink;

/* The reply of reference §6 (c): 127.0.0.1:5555 mapped to port 40000, request seq 101. */
static uint32_t build_reply(uint8_t *buf) {
	struct sockaddr_storage local, mapped;
	memset(&local, 0, sizeof local);
	memset(&mapped, 0, sizeof mapped);
	struct sockaddr_in *l = (void *)&local, *m = (void *)&mapped;
	l->sin_family = m->sin_family = AF_INET;
	l->sin_port = htons(5555);
	m->sin_port = htons(40000);
	l->sin_addr.s_addr = m->sin_addr.s_addr = htonl(0x7f000001);
	uint32_t len = 296, seq = 3, pid = 1234, req = 101;
	uint16_t type = (IWCM << 10) | OP_ADD_MAPPING, flags = 1, err = 0;
	memset(buf, 0, len);
	memcpy(buf, &len, 4);
	memcpy(buf + 4, &type, 2);
	memcpy(buf + 6, &flags, 2);
	memcpy(buf + 8, &seq, 4);
	memcpy(buf + 12, &pid, 4);
	uint8_t *p = put_header(buf + 16, 8, 1);
	memcpy(p, &req, 4);
	p = put_header(p + 4, 132, 2);
	memcpy(p, &local, 128);
	p = put_header(p + 128, 132, 3);
	memcpy(p, &mapped, 128);
	p = put_header(p + 128, 6, 4);
	memcpy(p, &err, 2);
	return len;
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: %s ops reps warmup\n", argv[0]);
		return 2;
	}
	uint32_t ops = (uint32_t)strtoul(argv[1], NULL, 10);
	int reps = atoi(argv[2]), warmup = atoi(argv[3]);
	if (ops == 0 || reps < 1 || warmup < 0) return 2;

	/* the same 4096 local addresses as the core's addMapping row */
	uint32_t k_ip = gen_key(SEED, SALT_W1_IP), k_lp = gen_key(SEED, SALT_W1_LOCAL_PORT);
	uint32_t ip[4096];
	uint16_t port[4096];
	for (uint32_t i = 0; i < 4096; i++) {
		ip[i] = NET10 | ip24(i, k_ip);
		port[i] = gen_local_port(hash32(i ^ k_lp));
	}
	uint8_t out[4112] __attribute__((aligned(8)));
	uint8_t reply[296] __attribute__((aligned(8)));
	uint32_t reply_len = build_reply(reply);
	struct add_mapping_req req;
	memset(&req, 0, sizeof req);
	req.client = IWCM;
	req.pid = 0x50000001;
	req.echo = 2;
	struct add_mapping_reply dec;
	double *enc_ns = calloc(reps, sizeof(double)), *dec_ns = calloc(reps, sizeof(double));
	uint32_t errors = 0;
	for (int r = -warmup; r < reps; r++) {
		uint64_t t0 = now_ns();
		uint32_t sum = 0;
		for (uint32_t i = 0; i < ops; i++) {
			struct sockaddr_in *sin = (void *)&req.local;
			sin->sin_family = AF_INET;
			sin->sin_port = htons(port[i & 4095]);
			sin->sin_addr.s_addr = htonl(ip[i & 4095]);
			req.seq = i + 1;
			uint32_t len = encode_add_mapping(out, sizeof out, &req, 4);
			if (len != 164) errors++;
			sum += out[31];
		}
		uint64_t t1 = now_ns();
		for (uint32_t i = 0; i < ops; i++) {
			if (decode_add_mapping_reply(reply, reply_len, &dec) != 0) errors++;
			sum += dec.req_seq + ((struct sockaddr_in *)&dec.mapped)->sin_port;
		}
		uint64_t t2 = now_ns();
		sink += sum;
		if (r >= 0) {
			enc_ns[r] = (double)(t1 - t0) / ops;
			dec_ns[r] = (double)(t2 - t1) / ops;
		}
	}
	printf("{\"impl\":\"c\",\"workload\":\"w3\",\"n\":%u,\"phases\":{\"encode\":[", ops);
	for (int r = 0; r < reps; r++) printf("%s%.3f", r ? "," : "", enc_ns[r]);
	printf("],\"decodeReply\":[");
	for (int r = 0; r < reps; r++) printf("%s%.3f", r ? "," : "", dec_ns[r]);
	printf("]},\"errors\":%u}\n", errors);
	return errors ? 1 : 0;
}
