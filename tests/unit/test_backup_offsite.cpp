#include "core/backup/offsite.hpp"

#include "test_support.hpp"
#include "util/error.hpp"

#include <cstdlib>
#include <doctest/doctest.h>

using namespace modelkeep;
namespace fs = std::filesystem;

TEST_CASE("a repository is shown without the password in its URL")
{
  core::ResticConfig config;
  config.repository = "rest:https://user:s3cret@host:8000/repo";
  CHECK(config.shown_repository() == "rest:https://user:***@host:8000/repo");
  config.repository = "rest:https://host:8000/user@repo";
  CHECK(config.shown_repository() == config.repository);
  config.repository = "sftp:backup@nas:/srv/restic";
  CHECK(config.shown_repository() == config.repository);
  config.repository = "/local/path";
  CHECK(config.shown_repository() == "/local/path");
}

TEST_CASE("restic settings: --repo over RESTIC_REPOSITORY over config.json, a password file is required")
{
  test::ScratchStore s("m");
  ::unsetenv("RESTIC_REPOSITORY");
  ::unsetenv("RESTIC_PASSWORD_FILE");
  ::unsetenv("MODELKEEP_RESTIC_TIMEOUT");
  CHECK_THROWS_AS((void)core::load_restic_config(s.store, std::nullopt), Error);
  // A relative password file is relative to the config file's directory (the root's .modelkeep/).
  test::write_text(s.store.root() / "pw", "secret\n");
  test::write_text(s.store.root_state_dir() / "config.json",
                   R"({"offsite": {"repository": "/from/config", "password_file": "../pw",
                       "options": {"sftp.command": "x y"}, "timeout_seconds": 60}})");
  auto config = core::load_restic_config(s.store, std::nullopt);
  CHECK(config.repository == "/from/config");
  CHECK(config.password_file == s.store.root() / "pw");
  CHECK(config.options.size() == 1);
  CHECK(config.timeout == std::chrono::seconds(60));
  ::setenv("RESTIC_REPOSITORY", "/from/env", 1);
  CHECK(core::load_restic_config(s.store, std::nullopt).repository == "/from/env");
  CHECK(core::load_restic_config(s.store, std::string("/from/flag")).repository == "/from/flag");
  ::setenv("RESTIC_PASSWORD_FILE", (s.dir / "missing").c_str(), 1);
  try {
    (void)core::load_restic_config(s.store, std::nullopt);
    FAIL("a missing password file was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::failed);
  }
  ::unsetenv("RESTIC_REPOSITORY");
  ::unsetenv("RESTIC_PASSWORD_FILE");
  test::write_text(s.store.root_state_dir() / "config.json", R"({"offsite": {"repository": 5}})");
  CHECK_THROWS_AS((void)core::load_restic_config(s.store, std::nullopt), Error);
}
