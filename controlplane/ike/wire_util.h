// Big-endian reads and writes over byte spans for the ISAKMP codecs, through
// the wire Be types so the byte order stays visible. Callers check bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "dataplane/wire/be.h"

namespace l2tpgw::ike {

inline std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t off) noexcept {
  wire::Be16 v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v.host();
}

inline std::uint32_t get32(std::span<const std::uint8_t> b, std::size_t off) noexcept {
  wire::Be32 v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v.host();
}

inline void set16(std::span<std::uint8_t> b, std::size_t off, std::uint16_t host) noexcept {
  const auto v = wire::Be16::from_host(host);
  std::memcpy(b.data() + off, &v, sizeof v);
}

inline void set32(std::span<std::uint8_t> b, std::size_t off, std::uint32_t host) noexcept {
  const auto v = wire::Be32::from_host(host);
  std::memcpy(b.data() + off, &v, sizeof v);
}

inline void put16(std::vector<std::uint8_t>& out, std::uint16_t host) {
  out.resize(out.size() + 2);
  set16(out, out.size() - 2, host);
}

inline void put32(std::vector<std::uint8_t>& out, std::uint32_t host) {
  out.resize(out.size() + 4);
  set32(out, out.size() - 4, host);
}

}  // namespace l2tpgw::ike
