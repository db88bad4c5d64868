/*
 * tuned_tables.c - how fast the mapinfo and remote-info tables can be in C:
 * the native limit the core's tables are measured against (W1, W2 get).
 *
 *   - open addressing with linear probing, power-of-two capacity, grown at
 *     load 3/4 by rehashing the stored hashes; removal by backward shift, so
 *     no tombstones;
 *   - compact keys inline in the slot (family + port + 16 address bytes, 20
 *     bytes), so a lookup compares the key without leaving the slot;
 *   - one slot per distinct key; records sharing a key hang off the slot in a
 *     newest-first list, so the semantics are the core's: a lookup returns the
 *     newest record, removal takes the newest record whose local and mapped
 *     addresses both match, a get consumes the newest matching entry;
 *   - records in one flat array, addressed by index, with a free list: no
 *     per-entry malloc.
 *
 * Same inputs and operation order as bench/core-bench.ts (gen.h). Unlike
 * kernel_tables.c, W2 inserts straight into the table: the core's W2 insert
 * includes parsing the REMOTE_INFO datagram, so only the get phases compare.
 *
 *   tuned_tables w1 N reps warmup rounds
 *   tuned_tables w2 N reps warmup rounds
 *
 * Prints one JSON object: ns/op per phase and repetition.
 * Build: gcc -O2 -o tuned_tables tuned_tables.c
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"

#define AF_INET_ 2
#define NIL 0u

/* family, port (network order) and address bytes: the fields the kernel compares */
struct key {
	uint16_t family;
	uint16_t port;
	uint8_t addr[16];
};

static inline int key_eq(const struct key *a, const struct key *b) { return !memcmp(a, b, sizeof *a); }

static inline uint64_t load64(const void *p) {
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t load32(const void *p) {
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t mix64(uint64_t h, uint64_t w) {
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static inline uint32_t key_hash(const struct key *k, uint64_t seed) {
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = mix64(seed, load64(p));
	h = mix64(h, load64(p + 8));
	h = mix64(h, load32(p + 16));
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h >> 32);
}

static inline void set_in(struct key *k, uint32_t ip, uint16_t port) {
	memset(k, 0, sizeof *k);
	k->family = AF_INET_;
	k->port = (uint16_t)((port >> 8) | (port << 8));
	uint32_t be = __builtin_bswap32(ip);
	memcpy(k->addr, &be, 4);
}

/* ---- record arena: flat array, 1-based indexes, free list ------------------------------ */

struct arena {
	uint8_t *base;
	uint32_t size, top, cap, free_head;
};

static uint32_t arena_alloc(struct arena *a) {
	uint32_t i = a->free_head;
	if (i != NIL) {
		a->free_head = load32(a->base + (size_t)i * a->size);
	} else {
		i = ++a->top;
		if (i >= a->cap) {
			a->cap = a->cap ? a->cap * 2 : 1024;
			a->base = realloc(a->base, (size_t)a->cap * a->size);
			if (!a->base) abort();
		}
	}
	return i;
}

static inline void *arena_ptr(const struct arena *a, uint32_t i) { return a->base + (size_t)i * a->size; }

static void arena_free(struct arena *a, uint32_t i) {
	memcpy(arena_ptr(a, i), &a->free_head, 4);
	a->free_head = i;
}

static void arena_release(struct arena *a) {
	free(a->base);
	a->base = NULL;
	a->top = a->cap = a->free_head = 0;
}

/* ---- mapinfo ------------------------------------------------------------------------------ */

struct map_rec {
	uint32_t next; /* older record with the same mapped address; the free list's link when free */
	uint32_t flags;
	struct key local, mapped;
	uint8_t client;
};

struct map_slot {
	uint32_t hash;
	uint32_t head; /* NIL: empty */
	struct key mapped;
};

static struct {
	struct map_slot *slots;
	uint32_t mask, count;
	struct arena recs;
} mt = {.recs = {.size = sizeof(struct map_rec)}};

#define MAP_SEED 0x6d617070ull

static void map_alloc_slots(uint32_t cap) {
	mt.slots = calloc(cap, sizeof *mt.slots);
	if (!mt.slots) abort();
	mt.mask = cap - 1;
}

static void map_grow(void) {
	struct map_slot *old = mt.slots;
	uint32_t old_cap = mt.mask + 1;
	map_alloc_slots(old_cap * 2);
	for (uint32_t s = 0; s < old_cap; s++) {
		if (old[s].head == NIL) continue;
		uint32_t p = old[s].hash & mt.mask;
		while (mt.slots[p].head != NIL) p = (p + 1) & mt.mask;
		mt.slots[p] = old[s];
	}
	free(old);
}

/* The slot holding `mapped`, or the empty slot where it would go. */
static inline uint32_t map_probe(const struct key *mapped, uint32_t h) {
	uint32_t p = h & mt.mask;
	for (;;) {
		const struct map_slot *s = &mt.slots[p];
		if (s->head == NIL || (s->hash == h && key_eq(&s->mapped, mapped))) return p;
		p = (p + 1) & mt.mask;
	}
}

/* Backward-shift deletion: later members of the cluster move up so no probe crosses a hole. */
static void map_delete_slot(uint32_t hole) {
	uint32_t p = hole;
	for (;;) {
		p = (p + 1) & mt.mask;
		struct map_slot *s = &mt.slots[p];
		if (s->head == NIL) break;
		uint32_t home = s->hash & mt.mask;
		/* s may fill the hole when its home is not cyclically within (hole, p] */
		if (((p - home) & mt.mask) >= ((p - hole) & mt.mask)) {
			mt.slots[hole] = *s;
			hole = p;
		}
	}
	mt.slots[hole].head = NIL;
	mt.count--;
}

static void map_create(const struct key *local, const struct key *mapped, uint8_t client, uint32_t flags) {
	if ((mt.count + 1) * 4 > (mt.mask + 1) * 3) map_grow();
	uint32_t i = arena_alloc(&mt.recs);
	struct map_rec *r = arena_ptr(&mt.recs, i);
	r->local = *local;
	r->mapped = *mapped;
	r->client = client;
	r->flags = flags;
	uint32_t h = key_hash(mapped, MAP_SEED);
	uint32_t p = map_probe(mapped, h);
	struct map_slot *s = &mt.slots[p];
	if (s->head == NIL) {
		s->hash = h;
		s->mapped = *mapped;
		r->next = NIL;
		mt.count++;
	} else {
		r->next = s->head;
	}
	s->head = i;
}

/* The newest record with this mapped address, or NIL. */
static inline uint32_t map_find(const struct key *mapped) { return mt.slots[map_probe(mapped, key_hash(mapped, MAP_SEED))].head; }

/* Removes the newest record with this local and this mapped address. */
static int map_remove(const struct key *local, const struct key *mapped) {
	uint32_t p = map_probe(mapped, key_hash(mapped, MAP_SEED));
	uint32_t *link = &mt.slots[p].head;
	for (uint32_t i = *link; i != NIL; i = *link) {
		struct map_rec *r = arena_ptr(&mt.recs, i);
		if (key_eq(&r->local, local)) {
			*link = r->next;
			arena_free(&mt.recs, i);
			if (mt.slots[p].head == NIL) map_delete_slot(p);
			return 0;
		}
		link = &r->next;
	}
	return -22;
}

static void map_reset(void) {
	free(mt.slots);
	arena_release(&mt.recs);
	mt.count = 0;
	map_alloc_slots(16);
}

/* ---- remote info --------------------------------------------------------------------------- */

struct rem_rec {
	uint32_t next; /* older entry with the same pair */
	struct key remote;
	uint8_t client;
};

struct rem_slot {
	uint32_t hash;
	uint32_t head;
	struct key ml, mr;
};

static struct {
	struct rem_slot *slots;
	uint32_t mask, count;
	struct arena recs;
} rt = {.recs = {.size = sizeof(struct rem_rec)}};

#define REM_SEED 0x72696e66ull

static inline uint32_t pair_hash(const struct key *ml, const struct key *mr) {
	const uint8_t *a = (const uint8_t *)ml, *b = (const uint8_t *)mr;
	uint64_t h = mix64(REM_SEED, load64(a));
	h = mix64(h, load64(a + 8));
	h = mix64(h, load32(a + 16));
	h = mix64(h, load64(b));
	h = mix64(h, load64(b + 8));
	h = mix64(h, load32(b + 16));
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h >> 32);
}

static void rem_alloc_slots(uint32_t cap) {
	rt.slots = calloc(cap, sizeof *rt.slots);
	if (!rt.slots) abort();
	rt.mask = cap - 1;
}

static void rem_grow(void) {
	struct rem_slot *old = rt.slots;
	uint32_t old_cap = rt.mask + 1;
	rem_alloc_slots(old_cap * 2);
	for (uint32_t s = 0; s < old_cap; s++) {
		if (old[s].head == NIL) continue;
		uint32_t p = old[s].hash & rt.mask;
		while (rt.slots[p].head != NIL) p = (p + 1) & rt.mask;
		rt.slots[p] = old[s];
	}
	free(old);
}

static inline uint32_t rem_probe(const struct key *ml, const struct key *mr, uint32_t h) {
	uint32_t p = h & rt.mask;
	for (;;) {
		const struct rem_slot *s = &rt.slots[p];
		if (s->head == NIL || (s->hash == h && key_eq(&s->ml, ml) && key_eq(&s->mr, mr))) return p;
		p = (p + 1) & rt.mask;
	}
}

static void rem_delete_slot(uint32_t hole) {
	uint32_t p = hole;
	for (;;) {
		p = (p + 1) & rt.mask;
		struct rem_slot *s = &rt.slots[p];
		if (s->head == NIL) break;
		uint32_t home = s->hash & rt.mask;
		if (((p - home) & rt.mask) >= ((p - hole) & rt.mask)) {
			rt.slots[hole] = *s;
			hole = p;
		}
	}
	rt.slots[hole].head = NIL;
	rt.count--;
}

static void rem_insert(const struct key *ml, const struct key *mr, const struct key *remote, uint8_t client) {
	if ((rt.count + 1) * 4 > (rt.mask + 1) * 3) rem_grow();
	uint32_t i = arena_alloc(&rt.recs);
	struct rem_rec *r = arena_ptr(&rt.recs, i);
	r->remote = *remote;
	r->client = client;
	uint32_t h = pair_hash(ml, mr);
	uint32_t p = rem_probe(ml, mr, h);
	struct rem_slot *s = &rt.slots[p];
	if (s->head == NIL) {
		s->hash = h;
		s->ml = *ml;
		s->mr = *mr;
		r->next = NIL;
		rt.count++;
	} else {
		r->next = s->head;
	}
	s->head = i;
}

/* Consumes the newest entry of the pair, copying its remote address out. */
static int rem_get(const struct key *ml, const struct key *mr, struct key *out) {
	uint32_t p = rem_probe(ml, mr, pair_hash(ml, mr));
	uint32_t i = rt.slots[p].head;
	if (i == NIL) return -22;
	struct rem_rec *r = arena_ptr(&rt.recs, i);
	*out = r->remote;
	rt.slots[p].head = r->next;
	arena_free(&rt.recs, i);
	if (rt.slots[p].head == NIL) rem_delete_slot(p);
	return 0;
}

static void rem_reset(void) {
	free(rt.slots);
	arena_release(&rt.recs);
	rt.count = 0;
	rem_alloc_slots(16);
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

static int run_w1(uint32_t n, int reps, int warmup, int rounds) {
	uint32_t k_ip = gen_key(SEED, SALT_W1_IP), k_lp = gen_key(SEED, SALT_W1_LOCAL_PORT), k_mp = gen_key(SEED, SALT_W1_MAPPED_PORT);
	uint32_t *ip = malloc(n * 4), *absent_ip = malloc(n * 4);
	uint16_t *lport = malloc(n * 2), *mport = malloc(n * 2);
	if (!ip || !absent_ip || !lport || !mport) abort();
	for (uint32_t i = 0; i < n; i++) {
		ip[i] = NET10 | ip24(i, k_ip);
		absent_ip[i] = NET10 | ip24(n + i, k_ip);
		lport[i] = gen_local_port(hash32(i ^ k_lp));
		mport[i] = gen_ephemeral_port(hash32(i ^ k_mp));
	}
	uint32_t *lookup = gen_permutation(n, gen_key(SEED, SALT_W1_LOOKUP_ORDER));
	uint32_t *remove = gen_permutation(n, gen_key(SEED, SALT_W1_REMOVE_ORDER));
	double *ins = calloc(reps, sizeof(double)), *pre = calloc(reps, sizeof(double)), *abs_ = calloc(reps, sizeof(double)),
	       *rem = calloc(reps, sizeof(double));
	size_t bytes_before = 0, bytes_after = 0;
	uint32_t errors = 0;
	struct key loc, map;
	map_reset();
	for (int r = -warmup; r < reps; r++) {
		double t_ins = 0, t_pre = 0, t_abs = 0, t_rem = 0;
		for (int round = 0; round < rounds; round++) {
			if (r == 0 && round == 0) bytes_before = heap_in_use();
			uint64_t t0 = now_ns();
			for (uint32_t i = 0; i < n; i++) {
				set_in(&loc, ip[i], lport[i]);
				set_in(&map, ip[i], mport[i]);
				map_create(&loc, &map, 2, 0);
			}
			uint64_t t1 = now_ns();
			if (r == 0 && round == 0) bytes_after = heap_in_use();
			uint32_t hits = 0, misses = 0, removed = 0;
			for (uint32_t j = 0; j < n; j++) {
				uint32_t k = lookup[j];
				set_in(&map, ip[k], mport[k]);
				hits += map_find(&map) != NIL;
			}
			uint64_t t2 = now_ns();
			for (uint32_t j = 0; j < n; j++) {
				uint32_t k = lookup[j];
				set_in(&map, absent_ip[k], mport[k]);
				misses += map_find(&map) == NIL;
			}
			uint64_t t3 = now_ns();
			for (uint32_t j = 0; j < n; j++) {
				uint32_t k = remove[j];
				set_in(&loc, ip[k], lport[k]);
				set_in(&map, ip[k], mport[k]);
				removed += map_remove(&loc, &map) == 0;
			}
			uint64_t t4 = now_ns();
			if (hits != n || misses != n || removed != n || mt.count != 0) errors++;
			t_ins += (double)(t1 - t0) / n;
			t_pre += (double)(t2 - t1) / n;
			t_abs += (double)(t3 - t2) / n;
			t_rem += (double)(t4 - t3) / n;
			/* every run starts from a fresh table, as the core's do */
			map_reset();
		}
		if (r >= 0) {
			ins[r] = t_ins / rounds;
			pre[r] = t_pre / rounds;
			abs_[r] = t_abs / rounds;
			rem[r] = t_rem / rounds;
		}
	}
	printf("{\"impl\":\"tuned-c\",\"workload\":\"w1\",\"n\":%u,\"rounds\":%d,\"fingerprint\":%u,\"phases\":{", n, rounds, gen_fingerprint(ip, n));
	print_list("insert", ins, reps, 1);
	print_list("lookupPresent", pre, reps, 1);
	print_list("lookupAbsent", abs_, reps, 1);
	print_list("remove", rem, reps, 0);
	printf("},\"bytesPerEntry\":%.1f,\"nodeSize\":%zu,\"errors\":%u}\n", (double)(bytes_after - bytes_before) / n, sizeof(struct map_rec),
		errors);
	return errors ? 1 : 0;
}

static int run_w2(uint32_t n, int reps, int warmup, int rounds) {
	uint32_t k_ml = gen_key(SEED, SALT_W2_MAPPED_LOCAL_IP), k_mr = gen_key(SEED, SALT_W2_MAPPED_REMOTE_IP),
		 k_mlp = gen_key(SEED, SALT_W2_MAPPED_LOCAL_PORT), k_mrp = gen_key(SEED, SALT_W2_MAPPED_REMOTE_PORT),
		 k_rp = gen_key(SEED, SALT_W2_REMOTE_PORT);
	uint32_t *ml_ip = malloc(n * 4), *mr_ip = malloc(n * 4);
	uint16_t *ml_port = malloc(n * 2), *mr_port = malloc(n * 2), *r_port = malloc(n * 2);
	if (!ml_ip || !mr_ip || !ml_port || !mr_port || !r_port) abort();
	for (uint32_t i = 0; i < n; i++) {
		ml_ip[i] = NET10 | ip24(i, k_ml);
		mr_ip[i] = NET10 | ip24(i, k_mr);
		ml_port[i] = gen_ephemeral_port(hash32(i ^ k_mlp));
		mr_port[i] = gen_ephemeral_port(hash32(i ^ k_mrp));
		r_port[i] = gen_local_port(hash32(i ^ k_rp));
	}
	uint32_t *order = gen_permutation(n, gen_key(SEED, SALT_W2_GET_ORDER));
	double *ins = calloc(reps, sizeof(double)), *get = calloc(reps, sizeof(double));
	size_t bytes_before = 0, bytes_after = 0;
	uint32_t errors = 0;
	struct key ml, mr, remote, out;
	rem_reset();
	for (int r = -warmup; r < reps; r++) {
		double t_ins = 0, t_get = 0;
		for (int round = 0; round < rounds; round++) {
			if (r == 0 && round == 0) bytes_before = heap_in_use();
			uint64_t t0 = now_ns();
			for (uint32_t i = 0; i < n; i++) {
				set_in(&ml, ml_ip[i], ml_port[i]);
				set_in(&mr, mr_ip[i], mr_port[i]);
				set_in(&remote, mr_ip[i], r_port[i]);
				rem_insert(&ml, &mr, &remote, 2);
			}
			uint64_t t1 = now_ns();
			if (r == 0 && round == 0) bytes_after = heap_in_use();
			uint32_t got = 0, sum = 0;
			for (uint32_t j = 0; j < n; j++) {
				uint32_t k = order[j];
				set_in(&ml, ml_ip[k], ml_port[k]);
				set_in(&mr, mr_ip[k], mr_port[k]);
				if (rem_get(&ml, &mr, &out) == 0) {
					got++;
					sum += out.port;
				}
			}
			uint64_t t2 = now_ns();
			sink += sum;
			if (got != n || rt.count != 0 || sum == 0) errors++;
			t_ins += (double)(t1 - t0) / n;
			t_get += (double)(t2 - t1) / n;
			rem_reset();
		}
		if (r >= 0) {
			ins[r] = t_ins / rounds;
			get[r] = t_get / rounds;
		}
	}
	/* "insertTable": no datagram is parsed, so it is not the core's W2 "insert" */
	printf("{\"impl\":\"tuned-c\",\"workload\":\"w2\",\"n\":%u,\"rounds\":%d,\"fingerprint\":%u,\"phases\":{", n, rounds, gen_fingerprint(mr_ip, n));
	print_list("insertTable", ins, reps, 1);
	print_list("get", get, reps, 0);
	printf("},\"bytesPerEntry\":%.1f,\"nodeSize\":%zu,\"errors\":%u}\n", (double)(bytes_after - bytes_before) / n, sizeof(struct rem_rec),
		errors);
	return errors ? 1 : 0;
}

int main(int argc, char **argv) {
	if (argc != 6) {
		fprintf(stderr, "usage: %s w1|w2 N reps warmup rounds\n", argv[0]);
		return 2;
	}
	uint32_t n = (uint32_t)strtoul(argv[2], NULL, 10);
	int reps = atoi(argv[3]), warmup = atoi(argv[4]), rounds = atoi(argv[5]);
	if (n == 0 || n > (1u << 23) || reps < 1 || warmup < 0 || rounds < 1) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	if (!strcmp(argv[1], "w1")) return run_w1(n, reps, warmup, rounds);
	if (!strcmp(argv[1], "w2")) return run_w2(n, reps, warmup, rounds);
	fprintf(stderr, "unknown workload %s\n", argv[1]);
	return 2;
}
