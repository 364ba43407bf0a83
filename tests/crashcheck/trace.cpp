#include "trace.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"

#include <cerrno>
#include <fcntl.h>
#include <functional>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace modelkeep::crashcheck {

const char* op_name(OpKind kind)
{
  static const char* const names[] = {"create", "mkdir",  "symlink", "link",     "unlink", "rmdir",
                                      "rename", "exchange", "write", "truncate", "chmod",  "fsync"};
  return names[static_cast<int>(kind)];
}

bool Op::names() const
{
  switch (kind) {
  case OpKind::create:
  case OpKind::mkdir:
  case OpKind::symlink:
  case OpKind::link:
  case OpKind::unlink:
  case OpKind::rmdir:
  case OpKind::rename:
  case OpKind::exchange:
    return true;
  default:
    return false;
  }
}

int Op::durable_with() const
{
  if (kind == OpKind::rename || kind == OpKind::exchange) {
    return dir2;
  }
  return names() ? dir : node;
}

// ---- Tree ----

int Tree::add(Node node)
{
  nodes.push_back(std::move(node));
  return static_cast<int>(nodes.size()) - 1;
}

namespace {

bool is_dir(const Tree& tree, int node)
{
  return node >= 0 && node < static_cast<int>(tree.nodes.size()) && tree.nodes[node].kind == NodeKind::dir;
}

std::vector<std::string> split(const fs::path& relative)
{
  std::vector<std::string> parts;
  for (const auto& part : relative) {
    const std::string s = part.string();
    if (!s.empty() && s != ".") {
      parts.push_back(s);
    }
  }
  return parts;
}

} // namespace

void Tree::apply(const Op& op)
{
  auto set_entry = [&](int dir, const std::string& name, int node) {
    if (is_dir(*this, dir)) {
      nodes[dir].entries[name] = node;
    }
  };
  auto erase_entry = [&](int dir, const std::string& name) {
    if (is_dir(*this, dir)) {
      nodes[dir].entries.erase(name);
    }
  };
  switch (op.kind) {
  case OpKind::create:
  case OpKind::mkdir:
  case OpKind::symlink:
  case OpKind::link:
    set_entry(op.dir, op.name, op.node);
    break;
  case OpKind::unlink:
  case OpKind::rmdir:
    erase_entry(op.dir, op.name);
    break;
  case OpKind::rename:
    if (is_dir(*this, op.dir)) {
      auto it = nodes[op.dir].entries.find(op.name);
      if (it != nodes[op.dir].entries.end() && it->second == op.node) {
        nodes[op.dir].entries.erase(it);
      }
    }
    set_entry(op.dir2, op.name2, op.node);
    break;
  case OpKind::exchange:
    set_entry(op.dir, op.name, op.other);
    set_entry(op.dir2, op.name2, op.node);
    break;
  case OpKind::write: {
    std::string& data = nodes[op.node].data;
    if (data.size() < op.offset + op.data.size()) {
      data.resize(op.offset + op.data.size(), '\0');
    }
    data.replace(op.offset, op.data.size(), op.data);
    break;
  }
  case OpKind::truncate:
    nodes[op.node].data.resize(op.offset, '\0');
    break;
  case OpKind::chmod:
    nodes[op.node].mode = op.mode;
    break;
  case OpKind::fsync:
    break;
  }
}

int Tree::resolve(const std::vector<std::string>& parts, bool follow_last) const
{
  // Components are resolved one by one; a symlink inside the tree is followed by resolving
  // its target (relative to its directory) from the root. 40 links at most, as Linux.
  std::vector<std::string> pending(parts.rbegin(), parts.rend());
  std::vector<int> stack{0};
  int links = 0;
  while (!pending.empty()) {
    const std::string part = pending.back();
    pending.pop_back();
    if (part == "..") {
      if (stack.size() > 1) {
        stack.pop_back();
      }
      continue;
    }
    const int dir = stack.back();
    if (!is_dir(*this, dir)) {
      return -1;
    }
    const auto it = nodes[dir].entries.find(part);
    if (it == nodes[dir].entries.end()) {
      return -1;
    }
    const Node& node = nodes[it->second];
    if (node.kind == NodeKind::symlink && (follow_last || !pending.empty())) {
      if (++links > 40 || fs::path(node.data).is_absolute()) {
        return -1; // absolute targets leave the tree
      }
      for (auto p : [&] {
             auto target = split(node.data);
             return std::vector<std::string>(target.rbegin(), target.rend());
           }()) {
        pending.push_back(p);
      }
      continue;
    }
    stack.push_back(it->second);
  }
  return stack.back();
}

Tree Tree::scan(const fs::path& root)
{
  Tree tree;
  std::map<std::pair<dev_t, ino_t>, int> seen;
  std::function<int(const fs::path&)> visit = [&](const fs::path& path) -> int {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      throw_errno("cannot stat", path);
    }
    const auto key = std::make_pair(st.st_dev, st.st_ino);
    if (!S_ISDIR(st.st_mode)) {
      if (const auto it = seen.find(key); it != seen.end()) {
        return it->second;
      }
    }
    Node node;
    node.mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      node.kind = NodeKind::dir;
      const int id = tree.add(node);
      std::vector<std::string> names;
      for (const auto& entry : fs::directory_iterator(path)) {
        names.push_back(entry.path().filename().string());
      }
      for (const auto& name : names) {
        const int child = visit(path / name);
        if (child >= 0) {
          tree.nodes[id].entries[name] = child;
        }
      }
      return id;
    }
    if (S_ISLNK(st.st_mode)) {
      node.kind = NodeKind::symlink;
      node.data = fs::read_symlink(path).string();
    } else if (S_ISREG(st.st_mode)) {
      node.data = util::read_file(path, 1ULL << 32);
    } else {
      return -1; // sockets and pipes are not content
    }
    const int id = tree.add(std::move(node));
    seen[key] = id;
    return id;
  };
  visit(root);
  return tree;
}

void Tree::materialize(const fs::path& root) const
{
  std::map<int, fs::path> placed;
  std::vector<std::pair<fs::path, unsigned>> dir_modes;
  std::set<int> open_dirs;
  std::function<void(int, const fs::path&)> build = [&](int id, const fs::path& path) {
    const Node& node = nodes[id];
    switch (node.kind) {
    case NodeKind::dir: {
      if (!open_dirs.insert(id).second) {
        break; // a directory reachable twice is made once
      }
      if (::mkdir(path.c_str(), 0700) != 0) {
        throw_errno("cannot create directory", path);
      }
      for (const auto& [name, child] : node.entries) {
        build(child, path / name);
      }
      dir_modes.emplace_back(path, node.mode);
      break;
    }
    case NodeKind::symlink:
      if (::symlink(node.data.c_str(), path.c_str()) != 0) {
        throw_errno("cannot create symlink", path);
      }
      break;
    case NodeKind::file:
      if (const auto it = placed.find(id); it != placed.end()) {
        if (::link(it->second.c_str(), path.c_str()) != 0) {
          throw_errno("cannot link", path);
        }
        break;
      }
      {
        util::UniqueFd fd = util::create_exclusive(path, 0600);
        util::write_all(fd.get(), node.data, path);
        ::fchmod(fd.get(), node.mode);
        fd.close(path);
      }
      placed[id] = path;
      break;
    }
  };
  build(0, root);
  for (const auto& [path, mode] : dir_modes) { // children before parents
    ::chmod(path.c_str(), mode);
  }
}

std::string Tree::fingerprint(int root) const
{
  if (root < 0) {
    return "absent";
  }
  util::Sha256 hasher;
  std::map<int, std::string> first_path;
  std::set<int> open_dirs;
  std::function<void(int, const std::string&)> visit = [&](int id, const std::string& path) {
    const Node& node = nodes[id];
    std::string line = path + '\t' + std::to_string(static_cast<int>(node.kind)) + '\t' + std::to_string(node.mode);
    if (node.kind != NodeKind::dir) {
      const auto [it, first] = first_path.emplace(id, path);
      line += first ? '\t' + util::sha256_hex(node.data) : "\tlink to " + it->second;
    }
    line += '\n';
    hasher.update(line.data(), line.size());
    if (node.kind == NodeKind::dir && open_dirs.insert(id).second) {
      for (const auto& [name, child] : node.entries) {
        visit(child, path + '/' + name);
      }
    }
  };
  visit(root, ".");
  return hasher.hex_final();
}

// ---- RecordingEnv ----

RecordingEnv::RecordingEnv(const fs::path& root)
    : m_root(fs::canonical(root)), m_initial(Tree::scan(m_root)), m_live(m_initial)
{
}

Tree RecordingEnv::start() const
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  Tree tree = m_initial;
  tree.nodes.insert(tree.nodes.end(), m_births.begin(), m_births.end());
  return tree;
}

int RecordingEnv::node_of(int fd)
{
  if (const auto it = m_fds.find(fd); it != m_fds.end()) {
    return it->second;
  }
  // Opened for reading outside the Env (open_for_reading): found by the name it has now.
  std::error_code ec;
  const fs::path path = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  const auto at = ec ? std::nullopt : where(path, false);
  return at ? at->node : -1;
}

std::optional<std::vector<std::string>> RecordingEnv::inside(const fs::path& path) const
{
  const fs::path absolute = (path.is_absolute() ? path : fs::current_path() / path).lexically_normal();
  const fs::path relative = absolute.lexically_relative(m_root);
  if (relative.empty() || (relative.begin() != relative.end() && *relative.begin() == "..")) {
    return std::nullopt;
  }
  return split(relative);
}

std::optional<RecordingEnv::Where> RecordingEnv::where(const fs::path& path, bool follow_last)
{
  auto parts = inside(path);
  if (!parts) {
    return std::nullopt;
  }
  Where at;
  if (parts->empty()) {
    at.node = 0; // the root itself
    return at;
  }
  at.name = parts->back();
  at.node = m_live.resolve(*parts, follow_last);
  parts->pop_back();
  at.dir = m_live.resolve(*parts, true);
  return at;
}

void RecordingEnv::record(Op op)
{
  m_live.apply(op);
  m_trace.push_back(std::move(op));
}

int RecordingEnv::born(NodeKind kind, unsigned mode, std::string data)
{
  Node node;
  node.kind = kind;
  node.mode = mode;
  node.data = std::move(data);
  m_births.push_back(node);
  return m_live.add(std::move(node));
}

unsigned RecordingEnv::mode_on_disk(const fs::path& path) const
{
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0644;
}

int RecordingEnv::open(const fs::path& path, int flags, unsigned mode)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const auto at = where(path, (flags & O_NOFOLLOW) == 0);
  const int fd = Env::open(path, flags, mode);
  if (fd < 0 || !at) {
    return fd;
  }
  int node = at->node;
  if (node < 0) {
    if ((flags & O_CREAT) == 0 || at->dir < 0) {
      m_untraced.push_back("opened " + path.string() + ", which the trace does not know");
      return fd;
    }
    const int saved = errno;
    node = born(NodeKind::file, mode_on_disk(path));
    Op op;
    op.kind = OpKind::create;
    op.node = node;
    op.dir = at->dir;
    op.name = at->name;
    op.path = path.string();
    record(std::move(op));
    errno = saved;
  } else if ((flags & O_TRUNC) != 0 && m_live.nodes[node].kind == NodeKind::file) {
    Op op;
    op.kind = OpKind::truncate;
    op.node = node;
    op.path = path.string();
    record(std::move(op));
  }
  m_fds[fd] = node;
  m_fd_paths[fd] = path.string();
  return fd;
}

int RecordingEnv::close(int fd)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  m_fds.erase(fd);
  m_fd_paths.erase(fd);
  return Env::close(fd);
}

void RecordingEnv::wrote(int fd, const void* data, ssize_t n, std::uint64_t offset)
{
  const int node = node_of(fd);
  if (n <= 0 || node < 0) {
    return;
  }
  Op op;
  op.kind = OpKind::write;
  op.node = node;
  op.offset = offset;
  op.data.assign(static_cast<const char*>(data), static_cast<std::size_t>(n));
  op.path = m_fd_paths[fd];
  record(std::move(op));
}

ssize_t RecordingEnv::write(int fd, const void* data, std::size_t size)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const ssize_t n = Env::write(fd, data, size);
  if (n > 0) {
    wrote(fd, data, n, static_cast<std::uint64_t>(::lseek(fd, 0, SEEK_CUR) - n));
  }
  return n;
}

ssize_t RecordingEnv::pwrite(int fd, const void* data, std::size_t size, off_t offset)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const ssize_t n = Env::pwrite(fd, data, size, offset);
  wrote(fd, data, n, static_cast<std::uint64_t>(offset));
  return n;
}

void RecordingEnv::on_node(OpKind kind, int node, unsigned mode, const std::string& path)
{
  if (node < 0) {
    return;
  }
  Op op;
  op.kind = kind;
  op.node = node;
  op.mode = mode & 07777;
  op.path = path;
  record(std::move(op));
}

int RecordingEnv::fsync(int fd)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const int r = Env::fsync(fd);
  const int node = node_of(fd);
  if (r == 0 && !(forget_directory_fsyncs && node >= 0 && m_live.nodes[node].kind == NodeKind::dir)) {
    on_node(OpKind::fsync, node, 0, m_fd_paths[fd]);
  }
  return r;
}

int RecordingEnv::fchmod(int fd, unsigned mode)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const int r = Env::fchmod(fd, mode);
  if (r == 0) {
    on_node(OpKind::chmod, node_of(fd), mode, m_fd_paths[fd]);
  }
  return r;
}

int RecordingEnv::chmod(const fs::path& path, unsigned mode)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const auto at = where(path, true);
  const int r = Env::chmod(path, mode);
  if (r == 0 && at) {
    on_node(OpKind::chmod, at->node, mode, path.string());
  }
  return r;
}

int RecordingEnv::moved(OpKind kind, const fs::path& a, const fs::path& b, const std::function<int()>& call)
{
  const auto x = where(a, false);
  const auto y = where(b, false);
  const int r = call();
  if (r != 0 || (!x && !y)) {
    return r;
  }
  const bool both = kind == OpKind::exchange;
  if (!x || !y || x->node < 0 || y->dir < 0 || (both && y->node < 0)) {
    const int saved = errno;
    m_untraced.push_back(std::string(op_name(kind)) + " of " + a.string() + " and " + b.string() +
                         " outside what the trace knows");
    errno = saved;
    return r;
  }
  Op op;
  op.kind = kind;
  op.node = x->node;
  op.other = both ? y->node : -1;
  op.dir = x->dir;
  op.name = x->name;
  op.dir2 = y->dir;
  op.name2 = y->name;
  op.path = b.string();
  record(std::move(op));
  return r;
}

int RecordingEnv::rename(const fs::path& from, const fs::path& to)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  return moved(OpKind::rename, from, to, [&] { return Env::rename(from, to); });
}

int RecordingEnv::exchange(const fs::path& a, const fs::path& b)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  return moved(OpKind::exchange, a, b, [&] { return Env::exchange(a, b); });
}

int RecordingEnv::named(OpKind kind, const fs::path& path, int node, const std::optional<Where>& at, int r)
{
  if (r != 0 || !at) {
    return r;
  }
  if (at->dir < 0) {
    const int saved = errno;
    m_untraced.push_back(std::string(op_name(kind)) + " " + path.string() + " in a directory the trace does not know");
    errno = saved;
    return r;
  }
  Op op;
  op.kind = kind;
  op.node = node;
  op.dir = at->dir;
  op.name = at->name;
  op.path = path.string();
  record(std::move(op));
  return r;
}

int RecordingEnv::link(const fs::path& from, const fs::path& to)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const auto a = where(from, false);
  const auto b = where(to, false);
  const int r = Env::link(from, to);
  if (r == 0 && b && (!a || a->node < 0)) {
    m_untraced.push_back("linked " + to.string() + " to a file the trace does not know");
    return r;
  }
  return named(OpKind::link, to, a ? a->node : -1, b, r);
}

int RecordingEnv::symlink(const fs::path& target, const fs::path& link)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const auto at = where(link, false);
  const int r = Env::symlink(target, link);
  const int node = r == 0 && at && at->dir >= 0 ? born(NodeKind::symlink, 0777, target.string()) : -1;
  return named(OpKind::symlink, link, node, at, r);
}

int RecordingEnv::unlink(const fs::path& path)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const auto at = where(path, false);
  return named(OpKind::unlink, path, at ? at->node : -1, at, Env::unlink(path));
}

int RecordingEnv::mkdir(const fs::path& path, unsigned mode)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const auto at = where(path, false);
  const int r = Env::mkdir(path, mode);
  const int node = r == 0 && at && at->dir >= 0 ? born(NodeKind::dir, mode_on_disk(path)) : -1;
  return named(OpKind::mkdir, path, node, at, r);
}

int RecordingEnv::rmdir(const fs::path& path)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const auto at = where(path, false);
  return named(OpKind::rmdir, path, at ? at->node : -1, at, Env::rmdir(path));
}

int RecordingEnv::reflink(int dest_fd, int source_fd)
{
  const std::lock_guard<std::recursive_mutex> lock(m_mutex);
  const int r = Env::reflink(dest_fd, source_fd);
  const int dest = node_of(dest_fd);
  if (r != 0 || dest < 0) {
    return r;
  }
  const int source = node_of(source_fd);
  if (source < 0) {
    m_untraced.push_back("reflinked from a file the trace does not know");
    return r;
  }
  Op op;
  op.kind = OpKind::write;
  op.node = dest;
  op.data = m_live.nodes[source].data;
  record(std::move(op));
  return r;
}

} // namespace modelkeep::crashcheck
