#include "cli.hpp"

#include <cstdio>
#include <iostream>

namespace modelkeep::versioner {

namespace {
bool s_document_emitted = false;
}

bool document_emitted()
{
  return s_document_emitted;
}

core::Store Context::store() const
{
  return core::Store(core::Store::choose_root(m_options.root));
}

util::LockFile Context::lock(const core::Store& store, const std::string& command) const
{
  const auto timeout =
      std::chrono::milliseconds(static_cast<long long>(m_options.lock_timeout_seconds * 1000));
  return store.lock_for_writing("model-versioner " + command, timeout);
}

void Context::emit(const nlohmann::json& doc, const std::function<void()>& text) const
{
  if (m_options.json) {
    std::cout << doc.dump(2) << '\n';
    s_document_emitted = true;
  } else if (!m_options.quiet) {
    text();
  }
}

void Context::print_result(const std::string& text) const
{
  if (!m_options.json) {
    std::cout << text << '\n';
  }
}

void Context::note(const std::string& message) const
{
  if (!m_options.quiet && !m_options.json) {
    std::cout.flush();
    std::fprintf(stderr, "%s\n", message.c_str());
  }
}

const char* tool_version()
{
  return MODELKEEP_VERSION;
}

} // namespace modelkeep::versioner
