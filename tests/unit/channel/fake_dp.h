// Plays the data plane's side of the shared segment in-process: creates the
// segment, answers SA commands on the rings and keeps the SA directory, as
// the data plane's main thread does.
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
  explicit FakeDp(channel::SegmentGeometry geo = {2, 2, 16})
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

  channel::Ack handle(const channel::CtrlMsg& m) {
    channel::Ack a{};
    a.hdr = {channel::version, channel::MsgType::ack, m.hdr.cookie};
    if (m.hdr.type == channel::MsgType::sa_add) {
      const auto& p = m.sa_add.sa;
      auto slot = find(p.dir, p.spi, p.peer_addr);
      a.result = slot ? channel::AckResult::replaced : channel::AckResult::ok;
      slot = slot ? slot : free_slot();
      install(*slot, p);
      a.slot = *slot;
    } else {
      const auto& d = m.sa_del;
      const auto slot = find(d.dir, d.spi, d.peer_addr);
      a.result = slot ? channel::AckResult::ok : channel::AckResult::not_found;
      if (slot) {
        remove(*slot);
      }
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
      }
      if (!_answer) {
        continue;
      }
      channel::CtrlMsg reply{};
      reply.ack = handle(m);
      if (_force) {
        reply.ack.result = *_force;
      }
      while (rte_ring_enqueue_elem(seg.event_ring(), &reply, channel::ctrl_elem_size) != 0) {
        std::this_thread::yield();
      }
    }
  }

  std::atomic<bool> _run{false};
  bool _answer = true;
  std::optional<channel::AckResult> _force;
  std::thread _thread;
  std::mutex _mu;
  std::vector<channel::CtrlMsg> _received;
};

}  // namespace l2tpgw::testing
