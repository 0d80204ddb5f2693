// Open MPI, as Motive's distributed training uses it: one communicator (all the processes of
// the job), errors returned rather than aborting, and only non-blocking collectives, so that a
// caller can wait with a deadline. MPI's handles and constants are macros that Swift cannot
// import, so each call is wrapped here.
#ifndef MOTIVE_CMPI_SHIM_H
#define MOTIVE_CMPI_SHIM_H
#include <mpi.h>
#include <stdint.h>

typedef MPI_Request motive_mpi_request;

/// MPI_Init_thread asking for MPI_THREAD_SERIALIZED; `provided` receives the level granted
/// (0 single … 3 multiple). Errors on the world communicator are returned, not fatal.
static inline int motive_mpi_init(int *provided) {
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
    if (rc == MPI_SUCCESS) MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    switch (*provided) {
    case MPI_THREAD_SINGLE: *provided = 0; break;
    case MPI_THREAD_FUNNELED: *provided = 1; break;
    case MPI_THREAD_SERIALIZED: *provided = 2; break;
    default: *provided = 3; break;
    }
    return rc;
}

static inline int motive_mpi_success(void) { return MPI_SUCCESS; }
static inline int motive_mpi_any_source(void) { return MPI_ANY_SOURCE; }

static inline int motive_mpi_rank(void) { int r = -1; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
static inline int motive_mpi_size(void) { int s = -1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }

static inline void motive_mpi_error_string(int code, char *out, int capacity) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
    if (length >= capacity) length = capacity - 1;
    for (int i = 0; i < length; i++) out[i] = text[i];
    out[length < 0 ? 0 : length] = 0;
}

/// Sums `count` floats over the processes, in place.
static inline int motive_mpi_iallreduce_float_sum(float *values, int count, motive_mpi_request *request) {
    return MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request);
}

/// Sums `count` doubles over the processes, in place.
static inline int motive_mpi_iallreduce_double_sum(double *values, int count, motive_mpi_request *request) {
    return MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, request);
}

/// Copies `count` bytes from process `root` to every other.
static inline int motive_mpi_ibcast_bytes(void *bytes, int count, int root, motive_mpi_request *request) {
    return MPI_Ibcast(bytes, count, MPI_BYTE, root, MPI_COMM_WORLD, request);
}

/// Every process's `value`, in rank order, into `all` (one slot per process).
static inline int motive_mpi_iallgather_u64(const uint64_t *value, uint64_t *all, motive_mpi_request *request) {
    return MPI_Iallgather(value, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD, request);
}

/// Process `root` receives every process's bytes: process i's `counts[i]` bytes at `displacements[i]`.
static inline int motive_mpi_igatherv_bytes(const void *send, int count, void *receive, const int *counts,
                                            const int *displacements, int root, motive_mpi_request *request) {
    return MPI_Igatherv(send, count, MPI_BYTE, receive, counts, displacements, MPI_BYTE, root, MPI_COMM_WORLD, request);
}

static inline int motive_mpi_ibarrier(motive_mpi_request *request) { return MPI_Ibarrier(MPI_COMM_WORLD, request); }

/// `done` becomes 1 once the request has completed (and the request is then freed).
static inline int motive_mpi_test(motive_mpi_request *request, int *done) {
    return MPI_Test(request, done, MPI_STATUS_IGNORE);
}

/// A small point-to-point message: `value` to process `destination` under `tag`.
static inline int motive_mpi_isend_i64(const int64_t *value, int destination, int tag, motive_mpi_request *request) {
    return MPI_Isend(value, 1, MPI_INT64_T, destination, tag, MPI_COMM_WORLD, request);
}

/// Receives one pending `tag` message from any process, if there is one: `found` is 1 and
/// `source` and `value` are set; 0 otherwise. Never blocks.
static inline int motive_mpi_poll_i64(int tag, int *found, int *source, int64_t *value) {
    MPI_Status status;
    int rc = MPI_Iprobe(MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, found, &status);
    if (rc != MPI_SUCCESS || !*found) return rc;
    *source = status.MPI_SOURCE;
    return MPI_Recv(value, 1, MPI_INT64_T, status.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

static inline void motive_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

static inline int motive_mpi_finalize(void) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    return finalized ? MPI_SUCCESS : MPI_Finalize();
}
#endif
