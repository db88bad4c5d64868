/*
 * Golden iwpm netlink messages, printed as JSON on stdout.
 *
 * The byte layouts come only from the system headers (<rdma/rdma_netlink.h>,
 * <linux/netlink.h>, <netinet/in.h>) and from the way the Linux kernel (the
 * client side) and rdma-core's iwpmd (the daemon side) lay messages out, so
 * the output is an oracle that shares no code with the implementation under
 * test.  Every field of each message is printed next to the raw datagram so
 * that a reader can be checked against both.
 *
 * Build: gcc -O1 -Wall -Werror -o golden golden.c
 */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <rdma/rdma_netlink.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* iwpmd reads at most one page plus a header per datagram (§1.6). */
#define MAX_DGRAM 4112

/* Fixed string sizes the kernel copies into REG_PID (iwpm_dev_data). */
#define IF_NAME_SIZE 16
#define DEV_NAME_SIZE 32
#define ULIB_NAME_SIZE 32

#define ULIB_NAME "iWarpPortMapperUser"

/* The kernel's code for a peer rejecting a query; iwpmd uses the same 16. */
#define IWPM_REMOTE_QUERY_REJECT 16

/* iwpmd puts whole sockaddr_storage structures on the wire; the protocol
 * depends on them being exactly 128 bytes. */
_Static_assert(sizeof(struct sockaddr_storage) == 128, "sockaddr_storage");
_Static_assert(NLMSG_HDRLEN == 16 && NLA_HDRLEN == 4, "netlink header sizes");
_Static_assert(sizeof(struct nlmsgerr) == 20, "nlmsgerr");

static void die(const char *what)
{
	fprintf(stderr, "golden: %s\n", what);
	exit(1);
}

/* ------------------------------------------------------------------ */
/* A growable-enough text buffer for the JSON description.            */

struct text {
	char s[32768];
	size_t n;
};

static void tprintf(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(t->s + t->n, sizeof(t->s) - t->n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(t->s) - t->n)
		die("JSON text buffer overflow");
	t->n += (size_t)r;
}

/* Names used here are plain ASCII, but escape anyway so the output is
 * valid JSON whatever a vector contains. */
static void tstring(struct text *t, const char *s)
{
	tprintf(t, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			tprintf(t, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			tprintf(t, "\\u%04x", c);
		else
			tprintf(t, "%c", c);
	}
	tprintf(t, "\"");
}

/* ------------------------------------------------------------------ */
/* Datagram encoder.                                                  */

/*
 * One datagram, possibly holding several netlink messages.  The buffer is
 * zeroed when a vector starts and only ever appended to, so every padding
 * byte (after a u16, after a C string, the unused tail of a sockaddr) is
 * zero, as it is when the kernel or libnl builds a message.
 */
struct dgram {
	unsigned char buf[MAX_DGRAM];
	size_t len;	/* bytes written so far */
	size_t msg;	/* offset of the message being built */
	int open;	/* a message is being built */
	int nmsgs;	/* messages described in json so far */
	int nattrs;	/* attributes in the open message */
	struct text json;	/* body of the "messages" array */
};

static struct dgram D;

static void begin(void)
{
	memset(&D, 0, sizeof(D));
}

static void need(size_t n)
{
	if (D.len + n > sizeof(D.buf))
		die("datagram larger than iwpmd's receive buffer");
}

/* nlmsg_len covers the padding of the last attribute: attributes always
 * advance by NLA_ALIGN, so the length at close time is already aligned. */
static void close_msg(void)
{
	struct nlmsghdr h;

	if (!D.open)
		return;
	memcpy(&h, D.buf + D.msg, sizeof(h));
	h.nlmsg_len = (uint32_t)NLMSG_ALIGN(D.len - D.msg);
	memcpy(D.buf + D.msg, &h, sizeof(h));
	D.len = D.msg + h.nlmsg_len;
	tprintf(&D.json, "]}");
	D.open = 0;
}

/* Start the next message at an aligned offset, as NLMSG_NEXT expects. */
static size_t start_msg(uint16_t type, uint16_t flags, uint32_t seq,
			uint32_t pid, size_t len)
{
	struct nlmsghdr h;

	close_msg();
	D.len = NLMSG_ALIGN(D.len);
	need(NLMSG_ALIGN(len));
	memset(&h, 0, sizeof(h));
	h.nlmsg_len = (uint32_t)len;
	h.nlmsg_type = type;
	h.nlmsg_flags = flags;
	h.nlmsg_seq = seq;
	h.nlmsg_pid = pid;
	D.msg = D.len;
	memcpy(D.buf + D.msg, &h, sizeof(h));
	D.len += NLMSG_HDRLEN;
	if (D.nmsgs++)
		tprintf(&D.json, ",");
	tprintf(&D.json, "{\"type\":%u,\"flags\":%u,\"seq\":%u,\"pid\":%u",
		type, flags, seq, pid);
	return D.msg;
}

/* An RDMA netlink message: the type packs the client index and the op. */
static void put_hdr(unsigned client, unsigned op, uint16_t flags,
		    uint32_t seq, uint32_t pid)
{
	uint16_t type = (uint16_t)RDMA_NL_GET_TYPE(client, op);

	if (RDMA_NL_GET_CLIENT(type) != client || RDMA_NL_GET_OP(type) != op)
		die("client index or op out of range");
	start_msg(type, flags, seq, pid, NLMSG_HDRLEN);
	tprintf(&D.json, ",\"client\":%u,\"op\":%u,\"control\":null,\"attrs\":[",
		client, op);
	D.open = 1;
	D.nattrs = 0;
}

/* nla_len is the unpadded length; the cursor moves by the padded one. */
static void put_attr(uint16_t id, const void *data, size_t n)
{
	struct nlattr a;

	if (!D.open)
		die("attribute outside a message");
	need(NLA_ALIGN(NLA_HDRLEN + n));
	a.nla_len = (uint16_t)(NLA_HDRLEN + n);
	a.nla_type = id;
	memcpy(D.buf + D.len, &a, sizeof(a));
	memcpy(D.buf + D.len + NLA_HDRLEN, data, n);
	D.len += NLA_ALIGN(a.nla_len);
	if (D.nattrs++)
		tprintf(&D.json, ",");
}

static void put_u32(uint16_t id, uint32_t v)
{
	put_attr(id, &v, sizeof(v));
	tprintf(&D.json, "{\"id\":%u,\"kind\":\"u32\",\"value\":%u}", id, v);
}

/* u16 payloads are 2 bytes; nla_len 6, then 2 bytes of padding. */
static void put_u16(uint16_t id, uint16_t v)
{
	put_attr(id, &v, sizeof(v));
	tprintf(&D.json, "{\"id\":%u,\"kind\":\"u16\",\"value\":%u}", id, v);
}

/*
 * The kernel copies names into fixed char arrays of iwpm_dev_data and sends
 * the whole array, so the attribute is always `size` bytes, NUL padded.
 * iwpmd (libnl NLA_STRING) requires the last byte to be NUL, hence a name
 * may use at most size-1 characters.
 */
static void put_str_fixed(uint16_t id, const char *s, size_t size)
{
	char tmp[64];

	if (size > sizeof(tmp) || strlen(s) >= size)
		die("fixed string does not fit");
	memset(tmp, 0, sizeof(tmp));
	memcpy(tmp, s, strlen(s));
	put_attr(id, tmp, size);
	tprintf(&D.json, "{\"id\":%u,\"kind\":\"fstr\",\"size\":%zu,\"value\":",
		id, size);
	tstring(&D.json, s);
	tprintf(&D.json, "}");
}

/* iwpmd uses nla_put_string: strlen+1 bytes, padding added by the
 * attribute alignment only. */
static void put_cstr(uint16_t id, const char *s)
{
	put_attr(id, s, strlen(s) + 1);
	tprintf(&D.json, "{\"id\":%u,\"kind\":\"cstr\",\"value\":", id);
	tstring(&D.json, s);
	tprintf(&D.json, "}");
}

struct addr {
	int family;
	const char *ip;
	uint16_t port;		/* host order */
	uint32_t flowinfo;	/* host order value, stored big-endian */
	uint32_t scope_id;	/* stored in host order */
};

/*
 * Both sides zero a sockaddr_storage and fill in the family-specific part,
 * then put all 128 bytes.  sin6_flowinfo is a __be32 in the UAPI, while
 * sin6_scope_id is a plain host-order u32.
 */
static void put_addr(uint16_t id, const struct addr *a)
{
	struct sockaddr_storage ss;
	char text[INET6_ADDRSTRLEN];

	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(a->port);
		if (inet_pton(AF_INET, a->ip, &sin.sin_addr) != 1)
			die("bad IPv4 address");
		if (!inet_ntop(AF_INET, &sin.sin_addr, text, sizeof(text)))
			die("inet_ntop");
		memcpy(&ss, &sin, sizeof(sin));
	} else if (a->family == AF_INET6) {
		struct sockaddr_in6 sin6;

		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(a->port);
		sin6.sin6_flowinfo = htonl(a->flowinfo);
		sin6.sin6_scope_id = a->scope_id;
		if (inet_pton(AF_INET6, a->ip, &sin6.sin6_addr) != 1)
			die("bad IPv6 address");
		if (!inet_ntop(AF_INET6, &sin6.sin6_addr, text, sizeof(text)))
			die("inet_ntop");
		memcpy(&ss, &sin6, sizeof(sin6));
	} else {
		die("unsupported address family");
	}
	put_attr(id, &ss, sizeof(ss));
	tprintf(&D.json,
		"{\"id\":%u,\"kind\":\"addr\",\"family\":%d,\"port\":%u,"
		"\"address\":\"%s\",\"flowinfo\":%u,\"scopeId\":%u}",
		id, a->family, a->port, text,
		a->family == AF_INET6 ? a->flowinfo : 0,
		a->family == AF_INET6 ? a->scope_id : 0);
}

/*
 * NLMSG_DONE.  The client ends a MAPINFO batch with a bare header; the
 * kernel's dump machinery ends each dump with one carrying an int32 status.
 */
static void put_done(uint16_t flags, uint32_t seq, uint32_t pid,
		     const int32_t *status)
{
	size_t len = NLMSG_HDRLEN + (status ? sizeof(*status) : 0);
	size_t at = start_msg(NLMSG_DONE, flags, seq, pid, len);

	tprintf(&D.json, ",\"control\":\"done\"");
	if (status) {
		memcpy(D.buf + at + NLMSG_HDRLEN, status, sizeof(*status));
		tprintf(&D.json, ",\"doneStatus\":%d", *status);
	}
	tprintf(&D.json, ",\"attrs\":[]}");
	D.len = at + NLMSG_ALIGN(len);
}

/*
 * NLMSG_ERROR as netlink_ack() builds it when the offender's payload is not
 * echoed (NETLINK_CAP_ACK): struct nlmsgerr = the negative errno plus a copy
 * of the offending header only.  The copy keeps that message's original
 * nlmsg_len even though its payload is absent.
 */
static void put_error(uint16_t flags, uint32_t seq, uint32_t pid,
		      int32_t error, const struct nlmsghdr *orig)
{
	struct nlmsgerr e;
	size_t len = NLMSG_HDRLEN + sizeof(e);
	size_t at = start_msg(NLMSG_ERROR, flags, seq, pid, len);

	memset(&e, 0, sizeof(e));
	e.error = error;
	e.msg = *orig;
	memcpy(D.buf + at + NLMSG_HDRLEN, &e, sizeof(e));
	tprintf(&D.json,
		",\"control\":\"error\",\"error\":%d,\"orig\":{\"type\":%u,"
		"\"flags\":%u,\"seq\":%u,\"pid\":%u,\"len\":%u},\"attrs\":[]}",
		error, orig->nlmsg_type, orig->nlmsg_flags, orig->nlmsg_seq,
		orig->nlmsg_pid, orig->nlmsg_len);
	D.len = at + NLMSG_ALIGN(len);
}

static int nvectors;

static void emit(const char *name, const char *dir, int version)
{
	size_t i;

	close_msg();
	printf("%s\n{\"name\":", nvectors++ ? "," : "");
	D.json.s[D.json.n] = '\0';
	{
		struct text t = { .n = 0 };
		tstring(&t, name);
		fputs(t.s, stdout);
	}
	printf(",\"dir\":\"%s\",\"version\":%d,\"messages\":[%s],\"hex\":\"",
	       dir, version, D.json.s);
	for (i = 0; i < D.len; i++)
		printf("%02x", D.buf[i]);
	printf("\"}");
}

/* ------------------------------------------------------------------ */
/* Message builders, one per iwpm operation and direction.             */

enum { TO_DAEMON, TO_CLIENT };
static const char *const DIR[] = { "to_daemon", "to_client" };

/* Client -> daemon, multicast to RDMA_NL_GROUP_IWPM. */
static void reg_pid_request(unsigned client, uint32_t seq, uint32_t pid,
			    uint32_t echo, const char *ifname,
			    const char *dev)
{
	put_hdr(client, RDMA_NL_IWPM_REG_PID, NLM_F_REQUEST, seq, pid);
	put_u32(IWPM_NLA_REG_PID_SEQ, echo);
	put_str_fixed(IWPM_NLA_REG_IF_NAME, ifname, IF_NAME_SIZE);
	put_str_fixed(IWPM_NLA_REG_IBDEV_NAME, dev, DEV_NAME_SIZE);
	put_str_fixed(IWPM_NLA_REG_ULIB_NAME, ULIB_NAME, ULIB_NAME_SIZE);
}

/* The reply echoes the dev name the request carried, as a C string. */
static void reg_pid_reply(unsigned client, uint32_t seq, uint32_t pid,
			  uint32_t req_seq, const char *dev, uint16_t version)
{
	put_hdr(client, RDMA_NL_IWPM_REG_PID, NLM_F_REQUEST, seq, pid);
	put_u32(IWPM_NLA_RREG_PID_SEQ, req_seq);
	put_cstr(IWPM_NLA_RREG_IBDEV_NAME, dev);
	put_cstr(IWPM_NLA_RREG_ULIB_NAME, ULIB_NAME);
	put_u16(IWPM_NLA_RREG_ULIB_VER, version);
	put_u16(IWPM_NLA_RREG_PID_ERR, 0);
}

/* FLAGS exists only from ABI v4 on; a v3 client does not send it. */
static void add_mapping_request(int version, uint32_t seq, uint32_t pid,
				uint32_t echo, const struct addr *local,
				uint32_t flags)
{
	put_hdr(RDMA_NL_IWCM, RDMA_NL_IWPM_ADD_MAPPING, NLM_F_REQUEST, seq,
		pid);
	put_u32(IWPM_NLA_MANAGE_MAPPING_SEQ, echo);
	put_addr(IWPM_NLA_MANAGE_ADDR, local);
	if (version > IWPM_UABI_VERSION_MIN)
		put_u32(IWPM_NLA_MANAGE_FLAGS, flags);
}

static void add_mapping_reply(uint32_t seq, uint32_t pid, uint32_t req_seq,
			      const struct addr *local,
			      const struct addr *mapped)
{
	put_hdr(RDMA_NL_IWCM, RDMA_NL_IWPM_ADD_MAPPING, NLM_F_REQUEST, seq,
		pid);
	put_u32(IWPM_NLA_RMANAGE_MAPPING_SEQ, req_seq);
	put_addr(IWPM_NLA_RMANAGE_ADDR, local);
	put_addr(IWPM_NLA_RMANAGE_MAPPED_LOC_ADDR, mapped);
	put_u16(IWPM_NLA_RMANAGE_MAPPING_ERR, 0);
}

static void query_mapping_request(int version, uint32_t seq, uint32_t pid,
				  uint32_t echo, const struct addr *local,
				  const struct addr *remote, uint32_t flags)
{
	put_hdr(RDMA_NL_IWCM, RDMA_NL_IWPM_QUERY_MAPPING, NLM_F_REQUEST, seq,
		pid);
	put_u32(IWPM_NLA_QUERY_MAPPING_SEQ, echo);
	put_addr(IWPM_NLA_QUERY_LOCAL_ADDR, local);
	put_addr(IWPM_NLA_QUERY_REMOTE_ADDR, remote);
	if (version > IWPM_UABI_VERSION_MIN)
		put_u32(IWPM_NLA_QUERY_FLAGS, flags);
}

/* QUERY reply and REMOTE_INFO share one attribute set; they differ only in
 * the op, the SEQ attribute (0 for REMOTE_INFO) and the destination. */
static void rquery(unsigned op, uint32_t seq, uint32_t pid, uint32_t seq_attr,
		   const struct addr *local, const struct addr *remote,
		   const struct addr *mapped_local,
		   const struct addr *mapped_remote, uint16_t err)
{
	put_hdr(RDMA_NL_IWCM, op, NLM_F_REQUEST, seq, pid);
	put_u32(IWPM_NLA_RQUERY_MAPPING_SEQ, seq_attr);
	put_addr(IWPM_NLA_RQUERY_LOCAL_ADDR, local);
	put_addr(IWPM_NLA_RQUERY_REMOTE_ADDR, remote);
	put_addr(IWPM_NLA_RQUERY_MAPPED_LOC_ADDR, mapped_local);
	put_addr(IWPM_NLA_RQUERY_MAPPED_REM_ADDR, mapped_remote);
	put_u16(IWPM_NLA_RQUERY_MAPPING_ERR, err);
}

/* REMOVE uses the MANAGE attribute ids but never carries FLAGS. */
static void remove_mapping_request(uint32_t seq, uint32_t pid, uint32_t echo,
				   const struct addr *local)
{
	put_hdr(RDMA_NL_IWCM, RDMA_NL_IWPM_REMOVE_MAPPING, NLM_F_REQUEST, seq,
		pid);
	put_u32(IWPM_NLA_MANAGE_MAPPING_SEQ, echo);
	put_addr(IWPM_NLA_MANAGE_ADDR, local);
}

/* Replayed mappings are dump-style parts: NLM_F_MULTI and seq 0. */
static void mapinfo_record(int version, uint32_t pid, const struct addr *local,
			   const struct addr *mapped, uint32_t flags)
{
	put_hdr(RDMA_NL_IWCM, RDMA_NL_IWPM_MAPINFO, NLM_F_MULTI, 0, pid);
	put_addr(IWPM_NLA_MAPINFO_LOCAL_ADDR, local);
	put_addr(IWPM_NLA_MAPINFO_MAPPED_ADDR, mapped);
	if (version > IWPM_UABI_VERSION_MIN)
		put_u32(IWPM_NLA_MAPINFO_FLAGS, flags);
}

static void mapinfo_request(unsigned client, uint32_t seq, uint32_t pid,
			    uint16_t version)
{
	put_hdr(client, RDMA_NL_IWPM_MAPINFO, NLM_F_REQUEST, seq, pid);
	put_cstr(IWPM_NLA_MAPINFO_ULIB_NAME, ULIB_NAME);
	put_u16(IWPM_NLA_MAPINFO_ULIB_VER, version);
}

static void handle_err(uint32_t seq, uint32_t pid, uint32_t err_seq,
		       uint16_t code)
{
	put_hdr(RDMA_NL_IWCM, RDMA_NL_IWPM_HANDLE_ERR, NLM_F_REQUEST, seq, pid);
	put_u32(IWPM_NLA_ERR_SEQ, err_seq);
	put_u16(IWPM_NLA_ERR_CODE, code);
}

static void hello(uint32_t seq, uint32_t pid, uint16_t version)
{
	put_hdr(RDMA_NL_IWCM, RDMA_NL_IWPM_HELLO, NLM_F_REQUEST, seq, pid);
	put_u16(IWPM_NLA_HELLO_ABI_VERSION, version);
}

/* ------------------------------------------------------------------ */

/*
 * Addresses shared by the vectors.  The §6(c) pair is 127.0.0.1:5555 mapped
 * to port 40000; the others give one IPv4 and one IPv6 exchange between two
 * hosts, plus a link-local address whose flowinfo and scope id exercise the
 * byte order of those two fields.
 */
static const struct addr LO = { AF_INET, "127.0.0.1", 5555, 0, 0 };
static const struct addr LO_MAPPED = { AF_INET, "127.0.0.1", 40000, 0, 0 };
static const struct addr A4 = { AF_INET, "10.0.0.1", 5555, 0, 0 };
static const struct addr A4_MAPPED = { AF_INET, "10.0.0.1", 40000, 0, 0 };
static const struct addr B4 = { AF_INET, "10.0.0.2", 6000, 0, 0 };
static const struct addr B4_MAPPED = { AF_INET, "10.0.0.2", 40001, 0, 0 };
static const struct addr ANY4 = { AF_INET, "0.0.0.0", 7000, 0, 0 };
static const struct addr ANY4_MAPPED = { AF_INET, "0.0.0.0", 40003, 0, 0 };
static const struct addr A6 = { AF_INET6, "fd00:77::1", 4791, 0, 0 };
static const struct addr A6_MAPPED = { AF_INET6, "fd00:77::1", 40002, 0, 0 };
static const struct addr B6 = { AF_INET6, "fd00:77::2", 6001, 0, 0 };
static const struct addr B6_MAPPED = { AF_INET6, "fd00:77::2", 40004, 0, 0 };
static const struct addr LL6 = { AF_INET6, "fe80::1", 9999, 0x12345, 3 };

/* Port ids: the kernel sends with 0; a user-space client with its own id. */
#define KERNEL_PID 0
#define USER_PID 4321
#define DAEMON_PID 1234

int main(void)
{
	struct nlmsghdr orig;
	int32_t status;

	printf("{\"vectors\":[");

	/* ---- client -> daemon ---- */

	begin();	/* §6(a) */
	reg_pid_request(RDMA_NL_IWCM, 100, KERNEL_PID, 1, "lo", "siw0");
	emit("reg_pid_request_example_a", DIR[TO_DAEMON], 4);

	/* A 15-character netdev name fills the 16-byte field up to its
	 * mandatory trailing NUL. */
	begin();
	reg_pid_request(RDMA_NL_IWCM, 7, USER_PID, 0, "eth0.1234567890",
			"i40iw0");
	emit("reg_pid_request_user_pid", DIR[TO_DAEMON], 4);

	begin();	/* §6(c) request */
	add_mapping_request(4, 101, KERNEL_PID, 2, &LO, 0);
	emit("add_mapping_request_v4_ipv4", DIR[TO_DAEMON], 4);

	begin();
	add_mapping_request(4, 8, USER_PID, 5, &A6, 0);
	emit("add_mapping_request_v4_ipv6", DIR[TO_DAEMON], 4);

	begin();
	add_mapping_request(4, 102, KERNEL_PID, 3, &A4, IWPM_FLAGS_NO_PORT_MAP);
	emit("add_mapping_request_v4_ipv4_no_port_map", DIR[TO_DAEMON], 4);

	begin();
	add_mapping_request(4, 103, KERNEL_PID, 3, &LL6,
			    IWPM_FLAGS_NO_PORT_MAP);
	emit("add_mapping_request_v4_ipv6_link_local_no_port_map",
	     DIR[TO_DAEMON], 4);

	begin();
	add_mapping_request(3, 21, KERNEL_PID, 9, &LO, 0);
	emit("add_mapping_request_v3_ipv4", DIR[TO_DAEMON], 3);

	begin();
	add_mapping_request(3, 22, USER_PID, 10, &A6, 0);
	emit("add_mapping_request_v3_ipv6", DIR[TO_DAEMON], 3);

	begin();
	query_mapping_request(4, 104, KERNEL_PID, 3, &A4, &B4, 0);
	emit("query_mapping_request_v4_ipv4", DIR[TO_DAEMON], 4);

	begin();
	query_mapping_request(4, 9, USER_PID, 6, &A6, &B6,
			      IWPM_FLAGS_NO_PORT_MAP);
	emit("query_mapping_request_v4_ipv6_no_port_map", DIR[TO_DAEMON], 4);

	begin();
	query_mapping_request(3, 23, KERNEL_PID, 11, &A4, &B4, 0);
	emit("query_mapping_request_v3_ipv4", DIR[TO_DAEMON], 3);

	begin();
	query_mapping_request(3, 24, USER_PID, 12, &A6, &B6, 0);
	emit("query_mapping_request_v3_ipv6", DIR[TO_DAEMON], 3);

	begin();
	remove_mapping_request(105, KERNEL_PID, 4, &LO);
	emit("remove_mapping_request_ipv4", DIR[TO_DAEMON], 4);

	begin();
	remove_mapping_request(25, USER_PID, 13, &A6);
	emit("remove_mapping_request_ipv6_v3", DIR[TO_DAEMON], 3);

	/* Replay after a daemon restart: records (the last one made without
	 * port mapping, so mapped == local), then the bare terminator. */
	begin();
	mapinfo_record(4, KERNEL_PID, &LO, &LO_MAPPED, 0);
	mapinfo_record(4, KERNEL_PID, &A6, &A6_MAPPED, 0);
	mapinfo_record(4, KERNEL_PID, &A4, &A4, IWPM_FLAGS_NO_PORT_MAP);
	put_done(NLM_F_MULTI, 0, KERNEL_PID, NULL);
	emit("mapinfo_batch_v4", DIR[TO_DAEMON], 4);

	begin();
	mapinfo_record(3, USER_PID, &ANY4, &ANY4_MAPPED, 0);
	mapinfo_record(3, USER_PID, &B6, &B6_MAPPED, 0);
	mapinfo_record(3, USER_PID, &LL6, &LL6, 0);
	put_done(NLM_F_MULTI, 0, USER_PID, NULL);
	emit("mapinfo_batch_v3", DIR[TO_DAEMON], 3);

	begin();
	put_hdr(RDMA_NL_IWCM, RDMA_NL_IWPM_MAPINFO_NUM, NLM_F_REQUEST, 106,
		KERNEL_PID);
	put_u32(IWPM_NLA_MAPINFO_SEQ, 0);
	put_u32(IWPM_NLA_MAPINFO_SEND_NUM, 3);
	emit("mapinfo_num_request", DIR[TO_DAEMON], 4);

	begin();
	hello(107, KERNEL_PID, IWPM_UABI_VERSION);
	emit("hello_reply_v4", DIR[TO_DAEMON], 4);

	begin();
	hello(26, USER_PID, IWPM_UABI_VERSION_MIN);
	emit("hello_reply_v3", DIR[TO_DAEMON], 3);

	/* ---- daemon -> client ---- */

	begin();	/* §6(b) */
	reg_pid_reply(RDMA_NL_IWCM, 2, DAEMON_PID, 100, "siw0", 4);
	emit("reg_pid_reply_example_b", DIR[TO_CLIENT], 4);

	begin();
	reg_pid_reply(RDMA_NL_IWCM, 5, DAEMON_PID, 7, "i40iw0", 3);
	emit("reg_pid_reply_v3", DIR[TO_CLIENT], 3);

	begin();	/* §6(c) reply */
	add_mapping_reply(3, DAEMON_PID, 101, &LO, &LO_MAPPED);
	emit("add_mapping_reply_ipv4", DIR[TO_CLIENT], 4);

	begin();
	add_mapping_reply(6, DAEMON_PID, 8, &A6, &A6_MAPPED);
	emit("add_mapping_reply_ipv6", DIR[TO_CLIENT], 4);

	begin();
	rquery(RDMA_NL_IWPM_QUERY_MAPPING, 4, DAEMON_PID, 104, &A4, &B4,
	       &A4_MAPPED, &B4_MAPPED, 0);
	emit("query_mapping_reply_ipv4", DIR[TO_CLIENT], 4);

	begin();
	rquery(RDMA_NL_IWPM_QUERY_MAPPING, 7, DAEMON_PID, 9, &A6, &B6, &A6,
	       &B6_MAPPED, 0);
	emit("query_mapping_reply_ipv6", DIR[TO_CLIENT], 4);

	/* On a peer reject the daemon reports the unmapped remote as the
	 * mapped one. */
	begin();
	rquery(RDMA_NL_IWPM_QUERY_MAPPING, 8, DAEMON_PID, 110, &A4, &B4,
	       &A4_MAPPED, &B4, IWPM_REMOTE_QUERY_REJECT);
	emit("query_mapping_reply_reject_ipv4", DIR[TO_CLIENT], 4);

	/* On the passive host: local = listener, remote = connecting side. */
	begin();
	rquery(RDMA_NL_IWPM_REMOTE_INFO, 9, DAEMON_PID, 0, &B4, &A4,
	       &B4_MAPPED, &A4_MAPPED, 0);
	emit("remote_info_ipv4", DIR[TO_CLIENT], 4);

	begin();
	rquery(RDMA_NL_IWPM_REMOTE_INFO, 10, DAEMON_PID, 0, &B6, &A6,
	       &B6_MAPPED, &A6_MAPPED, 0);
	emit("remote_info_ipv6", DIR[TO_CLIENT], 4);

	begin();	/* §6(d): the daemon refusing ADD 101 as a duplicate */
	handle_err(3, DAEMON_PID, 101, 12);
	emit("handle_err_example_d", DIR[TO_CLIENT], 4);

	begin();
	mapinfo_request(RDMA_NL_IWCM, 1, DAEMON_PID, IWPM_UABI_VERSION);
	emit("mapinfo_request_v4", DIR[TO_CLIENT], 4);

	/* A v3 daemon also asks the legacy index 3 for its mappings. */
	begin();
	mapinfo_request(3, 0, DAEMON_PID, IWPM_UABI_VERSION_MIN);
	emit("mapinfo_request_v3_client3", DIR[TO_CLIENT], 3);

	begin();
	put_hdr(RDMA_NL_IWCM, RDMA_NL_IWPM_MAPINFO_NUM, NLM_F_REQUEST, 11,
		DAEMON_PID);
	put_u32(IWPM_NLA_MAPINFO_SEQ, 106);
	put_u32(IWPM_NLA_MAPINFO_SEND_NUM, 3);
	put_u32(IWPM_NLA_MAPINFO_ACK_NUM, 3);
	emit("mapinfo_num_ack", DIR[TO_CLIENT], 4);

	begin();	/* §6(d) */
	hello(0, DAEMON_PID, IWPM_UABI_VERSION);
	emit("hello_from_daemon_example_d", DIR[TO_CLIENT], 4);

	/* What the kernel sends a user-space client after refusing to parse
	 * its multicast REG_PID (seq 7) as a reply: the dump's final status. */
	begin();
	status = -22;
	put_done(NLM_F_MULTI, 7, USER_PID, &status);
	emit("kernel_done_status", DIR[TO_CLIENT], 4);

	/* The kernel refusing a client's HELLO reply (seq 27 from port
	 * 4321): the error carries NLM_F_CAPPED because only the offending
	 * header, not its 8 bytes of payload, is echoed. */
	begin();
	memset(&orig, 0, sizeof(orig));
	orig.nlmsg_len = NLMSG_HDRLEN + NLA_ALIGN(NLA_HDRLEN + 2);
	orig.nlmsg_type = RDMA_NL_GET_TYPE(RDMA_NL_IWCM, RDMA_NL_IWPM_HELLO);
	orig.nlmsg_flags = NLM_F_REQUEST;
	orig.nlmsg_seq = 27;
	orig.nlmsg_pid = USER_PID;
	put_error(NLM_F_CAPPED, 27, USER_PID, -95, &orig);
	emit("nlmsg_error_capped", DIR[TO_CLIENT], 4);

	printf("\n]}\n");
	if (fflush(stdout) != 0)
		die("write error");
	return 0;
}
