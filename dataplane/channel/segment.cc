#include "dataplane/channel/segment.h"

#include <fcntl.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace l2tpgw::channel {
namespace {

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

void init_ring(std::uint8_t* base, std::uint64_t off, const char* name, std::uint32_t count,
               unsigned flags) {
  auto* r = reinterpret_cast<rte_ring*>(base + off);
  if (rte_ring_init(r, name, count, flags) != 0) {
    throw std::runtime_error(std::string("cannot initialise ring ") + name);
  }
}

}  // namespace

Segment Segment::create(const std::string& name, const SegmentGeometry& geo) {
  if (geo.n_ports > max_ports) {
    throw std::runtime_error("too many ports for the shared segment");
  }
  // Offsets: header, then each region cache-line aligned.
  std::uint64_t off = align_up(sizeof(SegmentHeader), 64);
  auto place = [&off](std::uint64_t bytes) {
    const std::uint64_t at = off;
    off = align_up(off + bytes, 64);
    return at;
  };
  const auto ring_bytes = [](std::uint32_t esize, std::uint32_t count) {
    const ssize_t n = rte_ring_get_memsize_elem(esize, count);
    if (n < 0) {
      throw std::runtime_error("bad ring geometry");
    }
    return static_cast<std::uint64_t>(n);
  };
  const std::uint64_t off_cmd = place(ring_bytes(ctrl_elem_size, geo.cmd_ring_size));
  const std::uint64_t off_tx = place(ring_bytes(packet_elem_size, geo.tx_ring_size));
  const std::uint64_t off_event = place(ring_bytes(ctrl_elem_size, geo.event_ring_size));
  const std::uint64_t off_punt = place(ring_bytes(packet_elem_size, geo.punt_ring_size));
  const std::uint64_t off_ports = place(sizeof(PortCounters) * geo.n_ports);
  const std::uint64_t off_workers = place(sizeof(WorkerCounters) * geo.n_workers);
  const std::uint64_t off_sac = place(sizeof(SaCounters) * geo.n_workers * std::uint64_t{geo.max_sas});
  const std::uint64_t off_dir = place(sizeof(SaDirEntry) * std::uint64_t{geo.max_sas});
  const std::uint64_t off_sess_c =
      place(sizeof(SessionCounters) * geo.n_workers * std::uint64_t{geo.max_sessions});
  const std::uint64_t off_sess_dir = place(sizeof(SessionDirEntry) * std::uint64_t{geo.max_sessions});
  const std::uint64_t total = align_up(off, 4096);

  const std::string shm = shm_name(name);
  shm_unlink(shm.c_str());
  const int fd = shm_open(shm.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) {
    throw sys_error("shm_open " + shm);
  }
  if (ftruncate(fd, static_cast<off_t>(total)) != 0) {
    close(fd);
    throw sys_error("ftruncate " + shm);
  }
  void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    throw sys_error("mmap " + shm);
  }
  auto* base = static_cast<std::uint8_t*>(p);
  std::memset(base, 0, total);

  auto* h = new (base) SegmentHeader{};
  h->magic = segment_magic;
  h->version = version;
  h->n_workers = geo.n_workers;
  h->n_ports = geo.n_ports;
  h->max_sas = geo.max_sas;
  h->max_sessions = geo.max_sessions;
  h->total_size = total;
  h->generation = static_cast<std::uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count());
  h->dp_pid = getpid();
  h->off_cmd_ring = off_cmd;
  h->off_tx_ring = off_tx;
  h->off_event_ring = off_event;
  h->off_punt_ring = off_punt;
  h->off_port_counters = off_ports;
  h->off_worker_counters = off_workers;
  h->off_sa_counters = off_sac;
  h->off_sa_dir = off_dir;
  h->off_session_counters = off_sess_c;
  h->off_session_dir = off_sess_dir;

  // One producer and one consumer per ring, except where several workers
  // produce (events and punts).
  init_ring(base, off_cmd, "l2tpgw_cmd", geo.cmd_ring_size,
            RING_F_SP_ENQ | RING_F_SC_DEQ);
  init_ring(base, off_tx, "l2tpgw_tx", geo.tx_ring_size,
            RING_F_SP_ENQ | RING_F_SC_DEQ);
  init_ring(base, off_event, "l2tpgw_event", geo.event_ring_size, RING_F_SC_DEQ);
  init_ring(base, off_punt, "l2tpgw_punt", geo.punt_ring_size, RING_F_SC_DEQ);
  return Segment(base, total);
}

Segment Segment::attach(const std::string& name) {
  const std::string shm = shm_name(name);
  const int fd = shm_open(shm.c_str(), O_RDWR, 0);
  if (fd < 0) {
    throw sys_error("no data plane on channel '" + name + "' (shm_open " + shm + ")");
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < sizeof(SegmentHeader)) {
    close(fd);
    throw std::runtime_error("shared segment " + shm + " is too small");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    throw sys_error("mmap " + shm);
  }
  Segment seg(static_cast<std::uint8_t*>(p), size);
  const auto& h = seg.header();
  if (h.magic != segment_magic || h.version != version) {
    throw std::runtime_error("shared segment " + shm + " is of another version of l2tpgw");
  }
  if (h.total_size != size) {
    throw std::runtime_error("shared segment " + shm + " has the wrong size");
  }
  return seg;
}

Segment::Segment(Segment&& other) noexcept
    : _base(std::exchange(other._base, nullptr)), _size(std::exchange(other._size, 0)) {}

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    if (_base != nullptr) {
      munmap(_base, _size);
    }
    _base = std::exchange(other._base, nullptr);
    _size = std::exchange(other._size, 0);
  }
  return *this;
}

Segment::~Segment() {
  if (_base != nullptr) {
    munmap(_base, _size);
  }
}

namespace {

template <typename Entry, typename Params>
bool read_seqlocked(const Entry& e, Params& out, std::uint64_t& installed_unix_ns) {
  const std::uint32_t s1 = e.seq.load(std::memory_order_acquire);
  if (s1 & 1u) {
    return false;
  }
  const std::uint32_t in_use = e.in_use;
  out = e.params;
  installed_unix_ns = e.installed_unix_ns;
  std::atomic_thread_fence(std::memory_order_acquire);
  return in_use != 0 && e.seq.load(std::memory_order_relaxed) == s1;
}

}  // namespace

bool read_dir_entry(const SaDirEntry& e, SaParams& out, std::uint64_t& installed_unix_ns) {
  return read_seqlocked(e, out, installed_unix_ns);
}

bool read_dir_entry(const SessionDirEntry& e, SessionParams& out, std::uint64_t& installed_unix_ns) {
  return read_seqlocked(e, out, installed_unix_ns);
}

}  // namespace l2tpgw::channel
