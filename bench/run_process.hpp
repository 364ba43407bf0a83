#pragma once

// Runs a benchmark step as its own process, so that time and peak RSS are its own.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace modelkeep::bench {

/// Wall time and peak resident memory of one child process.
struct ProcessRun {
  double seconds = 0;
  double peak_rss_mb = 0;
};

/// Runs argv (stdout to /dev/null when `quiet`), waits, exits the benchmark if it failed.
inline ProcessRun run_process(const std::vector<std::string>& argv, bool quiet)
{
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    if (quiet && std::freopen("/dev/null", "w", stdout) == nullptr) {
      ::_exit(126);
    }
    ::execvp(args[0], args.data());
    std::perror("exec");
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "bench: %s failed\n", argv[0].c_str());
    std::exit(1);
  }
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
          static_cast<double>(usage.ru_maxrss) / 1024.0};
}

} // namespace modelkeep::bench
