/*
 * The Node host's sockets: netlink (batched, zero-copy into the caller's ArrayBuffer, sender
 * credentials), a datagram to an AF_UNIX path, and TCP port reservations.
 *
 * Rules this file keeps, because the process must survive whatever the kernel or a local user
 * does: no system error ever throws (a failed call is -errno, or { errno, syscall } with the
 * positive Linux errno); only a wrong argument type throws a TypeError; nothing aborts. The
 * module is context-aware: all state hangs off the env (instance data) or off a handle object.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "layout.h"

/* Datagrams per recvmmsg/sendmmsg call; larger requests loop over batches of this size. */
#define BATCH 64
/* NETLINK_ADD_MEMBERSHIP takes group numbers 1..32 for the 32 bits of a groups mask. */
#define GROUP_BITS 32

#define EVENT_READABLE 1
#define EVENT_OVERRUN 2
#define EVENT_ERROR 3

/* Marks handle objects as ours, so a foreign wrapped object is refused instead of misread. */
static const napi_type_tag HANDLE_TAG = {0x6977706d6e6c736bULL, 0x0000000100000001ULL};

typedef struct {
  uv_loop_t *loop;
} instance_t;

enum poll_state {
  POLL_NONE,    /* uv_poll never initialised: the fd is all there is */
  POLL_IDLE,    /* initialised, stopped */
  POLL_ACTIVE,  /* started */
  POLL_CLOSING, /* uv_close called; the close callback frees what is left */
  POLL_CLOSED,
};

typedef struct {
  napi_env env;
  int fd; /* -1 once closed */
  uv_poll_t poll;
  enum poll_state poll_state;
  int want_ref;
  int finalized;
  napi_ref on_event;
  napi_async_context async_ctx;
  napi_async_cleanup_hook_handle cleanup;
  uint64_t received, truncated, overruns, sent, send_errors;
  uint64_t overruns_reported;
  /* The queue was found empty since the last wake-up: while the poll is active, a receive returns
   * nothing without a syscall, as a datagram arriving meanwhile wakes the poll (level-triggered)
   * and clears this. Spares the EAGAIN recvmmsg of every pass that ends a batch and of every
   * call made between wake-ups. */
  int dry;
} nl_socket;

/* ---- helpers ------------------------------------------------------------------------------ */

static void put_u32(uint8_t *at, uint32_t value) { memcpy(at, &value, sizeof value); }
static void put_i32(uint8_t *at, int32_t value) { memcpy(at, &value, sizeof value); }
static uint32_t get_u32(const uint8_t *at) {
  uint32_t value;
  memcpy(&value, at, sizeof value);
  return value;
}

static napi_value make_int(napi_env env, int64_t value) {
  napi_value out;
  napi_create_int64(env, value, &out);
  return out;
}

static napi_value make_double(napi_env env, double value) {
  napi_value out;
  napi_create_double(env, value, &out);
  return out;
}

static void set_prop(napi_env env, napi_value obj, const char *name, napi_value value) {
  napi_set_named_property(env, obj, name, value);
}

static napi_value sys_error(napi_env env, int err, const char *syscall) {
  napi_value obj, name;
  napi_create_object(env, &obj);
  set_prop(env, obj, "errno", make_int(env, err));
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &name);
  set_prop(env, obj, "syscall", name);
  return obj;
}

static napi_value type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

/* Fetches exactly `want` arguments; fewer is a programmer error. */
static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    type_error(env, "too few arguments");
    return 0;
  }
  return 1;
}

enum num_result { NUM_OK, NUM_NOT_NUMBER, NUM_OUT_OF_RANGE };

/* A JS number that is an integer in 0..2^32-1. */
static enum num_result get_u32_arg(napi_env env, napi_value value, uint32_t *out) {
  napi_valuetype type;
  double d;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) return NUM_NOT_NUMBER;
  napi_get_value_double(env, value, &d);
  if (!(d >= 0 && d <= (double)UINT32_MAX) || (double)(uint32_t)d != d) return NUM_OUT_OF_RANGE;
  *out = (uint32_t)d;
  return NUM_OK;
}

/* For arguments where any out-of-range number is a programmer error, like a wrong type. */
static int get_u32_strict(napi_env env, napi_value value, const char *what, uint32_t *out) {
  if (get_u32_arg(env, value, out) == NUM_OK) return 1;
  type_error(env, what);
  return 0;
}

static int get_bool_arg(napi_env env, napi_value value, const char *what, int *out) {
  bool b;
  if (napi_get_value_bool(env, value, &b) != napi_ok) {
    type_error(env, what);
    return 0;
  }
  *out = b;
  return 1;
}

static int get_handle(napi_env env, napi_value value, nl_socket **out) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_object ||
      napi_check_object_type_tag(env, value, &HANDLE_TAG, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, value, &data) != napi_ok || data == NULL) {
    type_error(env, "handle must be a handle returned by netlinkOpen");
    return 0;
  }
  *out = data;
  return 1;
}

static int get_arraybuffer(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_ab = false;
  void *ptr = NULL;
  if (napi_is_arraybuffer(env, value, &is_ab) != napi_ok || !is_ab) {
    type_error(env, "memory must be an ArrayBuffer");
    return 0;
  }
  napi_get_arraybuffer_info(env, value, &ptr, length);
  *data = ptr;
  return 1;
}

/* Whether [offset, offset + count * size) lies inside a buffer of `length` bytes. */
static int in_bounds(uint64_t offset, uint64_t count, uint64_t size, size_t length) {
  return offset <= length && count * size <= (uint64_t)length - offset;
}

/* ---- handle lifetime ------------------------------------------------------------------------ */

static void free_if_done(nl_socket *s) {
  if (s->finalized && (s->poll_state == POLL_NONE || s->poll_state == POLL_CLOSED)) free(s);
}

static void on_poll_closed(uv_handle_t *handle) {
  nl_socket *s = handle->data;
  s->poll_state = POLL_CLOSED;
  if (s->cleanup != NULL) {
    napi_remove_async_cleanup_hook(s->cleanup);
    s->cleanup = NULL;
  }
  free_if_done(s);
}

/* Stops polling and closes the fd; touches no JS, so it also serves env teardown. */
static int shutdown_socket(nl_socket *s) {
  int rc = 0;
  if (s->poll_state == POLL_IDLE || s->poll_state == POLL_ACTIVE) {
    /* uv_poll_stop removes the fd from the loop's epoll set before the fd is closed. */
    uv_poll_stop(&s->poll);
    s->poll_state = POLL_CLOSING;
    uv_close((uv_handle_t *)&s->poll, on_poll_closed);
  }
  if (s->fd >= 0) {
    rc = close(s->fd) < 0 ? -errno : 0;
    s->fd = -1;
  }
  return rc;
}

static void release_js(nl_socket *s) {
  if (s->on_event != NULL) {
    napi_delete_reference(s->env, s->on_event);
    s->on_event = NULL;
  }
  if (s->async_ctx != NULL) {
    napi_async_destroy(s->env, s->async_ctx);
    s->async_ctx = NULL;
  }
}

/* A worker or env going away with a started socket: the poll handle must be closed (and its close
 * callback run) before the loop is, so Node waits for this hook until on_poll_closed removes it. */
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  nl_socket *s = arg;
  s->cleanup = handle;
  if (s->poll_state != POLL_CLOSING) shutdown_socket(s);
}

static void finalize_socket(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  nl_socket *s = data;
  release_js(s);
  shutdown_socket(s);
  s->finalized = 1;
  free_if_done(s);
}

/* ---- events -------------------------------------------------------------------------------- */

static void emit(nl_socket *s, int kind, double value) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_value fn, recv, argv[2], exception;
  bool pending = false;
  if (s->on_event == NULL || s->fd < 0) return;
  if (kind == EVENT_OVERRUN) s->overruns_reported = s->overruns;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, s->on_event, &fn) == napi_ok && fn != NULL) {
    /* make_callback needs an object receiver; the callback is a plain function, so the global. */
    napi_get_global(env, &recv);
    argv[0] = make_int(env, kind);
    argv[1] = make_double(env, value);
    /* A callback scope (async context, microtask drain) as for any I/O callback. */
    napi_make_callback(env, s->async_ctx, recv, fn, 2, argv, NULL);
    /* An exception must not unwind into libuv: it becomes an ordinary uncaught exception
     * ('uncaughtException', or the process exits with the usual report). */
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(env, &exception) == napi_ok) {
      napi_fatal_exception(env, exception);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  nl_socket *s = handle->data;
  s->dry = 0;
  if (status < 0) {
    /* libuv reports POLLERR as a failed poll and stops the handle. On netlink that is the socket
     * error the kernel sets when it drops datagrams (ENOBUFS); reading SO_ERROR clears it, after
     * which the socket works on, so polling resumes. */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err == ENOBUFS) {
      s->overruns++;
      if (uv_poll_start(&s->poll, UV_READABLE, on_poll) < 0) s->poll_state = POLL_IDLE;
      emit(s, EVENT_OVERRUN, (double)s->overruns);
    } else if (err != 0) {
      if (uv_poll_start(&s->poll, UV_READABLE, on_poll) < 0) s->poll_state = POLL_IDLE;
      emit(s, EVENT_ERROR, err);
    } else {
      /* POLLERR without a pending error would wake us again at once; stay stopped rather than spin. */
      s->poll_state = POLL_IDLE;
      emit(s, EVENT_ERROR, EIO);
    }
    return;
  }
  if (events & UV_READABLE) emit(s, EVENT_READABLE, 0);
  /* Overruns met by netlinkRecv (inside the callback or since the last wake-up). */
  if (s->fd >= 0 && s->overruns != s->overruns_reported) emit(s, EVENT_OVERRUN, (double)s->overruns);
}

/* ---- netlinkOpen ----------------------------------------------------------------------------- */

static napi_value netlink_open(napi_env env, napi_callback_info info) {
  napi_value argv[5], result, handle;
  uint32_t protocol, port, groups, rcvbuf;
  int force, fd, one = 1, size;
  struct sockaddr_nl addr;
  socklen_t addrlen = sizeof addr, sizelen = sizeof size;
  nl_socket *s;
  if (!get_args(env, info, 5, argv)) return NULL;
  if (!get_u32_strict(env, argv[0], "protocol must be an integer 0..2^32-1", &protocol) ||
      !get_u32_strict(env, argv[1], "port must be an integer 0..2^32-1", &port) ||
      !get_u32_strict(env, argv[2], "groupsMask must be an integer 0..2^32-1", &groups) ||
      !get_u32_strict(env, argv[3], "rcvbuf must be an integer 0..2^32-1", &rcvbuf) ||
      !get_bool_arg(env, argv[4], "force must be a boolean", &force)) {
    return NULL;
  }
  if (rcvbuf > INT32_MAX) rcvbuf = INT32_MAX;

  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, (int)protocol);
  if (fd < 0) return sys_error(env, errno, "socket");
  if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) goto fail_setsockopt;
  if (rcvbuf > 0) {
    size = (int)rcvbuf;
    /* SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN; without it, the capped
     * SO_RCVBUF is the best an unprivileged process gets. */
    int rc = -1;
    if (force) {
      rc = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
      if (rc < 0 && errno != EPERM) goto fail_setsockopt;
    }
    if (rc < 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0) goto fail_setsockopt;
  }
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  addr.nl_pid = port;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return sys_error(env, err, "bind");
  }
  if (getsockname(fd, (struct sockaddr *)&addr, &addrlen) < 0) {
    int err = errno;
    close(fd);
    return sys_error(env, err, "getsockname");
  }
  for (int bit = 0; bit < GROUP_BITS; bit++) {
    if (!(groups & (1u << bit))) continue;
    int group = bit + 1;
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) goto fail_setsockopt;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &sizelen) < 0) {
    int err = errno;
    close(fd);
    return sys_error(env, err, "getsockopt");
  }

  s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return sys_error(env, ENOMEM, "malloc");
  }
  s->env = env;
  s->fd = fd;
  s->poll_state = POLL_NONE;
  s->want_ref = 1;
  s->poll.data = s;
  napi_create_object(env, &handle);
  if (napi_wrap(env, handle, s, finalize_socket, NULL, NULL) != napi_ok) {
    close(fd);
    free(s);
    return sys_error(env, ENOMEM, "napi_wrap");
  }
  napi_type_tag_object(env, handle, &HANDLE_TAG);

  napi_create_object(env, &result);
  set_prop(env, result, "handle", handle);
  set_prop(env, result, "fd", make_int(env, fd));
  set_prop(env, result, "port", make_int(env, addr.nl_pid));
  set_prop(env, result, "rcvbuf", make_int(env, size));
  return result;

fail_setsockopt : {
  int err = errno;
  close(fd);
  return sys_error(env, err, "setsockopt");
}
}

/* ---- netlinkRecv ----------------------------------------------------------------------------- */

static int64_t recv_batch(nl_socket *s, uint8_t *mem, uint32_t desc_ptr, uint32_t data_ptr, uint32_t slot, uint32_t max) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_nl src[BATCH];
  union {
    char buf[CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control[BATCH];
  uint32_t total = 0;

  if (s->dry && s->poll_state == POLL_ACTIVE) return 0;
  while (total < max) {
    uint32_t want = max - total < BATCH ? max - total : BATCH;
    memset(msgs, 0, want * sizeof msgs[0]);
    for (uint32_t i = 0; i < want; i++) {
      iov[i].iov_base = mem + data_ptr + (uint64_t)(total + i) * slot;
      iov[i].iov_len = slot;
      msgs[i].msg_hdr.msg_name = &src[i];
      msgs[i].msg_hdr.msg_namelen = sizeof src[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i].buf;
      msgs[i].msg_hdr.msg_controllen = sizeof control[i].buf;
    }
    /* MSG_TRUNC: netlink then reports each datagram's full length, not just what fit. */
    int n = recvmmsg(s->fd, msgs, want, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      /* The kernel dropped datagrams for a full receive queue; the queue itself is intact. */
      if (err == ENOBUFS) {
        s->overruns++;
        continue;
      }
      if (err == EAGAIN || err == EWOULDBLOCK) {
        s->dry = 1;
        break;
      }
      return total > 0 ? (int64_t)total : -err;
    }
    for (int i = 0; i < n; i++) {
      uint8_t desc[IWPM_RX_DESC_SIZE] = {0};
      uint32_t flags = 0;
      struct msghdr *h = &msgs[i].msg_hdr;
      put_u32(desc + IWPM_RX_LEN, msgs[i].msg_len);
      put_u32(desc + IWPM_RX_PORT, src[i].nl_pid);
      put_u32(desc + IWPM_RX_GROUPS, src[i].nl_groups);
      for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
          struct ucred cred;
          memcpy(&cred, CMSG_DATA(c), sizeof cred);
          put_u32(desc + IWPM_RX_PID, (uint32_t)cred.pid);
          put_u32(desc + IWPM_RX_UID, cred.uid);
          put_u32(desc + IWPM_RX_GID, cred.gid);
          flags |= IWPM_RXF_CREDS;
        }
      }
      if (h->msg_flags & MSG_TRUNC) {
        flags |= IWPM_RXF_TRUNC;
        s->truncated++;
      }
      put_u32(desc + IWPM_RX_FLAGS, flags);
      memcpy(mem + desc_ptr + (uint64_t)(total + (uint32_t)i) * IWPM_RX_DESC_SIZE, desc, sizeof desc);
    }
    total += (uint32_t)n;
    s->received += (uint64_t)n;
    /* A short batch means the queue ran dry (or an error waits, which POLLERR reports). */
    if ((uint32_t)n < want) {
      s->dry = 1;
      break;
    }
  }
  return total;
}

static napi_value netlink_recv(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  nl_socket *s;
  uint8_t *mem;
  size_t length;
  uint32_t desc_ptr, data_ptr, slot, max;
  if (!get_args(env, info, 6, argv) || !get_handle(env, argv[0], &s) || !get_arraybuffer(env, argv[1], &mem, &length)) return NULL;
  enum num_result r[4] = {
      get_u32_arg(env, argv[2], &desc_ptr),
      get_u32_arg(env, argv[3], &data_ptr),
      get_u32_arg(env, argv[4], &slot),
      get_u32_arg(env, argv[5], &max),
  };
  for (int i = 0; i < 4; i++) {
    if (r[i] == NUM_NOT_NUMBER) return type_error(env, "descPtr, dataPtr, slotSize and max must be numbers");
    if (r[i] == NUM_OUT_OF_RANGE) return make_int(env, -EFAULT);
  }
  if (s->fd < 0) return make_int(env, -EBADF);
  if (!in_bounds(desc_ptr, max, IWPM_RX_DESC_SIZE, length) || !in_bounds(data_ptr, max, slot, length)) {
    return make_int(env, -EFAULT);
  }
  return make_int(env, recv_batch(s, mem, desc_ptr, data_ptr, slot, max));
}

/* ---- netlinkSend ----------------------------------------------------------------------------- */

typedef struct {
  uint32_t ptr, len, port, groups;
} tx_desc;

static tx_desc read_tx(const uint8_t *at) {
  tx_desc d = {get_u32(at + IWPM_TX_PTR), get_u32(at + IWPM_TX_LEN), get_u32(at + IWPM_TX_PORT), get_u32(at + IWPM_TX_GROUPS)};
  return d;
}

static void set_dest(struct sockaddr_nl *dst, const tx_desc *d) {
  memset(dst, 0, sizeof *dst);
  dst->nl_family = AF_NETLINK;
  dst->nl_pid = d->port;
  dst->nl_groups = d->groups;
}

static napi_value netlink_send(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  nl_socket *s;
  uint8_t *mem;
  size_t length;
  uint32_t desc_ptr, count, failed = 0, i = 0;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_nl dst[BATCH];
  if (!get_args(env, info, 4, argv) || !get_handle(env, argv[0], &s) || !get_arraybuffer(env, argv[1], &mem, &length)) return NULL;
  enum num_result r[2] = {get_u32_arg(env, argv[2], &desc_ptr), get_u32_arg(env, argv[3], &count)};
  for (int k = 0; k < 2; k++) {
    if (r[k] == NUM_NOT_NUMBER) return type_error(env, "descPtr and count must be numbers");
    if (r[k] == NUM_OUT_OF_RANGE) return make_int(env, -EFAULT);
  }
  if (s->fd < 0) return make_int(env, -EBADF);
  if (!in_bounds(desc_ptr, count, IWPM_TX_DESC_SIZE, length)) return make_int(env, -EFAULT);
  for (uint32_t k = 0; k < count; k++) {
    tx_desc d = read_tx(mem + desc_ptr + (uint64_t)k * IWPM_TX_DESC_SIZE);
    if (!in_bounds(d.ptr, 1, d.len, length)) return make_int(env, -EFAULT);
  }

  while (i < count) {
    uint8_t *desc0 = mem + desc_ptr + (uint64_t)i * IWPM_TX_DESC_SIZE;
    tx_desc first = read_tx(desc0);
    if (first.groups != 0) {
      /* A multicast goes to the group members first and then as a unicast to `port`, which can
       * fail after the members got it. Sent alone, its own errno is known and it is never sent
       * twice. Port 0 on NETLINK_USERSOCK has no listener, so that unicast always fails with
       * ECONNREFUSED although the multicast went out: that one counts as sent. */
      struct sockaddr_nl to;
      struct iovec v = {mem + first.ptr, first.len};
      struct msghdr h = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &v, .msg_iovlen = 1};
      ssize_t n;
      set_dest(&to, &first);
      do n = sendmsg(s->fd, &h, MSG_DONTWAIT);
      while (n < 0 && errno == EINTR);
      int err = n < 0 ? errno : 0;
      if (err == ECONNREFUSED && first.port == 0) err = 0;
      put_i32(desc0 + IWPM_TX_ERRNO, err);
      if (err != 0) failed++;
      i++;
      continue;
    }
    uint32_t want = 0;
    while (i + want < count && want < BATCH) {
      uint8_t *at = mem + desc_ptr + (uint64_t)(i + want) * IWPM_TX_DESC_SIZE;
      tx_desc d = read_tx(at);
      if (d.groups != 0) break;
      iov[want].iov_base = mem + d.ptr;
      iov[want].iov_len = d.len;
      set_dest(&dst[want], &d);
      memset(&msgs[want], 0, sizeof msgs[want]);
      msgs[want].msg_hdr.msg_name = &dst[want];
      msgs[want].msg_hdr.msg_namelen = sizeof dst[want];
      msgs[want].msg_hdr.msg_iov = &iov[want];
      msgs[want].msg_hdr.msg_iovlen = 1;
      want++;
    }
    int n = sendmmsg(s->fd, msgs, want, MSG_DONTWAIT);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      /* sendmmsg stopped at this datagram and, having sent none before it, says why. */
      put_i32(desc0 + IWPM_TX_ERRNO, err);
      failed++;
      i++;
      continue;
    }
    /* When n < want, sendmmsg drops the errno of datagram n. The next pass starts with it: a
     * unicast that failed delivered nothing, so sending it again is safe and yields its errno. */
    for (int k = 0; k < n; k++) put_i32(mem + desc_ptr + (uint64_t)(i + (uint32_t)k) * IWPM_TX_DESC_SIZE + IWPM_TX_ERRNO, 0);
    i += (uint32_t)n;
  }
  s->sent += count - failed;
  s->send_errors += failed;
  return make_int(env, failed);
}

/* ---- poll control ---------------------------------------------------------------------------- */

static napi_value netlink_start(napi_env env, napi_callback_info info) {
  napi_value argv[2], name, resource;
  napi_valuetype type;
  nl_socket *s;
  if (!get_args(env, info, 2, argv) || !get_handle(env, argv[0], &s)) return NULL;
  if (napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) return type_error(env, "onEvent must be a function");
  if (s->fd < 0) return make_int(env, -EBADF);
  if (s->poll_state == POLL_NONE) {
    instance_t *inst = NULL;
    napi_get_instance_data(env, (void **)&inst);
    if (inst == NULL || inst->loop == NULL) return make_int(env, -ENOSYS);
    int rc = uv_poll_init(inst->loop, &s->poll, s->fd);
    if (rc < 0) return make_int(env, rc);
    s->poll.data = s;
    s->poll_state = POLL_IDLE;
    if (!s->want_ref) uv_unref((uv_handle_t *)&s->poll);
    napi_add_async_cleanup_hook(env, on_env_teardown, s, &s->cleanup);
  }
  if (s->async_ctx == NULL) {
    napi_create_string_utf8(env, "IwpmNetlinkSocket", NAPI_AUTO_LENGTH, &name);
    napi_create_object(env, &resource);
    napi_async_init(env, resource, name, &s->async_ctx);
  }
  if (s->on_event != NULL) napi_delete_reference(env, s->on_event);
  s->on_event = NULL;
  napi_create_reference(env, argv[1], 1, &s->on_event);
  int rc = uv_poll_start(&s->poll, UV_READABLE, on_poll);
  if (rc < 0) return make_int(env, rc);
  s->poll_state = POLL_ACTIVE;
  s->dry = 0;
  return make_int(env, 0);
}

static napi_value netlink_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  nl_socket *s;
  if (!get_args(env, info, 1, argv) || !get_handle(env, argv[0], &s)) return NULL;
  if (s->fd < 0) return make_int(env, -EBADF);
  if (s->poll_state == POLL_ACTIVE) {
    uv_poll_stop(&s->poll);
    s->poll_state = POLL_IDLE;
  }
  return make_int(env, 0);
}

static napi_value netlink_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  nl_socket *s;
  int ref;
  if (!get_args(env, info, 2, argv) || !get_handle(env, argv[0], &s) || !get_bool_arg(env, argv[1], "ref must be a boolean", &ref)) {
    return NULL;
  }
  if (s->fd < 0) return NULL;
  s->want_ref = ref;
  if (s->poll_state == POLL_IDLE || s->poll_state == POLL_ACTIVE) {
    if (ref) uv_ref((uv_handle_t *)&s->poll);
    else uv_unref((uv_handle_t *)&s->poll);
  }
  return NULL;
}

static napi_value netlink_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  nl_socket *s;
  if (!get_args(env, info, 1, argv) || !get_handle(env, argv[0], &s)) return NULL;
  if (s->fd < 0) return make_int(env, 0);
  release_js(s);
  return make_int(env, shutdown_socket(s));
}

static napi_value netlink_counters(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  nl_socket *s;
  if (!get_args(env, info, 1, argv) || !get_handle(env, argv[0], &s)) return NULL;
  napi_create_object(env, &out);
  set_prop(env, out, "received", make_double(env, (double)s->received));
  set_prop(env, out, "truncated", make_double(env, (double)s->truncated));
  set_prop(env, out, "overruns", make_double(env, (double)s->overruns));
  set_prop(env, out, "sent", make_double(env, (double)s->sent));
  set_prop(env, out, "sendErrors", make_double(env, (double)s->send_errors));
  return out;
}

/* ---- unixSend ------------------------------------------------------------------------------ */

static napi_value unix_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  napi_valuetype type;
  napi_typedarray_type ta_type;
  struct sockaddr_un addr;
  char path[sizeof addr.sun_path + 1];
  size_t path_len = 0, data_len = 0;
  void *data = NULL;
  bool is_ta = false;
  socklen_t addrlen;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (napi_typeof(env, argv[0], &type) != napi_ok || type != napi_string) return type_error(env, "path must be a string");
  if (napi_is_typedarray(env, argv[1], &is_ta) != napi_ok || !is_ta) return type_error(env, "data must be a Uint8Array");
  napi_get_typedarray_info(env, argv[1], &ta_type, &data_len, &data, NULL, NULL);
  if (ta_type != napi_uint8_array) return type_error(env, "data must be a Uint8Array");

  napi_get_value_string_utf8(env, argv[0], NULL, 0, &path_len);
  if (path_len == 0) return make_int(env, -EINVAL);
  if (path_len >= sizeof path) return make_int(env, -ENAMETOOLONG);
  napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len);
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path[0] == '@') {
    /* Abstract namespace (as NOTIFY_SOCKET writes it): a leading NUL, then the name's bytes,
     * and the address length says where the name ends. */
    memcpy(addr.sun_path + 1, path + 1, path_len - 1);
    addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);
  } else {
    if (path_len >= sizeof addr.sun_path) return make_int(env, -ENAMETOOLONG);
    if (memchr(path, '\0', path_len) != NULL) return make_int(env, -EINVAL);
    memcpy(addr.sun_path, path, path_len);
    addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + 1);
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_int(env, -errno);
  ssize_t n;
  /* Never block the loop on a stuck reader (a full /dev/log): EAGAIN is reported instead. */
  do n = sendto(fd, data, data_len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&addr, addrlen);
  while (n < 0 && errno == EINTR);
  int rc = n < 0 ? -errno : 0;
  close(fd);
  return make_int(env, rc);
}

/* ---- tcpReserve / fdClose -------------------------------------------------------------------- */

static napi_value tcp_reserve(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  uint32_t family, port;
  union {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
  } addr;
  socklen_t addrlen;
  if (!get_args(env, info, 2, argv) || !get_u32_strict(env, argv[0], "family must be 2 (AF_INET) or 10 (AF_INET6)", &family) ||
      !get_u32_strict(env, argv[1], "port must be an integer 0..65535", &port)) {
    return NULL;
  }
  if (family != AF_INET && family != AF_INET6) return sys_error(env, EAFNOSUPPORT, "socket");
  if (port > UINT16_MAX) return sys_error(env, EINVAL, "bind");
  int fd = socket((int)family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return sys_error(env, errno, "socket");
  memset(&addr, 0, sizeof addr);
  if (family == AF_INET6) {
    /* One reservation covers IPv4-mapped connections too, as the daemon's own reservations do. */
    int off = 0;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) {
      int err = errno;
      close(fd);
      return sys_error(env, err, "setsockopt");
    }
    addr.in6.sin6_family = AF_INET6;
    addr.in6.sin6_addr = in6addr_any;
    addr.in6.sin6_port = htons((uint16_t)port);
    addrlen = sizeof addr.in6;
  } else {
    addr.in4.sin_family = AF_INET;
    addr.in4.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.in4.sin_port = htons((uint16_t)port);
    addrlen = sizeof addr.in4;
  }
  if (bind(fd, &addr.sa, addrlen) < 0) {
    int err = errno;
    close(fd);
    return sys_error(env, err, "bind");
  }
  addrlen = sizeof addr;
  if (getsockname(fd, &addr.sa, &addrlen) < 0) {
    int err = errno;
    close(fd);
    return sys_error(env, err, "getsockname");
  }
  napi_create_object(env, &out);
  set_prop(env, out, "fd", make_int(env, fd));
  set_prop(env, out, "port", make_int(env, ntohs(family == AF_INET6 ? addr.in6.sin6_port : addr.in4.sin_port)));
  return out;
}

static napi_value fd_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  napi_valuetype type;
  double d;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (napi_typeof(env, argv[0], &type) != napi_ok || type != napi_number) return type_error(env, "fd must be a number");
  napi_get_value_double(env, argv[0], &d);
  if (!(d >= 0 && d <= INT32_MAX) || (double)(int)d != d) return make_int(env, -EBADF);
  return make_int(env, close((int)d) < 0 ? -errno : 0);
}

/* ---- module ------------------------------------------------------------------------------- */

static void finalize_instance(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"netlinkOpen", NULL, netlink_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkRecv", NULL, netlink_recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkSend", NULL, netlink_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkStart", NULL, netlink_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkStop", NULL, netlink_stop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkRef", NULL, netlink_ref, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkClose", NULL, netlink_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkCounters", NULL, netlink_counters, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixSend", NULL, unix_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpReserve", NULL, tcp_reserve, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fdClose", NULL, fd_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  /* Each env (main thread, every worker) has its own loop; sockets poll on their env's. */
  instance_t *inst = calloc(1, sizeof *inst);
  if (inst == NULL) {
    napi_throw_error(env, "ENOMEM", "iwpm_native: out of memory while loading");
    return NULL;
  }
  if (napi_get_uv_event_loop(env, &inst->loop) != napi_ok ||
      napi_set_instance_data(env, inst, finalize_instance, NULL) != napi_ok) {
    free(inst);
    napi_throw_error(env, "EINVAL", "iwpm_native: this runtime gives no event loop to the addon");
    return NULL;
  }
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
