#include "controlplane/ppp/ipcp.h"

#include "dataplane/wire/ppp.h"

namespace l2tpgw::ppp {

Ipcp::Ipcp(const PppSettings& settings, Outbox& out, Counters& counters)
    : _settings(settings),
      _counters(counters),
      _fsm(wire::ppp_proto_ipcp, "IPCP", *this, settings.timers, out, counters),
      _send_address(settings.local_address != 0) {
}

void Ipcp::build_request(Bytes& out) {
  if (_send_address) {
    append_u32_option(out, ipcp_address, _settings.local_address);
  }
}

void Ipcp::check_request(const OptionList& req, Bytes& nak, Bytes& reject) {
  bool saw_address = false;
  for (const Option& o : req.options()) {
    std::uint32_t want = 0;
    switch (o.type) {
      case ipcp_address:
        saw_address = true;
        want = _peer;
        break;
      case ipcp_dns_primary:
        want = _settings.dns_primary;
        break;
      case ipcp_dns_secondary:
        want = _settings.dns_secondary;
        break;
      case ipcp_nbns_primary:
        want = _settings.nbns_primary;
        break;
      case ipcp_nbns_secondary:
        want = _settings.nbns_secondary;
        break;
      default:
        // IP-Addresses (deprecated), Van Jacobson compression (the data
        // plane does not decompress it) and anything else.
        append_option_raw(reject, o);
        continue;
    }
    if (o.value.size() != 4) {
      _counters.add(Counter::bad_option_length);
      append_option_raw(reject, o);
    } else if (want == 0) {
      // RFC 1877 §1: a server with nothing to offer rejects the option.
      append_option_raw(reject, o);
    } else if (read_u32(o.value) != want) {
      // 0.0.0.0 asks us to choose (RFC 1332 §3.3); any other value is a
      // wish we do not grant: either way Nak with the one to use.
      append_u32_option(nak, o.type, want);
    }
  }
  if (!saw_address && _peer != 0) {
    // RFC 1661 §5.3 lets a Nak carry options the peer did not send, to
    // tell it what it should ask for.
    append_u32_option(nak, ipcp_address, _peer);
  }
}

std::string Ipcp::on_nak(const OptionList&) {
  // Our address on the link is not negotiable; the request is resent as it
  // was, and a client that keeps refusing hits max_naks_received.
  return {};
}

std::string Ipcp::on_reject(const OptionList& rej) {
  for (const Option& o : rej.options()) {
    if (o.type == ipcp_address) {
      _send_address = false;
    }
  }
  return {};
}

}  // namespace l2tpgw::ppp
