#pragma once

// What every writer does first: take the model's lock and repair what a killed run left
// half-done, so that each command starts from a consistent store.

#include "util/lockfile.hpp"

#include <chrono>
#include <string>

namespace modelkeep::core {

class Store;

/// Takes the model's writer lock for `command` (Error(locked) after `timeout`), removes the
/// temporaries of killed runs, points `latest` at the newest version and completes a stage
/// move a crash interrupted (its event logged; versions/refs.hpp). Every writer of a
/// model calls this (through commands::Session::lock). `waiting` is told when another holds it.
[[nodiscard]] util::LockFile lock_for_writing(const Store& store, const std::string& command,
                                              std::chrono::milliseconds timeout,
                                              const util::LockWaitNote& waiting = {});

} // namespace modelkeep::core
