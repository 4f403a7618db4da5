#include "controlplane/ppp/options.h"

#include <cassert>
#include <cstring>

#include "dataplane/wire/be.h"

namespace l2tpgw::ppp {

const char* parse_error_name(ParseError e) noexcept {
  switch (e) {
#define L2TPGW_PPP_NAME(name, text) \
  case ParseError::name:            \
    return #name;
    L2TPGW_PPP_PARSE_ERRORS(L2TPGW_PPP_NAME)
#undef L2TPGW_PPP_NAME
  }
  return "unknown";
}

const char* describe(ParseError e) noexcept {
  switch (e) {
#define L2TPGW_PPP_TEXT(name, text) \
  case ParseError::name:            \
    return text;
    L2TPGW_PPP_PARSE_ERRORS(L2TPGW_PPP_TEXT)
#undef L2TPGW_PPP_TEXT
  }
  return "unknown";
}

std::uint16_t read_u16(std::span<const std::uint8_t> v) noexcept {
  wire::Be16 b;
  std::memcpy(&b, v.data(), sizeof b);
  return b.host();
}

std::uint32_t read_u32(std::span<const std::uint8_t> v) noexcept {
  wire::Be32 b;
  std::memcpy(&b, v.data(), sizeof b);
  return b.host();
}

PacketParse parse_packet(std::span<const std::uint8_t> in) noexcept {
  PacketParse r;
  if (in.size() < packet_header_len) {
    r.error = ParseError::truncated_packet;
    return r;
  }
  const std::size_t length = read_u16(in.subspan(2, 2));
  if (length < packet_header_len) {
    r.error = ParseError::short_length;
    return r;
  }
  if (length > in.size()) {
    r.error = ParseError::lying_length;
    return r;
  }
  r.error = ParseError::ok;
  r.packet.code = in[0];
  r.packet.id = in[1];
  r.packet.data = in.subspan(packet_header_len, length - packet_header_len);
  return r;
}

OptionList parse_options(std::span<const std::uint8_t> data) noexcept {
  OptionList l;
  std::size_t off = 0;
  while (off < data.size()) {
    if (data.size() - off < option_header_len) {
      l.error = ParseError::truncated_option;
      return l;
    }
    const std::size_t len = data[off + 1];
    if (len < option_header_len) {
      l.error = ParseError::short_option_length;
      return l;
    }
    if (len > data.size() - off) {
      l.error = ParseError::lying_option_length;
      return l;
    }
    if (l.count == max_options) {
      l.error = ParseError::option_flood;
      return l;
    }
    l.items[l.count++] = Option{data[off], data.subspan(off + 2, len - 2)};
    off += len;
  }
  return l;
}

void append_option(Bytes& out, std::uint8_t type, std::span<const std::uint8_t> value) {
  assert(value.size() <= 253);
  out.push_back(type);
  out.push_back(static_cast<std::uint8_t>(value.size() + option_header_len));
  out.insert(out.end(), value.begin(), value.end());
}

void append_option_raw(Bytes& out, const Option& o) {
  append_option(out, o.type, o.value);
}

void append_u16_option(Bytes& out, std::uint8_t type, std::uint16_t v) {
  const std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  append_option(out, type, b);
}

void append_u32_option(Bytes& out, std::uint8_t type, std::uint32_t v) {
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                             static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  append_option(out, type, b);
}

Bytes build_packet(Code code, std::uint8_t id, std::span<const std::uint8_t> data) {
  const std::size_t len = packet_header_len + data.size();
  assert(len <= 0xffff);
  Bytes out;
  out.reserve(len);
  out.push_back(static_cast<std::uint8_t>(code));
  out.push_back(id);
  out.push_back(static_cast<std::uint8_t>(len >> 8));
  out.push_back(static_cast<std::uint8_t>(len));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace l2tpgw::ppp
