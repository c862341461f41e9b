// Thin RAII wrappers over LMDB for storage/ only (never included outside it).
//
// LmdbEnv owns an MDB_env. Txn is one transaction; a write Txn must stay on
// the thread that began it (LMDB rule); read Txns may move between threads
// (the environment is opened with MDB_NOTLS). Views returned by Get and
// Cursor stay valid until the transaction ends or writes to that database.
#pragma once

#include <lmdb.h>

#include <memory>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace ncen::storage::lmdb {

Status FromRc(int rc, const std::string& what);

inline MDB_val Val(ByteView b) {
  return MDB_val{b.size(), const_cast<uint8_t*>(b.data())};
}
inline ByteView View(const MDB_val& v) {
  return {static_cast<const uint8_t*>(v.mv_data), v.mv_size};
}

class Env {
 public:
  static Result<std::unique_ptr<Env>> Open(const std::string& dir, uint64_t map_size_bytes,
                                           bool durable);
  ~Env();
  MDB_env* get() const { return env_; }

  // The last page of the data file the latest commit uses.
  uint64_t LastPage() const;
  // Drops the pages after `last_page` (a LastPage() before some commits)
  // from the page cache, once those commits are on disk: bytes written once
  // and rarely read again (photo chunks) then do not fill the cache, and the
  // next ones are written into the freed pages rather than fresh ones. Only
  // pages no process has mapped go; a later read of the others comes from
  // the disk. Does nothing for a store that does not sync its commits.
  void ForgetPagesAfter(uint64_t last_page) const;

 private:
  Env() = default;
  MDB_env* env_ = nullptr;
  bool durable_ = true;
};

class Txn {
 public:
  static Result<Txn> Begin(const Env& env, bool write);
  Txn(Txn&& other) noexcept : txn_(other.txn_) { other.txn_ = nullptr; }
  Txn& operator=(Txn&&) = delete;
  ~Txn() { Abort(); }

  MDB_txn* get() const { return txn_; }
  Status Commit();
  void Abort() {
    if (txn_) mdb_txn_abort(txn_);
    txn_ = nullptr;
  }

  // nullopt when the key is absent.
  Result<std::optional<ByteView>> Get(MDB_dbi db, ByteView key) const;
  Status Put(MDB_dbi db, ByteView key, ByteView value, unsigned flags = 0);
  // Appends at the end of the database: keys must be greater than every key in it.
  Status Append(MDB_dbi db, ByteView key, ByteView value) { return Put(db, key, value, MDB_APPEND); }
  // OK when the key is absent too.
  Status Del(MDB_dbi db, ByteView key);

 private:
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  MDB_txn* txn_ = nullptr;
};

// A cursor over one database. Position with Seek/First, then Next until
// !Valid().
class Cursor {
 public:
  static Result<Cursor> Open(const Txn& txn, MDB_dbi db);
  Cursor(Cursor&& other) noexcept
      : cursor_(other.cursor_), key_(other.key_), value_(other.value_), valid_(other.valid_) {
    other.cursor_ = nullptr;
  }
  ~Cursor() {
    if (cursor_) mdb_cursor_close(cursor_);
  }

  // Moves return nothing: a failed move leaves the cursor !Valid() and the
  // error in status(), which loops check once at the end.
  void First() { Move(MDB_FIRST); }
  void Last() { Move(MDB_LAST); }
  void Next() { Move(MDB_NEXT); }
  void Prev() { Move(MDB_PREV); }
  // The first key >= `key`.
  void Seek(ByteView key);

  bool Valid() const { return valid_; }
  const Status& status() const { return status_; }
  ByteView key() const { return View(key_); }
  ByteView value() const { return View(value_); }

 private:
  explicit Cursor(MDB_cursor* c) : cursor_(c) {}
  void Move(MDB_cursor_op op);
  Status status_;
  MDB_cursor* cursor_ = nullptr;
  MDB_val key_{}, value_{};
  bool valid_ = false;
};

}  // namespace ncen::storage::lmdb
