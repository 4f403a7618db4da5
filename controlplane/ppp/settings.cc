#include "controlplane/ppp/settings.h"

namespace l2tpgw::ppp {

const char* auth_name(AuthProto a) noexcept {
  switch (a) {
    case AuthProto::pap:
      return "PAP";
    case AuthProto::chap_md5:
      return "CHAP-MD5";
    case AuthProto::mschapv2:
      return "MS-CHAPv2";
  }
  return "unknown";
}

std::optional<MppePolicy> parse_mppe_policy(std::string_view s) noexcept {
  if (s == "none") {
    return MppePolicy::none;
  }
  if (s == "allow") {
    return MppePolicy::allow;
  }
  if (s == "require") {
    return MppePolicy::require;
  }
  return std::nullopt;
}

}  // namespace l2tpgw::ppp
