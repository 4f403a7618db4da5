#include "dataplane/core/sa_table.h"

#include <rte_hash.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <chrono>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "dataplane/wire/headers.h"
#include "dataplane/wire/ipv4.h"
#include "dataplane/wire/tunnel_mtu.h"

namespace l2tpgw {
namespace {

using channel::Ack;
using channel::AckResult;
using channel::Direction;
using channel::SaParams;

}  // namespace

std::uint64_t unix_now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch() /
                                    std::chrono::nanoseconds(1));
}

bool sa_params_valid(const SaParams& p) noexcept {
  if (p.spi < 256 || p.cipher > EspCipher::des3_cbc || p.auth > EspAuth::hmac_sha256_96 ||
      !valid_pair(p.cipher, p.auth)) {
    return false;
  }
  if (p.cipher_key_len != info(p.cipher).key_len || p.auth_key_len != info(p.auth).key_len) {
    return false;
  }
  if (p.dir != Direction::in && p.dir != Direction::out) {
    return false;
  }
  if (p.encap != channel::Encap::none && p.encap != channel::Encap::udp) {
    return false;
  }
  if (p.mode == channel::Mode::tunnel) {
    for (const channel::Prefix& n : {p.peer_net, p.local_net}) {
      if (!wire::is_network(n.addr, n.len)) {
        return false;
      }
    }
  } else if (p.mode != channel::Mode::transport) {
    return false;
  }
  if (p.dir == Direction::in && p.replay_window != 0 &&
      (p.replay_window < 64 || p.replay_window > ReplayWindow::max_window || p.replay_window % 64 != 0)) {
    return false;
  }
  return true;
}

SaTable::SaTable(channel::Segment& seg, rte_rcu_qsbr* rcu, std::uint32_t max_sas, int socket, unsigned link_mtu)
    : _seg(seg),
      _rcu(rcu),
      _slots("sa_slots", max_sas, socket),
      _in_by_spi(make_lf_hash("sa_in_by_spi", max_sas, sizeof(std::uint32_t), socket)),
      _out_by_spi(make_lf_hash("sa_out_by_spi", max_sas, sizeof(std::uint64_t), socket)),
      _out_by_peer(make_lf_hash("sa_out_by_peer", max_sas, sizeof(std::uint32_t), socket)),
      _mgr(crypto::make_mgr()),
      _reclaim(rcu),
      _link_mtu(link_mtu) {}

SaTable::~SaTable() {
  for (std::uint32_t i = 0; i < _slots.size(); ++i) {
    crypto::wipe(_slots[i].keys);
  }
  rte_hash_free(_in_by_spi);
  rte_hash_free(_out_by_spi);
  rte_hash_free(_out_by_peer);
  rte_lpm_free(_tunnel_routes.load());
}

rte_hash* SaTable::primary(Direction dir) const noexcept {
  return dir == Direction::in ? _in_by_spi : _out_by_spi;
}

std::uint64_t SaTable::key_of(Direction dir, std::uint32_t spi, std::uint32_t peer) noexcept {
  return dir == Direction::in ? spi : std::uint64_t{peer} << 32 | spi;
}

SaState* SaTable::find_inbound(std::uint32_t spi) const noexcept { return _slots.find(_in_by_spi, &spi); }

SaState* SaTable::find_outbound(std::uint32_t spi, std::uint32_t peer_addr) const noexcept {
  const std::uint64_t key = key_of(Direction::out, spi, peer_addr);
  return _slots.find(_out_by_spi, &key);
}

SaState* SaTable::find_outbound(std::uint32_t peer_addr) const noexcept {
  return _slots.find(_out_by_peer, &peer_addr);
}

SaState* SaTable::find_tunnel(std::uint32_t dst) const noexcept {
  const rte_lpm* routes = _tunnel_routes.load(std::memory_order_acquire);
  std::uint32_t slot = 0;
  if (routes == nullptr || rte_lpm_lookup(routes, dst, &slot) != 0) {
    return nullptr;
  }
  return &_slots[slot];
}

namespace {

std::uint64_t route_key(const channel::Prefix& n) noexcept { return std::uint64_t{n.addr} << 8 | n.len; }

}  // namespace

bool SaTable::route_tunnel(std::uint32_t slot) {
  rte_lpm* routes = _tunnel_routes.load(std::memory_order_relaxed);
  if (routes == nullptr) {
    rte_lpm_config c{};
    c.max_rules = _slots.size();
    // A tbl8 group serves the prefixes longer than /24 inside one /24.
    c.number_tbl8s = std::min<std::uint32_t>(_slots.size(), 1024);
    routes = rte_lpm_create("sa_tunnel_routes", SOCKET_ID_ANY, &c);
    if (routes == nullptr) {
      return false;
    }
    rte_lpm_rcu_config rc{};
    rc.v = _rcu;
    rc.mode = RTE_LPM_QSBR_MODE_DQ;
    if (_rcu != nullptr && rte_lpm_rcu_qsbr_add(routes, &rc) != 0) {
      rte_lpm_free(routes);
      return false;
    }
    _tunnel_routes.store(routes, std::memory_order_release);
  }
  const channel::Prefix& n = _slots[slot].params.peer_net;
  if (rte_lpm_add(routes, n.addr, n.len, slot) != 0) {
    return false;
  }
  _tunnel_slots[route_key(n)].push_back(slot);
  _tunnel_routes_n.store(static_cast<std::uint32_t>(_tunnel_slots.size()), std::memory_order_release);
  return true;
}

void SaTable::unroute_tunnel(std::uint32_t slot) {
  const SaParams& p = _slots[slot].params;
  if (p.dir != Direction::out || p.mode != channel::Mode::tunnel) {
    return;
  }
  const auto it = _tunnel_slots.find(route_key(p.peer_net));
  if (it == _tunnel_slots.end()) {
    return;
  }
  auto& slots = it->second;
  std::erase(slots, slot);
  rte_lpm* routes = _tunnel_routes.load(std::memory_order_relaxed);
  if (!slots.empty()) {
    // An add over an existing rule replaces its next hop in place.
    rte_lpm_add(routes, p.peer_net.addr, p.peer_net.len, slots.back());
    return;
  }
  _tunnel_slots.erase(it);
  rte_lpm_delete(routes, p.peer_net.addr, p.peer_net.len);
  _tunnel_routes_n.store(static_cast<std::uint32_t>(_tunnel_slots.size()), std::memory_order_relaxed);
}

void SaTable::publish_dir(std::uint32_t slot, const SaParams* p) {
  SaParams clean{};
  if (p != nullptr) {
    clean = *p;
    explicit_bzero(clean.cipher_key, sizeof clean.cipher_key);
    explicit_bzero(clean.auth_key, sizeof clean.auth_key);
  }
  channel::write_dir_entry(_seg.sa_dir()[slot], p != nullptr ? &clean : nullptr, unix_now_ns());
}

Ack SaTable::add(const SaParams& p) {
  if (!sa_params_valid(p)) {
    return channel::make_ack(AckResult::bad_params);
  }
  if (_slots.exhausted()) {
    reclaim();
    if (_slots.exhausted()) {
      return channel::make_ack(AckResult::table_full);
    }
  }
  const std::uint32_t slot = _slots.take();
  SaState& s = _slots[slot];
  if (!crypto::init_sa_keys(_mgr.get(), s.keys, p.cipher, p.auth,
                            {p.cipher_key, p.cipher_key_len}, {p.auth_key, p.auth_key_len})) {
    crypto::wipe(s.keys);
    _slots.give_back(slot);
    return channel::make_ack(AckResult::bad_params);
  }
  s.params = p;
  std::memset(s.params.cipher_key, 0, sizeof s.params.cipher_key);
  std::memset(s.params.auth_key, 0, sizeof s.params.auth_key);
  s.slot = slot;
  s.hdr_len = static_cast<std::uint8_t>((p.encap == channel::Encap::udp ? sizeof(wire::UdpHdr) : 0) +
                                        sizeof(wire::EspHdr) + s.keys.iv_len);
  s.max_payload = static_cast<std::uint16_t>(
      wire::esp_max_payload(_link_mtu, p.cipher, p.auth, p.encap == channel::Encap::udp));
  if (p.dir == Direction::in) {
    s.replay = ReplayWindow(p.replay_window);
  }
  for (unsigned w = 0; w < _seg.header().n_workers; ++w) {
    _seg.sa_counters(w)[slot] = SaCounters{};
  }
  // Without its route an outbound tunnel SA would never be used: refused whole.
  if (p.dir == Direction::out && p.mode == channel::Mode::tunnel && !route_tunnel(slot)) {
    crypto::wipe(s.keys);
    _slots.give_back(slot);
    return channel::make_ack(AckResult::table_full);
  }
  publish_dir(slot, &p);
  ++_in_use;

  rte_hash* h = primary(p.dir);
  const std::uint64_t key = key_of(p.dir, p.spi, p.peer_addr);
  void* old = nullptr;
  const bool replacing = rte_hash_lookup_data(h, &key, &old) >= 0;
  // In lock-free mode an existing key's data is swapped atomically: readers
  // see the old slot or the new one, never a missing SA.
  if (rte_hash_add_key_data(h, &key, slot_data(slot)) < 0) {
    unroute_tunnel(slot);
    publish_dir(slot, nullptr);
    --_in_use;
    crypto::wipe(s.keys);
    _slots.give_back(slot);
    return channel::make_ack(AckResult::table_full);
  }
  if (p.dir == Direction::out && p.mode == channel::Mode::transport) {
    // The newest transport SA toward the address serves replies to the
    // peer itself (a tunnel SA carries only its networks' packets); a full
    // index only costs them, not the SA.
    rte_hash_add_key_data(_out_by_peer, &p.peer_addr, slot_data(slot));
  }
  if (replacing) {
    retire(data_slot(old), {});
    return channel::make_ack(AckResult::replaced, slot);
  }
  return channel::make_ack(AckResult::ok, slot);
}

Ack SaTable::del(Direction dir, std::uint32_t spi, std::uint32_t peer_addr) {
  if (dir != Direction::in && dir != Direction::out) {
    return channel::make_ack(AckResult::bad_message);
  }
  rte_hash* h = primary(dir);
  const std::uint64_t key = key_of(dir, spi, peer_addr);
  void* data = nullptr;
  if (rte_hash_lookup_data(h, &key, &data) < 0) {
    return channel::make_ack(AckResult::not_found);
  }
  const std::uint32_t slot = data_slot(data);
  if (_slots[slot].params.peer_addr != peer_addr) {
    return channel::make_ack(AckResult::not_found);
  }
  retire(slot, {h, rte_hash_del_key(h, &key)});
  return channel::make_ack(AckResult::ok, slot);
}

SlotReclaim::KeyPos SaTable::unlink_by_peer(std::uint32_t slot) {
  const SaParams& p = _slots[slot].params;
  void* data = nullptr;
  if (p.dir != Direction::out || rte_hash_lookup_data(_out_by_peer, &p.peer_addr, &data) < 0 ||
      data_slot(data) != slot) {
    return {};
  }
  return {_out_by_peer, rte_hash_del_key(_out_by_peer, &p.peer_addr)};
}

void SaTable::retire(std::uint32_t slot, SlotReclaim::KeyPos primary_key) {
  unroute_tunnel(slot);
  publish_dir(slot, nullptr);
  --_in_use;
  _reclaim.retire(slot, primary_key, unlink_by_peer(slot));
}

void SaTable::reclaim() {
  _reclaim.reclaim([this](std::uint32_t slot) {
    crypto::wipe(_slots[slot].keys);
    _slots.give_back(slot);
  });
}

}  // namespace l2tpgw
