/*
 * The two Linux file calls Node lacks, for thin FLAT images:
 *   punchHole(fd, offset, length) -> Promise<void>   fallocate(PUNCH_HOLE | KEEP_SIZE) on the libuv pool
 *   seekData(fd, offset) / seekHole(fd, offset) -> number (-1 when there is no data at or after offset)
 * N-API only, so one build serves every Node version of the same ABI.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>

#define CHECK(call)                                      \
  do {                                                   \
    if ((call) != napi_ok) {                             \
      napi_throw_error(env, NULL, "tandem_fs: " #call); \
      return NULL;                                       \
    }                                                    \
  } while (0)

typedef struct {
  int fd;
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
  if (fallocate(req->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, req->offset, req->length) != 0) req->error = errno;
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

static napi_value punch_hole(napi_env env, napi_callback_info info) {
  int fd;
  int64_t offset, length;
  if (!read_args(env, info, 3, &fd, &offset, &length) || offset < 0 || length <= 0) {
    napi_throw_type_error(env, NULL, "punchHole(fd, offset, length) takes three non-negative integers");
    return NULL;
  }
  PunchRequest *req = calloc(1, sizeof *req);
  if (!req) {
    napi_throw_error(env, NULL, "punchHole: out of memory");
    return NULL;
  }
  req->fd = fd;
  req->offset = offset;
  req->length = length;
  napi_value promise, name;
  CHECK(napi_create_promise(env, &req->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "tandem_fs.punchHole", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, punch_execute, punch_complete, req, &req->work));
  CHECK(napi_queue_async_work(env, req->work));
  return promise;
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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"punchHole", NULL, punch_hole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekData", NULL, seek_data, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
