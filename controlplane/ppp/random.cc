#include "controlplane/ppp/random.h"

#include <openssl/rand.h>

#include <cstdlib>

namespace l2tpgw::ppp {

void OsRandom::fill(std::span<std::uint8_t> out) {
  if (out.empty()) {
    return;
  }
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    std::abort();
  }
}

}  // namespace l2tpgw::ppp
