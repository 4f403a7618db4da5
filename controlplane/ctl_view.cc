#include "controlplane/ctl_view.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace l2tpgw::cp {
namespace {

// Counter structs are arrays of u64 (static_asserts below), so they can be
// read word by word.
template <typename T>
void load_all(const T& src, T& dst) noexcept {
  static_assert(sizeof(T) % sizeof(std::uint64_t) == 0);
  const auto* s = reinterpret_cast<const std::uint64_t*>(&src);
  auto* d = reinterpret_cast<std::uint64_t*>(&dst);
  for (std::size_t i = 0; i < sizeof(T) / sizeof(std::uint64_t); ++i) {
    d[i] = load_counter(s[i]);
  }
}

// Sums a counter struct of the shared segment, read word by word.
template <typename T>
void add_to(T& sum, const T& shared) noexcept {
  T v{};
  load_all(shared, v);
  add_counters(sum, v);
}

}  // namespace

std::uint64_t load_counter(const std::uint64_t& c) noexcept {
  // The writer is another process; atomic_ref makes the read a single load.
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(c))
      .load(std::memory_order_relaxed);
}

std::vector<SaView> collect_sas(const channel::Segment& seg) {
  std::vector<SaView> out;
  const auto dir = seg.sa_dir();
  for (std::uint32_t slot = 0; slot < dir.size(); ++slot) {
    SaView v{};
    if (!channel::read_dir_entry(dir[slot], v.params, v.installed_unix_ns)) {
      continue;
    }
    v.slot = slot;
    for (unsigned w = 0; w < seg.header().n_workers; ++w) {
      add_to(v.counters, seg.sa_counters(w)[slot]);
    }
    out.push_back(v);
  }
  return out;
}

// The directory index is the slot of the session's counters.
std::vector<SessionView> collect_sessions(const channel::Segment& seg) {
  std::vector<SessionView> out;
  const auto dir = seg.session_dir();
  for (std::uint32_t slot = 0; slot < dir.size(); ++slot) {
    SessionView v{};
    if (!channel::read_dir_entry(dir[slot], v.params, v.installed_unix_ns)) {
      continue;
    }
    v.slot = slot;
    for (unsigned w = 0; w < seg.header().n_workers; ++w) {
      add_to(v.counters, seg.session_counters(w)[slot]);
    }
    out.push_back(v);
  }
  return out;
}

WorkerCounters read_worker(const channel::Segment& seg, unsigned worker) {
  WorkerCounters c{};
  load_all(seg.worker_counters(worker), c);
  return c;
}

PortCounters read_port(const channel::Segment& seg, unsigned port) {
  PortCounters c{};
  load_all(seg.port_counters()[port], c);
  return c;
}

std::string port_name(const channel::Segment& seg, unsigned port) {
  const char* n = seg.header().port_names[port];
  return std::string(n, strnlen(n, sizeof seg.header().port_names[port]));
}

std::vector<DropView> collect_drops(const channel::Segment& seg) {
  std::vector<DropView> out;
  for (unsigned r = 0; r < n_drop_reasons; ++r) {
    out.push_back({static_cast<Drop>(r), 0});
  }
  for (unsigned w = 0; w < seg.header().n_workers; ++w) {
    const WorkerCounters& c = seg.worker_counters(w);
    for (unsigned r = 0; r < n_drop_reasons; ++r) {
      out[r].count += load_counter(c.drops[r]);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const DropView& a, const DropView& b) { return a.count > b.count; });
  return out;
}

}  // namespace l2tpgw::cp
