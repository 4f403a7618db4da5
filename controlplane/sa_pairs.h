// Which outbound SA answers a peer that spoke through an inbound one. IKE
// negotiates SAs in pairs and will know; for static SAs the pair is the
// outbound SA to the same peer, carried the same way (raw ESP, or UDP from
// the same port: two clients behind one NAT share the address, not the
// port).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "controlplane/dp_channel.h"
#include "dataplane/channel/messages.h"

namespace l2tpgw::cp {

std::optional<SaRef> find_outbound_pair(std::span<const channel::SaParams> sas,
                                        std::uint32_t in_spi, std::uint32_t peer_addr) noexcept;

}  // namespace l2tpgw::cp
