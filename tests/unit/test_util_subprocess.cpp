#include "util/subprocess.hpp"

#include <chrono>
#include <doctest/doctest.h>

using namespace modelkeep;

TEST_CASE("run_process passes stdin and environment and reports the exit code")
{
  util::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "read line; echo \"$line $GREETING\"; exit 3"};
  spec.stdin_text = "hello\n";
  spec.set_env = {{"GREETING", "world"}};
  spec.capture_stdout = true;
  const auto result = util::run_process(spec);
  CHECK(result.exit_code == 3);
  CHECK_FALSE(result.ok());
  CHECK(result.out == "hello world\n");
  CHECK(result.describe(spec.timeout) == "exit 3");
}

TEST_CASE("run_process removes variables and delivers stdout line by line")
{
  ::setenv("MODELKEEP_TEST_SECRET", "x", 1);
  util::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo \"[${MODELKEEP_TEST_SECRET:-unset}]\"; printf 'a\\nb'"};
  spec.unset_env = {"MODELKEEP_TEST_SECRET"};
  spec.capture_stdout = true;
  std::vector<std::string> lines;
  spec.on_stdout_line = [&](std::string_view line) { lines.emplace_back(line); };
  const auto result = util::run_process(spec);
  ::unsetenv("MODELKEEP_TEST_SECRET");
  CHECK(result.ok());
  CHECK(lines == std::vector<std::string>{"[unset]", "a", "b"});
}

TEST_CASE("run_process kills a program (and its children) at the timeout")
{
  util::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "sleep 30 & sleep 30; wait"};
  spec.timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  const auto result = util::run_process(spec);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(result.timed_out);
  CHECK_FALSE(result.ok());
  CHECK(took < std::chrono::seconds(10));
  CHECK(result.describe(spec.timeout).find("timed out") == 0);
}

TEST_CASE("run_process reports a program that cannot be executed, and one that ignores its input")
{
  util::ProcessSpec missing;
  missing.argv = {"/nonexistent/modelkeep-no-such-program"};
  CHECK(util::run_process(missing).not_found);

  util::ProcessSpec deaf;
  deaf.argv = {"/bin/true"};
  deaf.stdin_text = std::string(1 << 20, 'x'); // more than a pipe holds: must not block or SIGPIPE
  CHECK(util::run_process(deaf).ok());
}
