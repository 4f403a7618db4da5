#include "dataplane/core/session_table.h"

#include <rte_malloc.h>

#include <chrono>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "dataplane/wire/ipv6.h"
#include "dataplane/wire/l2tp.h"
#include "dataplane/wire/ppp.h"
#include "dataplane/wire/tunnel_mtu.h"

namespace l2tpgw {
namespace {

using channel::Ack;
using channel::AckResult;
using channel::SessionParams;

wire::L2tpDataHeader data_header(const SessionParams& p) noexcept {
  wire::L2tpDataHeader h{};
  h.tunnel_id = p.peer_tunnel_id;
  h.session_id = p.peer_session_id;
  h.with_sequence = p.l2tp_sequencing != 0;
  return h;
}

}  // namespace

bool session_params_valid(const SessionParams& p) noexcept {
  const bool mppe_ok = p.mppe_bits == 0 || p.mppe_bits == 40 || p.mppe_bits == 56 || p.mppe_bits == 128;
  // RFC 2661 §3.1: id 0 addresses the tunnel itself (control), never a
  // session. Inner address 0: PPP is still negotiating, the session carries
  // only its control frames. SPIs 0 both ways: plain L2TP from a LAC the
  // control plane trusts; never one of each.
  return mppe_ok && p.local_tunnel_id != 0 && p.local_session_id != 0 && p.peer_tunnel_id != 0 &&
         p.peer_session_id != 0 && p.peer_addr != 0 && p.peer_port != 0 && p.local_port != 0 &&
         (p.sa_in_spi == 0) == (p.sa_out_spi == 0) &&
         (p.ipv6 == 0 || (p.ipv6 == 1 && wire::prefix64(p.ipv6_prefix) != 0));
}

SessionTable::SessionTable(channel::Segment& seg, rte_rcu_qsbr* rcu, std::uint32_t max_sessions, int socket)
    : _seg(seg),
      _slots("session_slots", max_sessions, socket),
      _by_ids(make_lf_hash("session_by_ids", max_sessions, sizeof(std::uint32_t), socket)),
      _by_addr(make_lf_hash("session_by_addr", max_sessions, sizeof(std::uint32_t), socket)),
      _by_prefix6(make_lf_hash("session_by_prefix6", max_sessions, sizeof(std::uint64_t), socket)),
      _mgr(crypto::make_mgr()),
      _reclaim(rcu) {}

SessionTable::~SessionTable() {
  for (std::uint32_t i = 0; i < _slots.size(); ++i) {
    _slots[i].mppe_rx.wipe();
    _slots[i].mppe_tx.wipe();
  }
  rte_hash_free(_by_ids);
  rte_hash_free(_by_addr);
  rte_hash_free(_by_prefix6);
}

SessionState* SessionTable::lookup(rte_hash* h, std::uint32_t key) const noexcept {
  return _slots.find(h, &key);
}

SessionState* SessionTable::find_by_ids(std::uint16_t tunnel_id, std::uint16_t session_id) const noexcept {
  return lookup(_by_ids, ids_key(tunnel_id, session_id));
}

SessionState* SessionTable::find_by_addr(std::uint32_t inner_addr) const noexcept {
  return lookup(_by_addr, inner_addr);
}

SessionState* SessionTable::find_by_prefix6(std::uint64_t prefix) const noexcept {
  return _slots.find(_by_prefix6, &prefix);
}

std::uint64_t SessionTable::prefix_key(const SessionParams& p) noexcept {
  return wire::prefix64(p.ipv6_prefix);
}

void SessionTable::publish_dir(std::uint32_t slot, const SessionParams* p) {
  SessionParams clean{};
  if (p != nullptr) {
    clean = *p;
    explicit_bzero(clean.mppe_send_key, sizeof clean.mppe_send_key);
    explicit_bzero(clean.mppe_recv_key, sizeof clean.mppe_recv_key);
  }
  channel::write_dir_entry(_seg.session_dir()[slot], p != nullptr ? &clean : nullptr, unix_now_ns());
}

Ack SessionTable::add(const SessionParams& p) {
  if (!session_params_valid(p)) {
    return channel::make_ack(AckResult::bad_params);
  }
  const std::uint32_t ids = ids_key(p.local_tunnel_id, p.local_session_id);
  SessionState* old = lookup(_by_ids, ids);
  SessionState* holder = p.inner_addr != 0 ? find_by_addr(p.inner_addr) : nullptr;
  if (holder != nullptr && holder != old) {
    return channel::make_ack(AckResult::bad_params);  // the address is another session's
  }
  const std::uint64_t prefix = prefix_key(p);
  if (p.ipv6 != 0) {
    SessionState* holder6 = find_by_prefix6(prefix);
    if (holder6 != nullptr && holder6 != old) {
      return channel::make_ack(AckResult::bad_params);  // the /64 is another session's
    }
  }
  if (_slots.exhausted()) {
    reclaim();
    if (_slots.exhausted()) {
      return channel::make_ack(AckResult::table_full);
    }
  }
  const std::uint32_t slot = _slots.take();
  SessionState& s = _slots[slot];
  if (!init_mppe(s, p)) {
    s.mppe_rx.wipe();
    s.mppe_tx.wipe();
    _slots.give_back(slot);
    return channel::make_ack(AckResult::bad_params);
  }
  s.params = p;
  explicit_bzero(s.params.mppe_send_key, sizeof s.params.mppe_send_key);
  explicit_bzero(s.params.mppe_recv_key, sizeof s.params.mppe_recv_key);
  s.slot = slot;
  s.mppe_tx_reset.store(false, std::memory_order_relaxed);
  const bool mppe = p.mppe_bits != 0;
  s.ppp_hdr_len = static_cast<std::uint8_t>(
      wire::ppp_header_len(mppe ? crypto::mppe_ppp_protocol : wire::ppp_proto_ipv4, p.ppp_acfc, p.ppp_pfc));
  s.mppe_hdr_len = mppe ? static_cast<std::uint8_t>(crypto::mppe_header_len + (p.ppp_pfc ? 1 : 2)) : 0;
  s.l2tp_hdr_len = static_cast<std::uint8_t>(wire::l2tp_data_header_len(data_header(p)));
  s.overhead = static_cast<std::uint8_t>(wire::session_overhead(s.l2tp_hdr_len, s.ppp_hdr_len, s.mppe_hdr_len));
  for (unsigned w = 0; w < _seg.header().n_workers; ++w) {
    _seg.session_counters(w)[slot] = SessionCounters{};
  }
  publish_dir(slot, &p);

  // Both keys are swapped atomically for readers; a client's address that
  // changed leaves the old one's key to be removed.
  if (rte_hash_add_key_data(_by_ids, &ids, slot_data(slot)) < 0 ||
      (p.inner_addr != 0 && rte_hash_add_key_data(_by_addr, &p.inner_addr, slot_data(slot)) < 0) ||
      (p.ipv6 != 0 && rte_hash_add_key_data(_by_prefix6, &prefix, slot_data(slot)) < 0)) {
    if (old == nullptr) {
      rte_hash_del_key(_by_ids, &ids);
      rte_hash_del_key(_by_addr, &p.inner_addr);
    }
    publish_dir(slot, nullptr);
    s.mppe_rx.wipe();
    s.mppe_tx.wipe();
    _slots.give_back(slot);
    return channel::make_ack(AckResult::table_full);
  }
  if (old == nullptr) {
    return channel::make_ack(AckResult::ok, slot);
  }
  SlotReclaim::KeyPos addr_key{};
  if (old->params.inner_addr != p.inner_addr) {
    addr_key = {_by_addr, rte_hash_del_key(_by_addr, &old->params.inner_addr)};
  }
  SlotReclaim::KeyPos prefix_pos{};
  const std::uint64_t old_prefix = prefix_key(old->params);
  if (old->params.ipv6 != 0 && (p.ipv6 == 0 || old_prefix != prefix)) {
    prefix_pos = {_by_prefix6, rte_hash_del_key(_by_prefix6, &old_prefix)};
  }
  retire(old->slot, addr_key, {}, prefix_pos);
  return channel::make_ack(AckResult::replaced, slot);
}

Ack SessionTable::mppe_reset(std::uint16_t tunnel_id, std::uint16_t session_id) {
  SessionState* s = lookup(_by_ids, ids_key(tunnel_id, session_id));
  if (s == nullptr) {
    return channel::make_ack(AckResult::not_found);
  }
  if (s->params.mppe_bits == 0) {
    return channel::make_ack(AckResult::bad_params);
  }
  s->mppe_tx_reset.store(true, std::memory_order_release);
  return channel::make_ack(AckResult::ok, s->slot);
}

Ack SessionTable::set_sa(std::uint16_t tunnel_id, std::uint16_t session_id, std::uint32_t sa_in_spi,
                         std::uint32_t sa_out_spi) {
  SessionState* s = lookup(_by_ids, ids_key(tunnel_id, session_id));
  if (s == nullptr) {
    return channel::make_ack(AckResult::not_found);
  }
  if ((s->params.sa_in_spi == 0) != (sa_in_spi == 0) || (s->params.sa_out_spi == 0) != (sa_out_spi == 0)) {
    return channel::make_ack(AckResult::bad_params);
  }
  __atomic_store_n(&s->params.sa_in_spi, sa_in_spi, __ATOMIC_RELAXED);
  __atomic_store_n(&s->params.sa_out_spi, sa_out_spi, __ATOMIC_RELAXED);
  publish_dir(s->slot, &s->params);
  return channel::make_ack(AckResult::ok, s->slot);
}

Ack SessionTable::del(std::uint16_t tunnel_id, std::uint16_t session_id) {
  const std::uint32_t ids = ids_key(tunnel_id, session_id);
  SessionState* s = lookup(_by_ids, ids);
  if (s == nullptr) {
    return channel::make_ack(AckResult::not_found);
  }
  const std::uint32_t slot = s->slot;
  SlotReclaim::KeyPos prefix_pos{};
  if (s->params.ipv6 != 0) {
    const std::uint64_t prefix = prefix_key(s->params);
    prefix_pos = {_by_prefix6, rte_hash_del_key(_by_prefix6, &prefix)};
  }
  retire(slot, {_by_ids, rte_hash_del_key(_by_ids, &ids)},
         {_by_addr, rte_hash_del_key(_by_addr, &s->params.inner_addr)}, prefix_pos);
  return channel::make_ack(AckResult::ok, slot);
}

void SessionTable::retire(std::uint32_t slot, SlotReclaim::KeyPos a, SlotReclaim::KeyPos b,
                          SlotReclaim::KeyPos c) {
  publish_dir(slot, nullptr);
  _reclaim.retire(slot, a, b, c);
}

void SessionTable::reclaim() {
  _reclaim.reclaim([this](std::uint32_t slot) {
    _slots[slot].mppe_rx.wipe();
    _slots[slot].mppe_tx.wipe();
    _slots.give_back(slot);
  });
}

bool SessionTable::init_mppe(SessionState& s, const SessionParams& p) {
  if (p.mppe_bits == 0) {
    return true;
  }
  const crypto::MppeBits bits = p.mppe_bits == 40   ? crypto::MppeBits::b40
                                : p.mppe_bits == 56 ? crypto::MppeBits::b56
                                                    : crypto::MppeBits::b128;
  const bool stateless = p.mppe_stateless != 0;
  // What the client sends is encrypted with its send key, our receive key.
  return s.mppe_rx.init(_mgr.get(), p.mppe_recv_key, bits, stateless) &&
         s.mppe_tx.init(_mgr.get(), p.mppe_send_key, bits, stateless);
}

}  // namespace l2tpgw
