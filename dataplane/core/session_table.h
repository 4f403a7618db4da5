// The session table: L2TP sessions with their PPP links, found by our
// (tunnel id, session id) for traffic from the client and by the client's
// inner address for traffic to it. One writer (the main thread, applying the
// control plane's commands), lock-free readers (the workers), slots reused
// after an RCU grace period — as for SAs (sa_table.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/channel/messages.h"
#include "dataplane/channel/segment.h"
#include "dataplane/core/slot_reclaim.h"
#include "dataplane/crypto/esp_crypto.h"
#include "dataplane/crypto/mppe.h"

namespace l2tpgw {

struct alignas(64) SessionState {
  channel::SessionParams params;  // read-only once installed; keys wiped
  std::uint32_t slot;
  std::uint8_t ppp_hdr_len;   // what we send: 1 to 4 bytes (protocol 0x21, or 0xFD with MPPE)
  std::uint8_t l2tp_hdr_len;  // what we send: 6, or 10 with sequencing
  std::uint8_t mppe_hdr_len;  // MPPE header + the encrypted protocol field: 0, 3 or 4
  // UDP + L2TP + PPP + MPPE as sent: the tunnel MTU is the outbound SA's
  // max_payload less this (wire/tunnel_mtu.h).
  std::uint8_t overhead;
  std::atomic<std::uint16_t> ns_out;  // next Ns when sequencing (RFC 2661 §5.8)
  // Set by the main thread on the control plane's session_mppe_reset; the
  // worker that owns mppe_tx takes it before its next frame, so the MPPE
  // state keeps a single writer.
  std::atomic<bool> mppe_tx_reset;
  // MPPE per direction: rx is written by the worker that receives on the
  // outside port, tx by the one that receives on the inside port.
  alignas(64) crypto::MppeState mppe_rx;
  alignas(64) crypto::MppeState mppe_tx;
};

class SessionTable {
 public:
  SessionTable(channel::Segment& seg, rte_rcu_qsbr* rcu, std::uint32_t max_sessions, int socket);
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // Workers: lock-free lookups; nullptr when absent.
  SessionState* find_by_ids(std::uint16_t tunnel_id, std::uint16_t session_id) const noexcept;
  SessionState* find_by_addr(std::uint32_t inner_addr) const noexcept;
  // By the client's /64 (wire::prefix64 of an address in it).
  SessionState* find_by_prefix6(std::uint64_t prefix) const noexcept;

  // Main thread only.
  channel::Ack add(const channel::SessionParams& p);
  channel::Ack del(std::uint16_t tunnel_id, std::uint16_t session_id);
  channel::Ack mppe_reset(std::uint16_t tunnel_id, std::uint16_t session_id);
  // Moves a session to another SA pair in place (workers read the SPIs
  // with relaxed atomic loads); a plain session stays plain.
  channel::Ack set_sa(std::uint16_t tunnel_id, std::uint16_t session_id, std::uint32_t sa_in_spi,
                      std::uint32_t sa_out_spi);
  void reclaim();

 private:
  static std::uint32_t ids_key(std::uint16_t tunnel, std::uint16_t session) noexcept {
    return std::uint32_t{tunnel} << 16 | session;
  }
  SessionState* lookup(rte_hash* h, std::uint32_t key) const noexcept;
  static std::uint64_t prefix_key(const channel::SessionParams& p) noexcept;
  void publish_dir(std::uint32_t slot, const channel::SessionParams* p);
  void retire(std::uint32_t slot, SlotReclaim::KeyPos a, SlotReclaim::KeyPos b, SlotReclaim::KeyPos c = {});
  bool init_mppe(SessionState& s, const channel::SessionParams& p);

  channel::Segment& _seg;
  SlotPool<SessionState> _slots;
  rte_hash* _by_ids;   // u32 tunnel << 16 | session
  rte_hash* _by_addr;  // u32 inner address
  rte_hash* _by_prefix6;  // u64: the client's /64, sessions with IPv6 only
  crypto::MgrPtr _mgr;  // SHA-1 for MPPE keys at installation
  SlotReclaim _reclaim;
};

bool session_params_valid(const channel::SessionParams& p) noexcept;

}  // namespace l2tpgw
