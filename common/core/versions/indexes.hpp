#pragma once

// The two derived indexes a write must keep fresh: the model's list index (versions/index.json,
// what `list` reads) and the model's entry in the root's catalog (catalog.json). Both are
// caches of the metadata, which stays the source of truth.

namespace modelkeep::core {

class Store;

/// Rebuilds the model's list index (reusing fresh entries unless `full`) and its entry in the
/// catalog. Every writer calls it after a change, with the model's lock held.
void refresh_indexes(const Store& store, bool full = false);

} // namespace modelkeep::core
