// What a PPP link that is up is made of, for keeping it across a restart of
// the control plane (the data plane keeps forwarding meanwhile): what LCP,
// authentication, IPCP and CCP agreed, and the identifiers each would use
// next. No secret: the MPPE start keys stay with the data plane, which
// hands them back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "controlplane/ppp/settings.h"

namespace l2tpgw::ppp {

struct LinkSnapshot {
  // LCP.
  std::uint32_t magic = 0;   // ours; 0 when the client rejected it
  std::uint16_t mru = 1500;  // ours
  std::uint16_t peer_mru = 1500;
  bool acfc = false;
  bool pfc = false;
  std::uint8_t lcp_id = 1;  // next Identifier of each layer
  // Authentication, when LCP agreed on one.
  std::optional<AuthProto> auth;
  std::string user;
  // IPCP.
  std::uint32_t address = 0;  // the client's, host order
  std::uint8_t ipcp_id = 1;
  // CCP, when it ran.
  bool ccp_active = false;
  MppePolicy mppe_policy = MppePolicy::none;
  std::uint8_t mppe_bits = 0;  // 0, 40, 56 or 128
  bool mppe_stateless = false;
  std::uint8_t ccp_id = 1;
};

}  // namespace l2tpgw::ppp
