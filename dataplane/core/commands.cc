#include "dataplane/core/commands.h"

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <cstring>

namespace l2tpgw {
namespace {

// Commands per pass of the main loop; a rekey storm is spread over passes
// so heartbeats and reclamation keep their pace.
constexpr unsigned command_batch = 64;

channel::Ack apply(Runtime& rt, channel::CtrlMsg& msg) {
  if (msg.hdr.version != channel::version) {
    return channel::make_ack(channel::AckResult::bad_message);
  }
  switch (msg.hdr.type) {
    case channel::MsgType::sa_add: {
      channel::Ack a = rt.sas->add(msg.sa_add.sa);
      std::memset(&msg.sa_add.sa.cipher_key, 0, sizeof msg.sa_add.sa.cipher_key);
      std::memset(&msg.sa_add.sa.auth_key, 0, sizeof msg.sa_add.sa.auth_key);
      return a;
    }
    case channel::MsgType::sa_del:
      return rt.sas->del(msg.sa_del.dir, msg.sa_del.spi, msg.sa_del.peer_addr);
    case channel::MsgType::session_add:
      return rt.sessions->add(msg.session_add.session);
    case channel::MsgType::session_del:
      return rt.sessions->del(msg.session_del.local_tunnel_id, msg.session_del.local_session_id);
    case channel::MsgType::session_mppe_reset:
      return rt.sessions->mppe_reset(msg.session_mppe_reset.local_tunnel_id,
                                     msg.session_mppe_reset.local_session_id);
    case channel::MsgType::session_set_sa:
      return rt.sessions->set_sa(msg.session_set_sa.local_tunnel_id, msg.session_set_sa.local_session_id,
                                 msg.session_set_sa.sa_in_spi, msg.session_set_sa.sa_out_spi);
    default:
      return channel::make_ack(channel::AckResult::bad_message);
  }
}

}  // namespace

unsigned apply_commands(Runtime& rt) {
  channel::CtrlMsg msgs[command_batch];
  const unsigned n = rte_ring_sc_dequeue_burst_elem(rt.seg->cmd_ring(), msgs, channel::ctrl_elem_size,
                                                   command_batch, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    channel::CtrlMsg reply{};
    reply.ack = apply(rt, msgs[i]);
    reply.ack.hdr.version = channel::version;
    reply.ack.hdr.type = channel::MsgType::ack;
    reply.ack.hdr.cookie = msgs[i].hdr.cookie;
    // The event ring has room for a full batch unless the control plane is
    // gone; then the ack is lost with it.
    rte_ring_mp_enqueue_elem(rt.seg->event_ring(), &reply, channel::ctrl_elem_size);
  }
  explicit_bzero(msgs, sizeof msgs);
  return n;
}

}  // namespace l2tpgw
