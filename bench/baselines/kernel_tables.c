/*
 * kernel_tables.c - the Linux kernel's iwpm table design as a baseline
 * (drivers/infiniband/core/iwpm_util.c, as described in the protocol
 * reference §3 and §4.7; written from that description, not copied):
 *
 *   - mapinfo: 512 fixed buckets, remote info: 64 fixed buckets, each a
 *     doubly linked hlist of nodes, new nodes at the head (newest first);
 *   - bucket = pair hash of two sockaddrs: h(A) = jhash_2words(jhash(addr, 4,
 *     0), port, 0); pair = h(A) if h(A) == h(B) else jhash_2words(h(A), h(B), 0);
 *   - one zeroed malloc'd node per entry holding whole 128-byte
 *     sockaddr_storage copies (kzalloc in the kernel);
 *   - mapinfo removal takes the first node of the bucket whose *mapped*
 *     address matches; remote-info get takes the first node matching both
 *     mapped addresses, copies the remote address out and frees the node.
 *
 * The kernel has no separate mapinfo lookup: "lookup" here is the removal's
 * walk without the unlink. The kernel's spinlock (irqsave) around each
 * operation is left out, which favours this baseline.
 *
 * Workloads are the same as bench/core-bench.ts and bench/baselines/ts-map.ts
 * (same addresses and orders, from gen.h):
 *
 *   kernel_tables w1 N reps warmup rounds budget
 *   kernel_tables w2 N reps warmup rounds budget
 *
 * Prints one JSON object: ns/op per phase and repetition. Chains grow as N/512
 * and N/64, so a phase whose full run would visit more than `budget` list nodes
 * is timed on a fixed-seed sample of the same operation sequence: lookups on
 * the first S operations of their (random) order on the full table; removals
 * and gets in 8 strata at evenly spaced points of the sequence, each time
 * rebuilt to the exact table state of that point. "sampled" names the sample
 * sizes. Build: gcc -O2 -o kernel_tables kernel_tables.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "gen.h"

/* ---- jhash (lookup3, the kernel's variant) --------------------------------------------- */

#define JHASH_INITVAL 0xdeadbeefu

static inline uint32_t rol32(uint32_t w, unsigned s) { return (w << s) | (w >> (32 - s)); }

#define JHASH_MIX(a, b, c)                 \
	do {                                   \
		a -= c; a ^= rol32(c, 4); c += b;  \
		b -= a; b ^= rol32(a, 6); a += c;  \
		c -= b; c ^= rol32(b, 8); b += a;  \
		a -= c; a ^= rol32(c, 16); c += b; \
		b -= a; b ^= rol32(a, 19); a += c; \
		c -= b; c ^= rol32(b, 4); b += a;  \
	} while (0)

#define JHASH_FINAL(a, b, c)                \
	do {                                    \
		c ^= b; c -= rol32(b, 14);          \
		a ^= c; a -= rol32(c, 11);          \
		b ^= a; b -= rol32(a, 25);          \
		c ^= b; c -= rol32(b, 16);          \
		a ^= c; a -= rol32(c, 4);           \
		b ^= a; b -= rol32(a, 14);          \
		c ^= b; c -= rol32(b, 24);          \
	} while (0)

static uint32_t jhash(const void *key, uint32_t length, uint32_t initval) {
	const uint8_t *k = key;
	uint32_t a, b, c;
	a = b = c = JHASH_INITVAL + length + initval;
	while (length > 12) {
		uint32_t w[3];
		memcpy(w, k, 12);
		a += w[0];
		b += w[1];
		c += w[2];
		JHASH_MIX(a, b, c);
		length -= 12;
		k += 12;
	}
	switch (length) {
	case 12: c += (uint32_t)k[11] << 24; /* fall through */
	case 11: c += (uint32_t)k[10] << 16; /* fall through */
	case 10: c += (uint32_t)k[9] << 8; /* fall through */
	case 9: c += k[8]; /* fall through */
	case 8: b += (uint32_t)k[7] << 24; /* fall through */
	case 7: b += (uint32_t)k[6] << 16; /* fall through */
	case 6: b += (uint32_t)k[5] << 8; /* fall through */
	case 5: b += k[4]; /* fall through */
	case 4: a += (uint32_t)k[3] << 24; /* fall through */
	case 3: a += (uint32_t)k[2] << 16; /* fall through */
	case 2: a += (uint32_t)k[1] << 8; /* fall through */
	case 1:
		a += k[0];
		JHASH_FINAL(a, b, c);
		break;
	case 0: break;
	}
	return c;
}

static inline uint32_t jhash_2words(uint32_t a, uint32_t b, uint32_t initval) {
	uint32_t c = 0;
	initval += JHASH_INITVAL + (2 << 2);
	a += initval;
	b += initval;
	c += initval;
	JHASH_FINAL(a, b, c);
	return c;
}

/* ---- sockaddr helpers (iwpm_compare_sockaddr, iwpm_ipv4_jhash, get_hash_bucket) -------- */

static inline int same_sockaddr(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
	if (a->ss_family != b->ss_family) return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return !memcmp(&x->sin6_addr, &y->sin6_addr, 16) && x->sin6_port == y->sin6_port;
	}
	return 0;
}

static inline int sockaddr_hash(const struct sockaddr_storage *ss, uint32_t *out) {
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		uint32_t h = jhash(&sin->sin_addr, 4, 0);
		*out = jhash_2words(h, (uint32_t)sin->sin_port, 0);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		uint32_t h = jhash(&sin6->sin6_addr, 16, 0);
		*out = jhash_2words(h, (uint32_t)sin6->sin6_port, 0);
		return 0;
	}
	return -1;
}

static inline int pair_hash(const struct sockaddr_storage *a, const struct sockaddr_storage *b, uint32_t *out) {
	uint32_t ha, hb;
	if (sockaddr_hash(a, &ha) || sockaddr_hash(b, &hb)) return -1;
	*out = ha == hb ? ha : jhash_2words(ha, hb, 0);
	return 0;
}

static inline void set_in(struct sockaddr_storage *ss, uint32_t ip, uint16_t port) {
	struct sockaddr_in *sin = (void *)ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(ip);
}

/* ---- hlist ------------------------------------------------------------------------------ */

struct hnode {
	struct hnode *next, **pprev;
};

static inline void hlist_add_head(struct hnode *n, struct hnode **head) {
	n->next = *head;
	if (n->next) n->next->pprev = &n->next;
	*head = n;
	n->pprev = head;
}

static inline void hlist_del(struct hnode *n) {
	*n->pprev = n->next;
	if (n->next) n->next->pprev = n->pprev;
}

/* ---- mapinfo (struct iwpm_mapping_info) ---------------------------------------------------- */

#define MAPINFO_BUCKETS 512
#define REMINFO_BUCKETS 64

struct mapping_info {
	struct hnode node; /* first member */
	struct sockaddr_storage local_sockaddr;
	struct sockaddr_storage mapped_sockaddr;
	uint8_t nl_client;
	uint32_t map_flags;
};

static struct hnode *mapinfo_bucket[MAPINFO_BUCKETS];

static int create_mapinfo(const struct sockaddr_storage *local, const struct sockaddr_storage *mapped, uint8_t client, uint32_t flags) {
	uint32_t h;
	if (pair_hash(local, mapped, &h)) return -22;
	struct mapping_info *m = calloc(1, sizeof *m);
	if (!m) return -12;
	memcpy(&m->local_sockaddr, local, sizeof(struct sockaddr_storage));
	memcpy(&m->mapped_sockaddr, mapped, sizeof(struct sockaddr_storage));
	m->nl_client = client;
	m->map_flags = flags;
	hlist_add_head(&m->node, &mapinfo_bucket[h & (MAPINFO_BUCKETS - 1)]);
	return 0;
}

/* The removal's walk: first node of the pair's bucket whose mapped address matches. */
static struct mapping_info *find_mapinfo(const struct sockaddr_storage *local, const struct sockaddr_storage *mapped) {
	uint32_t h;
	if (pair_hash(local, mapped, &h)) return NULL;
	for (struct hnode *n = mapinfo_bucket[h & (MAPINFO_BUCKETS - 1)]; n; n = n->next) {
		struct mapping_info *m = (struct mapping_info *)n;
		if (same_sockaddr(&m->mapped_sockaddr, mapped)) return m;
	}
	return NULL;
}

static int remove_mapinfo(const struct sockaddr_storage *local, const struct sockaddr_storage *mapped) {
	struct mapping_info *m = find_mapinfo(local, mapped);
	if (!m) return -22;
	hlist_del(&m->node);
	free(m);
	return 0;
}

static void free_mapinfo(void) {
	for (int b = 0; b < MAPINFO_BUCKETS; b++) {
		struct hnode *n = mapinfo_bucket[b];
		while (n) {
			struct hnode *next = n->next;
			free(n);
			n = next;
		}
		mapinfo_bucket[b] = NULL;
	}
}

/* ---- remote info (struct iwpm_remote_info) ------------------------------------------------- */

struct remote_info {
	struct hnode node;
	struct sockaddr_storage remote_sockaddr;
	struct sockaddr_storage mapped_loc_sockaddr;
	struct sockaddr_storage mapped_rem_sockaddr;
	uint8_t nl_client;
};

static struct hnode *reminfo_bucket[REMINFO_BUCKETS];

static int add_remote_info(const struct sockaddr_storage *remote, const struct sockaddr_storage *mapped_loc,
	const struct sockaddr_storage *mapped_rem, uint8_t client) {
	uint32_t h;
	if (pair_hash(mapped_loc, mapped_rem, &h)) return -22;
	struct remote_info *r = calloc(1, sizeof *r);
	if (!r) return -12;
	memcpy(&r->remote_sockaddr, remote, sizeof(struct sockaddr_storage));
	memcpy(&r->mapped_loc_sockaddr, mapped_loc, sizeof(struct sockaddr_storage));
	memcpy(&r->mapped_rem_sockaddr, mapped_rem, sizeof(struct sockaddr_storage));
	r->nl_client = client;
	hlist_add_head(&r->node, &reminfo_bucket[h & (REMINFO_BUCKETS - 1)]);
	return 0;
}

static int get_remote_info(const struct sockaddr_storage *mapped_loc, const struct sockaddr_storage *mapped_rem,
	struct sockaddr_storage *remote_out) {
	uint32_t h;
	if (pair_hash(mapped_loc, mapped_rem, &h)) return -22;
	for (struct hnode *n = reminfo_bucket[h & (REMINFO_BUCKETS - 1)]; n; n = n->next) {
		struct remote_info *r = (struct remote_info *)n;
		if (same_sockaddr(mapped_loc, &r->mapped_loc_sockaddr) && same_sockaddr(mapped_rem, &r->mapped_rem_sockaddr)) {
			memcpy(remote_out, &r->remote_sockaddr, sizeof(struct sockaddr_storage));
			hlist_del(&r->node);
			free(r);
			return 0;
		}
	}
	return -22;
}

static void free_remote_info(void) {
	for (int b = 0; b < REMINFO_BUCKETS; b++) {
		struct hnode *n = reminfo_bucket[b];
		while (n) {
			struct hnode *next = n->next;
			free(n);
			n = next;
		}
		reminfo_bucket[b] = NULL;
	}
}

/* ---- REMOTE_INFO message: build (untimed) and parse (iwpm_remote_info_cb's checks) --------- */

#define REMOTE_INFO_LEN 560
#define NLA_ALIGN(n) (((n) + 3u) & ~3u)

static uint8_t *put_attr(uint8_t *p, uint16_t id, const void *payload, uint16_t len) {
	uint16_t nla_len = (uint16_t)(4 + len);
	memcpy(p, &nla_len, 2);
	memcpy(p + 2, &id, 2);
	memcpy(p + 4, payload, len);
	memset(p + 4 + len, 0, NLA_ALIGN(len) - len);
	return p + 4 + NLA_ALIGN(len);
}

static void build_remote_info(uint8_t *buf, uint32_t seq, const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
	const struct sockaddr_storage *mapped_loc, const struct sockaddr_storage *mapped_rem) {
	uint32_t zero32 = 0;
	uint16_t zero16 = 0;
	uint8_t *p = buf + 16;
	p = put_attr(p, 1, &zero32, 4);
	p = put_attr(p, 2, local, 128);
	p = put_attr(p, 3, remote, 128);
	p = put_attr(p, 4, mapped_loc, 128);
	p = put_attr(p, 5, mapped_rem, 128);
	p = put_attr(p, 6, &zero16, 2);
	uint32_t len = (uint32_t)(p - buf), pid = 1234;
	uint16_t type = (2 << 10) | 4, flags = 1;
	memcpy(buf, &len, 4);
	memcpy(buf + 4, &type, 2);
	memcpy(buf + 6, &flags, 2);
	memcpy(buf + 8, &seq, 4);
	memcpy(buf + 12, &pid, 4);
}

/* nla_parse with the kernel's policy (u32 >= 4, sockaddr >= 128, u16 >= 2), every id 1..6
 * required, family checks, then the table insert: iwpm_remote_info_cb. */
static int remote_info_cb(const uint8_t *msg, uint32_t avail) {
	if (avail < 16) return -22;
	uint32_t len;
	uint16_t type;
	memcpy(&len, msg, 4);
	memcpy(&type, msg + 4, 2);
	if (len < 16 || len > avail) return -22;
	if ((type & 0x3ff) != 4 || (type >> 10) >= 64) return -22;
	const uint8_t *tb[7] = {0};
	uint16_t tl[7] = {0};
	int32_t rem = (int32_t)len - 16;
	const uint8_t *p = msg + 16;
	while (rem >= 4) {
		uint16_t nla_len, nla_type;
		memcpy(&nla_len, p, 2);
		memcpy(&nla_type, p + 2, 2);
		if (nla_len < 4 || nla_len > rem) return -22;
		nla_type &= 0x3fff;
		if (nla_type >= 1 && nla_type <= 6) {
			tb[nla_type] = p + 4;
			tl[nla_type] = (uint16_t)(nla_len - 4);
		}
		uint32_t step = NLA_ALIGN(nla_len);
		p += step;
		rem -= (int32_t)step;
	}
	for (int id = 1; id <= 6; id++)
		if (!tb[id]) return -22;
	if (tl[1] < 4 || tl[6] < 2) return -22;
	for (int id = 2; id <= 5; id++)
		if (tl[id] < 128) return -22;
	struct sockaddr_storage local, remote, mapped_loc, mapped_rem;
	memcpy(&local, tb[2], sizeof local);
	memcpy(&remote, tb[3], sizeof remote);
	memcpy(&mapped_loc, tb[4], sizeof mapped_loc);
	memcpy(&mapped_rem, tb[5], sizeof mapped_rem);
	if (local.ss_family != mapped_loc.ss_family || remote.ss_family != mapped_rem.ss_family) return -22;
	return add_remote_info(&remote, &mapped_loc, &mapped_rem, (uint8_t)(type >> 10));
}

/* ---- harness --------------------------------------------------------------------------------- */

static inline uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t heap_in_use(void) {
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static void print_list(const char *name, const double *v, int n, int comma) {
	printf("\"%s\":[", name);
	for (int i = 0; i < n; i++) printf("%s%.3f", i ? "," : "", v[i]);
	printf("]%s", comma ? "," : "");
}

static volatile uint32_t sink;

/* ---- W1 ---------------------------------------------------------------------------------------- */

struct w1 {
	uint32_t n;
	uint32_t *ip, *absent_ip, *lookup, *remove;
	uint16_t *lport, *mport;
};

static struct w1 w1_data(uint32_t n) {
	struct w1 d = {.n = n};
	uint32_t k_ip = gen_key(SEED, SALT_W1_IP), k_lp = gen_key(SEED, SALT_W1_LOCAL_PORT), k_mp = gen_key(SEED, SALT_W1_MAPPED_PORT);
	d.ip = malloc(n * sizeof *d.ip);
	d.absent_ip = malloc(n * sizeof *d.absent_ip);
	d.lport = malloc(n * sizeof *d.lport);
	d.mport = malloc(n * sizeof *d.mport);
	if (!d.ip || !d.absent_ip || !d.lport || !d.mport) abort();
	for (uint32_t i = 0; i < n; i++) {
		d.ip[i] = NET10 | ip24(i, k_ip);
		d.absent_ip[i] = NET10 | ip24(n + i, k_ip);
		d.lport[i] = gen_local_port(hash32(i ^ k_lp));
		d.mport[i] = gen_ephemeral_port(hash32(i ^ k_mp));
	}
	d.lookup = gen_permutation(n, gen_key(SEED, SALT_W1_LOOKUP_ORDER));
	d.remove = gen_permutation(n, gen_key(SEED, SALT_W1_REMOVE_ORDER));
	return d;
}

static void w1_insert_range(const struct w1 *d, const uint8_t *skip) {
	struct sockaddr_storage loc, map;
	memset(&loc, 0, sizeof loc);
	memset(&map, 0, sizeof map);
	for (uint32_t i = 0; i < d->n; i++) {
		if (skip && skip[i]) continue;
		set_in(&loc, d->ip[i], d->lport[i]);
		set_in(&map, d->ip[i], d->mport[i]);
		if (create_mapinfo(&loc, &map, 2, 0)) abort();
	}
}

/* Times `count` lookups of entries order[0..count); returns ns/op, counts hits. */
static double w1_lookup(const struct w1 *d, uint32_t count, int absent, uint32_t *hits) {
	struct sockaddr_storage loc, map;
	memset(&loc, 0, sizeof loc);
	memset(&map, 0, sizeof map);
	uint32_t found = 0;
	uint64_t t0 = now_ns();
	for (uint32_t j = 0; j < count; j++) {
		uint32_t k = d->lookup[j];
		uint32_t ip = absent ? d->absent_ip[k] : d->ip[k];
		set_in(&loc, ip, d->lport[k]);
		set_in(&map, ip, d->mport[k]);
		found += find_mapinfo(&loc, &map) != NULL;
	}
	uint64_t t1 = now_ns();
	*hits += found;
	return (double)(t1 - t0) / count;
}

static double w1_remove_steps(const struct w1 *d, uint32_t from, uint32_t count, uint32_t *removed) {
	struct sockaddr_storage loc, map;
	memset(&loc, 0, sizeof loc);
	memset(&map, 0, sizeof map);
	uint32_t ok = 0;
	uint64_t t0 = now_ns();
	for (uint32_t j = from; j < from + count; j++) {
		uint32_t k = d->remove[j];
		set_in(&loc, d->ip[k], d->lport[k]);
		set_in(&map, d->ip[k], d->mport[k]);
		ok += remove_mapinfo(&loc, &map) == 0;
	}
	uint64_t t1 = now_ns();
	*removed += ok;
	return (double)(t1 - t0) / count;
}

#define STRATA 8

/* Removal of all N on a sample: STRATA points of the removal sequence, each rebuilt exactly. */
static double w1_remove_sampled(const struct w1 *d, uint32_t sample, uint32_t *removed, uint32_t *timed) {
	uint32_t per = sample / STRATA;
	if (per == 0) per = 1;
	uint8_t *gone = calloc(d->n, 1);
	if (!gone) abort();
	double sum = 0;
	for (int s = 0; s < STRATA; s++) {
		uint32_t mid = (uint32_t)(((uint64_t)(2 * s + 1) * d->n) / (2 * STRATA));
		uint32_t from = mid >= per / 2 ? mid - per / 2 : 0;
		if (from + per > d->n) from = d->n - per;
		free_mapinfo();
		memset(gone, 0, d->n);
		for (uint32_t j = 0; j < from; j++) gone[d->remove[j]] = 1;
		w1_insert_range(d, gone);
		sum += w1_remove_steps(d, from, per, removed);
		*timed += per;
	}
	free_mapinfo();
	free(gone);
	return sum / STRATA;
}

static int run_w1(uint32_t n, int reps, int warmup, int rounds, double budget) {
	struct w1 d = w1_data(n);
	double chain = (double)n / MAPINFO_BUCKETS;
	/* expected list nodes visited per operation: present (chain+1)/2, absent chain, random-order removal chain/4 */
	uint32_t s_present = n, s_absent = n, s_remove = n;
	if (n * (chain + 1) / 2 > budget) s_present = (uint32_t)(budget / ((chain + 1) / 2));
	if (n * chain > budget) s_absent = (uint32_t)(budget / chain);
	if (n * (chain / 4 + 1) > budget) s_remove = (uint32_t)(budget / (chain / 4 + 1));
	int sampled = s_present < n || s_absent < n || s_remove < n;
	if (sampled) rounds = 1;
	double *ins = calloc(reps, sizeof(double)), *pre = calloc(reps, sizeof(double)), *abs_ = calloc(reps, sizeof(double)),
	       *rem = calloc(reps, sizeof(double));
	size_t bytes_before = 0, bytes_after = 0;
	uint32_t errors = 0, rm_timed = 0;
	for (int r = -warmup; r < reps; r++) {
		double t_ins = 0, t_pre = 0, t_abs = 0, t_rem = 0;
		for (int round = 0; round < rounds; round++) {
			if (r == 0 && round == 0) bytes_before = heap_in_use();
			uint64_t t0 = now_ns();
			w1_insert_range(&d, NULL);
			uint64_t t1 = now_ns();
			if (r == 0 && round == 0) bytes_after = heap_in_use();
			t_ins += (double)(t1 - t0) / n;
			uint32_t hits = 0, misses = 0;
			t_pre += w1_lookup(&d, s_present < n ? s_present : n, 0, &hits);
			t_abs += w1_lookup(&d, s_absent < n ? s_absent : n, 1, &misses);
			if (hits != (s_present < n ? s_present : n) || misses != 0) errors++;
			uint32_t removed = 0;
			if (s_remove < n) {
				rm_timed = 0;
				t_rem += w1_remove_sampled(&d, s_remove, &removed, &rm_timed);
				if (removed != rm_timed) errors++;
			} else {
				t_rem += w1_remove_steps(&d, 0, n, &removed);
				if (removed != n) errors++;
			}
			free_mapinfo();
		}
		if (r >= 0) {
			ins[r] = t_ins / rounds;
			pre[r] = t_pre / rounds;
			abs_[r] = t_abs / rounds;
			rem[r] = t_rem / rounds;
		}
	}
	printf("{\"impl\":\"kernel-c\",\"workload\":\"w1\",\"n\":%u,\"rounds\":%d,\"fingerprint\":%u,\"phases\":{", n, rounds, gen_fingerprint(d.ip, n));
	print_list("insert", ins, reps, 1);
	print_list("lookupPresent", pre, reps, 1);
	print_list("lookupAbsent", abs_, reps, 1);
	print_list("remove", rem, reps, 0);
	printf("},\"sampled\":{\"lookupPresent\":%u,\"lookupAbsent\":%u,\"remove\":%u},", s_present < n ? s_present : 0,
		s_absent < n ? s_absent : 0, s_remove < n ? rm_timed : 0);
	printf("\"bytesPerEntry\":%.1f,\"nodeSize\":%zu,\"errors\":%u}\n", (double)(bytes_after - bytes_before) / n,
		sizeof(struct mapping_info), errors);
	return errors ? 1 : 0;
}

/* ---- W2 ---------------------------------------------------------------------------------------- */

struct w2 {
	uint32_t n;
	uint32_t *ml_ip, *mr_ip, *get;
	uint16_t *ml_port, *mr_port, *l_port, *r_port;
};

static struct w2 w2_data(uint32_t n) {
	struct w2 d = {.n = n};
	uint32_t k_ml = gen_key(SEED, SALT_W2_MAPPED_LOCAL_IP), k_mr = gen_key(SEED, SALT_W2_MAPPED_REMOTE_IP),
		 k_mlp = gen_key(SEED, SALT_W2_MAPPED_LOCAL_PORT), k_mrp = gen_key(SEED, SALT_W2_MAPPED_REMOTE_PORT),
		 k_lp = gen_key(SEED, SALT_W2_LOCAL_PORT), k_rp = gen_key(SEED, SALT_W2_REMOTE_PORT);
	d.ml_ip = malloc(n * 4);
	d.mr_ip = malloc(n * 4);
	d.ml_port = malloc(n * 2);
	d.mr_port = malloc(n * 2);
	d.l_port = malloc(n * 2);
	d.r_port = malloc(n * 2);
	if (!d.ml_ip || !d.mr_ip || !d.ml_port || !d.mr_port || !d.l_port || !d.r_port) abort();
	for (uint32_t i = 0; i < n; i++) {
		d.ml_ip[i] = NET10 | ip24(i, k_ml);
		d.mr_ip[i] = NET10 | ip24(i, k_mr);
		d.ml_port[i] = gen_ephemeral_port(hash32(i ^ k_mlp));
		d.mr_port[i] = gen_ephemeral_port(hash32(i ^ k_mrp));
		d.l_port[i] = gen_local_port(hash32(i ^ k_lp));
		d.r_port[i] = gen_local_port(hash32(i ^ k_rp));
	}
	d.get = gen_permutation(n, gen_key(SEED, SALT_W2_GET_ORDER));
	return d;
}

#define CHUNK 4096

/* Feeds every entry not in `skip` as a REMOTE_INFO datagram; datagrams are built a chunk at a
 * time outside the timed region. Returns the timed ns. */
static double w2_insert(const struct w2 *d, const uint8_t *skip, uint8_t *chunk, uint32_t *errors) {
	struct sockaddr_storage local, remote, ml, mr;
	memset(&local, 0, sizeof local);
	memset(&remote, 0, sizeof remote);
	memset(&ml, 0, sizeof ml);
	memset(&mr, 0, sizeof mr);
	double ns = 0;
	for (uint32_t base = 0; base < d->n; base += CHUNK) {
		uint32_t end = base + CHUNK < d->n ? base + CHUNK : d->n, count = 0;
		for (uint32_t i = base; i < end; i++) {
			if (skip && skip[i]) continue;
			set_in(&local, d->ml_ip[i], d->l_port[i]);
			set_in(&remote, d->mr_ip[i], d->r_port[i]);
			set_in(&ml, d->ml_ip[i], d->ml_port[i]);
			set_in(&mr, d->mr_ip[i], d->mr_port[i]);
			build_remote_info(chunk + (size_t)count * REMOTE_INFO_LEN, i, &local, &remote, &ml, &mr);
			count++;
		}
		uint64_t t0 = now_ns();
		for (uint32_t c = 0; c < count; c++)
			if (remote_info_cb(chunk + (size_t)c * REMOTE_INFO_LEN, REMOTE_INFO_LEN)) (*errors)++;
		ns += (double)(now_ns() - t0);
	}
	return ns;
}

static double w2_get_steps(const struct w2 *d, uint32_t from, uint32_t count, uint32_t *got) {
	struct sockaddr_storage ml, mr, out;
	memset(&ml, 0, sizeof ml);
	memset(&mr, 0, sizeof mr);
	uint32_t ok = 0, sum = 0;
	uint64_t t0 = now_ns();
	for (uint32_t j = from; j < from + count; j++) {
		uint32_t k = d->get[j];
		set_in(&ml, d->ml_ip[k], d->ml_port[k]);
		set_in(&mr, d->mr_ip[k], d->mr_port[k]);
		if (get_remote_info(&ml, &mr, &out) == 0) {
			ok++;
			sum += ((struct sockaddr_in *)&out)->sin_port;
		}
	}
	uint64_t t1 = now_ns();
	sink += sum;
	*got += ok;
	return (double)(t1 - t0) / count;
}

static double w2_get_sampled(const struct w2 *d, uint32_t sample, uint8_t *chunk, uint32_t *got, uint32_t *timed, uint32_t *errors) {
	uint32_t per = sample / STRATA;
	if (per == 0) per = 1;
	uint8_t *gone = calloc(d->n, 1);
	if (!gone) abort();
	double sum = 0;
	for (int s = 0; s < STRATA; s++) {
		uint32_t mid = (uint32_t)(((uint64_t)(2 * s + 1) * d->n) / (2 * STRATA));
		uint32_t from = mid >= per / 2 ? mid - per / 2 : 0;
		if (from + per > d->n) from = d->n - per;
		free_remote_info();
		memset(gone, 0, d->n);
		for (uint32_t j = 0; j < from; j++) gone[d->get[j]] = 1;
		w2_insert(d, gone, chunk, errors);
		sum += w2_get_steps(d, from, per, got);
		*timed += per;
	}
	free_remote_info();
	free(gone);
	return sum / STRATA;
}

static int run_w2(uint32_t n, int reps, int warmup, int rounds, double budget) {
	struct w2 d = w2_data(n);
	uint8_t *chunk = malloc((size_t)CHUNK * REMOTE_INFO_LEN);
	if (!chunk) abort();
	double chain = (double)n / REMINFO_BUCKETS;
	uint32_t s_get = n;
	if (n * (chain / 4 + 1) > budget) s_get = (uint32_t)(budget / (chain / 4 + 1));
	if (s_get < n) rounds = 1;
	double *ins = calloc(reps, sizeof(double)), *get = calloc(reps, sizeof(double));
	uint32_t errors = 0, timed = 0;
	size_t bytes_before = 0, bytes_after = 0;
	for (int r = -warmup; r < reps; r++) {
		double t_ins = 0, t_get = 0;
		for (int round = 0; round < rounds; round++) {
			if (r == 0 && round == 0) bytes_before = heap_in_use();
			t_ins += w2_insert(&d, NULL, chunk, &errors) / n;
			if (r == 0 && round == 0) bytes_after = heap_in_use();
			uint32_t got = 0;
			if (s_get < n) {
				free_remote_info();
				timed = 0;
				t_get += w2_get_sampled(&d, s_get, chunk, &got, &timed, &errors);
				if (got != timed) errors++;
			} else {
				t_get += w2_get_steps(&d, 0, n, &got);
				if (got != n) errors++;
			}
			free_remote_info();
		}
		if (r >= 0) {
			ins[r] = t_ins / rounds;
			get[r] = t_get / rounds;
		}
	}
	printf("{\"impl\":\"kernel-c\",\"workload\":\"w2\",\"n\":%u,\"rounds\":%d,\"fingerprint\":%u,\"phases\":{", n, rounds,
		gen_fingerprint(d.mr_ip, n));
	print_list("insert", ins, reps, 1);
	print_list("get", get, reps, 0);
	printf("},\"sampled\":{\"get\":%u},\"bytesPerEntry\":%.1f,\"nodeSize\":%zu,\"errors\":%u}\n", s_get < n ? timed : 0,
		(double)(bytes_after - bytes_before) / n, sizeof(struct remote_info), errors);
	return errors ? 1 : 0;
}

int main(int argc, char **argv) {
	if (argc != 7) {
		fprintf(stderr, "usage: %s w1|w2 N reps warmup rounds budget\n", argv[0]);
		return 2;
	}
	uint32_t n = (uint32_t)strtoul(argv[2], NULL, 10);
	int reps = atoi(argv[3]), warmup = atoi(argv[4]), rounds = atoi(argv[5]);
	double budget = strtod(argv[6], NULL);
	if (n == 0 || n > (1u << 23) || reps < 1 || warmup < 0 || rounds < 1) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	if (!strcmp(argv[1], "w1")) return run_w1(n, reps, warmup, rounds, budget);
	if (!strcmp(argv[1], "w2")) return run_w2(n, reps, warmup, rounds, budget);
	fprintf(stderr, "unknown workload %s\n", argv[1]);
	return 2;
}
