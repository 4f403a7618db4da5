#include "controlplane/sa_pairs.h"

namespace l2tpgw::cp {

std::optional<SaRef> find_outbound_pair(std::span<const channel::SaParams> sas,
                                        std::uint32_t in_spi, std::uint32_t peer_addr) noexcept {
  const channel::SaParams* in = nullptr;
  for (const auto& s : sas) {
    if (s.dir == channel::Direction::in && s.spi == in_spi && s.peer_addr == peer_addr) {
      in = &s;
      break;
    }
  }
  if (in == nullptr) {
    return std::nullopt;
  }
  for (const auto& s : sas) {
    if (s.dir == channel::Direction::out && s.peer_addr == peer_addr && s.encap == in->encap &&
        (s.encap == channel::Encap::none || s.peer_port == in->peer_port)) {
      return SaRef{s.spi, s.peer_addr};
    }
  }
  return std::nullopt;
}

}  // namespace l2tpgw::cp
