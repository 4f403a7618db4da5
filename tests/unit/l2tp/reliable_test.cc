// §5.8 reliable delivery with a simulated clock: sequencing, back-off,
// exhaustion, duplicates, reordering, the peer's window and ZLB acks.
#include "controlplane/l2tp/reliable.h"

#include <gtest/gtest.h>

#include "tests/unit/l2tp/test_util.h"

namespace l2tpgw::l2tp {
namespace {

using l2tp_test::at_ms;

std::vector<std::uint8_t> hello_bytes() {
  ControlMessage m;
  m.header.tunnel_id = 7;
  m.type = static_cast<std::uint16_t>(MessageType::hello);
  return build_control_message(m);
}

ControlMessage from_peer(std::uint16_t ns, std::uint16_t nr, bool zlb = false) {
  ControlMessage m;
  m.header = ControlHeader{42, 0, ns, nr};
  if (!zlb) {
    m.type = static_cast<std::uint16_t>(MessageType::hello);
  }
  return m;
}

ControlHeader header_of(const std::vector<std::uint8_t>& b) {
  const MessageParse p = parse_control_message(b, {});
  EXPECT_TRUE(p.header_ok);
  return p.msg.header;
}

ReliableChannel channel() {
  ReliableChannel c{ReliableConfig{}};
  c.set_peer_tunnel_id(7);
  return c;
}

TEST(L2tpSeq, ModularComparison) {
  EXPECT_TRUE(seq_before(1, 2));
  EXPECT_FALSE(seq_before(2, 2));
  EXPECT_TRUE(seq_before(65535, 0));  // wraps
  EXPECT_TRUE(seq_before(65000, 100));
  EXPECT_FALSE(seq_before(100, 65000));
}

TEST(L2tpReliable, SendStampsNsAndNr) {
  ReliableChannel c = channel();
  ReliableOutput o;
  c.on_receive(from_peer(0, 0), at_ms(0), o);
  ASSERT_EQ(o.deliver.size(), 1u);
  c.send(hello_bytes(), at_ms(10), o);
  c.send(hello_bytes(), at_ms(10), o);
  ASSERT_EQ(o.transmit.size(), 2u);
  EXPECT_EQ(header_of(o.transmit[0]).ns, 0);
  EXPECT_EQ(header_of(o.transmit[0]).nr, 1);
  EXPECT_EQ(header_of(o.transmit[1]).ns, 1);
  EXPECT_EQ(c.next_ns(), 2);
}

TEST(L2tpReliable, BackoffDoublesToTheCapThenGivesUp) {
  ReliableChannel c = channel();
  ReliableOutput o;
  c.send(hello_bytes(), at_ms(0), o);
  ASSERT_EQ(o.transmit.size(), 1u);
  // §5.8: 1 s, 2 s, 4 s, 8 s, 8 s (capped): retransmissions at 1, 3, 7, 15,
  // 23 s; the fifth one unanswered for 8 s more ends it at 31 s.
  const std::int64_t expect_at[] = {1000, 3000, 7000, 15000, 23000};
  std::int64_t t = 0;
  for (const std::int64_t due : expect_at) {
    ReliableOutput early;
    c.poll(at_ms(due - 1), early);
    EXPECT_TRUE(early.transmit.empty()) << due;
    ASSERT_EQ(c.next_deadline(), at_ms(due));
    ReliableOutput r;
    c.poll(at_ms(due), r);
    ASSERT_EQ(r.transmit.size(), 1u) << due;
    EXPECT_EQ(header_of(r.transmit[0]).ns, 0);
    t = due;
  }
  EXPECT_EQ(c.retransmits(), 5u);
  ReliableOutput before;
  c.poll(at_ms(t + 7999), before);
  EXPECT_FALSE(before.silent_on);
  ReliableOutput last;
  c.poll(at_ms(t + 8000), last);
  ASSERT_TRUE(last.silent_on);
  EXPECT_EQ(*last.silent_on, static_cast<std::uint16_t>(MessageType::hello));
  EXPECT_TRUE(last.transmit.empty());
  EXPECT_TRUE(c.failed());
  EXPECT_FALSE(c.next_deadline());
}

TEST(L2tpReliable, AckResetsBackoffAndRetransmitCarriesNewNr) {
  ReliableChannel c = channel();
  ReliableOutput o;
  c.send(hello_bytes(), at_ms(0), o);
  c.poll(at_ms(1000), o);  // first retransmission
  c.poll(at_ms(3000), o);  // second
  // The peer's message arrives (Ns 0) without acknowledging ours (Nr 0).
  ReliableOutput r;
  c.on_receive(from_peer(0, 0), at_ms(3500), r);
  ReliableOutput rt;
  c.poll(at_ms(7000), rt);
  ASSERT_EQ(rt.transmit.size(), 1u);
  EXPECT_EQ(header_of(rt.transmit[0]).nr, 1);  // retransmission acknowledges it
  // Now the ack: back-off starts over for the next message.
  ReliableOutput a;
  c.on_receive(from_peer(1, 1, true), at_ms(7100), a);
  EXPECT_TRUE(c.all_acked());
  c.send(hello_bytes(), at_ms(8000), a);
  EXPECT_EQ(c.next_deadline(), at_ms(9000));
}

TEST(L2tpReliable, ZlbAfterDelayWhenNothingToPiggyBack) {
  ReliableChannel c = channel();
  ReliableOutput o;
  EXPECT_EQ(c.on_receive(from_peer(0, 0), at_ms(0), o), Receipt::delivered);
  EXPECT_TRUE(o.transmit.empty());
  EXPECT_EQ(c.next_deadline(), at_ms(250));
  ReliableOutput early;
  c.poll(at_ms(249), early);
  EXPECT_TRUE(early.transmit.empty());
  ReliableOutput z;
  c.poll(at_ms(250), z);
  ASSERT_EQ(z.transmit.size(), 1u);
  const MessageParse p = parse_control_message(z.transmit[0], {});
  EXPECT_TRUE(p.msg.zlb());
  EXPECT_EQ(p.msg.header.tunnel_id, 7);
  EXPECT_EQ(p.msg.header.ns, 0);  // a ZLB does not consume Ns
  EXPECT_EQ(p.msg.header.nr, 1);
  EXPECT_EQ(c.next_ns(), 0);
  // A ZLB is never acknowledged.
  ReliableOutput zz;
  EXPECT_EQ(c.on_receive(from_peer(1, 0, true), at_ms(300), zz), Receipt::ack_only);
  c.poll(at_ms(10000), zz);
  EXPECT_TRUE(zz.transmit.empty());
}

TEST(L2tpReliable, PiggyBackCancelsTheZlb) {
  ReliableChannel c = channel();
  ReliableOutput o;
  c.on_receive(from_peer(0, 0), at_ms(0), o);
  c.send(hello_bytes(), at_ms(100), o);
  ASSERT_EQ(o.transmit.size(), 1u);
  ReliableOutput later;
  c.poll(at_ms(250), later);
  EXPECT_TRUE(later.transmit.empty());
}

TEST(L2tpReliable, DuplicateIsReackedNotDelivered) {
  ReliableChannel c = channel();
  ReliableOutput o;
  c.on_receive(from_peer(0, 0), at_ms(0), o);
  ReliableOutput d;
  EXPECT_EQ(c.on_receive(from_peer(0, 0), at_ms(1000), d), Receipt::duplicate);
  EXPECT_TRUE(d.deliver.empty());
  ASSERT_EQ(d.transmit.size(), 1u);  // at once: the peer's timer is running
  EXPECT_EQ(header_of(d.transmit[0]).nr, 1);
}

TEST(L2tpReliable, OutOfOrderIsDeliveredInOrder) {
  ReliableChannel c = channel();
  ReliableOutput o;
  EXPECT_EQ(c.on_receive(from_peer(2, 0), at_ms(0), o), Receipt::queued);
  EXPECT_EQ(c.on_receive(from_peer(1, 0), at_ms(1), o), Receipt::queued);
  EXPECT_TRUE(o.deliver.empty());
  EXPECT_EQ(c.on_receive(from_peer(0, 0), at_ms(2), o), Receipt::delivered);
  ASSERT_EQ(o.deliver.size(), 3u);
  EXPECT_EQ(o.deliver[0].header.ns, 0);
  EXPECT_EQ(o.deliver[1].header.ns, 1);
  EXPECT_EQ(o.deliver[2].header.ns, 2);
  EXPECT_EQ(c.expected_ns(), 3);
  // Far beyond our window (16): dropped.
  EXPECT_EQ(c.on_receive(from_peer(3 + 16, 0), at_ms(3), o), Receipt::outside_window);
}

TEST(L2tpReliable, WindowFullHoldsSends) {
  ReliableChannel c = channel();
  c.set_peer_window(2);
  ReliableOutput o;
  for (int i = 0; i < 5; ++i) {
    c.send(hello_bytes(), at_ms(0), o);
  }
  EXPECT_EQ(o.transmit.size(), 2u);
  EXPECT_EQ(c.in_flight(), 2u);
  EXPECT_EQ(c.held(), 3u);
  // Retransmissions resend only what is in flight.
  ReliableOutput r;
  c.poll(at_ms(1000), r);
  EXPECT_EQ(r.transmit.size(), 2u);
  // Acknowledging Ns 0 opens one slot: Ns 2 goes out.
  ReliableOutput a;
  c.on_receive(from_peer(0, 1, true), at_ms(1100), a);
  ASSERT_EQ(a.transmit.size(), 1u);
  EXPECT_EQ(header_of(a.transmit[0]).ns, 2);
  // Acknowledging everything sent so far lets the rest go.
  ReliableOutput b;
  c.on_receive(from_peer(0, 3, true), at_ms(1200), b);
  ASSERT_EQ(b.transmit.size(), 2u);
  EXPECT_EQ(header_of(b.transmit[1]).ns, 4);
}

TEST(L2tpReliable, AckOfUnsentNumbersIsIgnored) {
  ReliableChannel c = channel();
  ReliableOutput o;
  c.send(hello_bytes(), at_ms(0), o);
  c.on_receive(from_peer(0, 9, true), at_ms(10), o);
  EXPECT_EQ(c.in_flight(), 1u);
}

TEST(L2tpReliable, SequenceWraps) {
  ReliableChannel c = channel();
  ReliableOutput o;
  // Walk the peer's Ns across 65535 → 0.
  for (std::uint32_t i = 0; i < 65540; ++i) {
    ReliableOutput r;
    ASSERT_EQ(c.on_receive(from_peer(static_cast<std::uint16_t>(i), 0), at_ms(i), r),
              Receipt::delivered)
        << i;
  }
  EXPECT_EQ(c.expected_ns(), 4);
  ReliableOutput d;
  EXPECT_EQ(c.on_receive(from_peer(65535, 0), at_ms(70000), d), Receipt::duplicate);
}

// A control-plane restart: the snapshot holds what the peer has not
// acknowledged as still to send, and what we received.
TEST(L2tpReliable, SnapshotKeepsFirstUnacknowledgedNs) {
  ReliableChannel c = channel();
  ReliableOutput o;
  c.on_receive(from_peer(0, 0), at_ms(0), o);
  c.on_receive(from_peer(1, 0), at_ms(0), o);
  c.send(hello_bytes(), at_ms(10), o);
  c.send(hello_bytes(), at_ms(10), o);
  c.on_receive(from_peer(2, 1, true), at_ms(20), o);  // acks our Ns 0 only
  const ReliableChannel::Snapshot s = c.snapshot();
  EXPECT_EQ(s.ns, 1);  // Ns 1 was never acknowledged: the peer still expects it
  EXPECT_EQ(s.nr, 2);
  EXPECT_EQ(s.peer_window, 4);
}

// Restored from a snapshot a few messages behind: the peer's HELLO carries
// an Ns ahead of the Nr we expect and an Nr ahead of our Ns. It is
// delivered, acknowledged with the right Nr, and what we send next carries
// the Ns the peer expects.
TEST(L2tpReliable, RestoredChannelResyncsOnThePeersMessage) {
  ReliableChannel c = channel();
  c.restore({5, 3, 4});
  EXPECT_TRUE(c.resyncing());
  ReliableOutput o;
  EXPECT_EQ(c.on_receive(from_peer(7, 9), at_ms(0), o), Receipt::delivered);
  ASSERT_EQ(o.deliver.size(), 1u);
  EXPECT_FALSE(c.resyncing());
  EXPECT_EQ(c.expected_ns(), 8);
  EXPECT_EQ(c.next_ns(), 9);
  c.poll(at_ms(250), o);  // the ZLB
  ASSERT_EQ(o.transmit.size(), 1u);
  EXPECT_EQ(header_of(o.transmit[0]).ns, 9);
  EXPECT_EQ(header_of(o.transmit[0]).nr, 8);
  ReliableOutput s;
  c.send(hello_bytes(), at_ms(300), s);
  ASSERT_EQ(s.transmit.size(), 1u);
  EXPECT_EQ(header_of(s.transmit[0]).ns, 9);
  // Once synchronised, the usual rules hold: an Ns ahead is a gap.
  ReliableOutput g;
  EXPECT_EQ(c.on_receive(from_peer(10, 10), at_ms(400), g), Receipt::queued);
}

// Our HELLO went out first with a stale Ns: the peer takes it for a
// duplicate and answers with a ZLB whose Nr is ahead. The HELLO goes again
// under the Ns the peer expects, and its acknowledgement is accepted.
TEST(L2tpReliable, RestoredChannelRenumbersWhatThePeerTookForDuplicates) {
  ReliableChannel c = channel();
  c.restore({5, 3, 4});
  ReliableOutput o;
  c.send(hello_bytes(), at_ms(0), o);
  ASSERT_EQ(o.transmit.size(), 1u);
  EXPECT_EQ(header_of(o.transmit[0]).ns, 5);
  ReliableOutput z;
  EXPECT_EQ(c.on_receive(from_peer(4, 8, true), at_ms(10), z), Receipt::ack_only);
  ASSERT_EQ(z.transmit.size(), 1u);
  EXPECT_EQ(header_of(z.transmit[0]).ns, 8);
  EXPECT_EQ(header_of(z.transmit[0]).nr, 3);  // a ZLB carries no message to expect
  EXPECT_EQ(c.in_flight(), 1u);
  ReliableOutput a;
  c.on_receive(from_peer(4, 9, true), at_ms(20), a);
  EXPECT_TRUE(c.all_acked());
  EXPECT_EQ(c.next_ns(), 9);
  // The peer's next message, Ns ahead of ours from the lost messages, is
  // still taken (no message of the peer was delivered yet).
  EXPECT_EQ(c.on_receive(from_peer(6, 9), at_ms(30), a), Receipt::delivered);
  EXPECT_EQ(c.expected_ns(), 7);
}

// The same messages reach a channel that was never restored: an Ns ahead
// waits for its gap, an Nr beyond what was sent acknowledges nothing.
TEST(L2tpReliable, NormalChannelDoesNotResync) {
  ReliableChannel c = channel();
  EXPECT_FALSE(c.resyncing());
  ReliableOutput o;
  c.send(hello_bytes(), at_ms(0), o);
  EXPECT_EQ(c.on_receive(from_peer(4, 8), at_ms(10), o), Receipt::queued);
  EXPECT_EQ(c.expected_ns(), 0);
  EXPECT_EQ(c.next_ns(), 1);
  EXPECT_EQ(c.in_flight(), 1u);
}

}  // namespace
}  // namespace l2tpgw::l2tp
