// Snapshots of the shared segment's directory and counters for the CLI.
// Each counter has one writer in the data plane; reads are relaxed loads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/channel/segment.h"

namespace l2tpgw::cp {

struct SaView {
  channel::SaParams params;
  std::uint64_t installed_unix_ns;
  std::uint32_t slot;
  SaCounters counters;  // summed over workers
};

struct SessionView {
  channel::SessionParams params;
  std::uint64_t installed_unix_ns;
  std::uint32_t slot;
  SessionCounters counters;  // summed over workers
};

struct DropView {
  Drop reason;
  std::uint64_t count;  // summed over workers
};

std::uint64_t load_counter(const std::uint64_t& c) noexcept;

// Counter structs are runs of u64 words: adds every word of c to sum, so a
// field added to a struct is summed without a line more here.
template <typename T>
void add_counters(T& sum, const T& c) noexcept {
  static_assert(sizeof(T) % sizeof(std::uint64_t) == 0);
  auto* s = reinterpret_cast<std::uint64_t*>(&sum);
  const auto* v = reinterpret_cast<const std::uint64_t*>(&c);
  for (std::size_t i = 0; i < sizeof(T) / sizeof(std::uint64_t); ++i) {
    s[i] += v[i];
  }
}

std::vector<SaView> collect_sas(const channel::Segment& seg);
std::vector<SessionView> collect_sessions(const channel::Segment& seg);
WorkerCounters read_worker(const channel::Segment& seg, unsigned worker);
PortCounters read_port(const channel::Segment& seg, unsigned port);
std::string port_name(const channel::Segment& seg, unsigned port);
// Every reason, sorted by count (highest first), then by reason.
std::vector<DropView> collect_drops(const channel::Segment& seg);

}  // namespace l2tpgw::cp
