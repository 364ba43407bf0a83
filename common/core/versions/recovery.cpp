#include "core/versions/recovery.hpp"

#include "core/layout/store.hpp"
#include "core/versions/refs.hpp"

namespace modelkeep::core {

util::LockFile lock_for_writing(const Store& store, const std::string& command,
                                std::chrono::milliseconds timeout, const util::LockWaitNote& waiting)
{
  auto lock = store.acquire_lock(command, timeout, waiting);
  repair_latest(store);
  finish_stage_move(store);
  return lock;
}

} // namespace modelkeep::core
