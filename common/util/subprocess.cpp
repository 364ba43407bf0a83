#include "util/subprocess.hpp"

#include "util/error.hpp"
#include "util/file.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace modelkeep::util {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> child_environment(const ProcessSpec& spec)
{
  const auto replaced = [&](std::string_view entry) {
    const auto eq = entry.find('=');
    const std::string_view name = entry.substr(0, eq);
    for (const auto& unset : spec.unset_env) {
      if (name == unset) {
        return true;
      }
    }
    for (const auto& [key, value] : spec.set_env) {
      if (name == key) {
        return true;
      }
    }
    return false;
  };
  std::vector<std::string> env;
  for (char** it = environ; it != nullptr && *it != nullptr; ++it) {
    if (!replaced(*it)) {
      env.emplace_back(*it);
    }
  }
  for (const auto& [key, value] : spec.set_env) {
    env.push_back(key + "=" + value);
  }
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings)
{
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& s : strings) {
    result.push_back(s.data());
  }
  result.push_back(nullptr);
  return result;
}

UniqueFd stdin_file(const std::string& text)
{
  const int raw = ::memfd_create("modelkeep-stdin", MFD_CLOEXEC);
  if (raw < 0) {
    throw_errno("cannot create a memory file for a child's input", "memfd");
  }
  UniqueFd fd(raw);
  write_all(fd.get(), text, "memfd");
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
    throw_errno("cannot rewind a child's input", "memfd");
  }
  return fd;
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_pipe()
{
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw_errno("cannot create a pipe", "pipe");
  }
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

/// Reads what is available from `fd` into `sink`; false at end of file.
bool drain(int fd, std::string& sink)
{
  char buffer[65536];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n > 0) {
    sink.append(buffer, static_cast<std::size_t>(n));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

void deliver_lines(std::string& pending, std::size_t& delivered, const ProcessSpec& spec, bool final)
{
  if (!spec.on_stdout_line) {
    return;
  }
  for (;;) {
    const auto newline = pending.find('\n', delivered);
    if (newline == std::string::npos) {
      break;
    }
    spec.on_stdout_line(std::string_view(pending).substr(delivered, newline - delivered));
    delivered = newline + 1;
  }
  if (final && delivered < pending.size()) {
    spec.on_stdout_line(std::string_view(pending).substr(delivered));
    delivered = pending.size();
  }
}

} // namespace

std::string ProcessResult::describe(std::chrono::milliseconds timeout) const
{
  if (timed_out) {
    return "timed out after " + std::to_string(timeout.count() / 1000.0).substr(0, 4) + " s and was killed";
  }
  if (not_found) {
    return "could not be executed";
  }
  if (signal != 0) {
    return std::string("killed by signal ") + std::to_string(signal);
  }
  return "exit " + std::to_string(exit_code);
}

ProcessResult run_process(const ProcessSpec& spec)
{
  if (spec.argv.empty()) {
    throw Error(ExitCode::failed, "run_process: no program given");
  }
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<std::string> env_strings = child_environment(spec);
  const std::vector<char*> argv = pointers(argv_strings);
  const std::vector<char*> envp = pointers(env_strings);
  const UniqueFd input = stdin_file(spec.stdin_text);
  Pipe out = spec.capture_stdout ? make_pipe() : Pipe{};
  Pipe err = spec.capture_stderr ? make_pipe() : Pipe{};

  const pid_t pid = ::fork();
  if (pid < 0) {
    throw_errno("cannot start " + spec.argv[0], spec.argv[0]);
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(input.get(), STDIN_FILENO);
    ::dup2(spec.capture_stdout ? out.write.get() : STDERR_FILENO, STDOUT_FILENO);
    if (spec.capture_stderr) {
      ::dup2(err.write.get(), STDERR_FILENO);
    }
    ::execvpe(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  out.write = UniqueFd();
  err.write = UniqueFd();

  ProcessResult result;
  const auto deadline = Clock::now() + spec.timeout;
  std::size_t delivered = 0;
  bool out_open = out.read.get() >= 0;
  bool err_open = err.read.get() >= 0;
  int status = 0;
  bool exited = false;
  while (!exited) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      result.timed_out = true;
      ::waitpid(pid, &status, 0);
      break;
    }
    pollfd fds[2] = {{out_open ? out.read.get() : -1, POLLIN, 0},
                     {err_open ? err.read.get() : -1, POLLIN, 0}};
    const int wait_ms = static_cast<int>(std::min<long long>(left.count(), 10));
    if (::poll(fds, 2, wait_ms) > 0) {
      if (out_open && (fds[0].revents & (POLLIN | POLLHUP)) != 0) {
        out_open = drain(out.read.get(), result.out);
        deliver_lines(result.out, delivered, spec, false);
      }
      if (err_open && (fds[1].revents & (POLLIN | POLLHUP)) != 0) {
        err_open = drain(err.read.get(), result.err);
      }
    }
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    exited = done == pid;
  }
  // Output still buffered in the pipes after the child ended; a background grandchild that
  // keeps a pipe open does not hold us up: read only what is there.
  for (auto* fd : {&out.read, &err.read}) {
    if (fd->get() < 0) {
      continue;
    }
    ::fcntl(fd->get(), F_SETFL, O_NONBLOCK);
    std::string& sink = fd == &out.read ? result.out : result.err;
    char buffer[65536];
    ssize_t n = 0;
    while ((n = ::read(fd->get(), buffer, sizeof buffer)) > 0) {
      sink.append(buffer, static_cast<std::size_t>(n));
    }
  }
  deliver_lines(result.out, delivered, spec, true);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    result.not_found = result.exit_code == 127 && !result.timed_out;
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  if (result.timed_out) {
    result.exit_code = -1;
  }
  return result;
}

} // namespace modelkeep::util
