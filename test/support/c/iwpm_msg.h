/*
 * Building iwpm messages by hand against the system headers, for the test programs that pose as a
 * hostile local user (test/cli/fixtures/flood.c, test/interop/fixtures/forge.c). Each includes this
 * once, defines PROG (its name in error lines) first, and builds one message at a time in `buf`.
 */
#ifndef IWPM_TEST_MSG_H
#define IWPM_TEST_MSG_H

#include <errno.h>
#include <linux/netlink.h>
#include <rdma/rdma_netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT 2 /* RDMA_NL_IWCM */
#define ULIB "iWarpPortMapperUser"

static unsigned char buf[1024];

static void die(const char *what)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(errno));
	exit(1);
}

static size_t put_attr(size_t at, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)(buf + at);
	a->nla_len = NLA_HDRLEN + len;
	a->nla_type = type;
	memcpy(buf + at + NLA_HDRLEN, data, len);
	return at + NLA_ALIGN(a->nla_len);
}

/* Starts a message in buf whose header names `port` as its sender; returns where attributes go. */
static size_t header_from(uint16_t op, uint32_t seq, uint32_t port)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	memset(buf, 0, sizeof(buf));
	h->nlmsg_type = RDMA_NL_GET_TYPE(CLIENT, op);
	h->nlmsg_flags = NLM_F_REQUEST;
	h->nlmsg_seq = seq;
	h->nlmsg_pid = port;
	return NLMSG_HDRLEN;
}

#endif
