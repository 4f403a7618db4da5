#include "controlplane/ike/secret.h"

#include <openssl/crypto.h>

namespace l2tpgw::ike {

// OPENSSL_cleanse cannot be optimised away like a memset before free.
void wipe(void* p, std::size_t n) noexcept {
  OPENSSL_cleanse(p, n);
}

}  // namespace l2tpgw::ike
