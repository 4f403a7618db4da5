#include "controlplane/l2tp/counters.h"

namespace l2tpgw::l2tp {

const char* lns_counter_name(LnsCounter c) noexcept {
  switch (c) {
#define L2TP_X(name, text) \
  case LnsCounter::name:   \
    return #name;
    L2TP_LNS_COUNTERS(L2TP_X)
#undef L2TP_X
  }
  return "unknown";
}

const char* describe(LnsCounter c) noexcept {
  switch (c) {
#define L2TP_X(name, text) \
  case LnsCounter::name:   \
    return text;
    L2TP_LNS_COUNTERS(L2TP_X)
#undef L2TP_X
  }
  return "unknown";
}

std::vector<std::pair<std::string, std::uint64_t>> LnsCounters::nonzero() const {
  std::vector<std::pair<std::string, std::uint64_t>> r;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i] != 0) {
      r.emplace_back(lns_counter_name(static_cast<LnsCounter>(i)), events[i]);
    }
  }
  for (std::size_t i = 0; i < message_errors.size(); ++i) {
    if (message_errors[i] != 0) {
      r.emplace_back(std::string("message_") + message_error_name(static_cast<MessageError>(i)),
                     message_errors[i]);
    }
  }
  for (std::size_t i = 0; i < avp_errors.size(); ++i) {
    if (avp_errors[i] != 0) {
      r.emplace_back(std::string("avp_") + avp_error_name(static_cast<AvpError>(i)), avp_errors[i]);
    }
  }
  return r;
}

}  // namespace l2tpgw::l2tp
