// The packet format shared by LCP, IPCP and CCP (RFC 1661 §5: Code,
// Identifier, Length, Data) and the option list of the Configure-* packets
// (RFC 1661 §6: Type, Length, Data), as pure functions over byte spans.
// Parsing never allocates: options are views into the packet, at most
// max_options of them (a longer list is treated as an option flood).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace l2tpgw::ppp {

using Bytes = std::vector<std::uint8_t>;

// RFC 1661 §5 codes 1-11 (all control protocols), §5 of RFC 1570 (12, 13)
// and RFC 1962 §2.2 (14, 15: CCP only).
enum class Code : std::uint8_t {
  configure_request = 1,
  configure_ack = 2,
  configure_nak = 3,
  configure_reject = 4,
  terminate_request = 5,
  terminate_ack = 6,
  code_reject = 7,
  protocol_reject = 8,
  echo_request = 9,
  echo_reply = 10,
  discard_request = 11,
  identification = 12,
  time_remaining = 13,
  reset_request = 14,
  reset_ack = 15,
};

inline constexpr std::size_t packet_header_len = 4;
inline constexpr std::size_t option_header_len = 2;
// More options than any real peer sends (Windows sends 5 in LCP, 5 in IPCP);
// a longer list is refused as a flood rather than walked.
inline constexpr std::size_t max_options = 32;

// One list makes the enum and the descriptions, so that a counter per reason
// can be built from it.
#define L2TPGW_PPP_PARSE_ERRORS(X)                                                \
  X(ok, "parsed")                                                                 \
  X(truncated_packet, "shorter than the 4-byte Code/Identifier/Length header")    \
  X(short_length, "Length field below 4 (RFC 1661 §5)")                           \
  X(lying_length, "Length field larger than the frame (RFC 1661 §5)")             \
  X(truncated_option, "option shorter than its 2-byte Type/Length (RFC 1661 §6)") \
  X(short_option_length, "option Length below 2 (RFC 1661 §6)")                   \
  X(lying_option_length, "option Length runs past the end of the packet")         \
  X(option_flood, "more options than max_options in one packet")

enum class ParseError : std::uint8_t {
#define L2TPGW_PPP_ENUM(name, text) name,
  L2TPGW_PPP_PARSE_ERRORS(L2TPGW_PPP_ENUM)
#undef L2TPGW_PPP_ENUM
};

const char* parse_error_name(ParseError e) noexcept;
const char* describe(ParseError e) noexcept;

struct Packet {
  std::uint8_t code = 0;
  std::uint8_t id = 0;
  // Up to Length: octets past it are padding (RFC 1661 §5) and dropped.
  std::span<const std::uint8_t> data;
};

struct PacketParse {
  ParseError error = ParseError::truncated_packet;
  Packet packet;

  bool ok() const noexcept { return error == ParseError::ok; }
};

PacketParse parse_packet(std::span<const std::uint8_t> in) noexcept;

struct Option {
  std::uint8_t type = 0;
  std::span<const std::uint8_t> value;  // after Type and Length
};

struct OptionList {
  ParseError error = ParseError::ok;
  std::size_t count = 0;
  std::array<Option, max_options> items{};

  bool ok() const noexcept { return error == ParseError::ok; }
  std::span<const Option> options() const noexcept { return {items.data(), count}; }
};

// The Data of a Configure-Request/Ack/Nak/Reject.
OptionList parse_options(std::span<const std::uint8_t> data) noexcept;

// Builders. An option value longer than 253 bytes cannot be encoded and is
// a programming error: the builders clamp nothing and assert in debug builds.
void append_option(Bytes& out, std::uint8_t type, std::span<const std::uint8_t> value);
void append_option_raw(Bytes& out, const Option& o);  // re-encodes a parsed option
void append_u16_option(Bytes& out, std::uint8_t type, std::uint16_t v);
void append_u32_option(Bytes& out, std::uint8_t type, std::uint32_t v);

// Code, Identifier, Length and data: one control packet, without the PPP
// header.
Bytes build_packet(Code code, std::uint8_t id, std::span<const std::uint8_t> data);

// Big-endian reads of option values whose length the caller checked.
std::uint16_t read_u16(std::span<const std::uint8_t> v) noexcept;
std::uint32_t read_u32(std::span<const std::uint8_t> v) noexcept;

}  // namespace l2tpgw::ppp
