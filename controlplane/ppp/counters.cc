#include "controlplane/ppp/counters.h"

namespace l2tpgw::ppp {

const char* counter_name(Counter c) noexcept {
  switch (c) {
#define L2TPGW_PPP_CNAME(name, text) \
  case Counter::name:                \
    return #name;
    L2TPGW_PPP_COUNTERS(L2TPGW_PPP_CNAME)
#undef L2TPGW_PPP_CNAME
    case Counter::count_:
      break;
  }
  return "unknown";
}

const char* describe(Counter c) noexcept {
  switch (c) {
#define L2TPGW_PPP_CTEXT(name, text) \
  case Counter::name:                \
    return text;
    L2TPGW_PPP_COUNTERS(L2TPGW_PPP_CTEXT)
#undef L2TPGW_PPP_CTEXT
    case Counter::count_:
      break;
  }
  return "unknown";
}

}  // namespace l2tpgw::ppp
