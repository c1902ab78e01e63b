/*
 * The Linux file calls Node lacks, for FLAT images:
 *   punchHole(fd, offset, length) -> Promise<void>   fallocate(PUNCH_HOLE | KEEP_SIZE) on the libuv pool
 *   allocate(fd, offset, length) -> Promise<void>   fallocate(0): reserve the range (unwritten extents that read as
 *     zeros), growing the file to offset + length, on the libuv pool; rejects with err.errno = EOPNOTSUPP where
 *     the file system cannot
 *   seekData(fd, offset) / seekHole(fd, offset) -> number (-1 when there is no data at or after offset)
 *   ioBatch(fd | fds, kinds, buffers, positions, sync, callback)   many preads/pwrites (on one file, or one file
 *     per op) as ONE libuv pool job, so the data path pays one thread hand-off per event-loop turn instead of two
 *     futex round trips per I/O; adjacent ops of one kind on one file go as one preadv/pwritev; no write call
 *     carries more than WRITE_PIECE bytes (see there)
 *   ioTry(fd | fds, kinds, buffers, positions, budgetMicros) -> Int32Array   the same ops run at once on the calling
 *     thread while none waits for the disk (reads from the page cache only); 1 marks the ops left for ioBatch
 *   crc32c(data, initial?) -> number   CRC32C through ISA-L (libisal), when it was found at build time
 * N-API only, so one build serves every Node version of the same ABI.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>
#include <time.h>
#include <node_api.h>
#ifdef TANDEM_ISAL
#include <isa-l/crc.h>
#endif

#define CHECK(call)                                      \
  do {                                                   \
    if ((call) != napi_ok) {                             \
      napi_throw_error(env, NULL, "tandem_fs: " #call); \
      return NULL;                                       \
    }                                                    \
  } while (0)

typedef struct {
  int fd;
  int mode; /* fallocate's mode: FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE (punchHole) or 0 (allocate) */
  int64_t offset;
  int64_t length;
  int error;
  napi_deferred deferred;
  napi_async_work work;
} PunchRequest;

static napi_value errno_error(napi_env env, int error, const char *syscall) {
  napi_value message, code, err;
  char text[160];
  snprintf(text, sizeof text, "%s: %s", syscall, strerror(error));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_int32(env, error, &code);
  napi_create_error(env, NULL, message, &err);
  napi_set_named_property(env, err, "errno", code);
  return err;
}

static void punch_execute(napi_env env, void *data) {
  (void)env;
  PunchRequest *req = data;
  req->error = 0;
  int rc;
  do {
    rc = fallocate(req->fd, req->mode, req->offset, req->length);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) req->error = errno;
}

static void punch_complete(napi_env env, napi_status status, void *data) {
  PunchRequest *req = data;
  if (status != napi_ok) req->error = ECANCELED;
  if (req->error == 0) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, req->deferred, undefined);
  } else {
    napi_reject_deferred(env, req->deferred, errno_error(env, req->error, "fallocate"));
  }
  napi_delete_async_work(env, req->work);
  free(req);
}

static int read_args(napi_env env, napi_callback_info info, size_t want, int *fd, int64_t *a, int64_t *b) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return 0;
  if (napi_get_value_int32(env, argv[0], fd) != napi_ok) return 0;
  if (napi_get_value_int64(env, argv[1], a) != napi_ok) return 0;
  if (want > 2 && napi_get_value_int64(env, argv[2], b) != napi_ok) return 0;
  return 1;
}

/* punchHole and allocate: one fallocate(mode) over [offset, offset + length) as a pool job. */
static napi_value fallocate_async(napi_env env, napi_callback_info info, int mode, const char *name) {
  int fd;
  int64_t offset, length;
  if (!read_args(env, info, 3, &fd, &offset, &length) || offset < 0 || length <= 0) {
    char text[96];
    snprintf(text, sizeof text, "%s(fd, offset, length) takes three non-negative integers", name);
    napi_throw_type_error(env, NULL, text);
    return NULL;
  }
  PunchRequest *req = calloc(1, sizeof *req);
  if (!req) {
    napi_throw_error(env, NULL, "fallocate: out of memory");
    return NULL;
  }
  req->fd = fd;
  req->mode = mode;
  req->offset = offset;
  req->length = length;
  napi_value promise, resource;
  CHECK(napi_create_promise(env, &req->deferred, &promise));
  CHECK(napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource));
  CHECK(napi_create_async_work(env, NULL, resource, punch_execute, punch_complete, req, &req->work));
  CHECK(napi_queue_async_work(env, req->work));
  return promise;
}

static napi_value punch_hole(napi_env env, napi_callback_info info) {
  return fallocate_async(env, info, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, "punchHole");
}

static napi_value allocate(napi_env env, napi_callback_info info) {
  return fallocate_async(env, info, 0, "allocate");
}

static napi_value seek(napi_env env, napi_callback_info info, int whence, const char *syscall) {
  int fd;
  int64_t offset, unused;
  if (!read_args(env, info, 2, &fd, &offset, &unused) || offset < 0) {
    napi_throw_type_error(env, NULL, "seek(fd, offset) takes two non-negative integers");
    return NULL;
  }
  off_t at = lseek(fd, (off_t)offset, whence);
  if (at < 0) {
    // ENXIO: offset is at or past the end of the file, or (SEEK_DATA) only a hole follows it.
    if (errno != ENXIO) {
      napi_throw(env, errno_error(env, errno, syscall));
      return NULL;
    }
    at = -1;
  }
  napi_value result;
  CHECK(napi_create_int64(env, (int64_t)at, &result));
  return result;
}

static napi_value seek_data(napi_env env, napi_callback_info info) {
  return seek(env, info, SEEK_DATA, "lseek(SEEK_DATA)");
}

static napi_value seek_hole(napi_env env, napi_callback_info info) {
  return seek(env, info, SEEK_HOLE, "lseek(SEEK_HOLE)");
}

/* ---- ioBatch ---------------------------------------------------------------------------------------------- */

typedef struct {
  int fd;              /* every op's file, unless fds is set */
  int *fds;            /* per-op files (one batch over several files), or NULL */
  uint32_t count;
  int sync;
  uint8_t *kinds;      /* 0 = read, 1 = write */
  char **data;
  size_t *lengths;
  int64_t *positions;
  int32_t *results;    /* 0, or -errno */
  napi_ref buffers;    /* keeps the JS buffers alive until completion */
  napi_ref callback;
  napi_async_work work;
} Batch;

static void batch_free(napi_env env, Batch *b) {
  if (b->buffers) napi_delete_reference(env, b->buffers);
  if (b->callback) napi_delete_reference(env, b->callback);
  free(b->fds);
  free(b->kinds);
  free(b->data);
  free(b->lengths);
  free(b->positions);
  free(b->results);
  free(b);
}

#define OP_FD(b, i) ((b)->fds ? (b)->fds[i] : (b)->fd)
#define RUN_MAX 64
/* No write system call carries more than this. The page cache sizes the folios a write creates by the write's
 * length, and on ext4 with large folios (Linux 6.16+) every later small write into a large folio pays for the folio's
 * size: measured here, a 4 KiB pwrite into pages first written by 1 MiB pwrites costs 21-27 us, against 4.3 us when
 * they were written in 64 KiB pieces (docs/architecture.md, "Store I/O"); the pieces cost a 1 MiB write ~15 %
 * more system time. Pieces end on multiples of WRITE_PIECE in the file, so the folios are aligned. */
#define WRITE_PIECE ((size_t)64 * 1024)

/* Bytes a write at `position` may carry in one call: up to the next WRITE_PIECE boundary. */
static size_t piece_room(int64_t position) {
  return WRITE_PIECE - (size_t)(position % (int64_t)WRITE_PIECE);
}

/* One op alone, resuming at `done` bytes (short transfers and EINTR retried). */
static int32_t batch_one(Batch *b, uint32_t i, size_t done) {
  int fd = OP_FD(b, i);
  while (done < b->lengths[i]) {
    size_t want = b->lengths[i] - done;
    int64_t at = b->positions[i] + (int64_t)done;
    if (b->kinds[i] == 1 && want > piece_room(at)) want = piece_room(at);
    ssize_t n = b->kinds[i] == 1 ? pwrite(fd, b->data[i] + done, want, (off_t)at) : pread(fd, b->data[i] + done, want, (off_t)at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) {
      /* A read past the end of the file: the checked range cannot get here, but never loop forever. */
      if (b->kinds[i] == 0) {
        memset(b->data[i] + done, 0, b->lengths[i] - done);
        return 0;
      }
      return -EIO;
    }
    done += (size_t)n;
  }
  return 0;
}

/* The end of the run that starts at op i: ops of one kind on one file, each starting where the previous ended, at
 * most RUN_MAX of them; a write run stays within one WRITE_PIECE. Fills iov with the run's buffers. */
static uint32_t run_end(Batch *b, uint32_t i, struct iovec *iov) {
  uint32_t end = i + 1;
  int64_t next = b->positions[i] + (int64_t)b->lengths[i];
  size_t room = b->kinds[i] == 1 ? piece_room(b->positions[i]) : SIZE_MAX;
  while (end < b->count && end - i < RUN_MAX && b->kinds[end] == b->kinds[i] && OP_FD(b, end) == OP_FD(b, i) &&
         b->positions[end] == next && (size_t)(next - b->positions[i]) + b->lengths[end] <= room) {
    next += (int64_t)b->lengths[end];
    end++;
  }
  for (uint32_t k = i; k < end; k++) {
    iov[k - i].iov_base = b->data[k];
    iov[k - i].iov_len = b->lengths[k];
  }
  return end;
}

static void batch_execute(napi_env env, void *arg) {
  (void)env;
  Batch *b = arg;
  struct iovec iov[RUN_MAX];
  for (uint32_t i = 0; i < b->count;) {
    /* A run (the appends of a log, a sequential read split in blocks) is one preadv/pwritev instead of a system
     * call each; a write longer than WRITE_PIECE goes alone, in pieces (batch_one). */
    uint32_t end = run_end(b, i, iov);
    size_t got = 0;
    if (end - i > 1) {
      ssize_t n;
      do {
        n = b->kinds[i] == 1 ? pwritev(OP_FD(b, i), iov, (int)(end - i), (off_t)b->positions[i])
                             : preadv(OP_FD(b, i), iov, (int)(end - i), (off_t)b->positions[i]);
      } while (n < 0 && errno == EINTR);
      got = n > 0 ? (size_t)n : 0; /* an error or a short transfer: the ops not fully done go on one by one */
    }
    for (uint32_t k = i; k < end; k++) {
      size_t mine = got >= b->lengths[k] ? b->lengths[k] : got;
      got -= mine;
      b->results[k] = mine == b->lengths[k] ? 0 : batch_one(b, k, mine);
    }
    i = end;
  }
  if (!b->sync) return;
  /* Group commit: one fdatasync per file written in this batch. */
  for (uint32_t i = 0; i < b->count; i++) {
    if (b->kinds[i] != 1 || b->results[i] != 0) continue;
    int fd = OP_FD(b, i), seen = 0;
    for (uint32_t k = 0; k < i && !seen; k++) seen = b->kinds[k] == 1 && b->results[k] == 0 && OP_FD(b, k) == fd;
    if (seen) continue;
    if (fdatasync(fd) != 0) {
      int32_t err = -errno;
      for (uint32_t k = 0; k < b->count; k++) if (b->kinds[k] == 1 && b->results[k] == 0 && OP_FD(b, k) == fd) b->results[k] = err;
    }
  }
}

/* The batch's results as a new Int32Array. */
static napi_status results_array(napi_env env, const Batch *b, napi_value *out) {
  napi_value buffer;
  void *raw = NULL;
  napi_status st = napi_create_arraybuffer(env, b->count * sizeof(int32_t), &raw, &buffer);
  if (st == napi_ok) st = napi_create_typedarray(env, napi_int32_array, b->count, buffer, 0, out);
  if (st == napi_ok) memcpy(raw, b->results, b->count * sizeof(int32_t));
  return st;
}

static void batch_complete(napi_env env, napi_status status, void *arg) {
  Batch *b = arg;
  napi_value cb, global, argv[1];
  if (status != napi_ok) for (uint32_t i = 0; i < b->count; i++) b->results[i] = -ECANCELED;
  if (results_array(env, b, &argv[0]) == napi_ok && napi_get_reference_value(env, b->callback, &cb) == napi_ok &&
      napi_get_global(env, &global) == napi_ok) {
    napi_call_function(env, global, cb, 1, argv, NULL);
  }
  napi_delete_async_work(env, b->work);
  batch_free(env, b);
}

/* Reads ioBatch's and ioTry's first four arguments into a new Batch; NULL (with a JS exception pending) on bad input. */
static Batch *batch_from_args(napi_env env, napi_value *argv, const char *usage) {
  int fd = -1;
  uint32_t count = 0;
  bool per_op_fds = false;
  if (napi_is_typedarray(env, argv[0], &per_op_fds) != napi_ok || (!per_op_fds && napi_get_value_int32(env, argv[0], &fd) != napi_ok) ||
      napi_get_array_length(env, argv[2], &count) != napi_ok || count == 0) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int32_t *fdata = NULL;
  if (per_op_fds) {
    napi_typedarray_type ftype;
    size_t flen;
    void *raw;
    if (napi_get_typedarray_info(env, argv[0], &ftype, &flen, &raw, NULL, NULL) != napi_ok || ftype != napi_int32_array || flen < count) {
      napi_throw_type_error(env, NULL, "ioBatch: per-op fds must be an Int32Array as long as buffers");
      return NULL;
    }
    fdata = raw;
  }
  napi_typedarray_type ktype, ptype;
  size_t klen, plen;
  void *kdata, *pdata;
  if (napi_get_typedarray_info(env, argv[1], &ktype, &klen, &kdata, NULL, NULL) != napi_ok || ktype != napi_uint8_array || klen < count ||
      napi_get_typedarray_info(env, argv[3], &ptype, &plen, &pdata, NULL, NULL) != napi_ok || ptype != napi_float64_array || plen < count) {
    napi_throw_type_error(env, NULL, "ioBatch: kinds must be a Uint8Array and positions a Float64Array as long as buffers");
    return NULL;
  }
  Batch *b = calloc(1, sizeof *b);
  if (!b) {
    napi_throw_error(env, NULL, "ioBatch: out of memory");
    return NULL;
  }
  b->fd = fd;
  b->count = count;
  b->kinds = malloc(count);
  b->data = malloc(count * sizeof(char *));
  b->lengths = malloc(count * sizeof(size_t));
  b->positions = malloc(count * sizeof(int64_t));
  b->results = calloc(count, sizeof(int32_t));
  if (fdata) {
    b->fds = malloc(count * sizeof(int));
    if (b->fds) for (uint32_t i = 0; i < count; i++) b->fds[i] = fdata[i];
  }
  if (!b->kinds || !b->data || !b->lengths || !b->positions || !b->results || (fdata && !b->fds)) {
    batch_free(env, b);
    napi_throw_error(env, NULL, "ioBatch: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    void *ptr;
    size_t len;
    double pos = ((double *)pdata)[i];
    uint8_t kind = ((uint8_t *)kdata)[i];
    if (napi_get_element(env, argv[2], i, &item) != napi_ok || napi_get_buffer_info(env, item, &ptr, &len) != napi_ok || pos < 0 || kind > 1) {
      batch_free(env, b);
      napi_throw_type_error(env, NULL, "ioBatch: every buffer must be a Buffer, every kind 0 or 1 and every position non-negative");
      return NULL;
    }
    b->kinds[i] = kind;
    b->data[i] = ptr;
    b->lengths[i] = len;
    b->positions[i] = (int64_t)pos;
  }
  return b;
}

static napi_value io_batch(napi_env env, napi_callback_info info) {
  static const char usage[] = "ioBatch(fd | Int32Array of fds, kinds, buffers, positions, sync, callback)";
  size_t argc = 6;
  napi_value argv[6];
  bool sync = false;
  napi_valuetype cb_type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 || napi_get_value_bool(env, argv[4], &sync) != napi_ok ||
      napi_typeof(env, argv[5], &cb_type) != napi_ok || cb_type != napi_function) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  Batch *b = batch_from_args(env, argv, usage);
  if (!b) return NULL;
  b->sync = sync;
  napi_value name;
  CHECK(napi_create_reference(env, argv[2], 1, &b->buffers));
  CHECK(napi_create_reference(env, argv[5], 1, &b->callback));
  CHECK(napi_create_string_utf8(env, "tandem_fs.ioBatch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, batch_execute, batch_complete, b, &b->work));
  CHECK(napi_queue_async_work(env, b->work));
  return NULL;
}

/* ---- ioTry ------------------------------------------------------------------------------------------------ */

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/*
 * Runs ops in order on the calling thread, as long as none would wait for the disk: a read only from the page
 * cache (preadv2 RWF_NOWAIT), a write as it is (the caller passes only whole-page, non-FUA writes, which need no
 * read and no flush). Stops at the first read the page cache cannot serve, and once `budget_ns` have passed (a write
 * throttled by the kernel's dirty-page limits can sleep). Returns how many ops ran; their results are 0 or -errno.
 */
static uint32_t try_execute(Batch *b, int64_t budget_ns) {
  struct iovec iov[RUN_MAX];
  int64_t start = now_ns();
  for (uint32_t i = 0; i < b->count;) {
    uint32_t end = run_end(b, i, iov);
    ssize_t n;
    do {
      n = b->kinds[i] == 1 ? pwritev(OP_FD(b, i), iov, (int)(end - i), (off_t)b->positions[i])
                           : preadv2(OP_FD(b, i), iov, (int)(end - i), (off_t)b->positions[i], RWF_NOWAIT);
    } while (n < 0 && errno == EINTR);
    size_t got = n > 0 ? (size_t)n : 0;
    for (uint32_t k = i; k < end; k++) {
      size_t mine = got >= b->lengths[k] ? b->lengths[k] : got;
      got -= mine;
      if (mine == b->lengths[k]) b->results[k] = 0;
      else if (b->kinds[k] == 1) b->results[k] = batch_one(b, k, mine); /* a short write or an error: finished or failed here */
      else return k; /* not all in the page cache (EAGAIN), or the end of the file: this read and the rest go to the pool */
    }
    i = end;
    if (now_ns() - start > budget_ns) return i;
  }
  return b->count;
}

static napi_value io_try(napi_env env, napi_callback_info info) {
  static const char usage[] = "ioTry(fd | Int32Array of fds, kinds, buffers, positions, budgetMicros)";
  size_t argc = 5;
  napi_value argv[5];
  double budget_us = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 || napi_get_value_double(env, argv[4], &budget_us) != napi_ok ||
      !(budget_us >= 0)) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  Batch *b = batch_from_args(env, argv, usage);
  if (!b) return NULL;
  uint32_t ran = try_execute(b, (int64_t)(budget_us * 1000));
  for (uint32_t i = ran; i < b->count; i++) b->results[i] = 1;
  napi_value results;
  napi_status st = results_array(env, b, &results);
  batch_free(env, b);
  if (st != napi_ok) {
    napi_throw_error(env, NULL, "ioTry: out of memory");
    return NULL;
  }
  return results;
}

#ifdef TANDEM_ISAL
/* ---- crc32c ----------------------------------------------------------------------------------------------- */

/* CRC32C (Castagnoli) of a Uint8Array, continuing from `initial` (a previous result; 0 to start), as @node-rs/crc32's
 * crc32c computes it: ISA-L's crc32_iscsi takes and returns the register without the final inversion. */
static napi_value crc32c(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  uint32_t crc = 0;
  napi_valuetype initial_type = napi_undefined;
  bool is_typed = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_is_typedarray(env, argv[0], &is_typed) != napi_ok ||
      !is_typed || napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok ||
      (type != napi_uint8_array && type != napi_uint8_clamped_array) ||
      (argc > 1 && (napi_typeof(env, argv[1], &initial_type) != napi_ok ||
                    (initial_type != napi_undefined && napi_get_value_uint32(env, argv[1], &crc) != napi_ok)))) {
    napi_throw_type_error(env, NULL, "crc32c(data: Uint8Array, initial?: number)");
    return NULL;
  }
  crc = ~crc;
  const unsigned char *p = data;
  while (length > 0) {
    int piece = length > (1u << 30) ? (1 << 30) : (int)length;
    crc = crc32_iscsi((unsigned char *)p, piece, crc);
    p += piece;
    length -= (size_t)piece;
  }
  napi_value result;
  CHECK(napi_create_uint32(env, ~crc, &result));
  return result;
}
#endif

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"punchHole", NULL, punch_hole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"allocate", NULL, allocate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekData", NULL, seek_data, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ioBatch", NULL, io_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ioTry", NULL, io_try, NULL, NULL, NULL, napi_enumerable, NULL},
#ifdef TANDEM_ISAL
    {"crc32c", NULL, crc32c, NULL, NULL, NULL, napi_enumerable, NULL},
#endif
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
