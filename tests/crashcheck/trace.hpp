#pragma once

// The recorder of tests/crashcheck: an abstract file system (Tree), the operations that change
// it (Op) and a util::Env that performs every operation on the real disk and appends it, with
// the bytes written, to a trace. A crash state is the initial tree with a chosen subset of the
// trace applied in order (crashcheck.cpp decides which subsets the persistence model allows).

#include "util/env.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::crashcheck {

namespace fs = std::filesystem;

enum class NodeKind { file, dir, symlink };

/// A file, directory or symbolic link: an inode.
struct Node {
  NodeKind kind = NodeKind::file;
  unsigned mode = 0644;
  std::string data;                    ///< a file's bytes, a link's target
  std::map<std::string, int> entries;  ///< a directory's names -> nodes
};

enum class OpKind { create, mkdir, symlink, link, unlink, rmdir, rename, exchange, write, truncate, chmod, fsync };

[[nodiscard]] const char* op_name(OpKind kind);

/// One operation as the disk saw it.
struct Op {
  OpKind kind = OpKind::write;
  int node = -1;          ///< the inode concerned (the new one for create, mkdir, symlink)
  int other = -1;         ///< exchange: the inode at the second name
  int dir = -1;           ///< the directory of the name changed
  std::string name;
  int dir2 = -1;          ///< rename, exchange: the second directory and name
  std::string name2;
  std::uint64_t offset = 0; ///< write: where; truncate: the new size
  std::string data;       ///< write: the bytes
  unsigned mode = 0;      ///< chmod
  std::string path;       ///< for messages: the path as the program named it

  /// True for an operation on directory entries (made durable by an fsync of its directory).
  [[nodiscard]] bool names() const;
  /// The inode whose fsync makes this operation durable under the POSIX model.
  [[nodiscard]] int durable_with() const;
};

/// An abstract file system: node 0 is the root directory.
class Tree {
public:
  /// The tree under `root` on disk (hard links share a node).
  [[nodiscard]] static Tree scan(const fs::path& root);

  int add(Node node);
  void apply(const Op& op);
  /// The node at `parts` below the root, following symlinks inside the tree (the last one
  /// too when `follow_last`); -1 if absent.
  [[nodiscard]] int resolve(const std::vector<std::string>& parts, bool follow_last) const;
  /// Writes the tree to `root` (which must not exist), hard links and modes included.
  void materialize(const fs::path& root) const;
  /// A digest of everything reachable from `node` (names, kinds, modes, contents, links).
  [[nodiscard]] std::string fingerprint(int node = 0) const;

  std::vector<Node> nodes;
};

/// Records every operation the program makes below `root` while installed (util::ScopedEnv).
/// Operations elsewhere pass through unrecorded.
class RecordingEnv : public util::Env {
public:
  explicit RecordingEnv(const fs::path& root);

  /// A planted fault for testing the checker: directory fsyncs still happen but are not
  /// recorded, as if the program never made its renames durable.
  bool forget_directory_fsyncs = false;

  int open(const fs::path& path, int flags, unsigned mode) override;
  int close(int fd) override;
  ssize_t write(int fd, const void* data, std::size_t size) override;
  ssize_t pwrite(int fd, const void* data, std::size_t size, off_t offset) override;
  int fsync(int fd) override;
  int fchmod(int fd, unsigned mode) override;
  int chmod(const fs::path& path, unsigned mode) override;
  int rename(const fs::path& from, const fs::path& to) override;
  int exchange(const fs::path& a, const fs::path& b) override;
  int link(const fs::path& from, const fs::path& to) override;
  int symlink(const fs::path& target, const fs::path& link) override;
  int unlink(const fs::path& path) override;
  int mkdir(const fs::path& path, unsigned mode) override;
  int rmdir(const fs::path& path) override;
  int reflink(int dest_fd, int source_fd) override;

  /// The tree before the first operation, with a blank node for each one created since
  /// (so that applying any subset of the trace to it is well defined).
  [[nodiscard]] Tree start() const;
  /// The tree as it is now (every operation applied).
  [[nodiscard]] const Tree& now() const { return m_live; }
  [[nodiscard]] const std::vector<Op>& trace() const { return m_trace; }
  /// Changes below the root the trace could not follow: a write that bypassed the Env.
  [[nodiscard]] const std::vector<std::string>& untraced() const { return m_untraced; }

private:
  struct Where {
    int dir = -1;
    std::string name;
    int node = -1; ///< what is there now, or -1
  };
  std::optional<std::vector<std::string>> inside(const fs::path& path) const;
  std::optional<Where> where(const fs::path& path, bool follow_last);
  void record(Op op);
  int born(NodeKind kind, unsigned mode, std::string data = {});
  unsigned mode_on_disk(const fs::path& path) const;

  int node_of(int fd);
  /// Records `n` bytes written to `fd` at `offset` (nothing for n <= 0 or an untraced file).
  void wrote(int fd, const void* data, ssize_t n, std::uint64_t offset);
  /// Records an fsync or chmod of `node` (nothing for -1).
  void on_node(OpKind kind, int node, unsigned mode, const std::string& path);
  /// Performs `call` (a rename or exchange of a and b) and records it.
  int moved(OpKind kind, const fs::path& a, const fs::path& b, const std::function<int()>& call);
  /// Records `kind` of the name `at` (about `node`) if the call's result `r` is success.
  int named(OpKind kind, const fs::path& path, int node, const std::optional<Where>& at, int r);

  fs::path m_root;
  Tree m_initial;
  Tree m_live;
  std::vector<Node> m_births;
  std::vector<Op> m_trace;
  std::map<int, int> m_fds;              ///< descriptor -> node
  std::map<int, std::string> m_fd_paths; ///< descriptor -> the path it was opened by
  std::vector<std::string> m_untraced;
  mutable std::recursive_mutex m_mutex;
};

} // namespace modelkeep::crashcheck
