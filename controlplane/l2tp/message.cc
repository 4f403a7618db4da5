#include "controlplane/l2tp/message.h"

#include <array>
#include <cstring>

#include "dataplane/wire/be.h"
#include "dataplane/wire/l2tp.h"

namespace l2tpgw::l2tp {
namespace {

using T = AvpType;

// §6.1 to §6.16, "the following AVPs MUST be present".
constexpr std::array sccrq_avps{T::protocol_version, T::host_name, T::framing_capabilities,
                                T::assigned_tunnel_id};
constexpr std::array sccrp_avps{T::protocol_version, T::framing_capabilities, T::host_name,
                                T::assigned_tunnel_id};
constexpr std::array stopccn_avps{T::assigned_tunnel_id, T::result_code};
constexpr std::array ocrq_avps{T::assigned_session_id, T::call_serial_number, T::minimum_bps,
                               T::maximum_bps,         T::bearer_type,        T::framing_type,
                               T::called_number};
constexpr std::array ocrp_avps{T::assigned_session_id};
constexpr std::array occn_avps{T::tx_connect_speed, T::framing_type};
constexpr std::array icrq_avps{T::assigned_session_id, T::call_serial_number};
constexpr std::array icrp_avps{T::assigned_session_id};
constexpr std::array iccn_avps{T::tx_connect_speed, T::framing_type};
constexpr std::array cdn_avps{T::result_code, T::assigned_session_id};
constexpr std::array wen_avps{T::call_errors};
constexpr std::array sli_avps{T::accm};

void put16(std::uint8_t* p, std::uint16_t h) noexcept {
  const wire::Be16 v = wire::Be16::from_host(h);
  std::memcpy(p, &v, 2);
}

MessageError header_error(wire::L2tpError e) noexcept {
  switch (e) {
    case wire::L2tpError::ok:
      return MessageError::ok;
    case wire::L2tpError::truncated:
      return MessageError::header_truncated;
    case wire::L2tpError::bad_version:
    case wire::L2tpError::l2tpv3:
      return MessageError::header_bad_version;
    case wire::L2tpError::length_mismatch:
    case wire::L2tpError::offset_beyond:
      return MessageError::header_length_mismatch;
    case wire::L2tpError::control_flags:
      return MessageError::header_control_flags;
  }
  return MessageError::header_truncated;
}

}  // namespace

bool known_message_type(std::uint16_t type) noexcept {
  switch (static_cast<MessageType>(type)) {
    case MessageType::sccrq:
    case MessageType::sccrp:
    case MessageType::scccn:
    case MessageType::stopccn:
    case MessageType::hello:
    case MessageType::ocrq:
    case MessageType::ocrp:
    case MessageType::occn:
    case MessageType::icrq:
    case MessageType::icrp:
    case MessageType::iccn:
    case MessageType::cdn:
    case MessageType::wen:
    case MessageType::sli:
      return true;
  }
  return false;
}

const char* message_type_name(std::uint16_t type) noexcept {
  if (type == 0) {
    return "ZLB";
  }
  switch (static_cast<MessageType>(type)) {
    case MessageType::sccrq:
      return "SCCRQ";
    case MessageType::sccrp:
      return "SCCRP";
    case MessageType::scccn:
      return "SCCCN";
    case MessageType::stopccn:
      return "StopCCN";
    case MessageType::hello:
      return "HELLO";
    case MessageType::ocrq:
      return "OCRQ";
    case MessageType::ocrp:
      return "OCRP";
    case MessageType::occn:
      return "OCCN";
    case MessageType::icrq:
      return "ICRQ";
    case MessageType::icrp:
      return "ICRP";
    case MessageType::iccn:
      return "ICCN";
    case MessageType::cdn:
      return "CDN";
    case MessageType::wen:
      return "WEN";
    case MessageType::sli:
      return "SLI";
  }
  return "unknown";
}

const char* message_error_name(MessageError e) noexcept {
  switch (e) {
#define L2TP_X(name, text) \
  case MessageError::name: \
    return #name;
    L2TP_MESSAGE_ERRORS(L2TP_X)
#undef L2TP_X
  }
  return "unknown";
}

const char* describe(MessageError e) noexcept {
  switch (e) {
#define L2TP_X(name, text) \
  case MessageError::name: \
    return text;
    L2TP_MESSAGE_ERRORS(L2TP_X)
#undef L2TP_X
  }
  return "unknown";
}

std::span<const AvpType> mandatory_avps(std::uint16_t type) noexcept {
  switch (static_cast<MessageType>(type)) {
    case MessageType::sccrq:
      return sccrq_avps;
    case MessageType::sccrp:
      return sccrp_avps;
    case MessageType::stopccn:
      return stopccn_avps;
    case MessageType::ocrq:
      return ocrq_avps;
    case MessageType::ocrp:
      return ocrp_avps;
    case MessageType::occn:
      return occn_avps;
    case MessageType::icrq:
      return icrq_avps;
    case MessageType::icrp:
      return icrp_avps;
    case MessageType::iccn:
      return iccn_avps;
    case MessageType::cdn:
      return cdn_avps;
    case MessageType::wen:
      return wen_avps;
    case MessageType::sli:
      return sli_avps;
    case MessageType::scccn:
    case MessageType::hello:
      break;
  }
  return {};
}

std::optional<AvpType> first_missing_mandatory(std::uint16_t type, const AvpSet& set) noexcept {
  for (const AvpType t : mandatory_avps(type)) {
    if (!set.has(t)) {
      return t;
    }
  }
  return std::nullopt;
}

MessageParse parse_control_message(std::span<const std::uint8_t> udp_payload,
                                   std::span<const std::uint8_t> secret) {
  MessageParse r;
  const wire::L2tpParse h = wire::parse_l2tp(udp_payload);
  if (!h.ok()) {
    r.error = header_error(h.error);
    return r;
  }
  if (!h.is_control) {
    r.error = MessageError::not_control;
    return r;
  }
  r.header_ok = true;
  r.msg.header = ControlHeader{h.tunnel_id, h.session_id, h.ns, h.nr};
  const auto body = udp_payload.subspan(h.payload_offset, h.payload_len);
  if (body.empty()) {
    r.error = MessageError::ok;  // ZLB
    return r;
  }
  AvpList list = parse_avp_list(body, secret);
  const bool soft = list.error == AvpError::unknown_mandatory;
  if (list.error != AvpError::ok && !soft) {
    r.error = MessageError::avp;
    r.avp_error = list.error;
    r.avp_type = list.error_type;
    return r;
  }
  // §3.2: Message Type is the first AVP; unknown AVPs are skipped by the
  // walk, so the first known one must also sit at offset 0.
  if (list.avps.empty() || list.avps.front().type != static_cast<std::uint16_t>(T::message_type) ||
      list.avps.front().offset != 0) {
    r.error = MessageError::message_type_not_first;
    return r;
  }
  const Avp& mt = list.avps.front();
  if (mt.value.size() != 2) {
    r.error = MessageError::avp;
    r.avp_error = AvpError::bad_value_length;
    r.avp_type = mt.type;
    return r;
  }
  r.msg.type = static_cast<std::uint16_t>((mt.value[0] << 8) | mt.value[1]);
  if (!known_message_type(r.msg.type)) {
    // §4.4.1: an unknown type with M set clears the tunnel; without M the
    // message is ignored.
    r.error = mt.mandatory ? MessageError::unknown_message_type
                           : MessageError::unknown_message_type_ignored;
    return r;
  }
  if (r.msg.type == 0) {
    r.error = MessageError::unknown_message_type;
    return r;
  }
  for (std::size_t i = 1; i < list.avps.size(); ++i) {
    const Avp& a = list.avps[i];
    const AvpError e = decode_avp_value(a, r.msg.avps);
    if (e != AvpError::ok) {
      r.error = MessageError::avp;
      r.avp_error = e;
      r.avp_type = a.type;
      return r;
    }
    if (a.hidden) {
      r.msg.hidden.set(a.type);
    }
  }
  if (soft) {
    r.msg.unknown_mandatory_avp = list.error_type;
    r.error = MessageError::avp;
    r.avp_error = AvpError::unknown_mandatory;
    r.avp_type = list.error_type;
    return r;
  }
  if (const auto missing = first_missing_mandatory(r.msg.type, r.msg.avps)) {
    r.error = MessageError::missing_mandatory_avp;
    r.avp_type = static_cast<std::uint16_t>(*missing);
    return r;
  }
  r.error = MessageError::ok;
  return r;
}

std::vector<std::uint8_t> build_control_message(const ControlMessage& msg,
                                                const HideMaterial& hide) {
  std::vector<std::uint8_t> out(control_header_len, 0);
  if (!msg.zlb()) {
    AvpWriter w(out);
    const std::uint8_t mt[2] = {static_cast<std::uint8_t>(msg.type >> 8),
                                static_cast<std::uint8_t>(msg.type & 0xff)};
    w.put(AvpType::message_type, mt);
    HideOptions opts;
    opts.hide = msg.hidden;
    opts.secret = hide.secret;
    opts.random_vector = hide.random_vector;
    opts.padding = hide.padding;
    if (!encode_avp_set(msg.avps, opts, w)) {
      return {};
    }
  }
  if (out.size() > 0xffff) {
    return {};
  }
  put16(out.data(), control_flags_v2);
  put16(out.data() + 2, static_cast<std::uint16_t>(out.size()));
  put16(out.data() + 4, msg.header.tunnel_id);
  put16(out.data() + 6, msg.header.session_id);
  put16(out.data() + 8, msg.header.ns);
  put16(out.data() + 10, msg.header.nr);
  return out;
}

void stamp_sequence(std::span<std::uint8_t> message, std::uint16_t ns, std::uint16_t nr) noexcept {
  if (message.size() >= control_header_len) {
    put16(message.data() + 8, ns);
    put16(message.data() + 10, nr);
  }
}

}  // namespace l2tpgw::l2tp
