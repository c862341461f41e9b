#include "storage/lmdb.h"

#include <fcntl.h>
#include <sys/stat.h>

namespace ncen::storage::lmdb {

Status FromRc(int rc, const std::string& what) {
  if (rc == MDB_SUCCESS) return Status::Ok();
  std::string message = what + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND: return NotFound(message);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH: return Corruption(message);
    case MDB_MAP_FULL:
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL: return ResourceExhausted(message);
    default: return IOError(message);
  }
}

Result<std::unique_ptr<Env>> Env::Open(const std::string& dir, uint64_t map_size_bytes,
                                       bool durable) {
  std::unique_ptr<Env> env(new Env);
  NCEN_RETURN_IF_ERROR(FromRc(mdb_env_create(&env->env_), "mdb_env_create"));
  NCEN_RETURN_IF_ERROR(FromRc(mdb_env_set_maxdbs(env->env_, 32), "mdb_env_set_maxdbs"));
  NCEN_RETURN_IF_ERROR(FromRc(mdb_env_set_maxreaders(env->env_, 256), "mdb_env_set_maxreaders"));
  NCEN_RETURN_IF_ERROR(FromRc(mdb_env_set_mapsize(env->env_, map_size_bytes), "mdb_env_set_mapsize"));
  unsigned flags = MDB_NOTLS;
  if (!durable) flags |= MDB_NOSYNC;
  int rc = mdb_env_open(env->env_, dir.c_str(), flags, 0600);
  if (rc != MDB_SUCCESS) return FromRc(rc, "cannot open store " + dir);
  env->durable_ = durable;
  return env;
}

uint64_t Env::LastPage() const {
  MDB_envinfo info;
  if (mdb_env_info(env_, &info) != MDB_SUCCESS) return 0;
  return info.me_last_pgno;
}

void Env::ForgetPagesAfter(uint64_t last_page) const {
  if (!durable_) return;  // the pages may still be dirty: nothing to drop
  MDB_stat stat;
  mdb_filehandle_t fd;
  if (mdb_env_stat(env_, &stat) != MDB_SUCCESS || mdb_env_get_fd(env_, &fd) != MDB_SUCCESS) return;
  uint64_t last = LastPage();
  if (last <= last_page) return;
  // Advice only: a failure changes nothing stored.
  (void)::posix_fadvise(fd, static_cast<off_t>((last_page + 1) * stat.ms_psize),
                        static_cast<off_t>((last - last_page) * stat.ms_psize), POSIX_FADV_DONTNEED);
}

Env::~Env() {
  if (env_) mdb_env_close(env_);
}

Result<Txn> Txn::Begin(const Env& env, bool write) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.get(), nullptr, write ? 0 : MDB_RDONLY, &txn);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map: adopt its size and retry once.
    NCEN_RETURN_IF_ERROR(FromRc(mdb_env_set_mapsize(env.get(), 0), "mdb_env_set_mapsize"));
    rc = mdb_txn_begin(env.get(), nullptr, write ? 0 : MDB_RDONLY, &txn);
  }
  NCEN_RETURN_IF_ERROR(FromRc(rc, "mdb_txn_begin"));
  return Txn(txn);
}

Status Txn::Commit() {
  NCEN_CHECK(txn_ != nullptr);
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;
  return FromRc(rc, "commit");
}

Result<std::optional<ByteView>> Txn::Get(MDB_dbi db, ByteView key) const {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn_, db, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<ByteView>();
  NCEN_RETURN_IF_ERROR(FromRc(rc, "mdb_get"));
  return std::optional<ByteView>(View(v));
}

Status Txn::Put(MDB_dbi db, ByteView key, ByteView value, unsigned flags) {
  MDB_val k = Val(key), v = Val(value);
  return FromRc(mdb_put(txn_, db, &k, &v, flags), "mdb_put");
}

Status Txn::Del(MDB_dbi db, ByteView key) {
  MDB_val k = Val(key);
  int rc = mdb_del(txn_, db, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  return FromRc(rc, "mdb_del");
}

Result<Cursor> Cursor::Open(const Txn& txn, MDB_dbi db) {
  MDB_cursor* c = nullptr;
  NCEN_RETURN_IF_ERROR(FromRc(mdb_cursor_open(txn.get(), db, &c), "mdb_cursor_open"));
  return Cursor(c);
}

void Cursor::Move(MDB_cursor_op op) {
  int rc = mdb_cursor_get(cursor_, &key_, &value_, op);
  valid_ = rc == MDB_SUCCESS;
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND && status_.ok()) status_ = FromRc(rc, "mdb_cursor_get");
}

void Cursor::Seek(ByteView key) {
  key_ = Val(key);
  Move(MDB_SET_RANGE);
}

}  // namespace ncen::storage::lmdb
