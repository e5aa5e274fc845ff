/*
 * Moves a known number of bytes from one socket to another inside the kernel: splice(2) from the
 * source socket into a pipe, and from the pipe into the target socket, on a thread of its own.
 * Why: a proxied download through user space costs two copies per byte in the proxy (the kernel
 * copies each byte from the object store's socket into the process, and back into the client's
 * socket); splice moves the socket buffers' pages instead ("splice() moves data between two file
 * descriptors without copying between kernel address space and user address space", splice(2)).
 *
 * The contract with the caller (internal/storage/support/splice.ts), which owns both sockets:
 * - it stops reading the source and writing the target before `start`, and touches neither again
 *   until the callback has run;
 * - the thread works on duplicates of the two descriptors, so a socket the caller destroys
 *   meanwhile can never have its number reused under the thread: the connection stays open until
 *   the thread lets go of it, and the caller's `cancel` makes it let go at once;
 * - the callback gets (code, side, moved): code null when every byte was moved, else the errno's
 *   name (or "EOF": the source closed early; "ETIMEDOUT": no progress for idleMs); side
 *   "source" or "target" says whose fault it was; moved counts the bytes that reached the target.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A pipe of 1 MiB (fs.pipe-max-size's default) lets one splice move up to that much. */
#define PIPE_BYTES (1024 * 1024)
/* The source wakes the thread only once this much has arrived (or all that is left, or its end):
   fewer, larger splices than one per segment. */
#define WAKE_BYTES (256 * 1024)
#define WAKE_MS 20

enum side { SIDE_NONE = 0, SIDE_SOURCE = 1, SIDE_TARGET = 2 };

typedef struct {
  atomic_int refs; /* the thread's and the JS handle's */
  atomic_int stop; /* cancel() was called: seen before each splice, not only in a wait */
  int from, to, cancel;
  int64_t bytes, moved;
  int idle_ms;
  int err; /* 0, an errno, or -1 for an early EOF */
  enum side side;
  napi_threadsafe_function done;
} transfer_t;

static void unref(transfer_t *t) {
  if (atomic_fetch_sub(&t->refs, 1) != 1) return;
  close(t->cancel);
  free(t);
}

static int fail(transfer_t *t, int err, enum side side) {
  t->err = err;
  t->side = side;
  return 0;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for one descriptor (or the cancel event), at most `cap_ms` when that is not -1: 1 to look
   again, 0 stopped (t->err set: cancelled, or nothing moved for idle_ms since `last`). */
static int wait_for(transfer_t *t, int fd, short events, enum side side, int64_t last, int cap_ms) {
  struct pollfd fds[2] = {{.fd = fd, .events = events}, {.fd = t->cancel, .events = POLLIN}};
  for (;;) {
    int64_t left = t->idle_ms - (now_ms() - last);
    if (left <= 0) return fail(t, ETIMEDOUT, side);
    int capped = cap_ms >= 0 && cap_ms < left;
    int n = poll(fds, 2, capped ? cap_ms : (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(t, errno, side);
    if (n == 0 && capped) return 1;
    if (n == 0) continue;
    if (fds[1].revents) return fail(t, ECANCELED, SIDE_NONE);
    /* POLLERR/POLLHUP included: the next splice reports what happened. */
    return 1;
  }
}

static void move_all(transfer_t *t, int pipe_out, int pipe_in, int64_t cap, int *lowat) {
  int64_t unread = t->bytes, held = 0;
  /* The source's failure: 0, or an errno (-1: EOF). What the pipe already holds is still sent on
     first, in order, so the bytes counted as moved are exactly the ones the target received. */
  int source_err = 0;
  int64_t last = now_ms();
  while (t->moved < t->bytes) {
    if (atomic_load(&t->stop)) {
      fail(t, ECANCELED, SIDE_NONE);
      return;
    }
    if (source_err != 0 && held == 0) {
      fail(t, source_err, SIDE_SOURCE);
      return;
    }
    int progress = 0;
    if (source_err == 0 && unread > 0 && held < cap) {
      ssize_t n = splice(t->from, NULL, pipe_in, NULL, (size_t)(unread < cap - held ? unread : cap - held), SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        unread -= n;
        held += n;
        progress = 1;
      } else if (n == 0) {
        source_err = -1;
        progress = 1;
      } else if (errno != EAGAIN && errno != EINTR) {
        source_err = errno;
        progress = 1;
      }
    }
    if (held > 0) {
      unsigned int more = unread > 0 ? SPLICE_F_MORE : 0;
      ssize_t n = splice(pipe_out, NULL, t->to, NULL, (size_t)held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK | more);
      if (n > 0) {
        held -= n;
        t->moved += n;
        progress = 1;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        fail(t, errno, SIDE_TARGET);
        return;
      }
    }
    if (progress) {
      last = now_ms();
      continue;
    }
    /* Nothing moved: wait for the client to take bytes while the pipe holds some, else for the
       source to have some (waiting on both would spin while a full pipe leaves input pending). */
    if (held > 0) {
      if (!wait_for(t, t->to, POLLOUT, SIDE_TARGET, last, -1)) return;
      continue;
    }
    /* The source wakes this thread once WAKE_BYTES have arrived; a source slower than that is
       still looked at every WAKE_MS (a splice takes whatever is there), so its bytes go on
       without waiting for the mark and its progress keeps the idle timeout away. */
    int low = unread < WAKE_BYTES ? (int)unread : WAKE_BYTES;
    if (low != *lowat && setsockopt(t->from, SOL_SOCKET, SO_RCVLOWAT, &low, sizeof low) == 0) *lowat = low;
    if (!wait_for(t, t->from, POLLIN, SIDE_SOURCE, last, *lowat > 1 ? WAKE_MS : -1)) return;
  }
}

static void *run(void *arg) {
  transfer_t *t = arg;
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
    fail(t, errno, SIDE_NONE);
  } else {
    /* Past the per-user pipe allowance a bigger pipe is refused: the default one still works. */
    int cap = fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
    if (cap <= 0) cap = fcntl(p[1], F_GETPIPE_SZ);
    int lowat = 1;
    move_all(t, p[0], p[1], cap > 0 ? cap : 65536, &lowat);
    /* The socket is the caller's again: as it was (the low-water mark is the socket's, not the duplicate's). */
    if (lowat != 1) setsockopt(t->from, SOL_SOCKET, SO_RCVLOWAT, &(int){1}, sizeof(int));
    close(p[0]);
    close(p[1]);
  }
  close(t->from);
  close(t->to);
  if (napi_call_threadsafe_function(t->done, t, napi_tsfn_blocking) != napi_ok) unref(t);
  napi_release_threadsafe_function(t->done, napi_tsfn_release);
  return NULL;
}

static const char *code_of(int err) {
  if (err == -1) return "EOF";
  const char *name = strerrorname_np(err);
  return name ? name : "EIO";
}

static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  transfer_t *t = data;
  if (env != NULL && callback != NULL) {
    napi_value argv[3], undefined;
    static const char *sides[] = {NULL, "source", "target"};
    if (t->err == 0) napi_get_null(env, &argv[0]);
    else napi_create_string_utf8(env, code_of(t->err), NAPI_AUTO_LENGTH, &argv[0]);
    if (t->side == SIDE_NONE) napi_get_null(env, &argv[1]);
    else napi_create_string_utf8(env, sides[t->side], NAPI_AUTO_LENGTH, &argv[1]);
    napi_create_int64(env, t->moved, &argv[2]);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, callback, 3, argv, NULL);
  }
  unref(t);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  unref(data);
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, "ERR_SPLICE", message);
  return NULL;
}

/* start(fromFd, toFd, bytes, idleMs, callback) → handle */
static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5) return throw_error(env, "start(fromFd, toFd, bytes, idleMs, callback)");
  int32_t from, to, idle;
  int64_t bytes;
  if (napi_get_value_int32(env, argv[0], &from) != napi_ok || napi_get_value_int32(env, argv[1], &to) != napi_ok ||
      napi_get_value_int64(env, argv[2], &bytes) != napi_ok || napi_get_value_int32(env, argv[3], &idle) != napi_ok || from < 0 || to < 0 || bytes <= 0 ||
      idle <= 0)
    return throw_error(env, "start: two descriptors, a positive byte count and a positive idle timeout");
  transfer_t *t = calloc(1, sizeof *t);
  if (!t) return throw_error(env, "start: out of memory");
  t->bytes = bytes;
  t->idle_ms = idle;
  t->from = fcntl(from, F_DUPFD_CLOEXEC, 0);
  t->to = fcntl(to, F_DUPFD_CLOEXEC, 0);
  t->cancel = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (t->from < 0 || t->to < 0 || t->cancel < 0) {
    int err = errno;
    if (t->from >= 0) close(t->from);
    if (t->to >= 0) close(t->to);
    if (t->cancel >= 0) close(t->cancel);
    free(t);
    return throw_error(env, strerror(err));
  }
  atomic_init(&t->refs, 2);
  atomic_init(&t->stop, 0);
  napi_value name, handle;
  napi_create_string_utf8(env, "splice", NAPI_AUTO_LENGTH, &name);
  pthread_t thread;
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) {
    close(t->from), close(t->to), close(t->cancel), free(t);
    return throw_error(env, "start: could not set up the thread");
  }
  if (napi_create_threadsafe_function(env, argv[4], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &t->done) != napi_ok) {
    pthread_attr_destroy(&attr);
    close(t->from), close(t->to), close(t->cancel), free(t);
    return throw_error(env, "start: could not set up the transfer");
  }
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int err = pthread_create(&thread, &attr, run, t);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    napi_release_threadsafe_function(t->done, napi_tsfn_abort);
    close(t->from), close(t->to), close(t->cancel), free(t);
    return throw_error(env, strerror(err));
  }
  napi_create_external(env, t, finalize, NULL, &handle);
  return handle;
}

/* cancel(handle): the thread stops at its next wait with ECANCELED (a no-op once it has ended). */
static napi_value cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_external(env, argv[0], &data) != napi_ok)
    return throw_error(env, "cancel(handle)");
  transfer_t *t = data;
  atomic_store(&t->stop, 1);
  uint64_t one = 1;
  ssize_t ignored = write(t->cancel, &one, sizeof one);
  (void)ignored;
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "start", NAPI_AUTO_LENGTH, start, NULL, &fn);
  napi_set_named_property(env, exports, "start", fn);
  napi_create_function(env, "cancel", NAPI_AUTO_LENGTH, cancel, NULL, &fn);
  napi_set_named_property(env, exports, "cancel", fn);
  return exports;
}
