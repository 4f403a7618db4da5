// IPCP as the server (RFC 1332, RFC 1877): tells the client the address the
// session was given (Nak with it when the client asks for 0.0.0.0 or any
// other), hands out the configured DNS and NBNS servers, and rejects
// IP-Compression-Protocol and all other options. Our own request carries
// our address on the link when one is configured.
#pragma once

#include <cstdint>

#include "controlplane/ppp/fsm.h"
#include "controlplane/ppp/settings.h"

namespace l2tpgw::ppp {

inline constexpr std::uint8_t ipcp_addresses = 1;  // RFC 1332 §3.1, deprecated
inline constexpr std::uint8_t ipcp_compression = 2;
inline constexpr std::uint8_t ipcp_address = 3;
inline constexpr std::uint8_t ipcp_dns_primary = 129;  // RFC 1877 §1.1
inline constexpr std::uint8_t ipcp_nbns_primary = 130;
inline constexpr std::uint8_t ipcp_dns_secondary = 131;
inline constexpr std::uint8_t ipcp_nbns_secondary = 132;

class Ipcp final : public FsmPolicy {
 public:
  Ipcp(const PppSettings& settings, Outbox& out, Counters& counters);

  Fsm& fsm() noexcept { return _fsm; }
  const Fsm& fsm() const noexcept { return _fsm; }

  // The client's address (host order), decided before IPCP starts.
  void set_peer_address(std::uint32_t a) noexcept { _peer = a; }
  std::uint32_t peer_address() const noexcept { return _peer; }

  void build_request(Bytes& options) override;
  void check_request(const OptionList& request, Bytes& nak, Bytes& reject) override;
  std::string on_nak(const OptionList& nak) override;
  std::string on_reject(const OptionList& reject) override;

 private:
  const PppSettings& _settings;
  Counters& _counters;
  Fsm _fsm;
  std::uint32_t _peer = 0;
  bool _send_address;
};

}  // namespace l2tpgw::ppp
