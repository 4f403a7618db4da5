// Text forms of addresses shared by the config reader and the CLI.
#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <string_view>

#include "dataplane/config/config.h"

namespace l2tpgw {
namespace {

// A decimal number of at most `max`, without sign, leading '+' or spaces.
std::optional<unsigned> parse_decimal(std::string_view s, unsigned max) {
  unsigned v = 0;
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) {
    return std::nullopt;
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v > max) {
    return std::nullopt;
  }
  return v;
}

std::optional<unsigned> hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return static_cast<unsigned>(c - '0');
  }
  if (c >= 'a' && c <= 'f') {
    return static_cast<unsigned>(c - 'a' + 10);
  }
  if (c >= 'A' && c <= 'F') {
    return static_cast<unsigned>(c - 'A' + 10);
  }
  return std::nullopt;
}

}  // namespace

// Dotted quad only (no shorthand like "10.1" or octal "010.0.0.1", which
// inet_aton would take and an operator would not mean).
std::optional<std::uint32_t> parse_ipv4(const std::string& s) {
  std::uint32_t addr = 0;
  std::string_view rest = s;
  for (int i = 0; i < 4; ++i) {
    const auto dot = rest.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) {
      return std::nullopt;
    }
    const auto octet = parse_decimal(rest.substr(0, dot), 255);
    if (!octet) {
      return std::nullopt;
    }
    addr = (addr << 8) | *octet;
    rest = i < 3 ? rest.substr(dot + 1) : std::string_view{};
  }
  return addr;
}

std::optional<Ipv4Prefix> parse_prefix(const std::string& s) {
  const auto slash = s.find('/');
  if (slash == std::string::npos) {
    return std::nullopt;
  }
  const auto addr = parse_ipv4(s.substr(0, slash));
  const auto len = parse_decimal(std::string_view(s).substr(slash + 1), 32);
  if (!addr || !len) {
    return std::nullopt;
  }
  return Ipv4Prefix{*addr, static_cast<std::uint8_t>(*len)};
}

std::optional<wire::Mac> parse_mac(const std::string& s) {
  wire::Mac mac{};
  if (s.size() != 17) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < 6; ++i) {
    const auto hi = hex_digit(s[i * 3]);
    const auto lo = hex_digit(s[i * 3 + 1]);
    if (!hi || !lo || (i < 5 && s[i * 3 + 2] != ':')) {
      return std::nullopt;
    }
    mac[i] = static_cast<std::uint8_t>(*hi << 4 | *lo);
  }
  return mac;
}

std::string format_ipv4(std::uint32_t a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xffu, (a >> 8) & 0xffu,
                a & 0xffu);
  return buf;
}

std::string format_mac(const wire::Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

std::optional<wire::Ipv6Addr> parse_ipv6(const std::string& s) {
  wire::Ipv6Addr a{};
  if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) {
    return std::nullopt;
  }
  return a;
}

std::optional<Ipv6Prefix> parse_prefix6(const std::string& s) {
  const auto slash = s.find('/');
  if (slash == std::string::npos) {
    return std::nullopt;
  }
  const auto a = parse_ipv6(s.substr(0, slash));
  const auto len = parse_decimal(std::string_view(s).substr(slash + 1), 128);
  if (!a || !len) {
    return std::nullopt;
  }
  return Ipv6Prefix{*a, static_cast<std::uint8_t>(*len)};
}

std::string format_ipv6(const wire::Ipv6Addr& a) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, a.data(), buf, sizeof buf) != nullptr ? buf : "?";
}

}  // namespace l2tpgw
