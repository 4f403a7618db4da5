// The shared segment between the planes: a POSIX shared-memory object that
// the data plane creates at start and the control plane maps. It holds the
// four rings of messages.h, the counters of counters.h and a directory of
// installed SAs, all addressed by offsets so that both processes can map it
// anywhere. See docs/ARCHITECTURE.md, "The channel", for why this and not
// DPDK multi-process.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "dataplane/channel/counters.h"
#include "dataplane/channel/messages.h"

struct rte_ring;

namespace l2tpgw::channel {

inline constexpr std::uint64_t segment_magic = 0x6c3274706777'0001ull;  // "l2tpgw", 1
inline constexpr std::uint32_t max_ports = 4;

// What the data plane tells about an installed session.
struct SessionDirEntry {
  std::atomic<std::uint32_t> seq;  // odd while the data plane rewrites the entry
  std::uint32_t in_use;
  std::uint64_t installed_unix_ns;
  SessionParams params;
};

// What the data plane tells about an installed SA (no key material).
struct SaDirEntry {
  std::atomic<std::uint32_t> seq;  // odd while the data plane rewrites the entry
  std::uint32_t in_use;
  std::uint64_t installed_unix_ns;
  SaParams params;  // key fields zeroed
};

struct SegmentHeader {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t n_workers;
  std::uint32_t n_ports;
  std::uint32_t max_sas;
  std::uint32_t max_sessions;
  std::uint32_t reserved0;
  std::uint64_t total_size;
  std::uint64_t generation;  // unique per data-plane start
  std::uint64_t tsc_hz;
  std::int32_t dp_pid;
  std::uint32_t reserved;
  std::uint64_t off_cmd_ring;
  std::uint64_t off_tx_ring;
  std::uint64_t off_event_ring;
  std::uint64_t off_punt_ring;
  std::uint64_t off_port_counters;
  std::uint64_t off_worker_counters;
  std::uint64_t off_sa_counters;
  std::uint64_t off_sa_dir;
  std::uint64_t off_session_counters;
  std::uint64_t off_session_dir;
  char port_names[max_ports][32];
  std::atomic<std::uint64_t> dp_heartbeat_ns;  // CLOCK_MONOTONIC, main thread
  std::atomic<std::uint32_t> ready;
  std::atomic<std::int32_t> cp_pid;
  std::atomic<std::uint32_t> cp_synced;  // control plane pushed its initial state
};

struct SegmentGeometry {
  std::uint32_t n_workers;
  std::uint32_t n_ports;
  std::uint32_t max_sas;
  std::uint32_t max_sessions = 1024;
  std::uint32_t cmd_ring_size = 4096;    // SA changes in flight; a burst of rekeys
  std::uint32_t event_ring_size = 4096;  // acks + lifetime events
  // ~8 MB of packets: room for a burst of hang-ups (500 clients send about
  // 2 500 control packets at once) while the control plane catches up.
  std::uint32_t punt_ring_size = 4096;
  std::uint32_t tx_ring_size = 1024;
};

// A mapped segment, from either side.
class Segment {
 public:
  // Data plane: remove any segment of that name and create a new one.
  static Segment create(const std::string& name, const SegmentGeometry& geo);
  // Control plane: map an existing segment; throws std::runtime_error with
  // the reason when it is missing, of another version or not ready.
  static Segment attach(const std::string& name);

  Segment(Segment&& other) noexcept;
  Segment& operator=(Segment&& other) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();

  SegmentHeader& header() const noexcept { return *reinterpret_cast<SegmentHeader*>(_base); }
  rte_ring* cmd_ring() const noexcept { return at<rte_ring>(header().off_cmd_ring); }
  rte_ring* tx_ring() const noexcept { return at<rte_ring>(header().off_tx_ring); }
  rte_ring* event_ring() const noexcept { return at<rte_ring>(header().off_event_ring); }
  rte_ring* punt_ring() const noexcept { return at<rte_ring>(header().off_punt_ring); }

  std::span<PortCounters> port_counters() const noexcept {
    return {at<PortCounters>(header().off_port_counters), header().n_ports};
  }
  WorkerCounters& worker_counters(unsigned worker) const noexcept {
    return at<WorkerCounters>(header().off_worker_counters)[worker];
  }
  // The counters of every SA slot for one worker.
  std::span<SaCounters> sa_counters(unsigned worker) const noexcept {
    const auto n = header().max_sas;
    return {at<SaCounters>(header().off_sa_counters) + std::size_t{worker} * n, n};
  }
  std::span<SaDirEntry> sa_dir() const noexcept {
    return {at<SaDirEntry>(header().off_sa_dir), header().max_sas};
  }
  std::span<SessionCounters> session_counters(unsigned worker) const noexcept {
    const auto n = header().max_sessions;
    return {at<SessionCounters>(header().off_session_counters) + std::size_t{worker} * n, n};
  }
  std::span<SessionDirEntry> session_dir() const noexcept {
    return {at<SessionDirEntry>(header().off_session_dir), header().max_sessions};
  }

  static std::string shm_name(const std::string& name) { return "/l2tpgw-" + name; }

 private:
  Segment(std::uint8_t* base, std::size_t size) noexcept : _base(base), _size(size) {}
  template <typename T>
  T* at(std::uint64_t off) const noexcept {
    return reinterpret_cast<T*>(_base + off);
  }

  std::uint8_t* _base = nullptr;
  std::size_t _size = 0;
};

// Seqlock read of a directory entry: false when it is being rewritten or not
// in use.
// Seqlock write of a directory entry by its one writer (the data plane's
// main thread); nullptr clears it. The caller wipes key material first.
template <typename Entry, typename Params>
void write_dir_entry(Entry& e, const Params* p, std::uint64_t installed_unix_ns) noexcept {
  e.seq.fetch_add(1, std::memory_order_acq_rel);  // odd: being rewritten
  std::atomic_thread_fence(std::memory_order_release);
  if (p != nullptr) {
    e.params = *p;
    e.installed_unix_ns = installed_unix_ns;
  }
  e.in_use = p != nullptr ? 1 : 0;
  e.seq.fetch_add(1, std::memory_order_release);
}

bool read_dir_entry(const SaDirEntry& e, SaParams& out, std::uint64_t& installed_unix_ns);
bool read_dir_entry(const SessionDirEntry& e, SessionParams& out, std::uint64_t& installed_unix_ns);

}  // namespace l2tpgw::channel
