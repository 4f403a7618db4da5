// Plays the data plane's side of the shared segment in-process: creates the
// segment, answers SA and session commands on the rings and keeps the SA and
// session directories, as the data plane's main thread does, and raises
// events on demand.
#pragma once

#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/channel/segment.h"

namespace l2tpgw::testing {

inline std::string unique_channel() {
  static std::atomic<unsigned> n{0};
  return "test-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

class FakeDp {
 public:
  explicit FakeDp(channel::SegmentGeometry geo = {
                      .n_workers = 2, .n_ports = 2, .max_sas = 16, .max_sessions = 16})
      : name(unique_channel()), seg(channel::Segment::create(name, geo)) {}
  ~FakeDp() {
    stop();
    shm_unlink(channel::Segment::shm_name(name).c_str());
  }

  void set_ready() { seg.header().ready.store(1); }

  // Answers commands on a thread until stop(); `answer` false: never acks.
  void start(bool answer = true, std::optional<channel::AckResult> force = std::nullopt) {
    _answer = answer;
    _force = force;
    _run = true;
    _thread = std::thread([this] { loop(); });
  }
  void stop() {
    _run = false;
    if (_thread.joinable()) {
      _thread.join();
    }
  }

  std::vector<channel::CtrlMsg> received() {
    std::lock_guard lock(_mu);
    return _received;
  }
  // The segment's cp_synced flag as each command arrived.
  std::vector<std::uint32_t> synced_at_receipt() {
    std::lock_guard lock(_mu);
    return _synced_at_receipt;
  }

  // Writes a directory entry as the data plane does (seqlock, keys zeroed).
  void install(std::uint32_t slot, channel::SaParams p) {
    std::memset(p.cipher_key, 0, sizeof p.cipher_key);
    std::memset(p.auth_key, 0, sizeof p.auth_key);
    auto& e = seg.sa_dir()[slot];
    e.seq.fetch_add(1);
    e.params = p;
    e.in_use = 1;
    e.installed_unix_ns = 1'000'000'000ull * 1000;
    e.seq.fetch_add(1);
  }
  void remove(std::uint32_t slot) {
    auto& e = seg.sa_dir()[slot];
    e.seq.fetch_add(1);
    e.in_use = 0;
    e.seq.fetch_add(1);
  }

  // Session directory entries, likewise (MPPE keys zeroed); the slot is also
  // the index of the session's counters.
  void install_session(std::uint32_t slot, channel::SessionParams p) {
    std::memset(p.mppe_send_key, 0, sizeof p.mppe_send_key);
    std::memset(p.mppe_recv_key, 0, sizeof p.mppe_recv_key);
    auto& e = seg.session_dir()[slot];
    e.seq.fetch_add(1);
    e.params = p;
    e.in_use = 1;
    e.installed_unix_ns = 1'000'000'000ull * 1000;
    e.seq.fetch_add(1);
  }
  void remove_session(std::uint32_t slot) {
    auto& e = seg.session_dir()[slot];
    e.seq.fetch_add(1);
    e.in_use = 0;
    e.seq.fetch_add(1);
  }

  // An event of the data plane's own (not an ack), as a worker raises it;
  // the event ring takes several producers, as in the data plane (its
  // workers and its main thread), so this may run while the fake acks.
  void send_event(channel::CtrlMsg m) {
    while (rte_ring_enqueue_elem(seg.event_ring(), &m, channel::ctrl_elem_size) != 0) {
      std::this_thread::yield();
    }
  }

  std::string name;
  channel::Segment seg;

 private:
  std::optional<std::uint32_t> find(channel::Direction d, std::uint32_t spi, std::uint32_t peer) {
    for (std::uint32_t i = 0; i < seg.sa_dir().size(); ++i) {
      const auto& e = seg.sa_dir()[i];
      if (e.in_use && e.params.dir == d && e.params.spi == spi && e.params.peer_addr == peer) {
        return i;
      }
    }
    return std::nullopt;
  }
  std::optional<std::uint32_t> free_slot() {
    for (std::uint32_t i = 0; i < seg.sa_dir().size(); ++i) {
      if (!seg.sa_dir()[i].in_use) {
        return i;
      }
    }
    return std::nullopt;
  }

  std::optional<std::uint32_t> find_session(std::uint16_t tunnel, std::uint16_t session) {
    for (std::uint32_t i = 0; i < seg.session_dir().size(); ++i) {
      const auto& e = seg.session_dir()[i];
      if (e.in_use && e.params.local_tunnel_id == tunnel && e.params.local_session_id == session) {
        return i;
      }
    }
    return std::nullopt;
  }
  std::optional<std::uint32_t> free_session_slot() {
    for (std::uint32_t i = 0; i < seg.session_dir().size(); ++i) {
      if (!seg.session_dir()[i].in_use) {
        return i;
      }
    }
    return std::nullopt;
  }

  void handle_session(const channel::CtrlMsg& m, channel::Ack& a) {
    if (m.hdr.type == channel::MsgType::session_add) {
      const auto& p = m.session_add.session;
      auto slot = find_session(p.local_tunnel_id, p.local_session_id);
      a.result = slot ? channel::AckResult::replaced : channel::AckResult::ok;
      slot = slot ? slot : free_session_slot();
      if (!slot) {
        a.result = channel::AckResult::table_full;
        return;
      }
      install_session(*slot, p);
      a.slot = *slot;
      return;
    }
    const auto& d = m.session_del;
    const auto slot = find_session(d.local_tunnel_id, d.local_session_id);
    a.result = slot ? channel::AckResult::ok : channel::AckResult::not_found;
    if (slot) {
      remove_session(*slot);
    }
  }

  channel::Ack handle(const channel::CtrlMsg& m) {
    channel::Ack a{};
    a.hdr = {channel::version, channel::MsgType::ack, m.hdr.cookie};
    if (m.hdr.version != channel::version) {
      a.result = channel::AckResult::bad_message;
    } else if (m.hdr.type == channel::MsgType::session_add ||
               m.hdr.type == channel::MsgType::session_del) {
      handle_session(m, a);
    } else if (m.hdr.type == channel::MsgType::sa_add) {
      const auto& p = m.sa_add.sa;
      auto slot = find(p.dir, p.spi, p.peer_addr);
      a.result = slot ? channel::AckResult::replaced : channel::AckResult::ok;
      slot = slot ? slot : free_slot();
      if (!slot) {
        a.result = channel::AckResult::table_full;
        return a;
      }
      install(*slot, p);
      a.slot = *slot;
    } else if (m.hdr.type == channel::MsgType::sa_del) {
      const auto& d = m.sa_del;
      const auto slot = find(d.dir, d.spi, d.peer_addr);
      a.result = slot ? channel::AckResult::ok : channel::AckResult::not_found;
      if (slot) {
        remove(*slot);
      }
    } else {
      a.result = channel::AckResult::bad_message;
    }
    return a;
  }

  void loop() {
    while (_run) {
      channel::CtrlMsg m{};
      if (rte_ring_dequeue_elem(seg.cmd_ring(), &m, channel::ctrl_elem_size) != 0) {
        std::this_thread::yield();
        continue;
      }
      {
        std::lock_guard lock(_mu);
        _received.push_back(m);
        _synced_at_receipt.push_back(seg.header().cp_synced.load());
      }
      if (!_answer) {
        continue;
      }
      channel::CtrlMsg reply{};
      reply.ack = handle(m);
      if (_force) {
        reply.ack.result = *_force;
      }
      send_event(reply);
    }
  }

  std::atomic<bool> _run{false};
  bool _answer = true;
  std::optional<channel::AckResult> _force;
  std::thread _thread;
  std::mutex _mu;
  std::vector<channel::CtrlMsg> _received;
  std::vector<std::uint32_t> _synced_at_receipt;
};

}  // namespace l2tpgw::testing
