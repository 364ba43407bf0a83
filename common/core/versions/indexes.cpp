#include "core/versions/indexes.hpp"

#include "core/versions/catalog.hpp"
#include "core/versions/list_index.hpp"

namespace modelkeep::core {

void refresh_indexes(const Store& store, bool full)
{
  const auto index = build_index(store, full);
  write_index(store, index);
  update_catalog(store, index);
}

} // namespace modelkeep::core
