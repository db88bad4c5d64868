/* The benchmark's inputs, bit for bit as bench/lib/gen.ts derives them: IPv4
 * addresses from a bijection of the entry index on 24 bits (so absent keys,
 * indices N..2N-1, never collide), ports from lowbias32, visiting orders from
 * Fisher-Yates with mulberry32. */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#include <stdint.h>
#include <stdlib.h>

#define SEED 20261124u

#define SALT_W1_IP 0x1001u
#define SALT_W1_LOCAL_PORT 0x1002u
#define SALT_W1_MAPPED_PORT 0x1003u
#define SALT_W1_LOOKUP_ORDER 0x1004u
#define SALT_W1_REMOVE_ORDER 0x1005u
#define SALT_W2_MAPPED_LOCAL_IP 0x2001u
#define SALT_W2_MAPPED_REMOTE_IP 0x2002u
#define SALT_W2_MAPPED_LOCAL_PORT 0x2003u
#define SALT_W2_MAPPED_REMOTE_PORT 0x2004u
#define SALT_W2_LOCAL_PORT 0x2005u
#define SALT_W2_REMOTE_PORT 0x2006u
#define SALT_W2_GET_ORDER 0x2007u
#define SALT_W4_IP 0x4001u
#define SALT_W4_PORT 0x4002u

#define NET10 0x0a000000u
#define M24 0xffffffu

static inline uint32_t hash32(uint32_t x) {
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static inline uint32_t ip24(uint32_t i, uint32_t key) {
	uint32_t x = (i ^ key) & M24;
	x = (x * 0xa3b195u) & M24;
	x ^= x >> 12;
	x = (x * 0x68e31du) & M24;
	x ^= x >> 11;
	x = (x * 0xb5297bu) & M24;
	x ^= x >> 13;
	return x;
}

static inline uint32_t gen_key(uint32_t seed, uint32_t salt) { return hash32(seed ^ salt); }
static inline uint16_t gen_local_port(uint32_t h) { return (uint16_t)(1024u + h % 60000u); }
static inline uint16_t gen_ephemeral_port(uint32_t h) { return (uint16_t)(32768u + h % 28232u); }

static inline uint32_t mulberry32(uint32_t *s) {
	uint32_t t = (*s += 0x6d2b79f5u);
	t = (t ^ (t >> 15)) * (t | 1u);
	t ^= t + (t ^ (t >> 7)) * (t | 61u);
	return t ^ (t >> 14);
}

static inline uint32_t *gen_permutation(uint32_t n, uint32_t seed) {
	uint32_t *p = malloc((size_t)(n ? n : 1) * sizeof *p);
	if (!p) abort();
	for (uint32_t i = 0; i < n; i++) p[i] = i;
	uint32_t s = seed;
	for (uint32_t i = n ? n - 1 : 0; i > 0; i--) {
		uint32_t j = mulberry32(&s) % (i + 1);
		uint32_t t = p[i];
		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

static inline uint32_t gen_fingerprint(const uint32_t *v, uint32_t n) {
	uint32_t h = 0x811c9dc5u;
	for (uint32_t i = 0; i < n && i < 64; i++) h = (h ^ v[i]) * 0x01000193u;
	return h;
}

#endif
