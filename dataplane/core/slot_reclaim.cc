#include "dataplane/core/slot_reclaim.h"

#include <rte_hash_crc.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace l2tpgw {

namespace {

// rte_hash compares keys of these sizes with a memcmp call (5% of a worker
// on the session path, per perf): a load and a compare do it.
template <typename Key>
int key_cmp(const void* a, const void* b, std::size_t) {
  Key x;
  Key y;
  std::memcpy(&x, a, sizeof x);
  std::memcpy(&y, b, sizeof y);
  return x != y;
}

}  // namespace

rte_hash* make_lf_hash(const char* name, std::uint32_t entries, std::uint32_t key_len, int socket) {
  rte_hash_parameters hp{};
  hp.name = name;
  // Cuckoo tables fill badly near capacity: twice the slots keeps every
  // insertion of `entries` keys successful.
  hp.entries = std::max<std::uint32_t>(entries * 2, 64);
  hp.key_len = key_len;
  hp.hash_func = rte_hash_crc;
  hp.socket_id = socket;
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  rte_hash* h = rte_hash_create(&hp);
  if (h == nullptr) {
    throw std::runtime_error(std::string("cannot create hash ") + name + " of " +
                             std::to_string(entries) + " entries");
  }
  if (key_len == sizeof(std::uint32_t)) {
    rte_hash_set_cmp_func(h, key_cmp<std::uint32_t>);
  } else if (key_len == sizeof(std::uint64_t)) {
    rte_hash_set_cmp_func(h, key_cmp<std::uint64_t>);
  }
  return h;
}

}  // namespace l2tpgw
