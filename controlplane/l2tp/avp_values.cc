#include "controlplane/l2tp/avp_values.h"

#include <cstring>

#include "dataplane/wire/be.h"

namespace l2tpgw::l2tp {
namespace {

using Span = std::span<const std::uint8_t>;

std::uint16_t get16(Span v, std::size_t at) noexcept {
  wire::Be16 x;
  std::memcpy(&x, v.data() + at, 2);
  return x.host();
}

std::uint32_t get32(Span v, std::size_t at) noexcept {
  wire::Be32 x;
  std::memcpy(&x, v.data() + at, 4);
  return x.host();
}

// Byte by byte: g++ 12 warns (falsely) on a ranged insert into an empty
// vector at -O2.
template <typename Wire>
void put_wire(Bytes& out, const Wire& x) {
  std::uint8_t b[sizeof(Wire)];
  std::memcpy(b, &x, sizeof(Wire));
  for (const std::uint8_t c : b) {
    out.push_back(c);
  }
}

void put16(Bytes& out, std::uint16_t h) {
  put_wire(out, wire::Be16::from_host(h));
}

void put32(Bytes& out, std::uint32_t h) {
  put_wire(out, wire::Be32::from_host(h));
}

std::string as_string(Span v) {
  return std::string(v.begin(), v.end());
}

AvpError u16(Span v, std::optional<std::uint16_t>& out) {
  if (v.size() != 2) {
    return AvpError::bad_value_length;
  }
  out = get16(v, 0);
  return AvpError::ok;
}

AvpError u32(Span v, std::optional<std::uint32_t>& out) {
  if (v.size() != 4) {
    return AvpError::bad_value_length;
  }
  out = get32(v, 0);
  return AvpError::ok;
}

// Strings and opaque values: nonempty says whether §4.4 asks for at least
// one octet.
AvpError text(Span v, std::optional<std::string>& out, bool nonempty) {
  if (nonempty && v.empty()) {
    return AvpError::bad_value_length;
  }
  out = as_string(v);
  return AvpError::ok;
}

AvpError opaque(Span v, std::optional<Bytes>& out, bool nonempty) {
  if (nonempty && v.empty()) {
    return AvpError::bad_value_length;
  }
  out = Bytes(v.begin(), v.end());
  return AvpError::ok;
}

}  // namespace

bool AvpSet::has(AvpType type) const noexcept {
  switch (type) {
    case AvpType::message_type:
    case AvpType::random_vector:
      return false;
    case AvpType::result_code:
      return result_code.has_value();
    case AvpType::protocol_version:
      return protocol_version.has_value();
    case AvpType::framing_capabilities:
      return framing_capabilities.has_value();
    case AvpType::bearer_capabilities:
      return bearer_capabilities.has_value();
    case AvpType::tie_breaker:
      return tie_breaker.has_value();
    case AvpType::firmware_revision:
      return firmware_revision.has_value();
    case AvpType::host_name:
      return host_name.has_value();
    case AvpType::vendor_name:
      return vendor_name.has_value();
    case AvpType::assigned_tunnel_id:
      return assigned_tunnel_id.has_value();
    case AvpType::receive_window_size:
      return receive_window_size.has_value();
    case AvpType::challenge:
      return challenge.has_value();
    case AvpType::q931_cause_code:
      return q931_cause.has_value();
    case AvpType::challenge_response:
      return challenge_response.has_value();
    case AvpType::assigned_session_id:
      return assigned_session_id.has_value();
    case AvpType::call_serial_number:
      return call_serial_number.has_value();
    case AvpType::minimum_bps:
      return minimum_bps.has_value();
    case AvpType::maximum_bps:
      return maximum_bps.has_value();
    case AvpType::bearer_type:
      return bearer_type.has_value();
    case AvpType::framing_type:
      return framing_type.has_value();
    case AvpType::called_number:
      return called_number.has_value();
    case AvpType::calling_number:
      return calling_number.has_value();
    case AvpType::sub_address:
      return sub_address.has_value();
    case AvpType::tx_connect_speed:
      return tx_connect_speed.has_value();
    case AvpType::physical_channel_id:
      return physical_channel_id.has_value();
    case AvpType::initial_received_lcp_confreq:
      return initial_received_lcp_confreq.has_value();
    case AvpType::last_sent_lcp_confreq:
      return last_sent_lcp_confreq.has_value();
    case AvpType::last_received_lcp_confreq:
      return last_received_lcp_confreq.has_value();
    case AvpType::proxy_authen_type:
      return proxy_authen_type.has_value();
    case AvpType::proxy_authen_name:
      return proxy_authen_name.has_value();
    case AvpType::proxy_authen_challenge:
      return proxy_authen_challenge.has_value();
    case AvpType::proxy_authen_id:
      return proxy_authen_id.has_value();
    case AvpType::proxy_authen_response:
      return proxy_authen_response.has_value();
    case AvpType::call_errors:
      return call_errors.has_value();
    case AvpType::accm:
      return accm.has_value();
    case AvpType::private_group_id:
      return private_group_id.has_value();
    case AvpType::rx_connect_speed:
      return rx_connect_speed.has_value();
    case AvpType::sequencing_required:
      return sequencing_required;
  }
  return false;
}

AvpError decode_avp_value(const Avp& avp, AvpSet& s) {
  const Span v(avp.value);
  switch (static_cast<AvpType>(avp.type)) {
    case AvpType::message_type:
      return v.size() == 2 ? AvpError::ok : AvpError::bad_value_length;
    case AvpType::random_vector:
      return v.empty() ? AvpError::bad_value_length : AvpError::ok;
    case AvpType::result_code: {
      // §4.4.2: Result Code alone, or with Error Code, or with both and a
      // message; three bytes fit none of these.
      if (v.size() < 2 || v.size() == 3) {
        return AvpError::bad_value_length;
      }
      ResultCode rc;
      rc.result = get16(v, 0);
      if (v.size() >= 4) {
        rc.error = get16(v, 2);
        rc.message = as_string(v.subspan(4));
      }
      s.result_code = std::move(rc);
      return AvpError::ok;
    }
    case AvpType::protocol_version:
      if (v.size() != 2) {
        return AvpError::bad_value_length;
      }
      s.protocol_version = ProtocolVersion{v[0], v[1]};
      return AvpError::ok;
    case AvpType::framing_capabilities:
      return u32(v, s.framing_capabilities);
    case AvpType::bearer_capabilities:
      return u32(v, s.bearer_capabilities);
    case AvpType::tie_breaker:
      if (v.size() != 8) {
        return AvpError::bad_value_length;
      }
      s.tie_breaker.emplace();
      std::memcpy(s.tie_breaker->data(), v.data(), 8);
      return AvpError::ok;
    case AvpType::firmware_revision:
      return u16(v, s.firmware_revision);
    case AvpType::host_name:
      return text(v, s.host_name, true);
    case AvpType::vendor_name:
      return text(v, s.vendor_name, false);
    case AvpType::assigned_tunnel_id:
      // 0 passes: a StopCCN refusing an SCCRQ has no tunnel of its own to
      // name. The LNS refuses an SCCRQ that assigns 0.
      return u16(v, s.assigned_tunnel_id);
    case AvpType::receive_window_size: {
      const AvpError e = u16(v, s.receive_window_size);
      if (e == AvpError::ok && *s.receive_window_size == 0) {
        s.receive_window_size.reset();
        return AvpError::bad_value;
      }
      return e;
    }
    case AvpType::challenge:
      return opaque(v, s.challenge, true);
    case AvpType::q931_cause_code: {
      if (v.size() < 3) {
        return AvpError::bad_value_length;
      }
      Q931Cause q;
      q.cause = get16(v, 0);
      q.message = v[2];
      q.advisory = as_string(v.subspan(3));
      s.q931_cause = std::move(q);
      return AvpError::ok;
    }
    case AvpType::challenge_response:
      if (v.size() != 16) {
        return AvpError::bad_value_length;
      }
      s.challenge_response.emplace();
      std::memcpy(s.challenge_response->data(), v.data(), 16);
      return AvpError::ok;
    case AvpType::assigned_session_id: {
      // 0 is allowed here: a CDN refusing an ICRQ has no session of its own
      // to name.
      return u16(v, s.assigned_session_id);
    }
    case AvpType::call_serial_number:
      return u32(v, s.call_serial_number);
    case AvpType::minimum_bps:
      return u32(v, s.minimum_bps);
    case AvpType::maximum_bps:
      return u32(v, s.maximum_bps);
    case AvpType::bearer_type:
      return u32(v, s.bearer_type);
    case AvpType::framing_type:
      return u32(v, s.framing_type);
    case AvpType::called_number:
      return text(v, s.called_number, false);
    case AvpType::calling_number:
      return text(v, s.calling_number, false);
    case AvpType::sub_address:
      return text(v, s.sub_address, false);
    case AvpType::tx_connect_speed:
      return u32(v, s.tx_connect_speed);
    case AvpType::physical_channel_id:
      return u32(v, s.physical_channel_id);
    case AvpType::initial_received_lcp_confreq:
      return opaque(v, s.initial_received_lcp_confreq, false);
    case AvpType::last_sent_lcp_confreq:
      return opaque(v, s.last_sent_lcp_confreq, false);
    case AvpType::last_received_lcp_confreq:
      return opaque(v, s.last_received_lcp_confreq, false);
    case AvpType::proxy_authen_type:
      return u16(v, s.proxy_authen_type);
    case AvpType::proxy_authen_name:
      return text(v, s.proxy_authen_name, false);
    case AvpType::proxy_authen_challenge:
      return opaque(v, s.proxy_authen_challenge, true);
    case AvpType::proxy_authen_id:
      // §4.4.5: a reserved octet, then the PPP authentication ID.
      if (v.size() != 2) {
        return AvpError::bad_value_length;
      }
      s.proxy_authen_id = v[1];
      return AvpError::ok;
    case AvpType::proxy_authen_response:
      return opaque(v, s.proxy_authen_response, false);
    case AvpType::call_errors: {
      // §4.4.7: 2 reserved octets, then six 32-bit counters.
      if (v.size() != 26) {
        return AvpError::bad_value_length;
      }
      CallErrors c;
      c.crc = get32(v, 2);
      c.framing = get32(v, 6);
      c.hardware_overruns = get32(v, 10);
      c.buffer_overruns = get32(v, 14);
      c.timeouts = get32(v, 18);
      c.alignment = get32(v, 22);
      s.call_errors = c;
      return AvpError::ok;
    }
    case AvpType::accm:
      // §4.4.7: 2 reserved octets, Send ACCM, Receive ACCM.
      if (v.size() != 10) {
        return AvpError::bad_value_length;
      }
      s.accm = Accm{get32(v, 2), get32(v, 6)};
      return AvpError::ok;
    case AvpType::private_group_id:
      return opaque(v, s.private_group_id, false);
    case AvpType::rx_connect_speed:
      return u32(v, s.rx_connect_speed);
    case AvpType::sequencing_required:
      if (!v.empty()) {
        return AvpError::bad_value_length;
      }
      s.sequencing_required = true;
      return AvpError::ok;
  }
  // Unknown types never reach here: parse_avp_list keeps known ones only.
  return AvpError::unknown_mandatory;
}

namespace {

Bytes str_bytes(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

Bytes u16_bytes(std::uint16_t v) {
  Bytes b;
  put16(b, v);
  return b;
}

Bytes u32_bytes(std::uint32_t v) {
  Bytes b;
  put32(b, v);
  return b;
}

// The encoded value of each present AVP, or nullopt when absent.
std::optional<Bytes> encode_value(const AvpSet& s, AvpType t) {
  switch (t) {
    case AvpType::message_type:
    case AvpType::random_vector:
      return std::nullopt;
    case AvpType::result_code: {
      if (!s.result_code) {
        return std::nullopt;
      }
      Bytes b = u16_bytes(s.result_code->result);
      if (s.result_code->error) {
        put16(b, *s.result_code->error);
        b.insert(b.end(), s.result_code->message.begin(), s.result_code->message.end());
      }
      return b;
    }
    case AvpType::protocol_version:
      if (!s.protocol_version) {
        return std::nullopt;
      }
      return Bytes{s.protocol_version->version, s.protocol_version->revision};
    case AvpType::tie_breaker:
      if (!s.tie_breaker) {
        return std::nullopt;
      }
      return Bytes(s.tie_breaker->begin(), s.tie_breaker->end());
    case AvpType::q931_cause_code: {
      if (!s.q931_cause) {
        return std::nullopt;
      }
      Bytes b = u16_bytes(s.q931_cause->cause);
      b.push_back(s.q931_cause->message);
      b.insert(b.end(), s.q931_cause->advisory.begin(), s.q931_cause->advisory.end());
      return b;
    }
    case AvpType::challenge_response:
      if (!s.challenge_response) {
        return std::nullopt;
      }
      return Bytes(s.challenge_response->begin(), s.challenge_response->end());
    case AvpType::proxy_authen_id:
      if (!s.proxy_authen_id) {
        return std::nullopt;
      }
      return Bytes{0, *s.proxy_authen_id};
    case AvpType::call_errors: {
      if (!s.call_errors) {
        return std::nullopt;
      }
      Bytes b{0, 0};
      for (const std::uint32_t v :
           {s.call_errors->crc, s.call_errors->framing, s.call_errors->hardware_overruns,
            s.call_errors->buffer_overruns, s.call_errors->timeouts, s.call_errors->alignment}) {
        put32(b, v);
      }
      return b;
    }
    case AvpType::accm: {
      if (!s.accm) {
        return std::nullopt;
      }
      Bytes b{0, 0};
      put32(b, s.accm->send);
      put32(b, s.accm->receive);
      return b;
    }
    case AvpType::sequencing_required:
      return s.sequencing_required ? std::optional<Bytes>(Bytes{}) : std::nullopt;
    default:
      break;
  }
  const auto o16 = [](const std::optional<std::uint16_t>& v) -> std::optional<Bytes> {
    return v ? std::optional<Bytes>(u16_bytes(*v)) : std::nullopt;
  };
  const auto o32 = [](const std::optional<std::uint32_t>& v) -> std::optional<Bytes> {
    return v ? std::optional<Bytes>(u32_bytes(*v)) : std::nullopt;
  };
  const auto ostr = [](const std::optional<std::string>& v) -> std::optional<Bytes> {
    return v ? std::optional<Bytes>(str_bytes(*v)) : std::nullopt;
  };
  switch (t) {
    case AvpType::framing_capabilities:
      return o32(s.framing_capabilities);
    case AvpType::bearer_capabilities:
      return o32(s.bearer_capabilities);
    case AvpType::firmware_revision:
      return o16(s.firmware_revision);
    case AvpType::host_name:
      return ostr(s.host_name);
    case AvpType::vendor_name:
      return ostr(s.vendor_name);
    case AvpType::assigned_tunnel_id:
      return o16(s.assigned_tunnel_id);
    case AvpType::receive_window_size:
      return o16(s.receive_window_size);
    case AvpType::challenge:
      return s.challenge;
    case AvpType::assigned_session_id:
      return o16(s.assigned_session_id);
    case AvpType::call_serial_number:
      return o32(s.call_serial_number);
    case AvpType::minimum_bps:
      return o32(s.minimum_bps);
    case AvpType::maximum_bps:
      return o32(s.maximum_bps);
    case AvpType::bearer_type:
      return o32(s.bearer_type);
    case AvpType::framing_type:
      return o32(s.framing_type);
    case AvpType::called_number:
      return ostr(s.called_number);
    case AvpType::calling_number:
      return ostr(s.calling_number);
    case AvpType::sub_address:
      return ostr(s.sub_address);
    case AvpType::tx_connect_speed:
      return o32(s.tx_connect_speed);
    case AvpType::physical_channel_id:
      return o32(s.physical_channel_id);
    case AvpType::initial_received_lcp_confreq:
      return s.initial_received_lcp_confreq;
    case AvpType::last_sent_lcp_confreq:
      return s.last_sent_lcp_confreq;
    case AvpType::last_received_lcp_confreq:
      return s.last_received_lcp_confreq;
    case AvpType::proxy_authen_type:
      return o16(s.proxy_authen_type);
    case AvpType::proxy_authen_name:
      return ostr(s.proxy_authen_name);
    case AvpType::proxy_authen_challenge:
      return s.proxy_authen_challenge;
    case AvpType::proxy_authen_response:
      return s.proxy_authen_response;
    case AvpType::private_group_id:
      return s.private_group_id;
    case AvpType::rx_connect_speed:
      return o32(s.rx_connect_speed);
    default:
      return std::nullopt;
  }
}

}  // namespace

bool encode_avp_set(const AvpSet& set, const HideOptions& hide, AvpWriter& w) {
  bool hiding = false;
  for (std::uint16_t t = 0; t < avp_type_count; ++t) {
    if (hide.hide.test(t) && set.has(static_cast<AvpType>(t))) {
      hiding = true;
    }
  }
  if (hiding) {
    if (hide.secret.empty() || hide.random_vector.empty()) {
      return false;
    }
    if (!w.put_random_vector(hide.random_vector)) {
      return false;
    }
  }
  for (std::uint16_t t = 0; t < avp_type_count; ++t) {
    if (!known_avp_type(t)) {
      continue;
    }
    const auto type = static_cast<AvpType>(t);
    const std::optional<Bytes> v = encode_value(set, type);
    if (!v) {
      continue;
    }
    const bool ok =
        hide.hide.test(t) ? w.put_hidden(type, *v, hide.secret, hide.padding) : w.put(type, *v);
    if (!ok) {
      return false;
    }
  }
  return !w.failed();
}

}  // namespace l2tpgw::l2tp
