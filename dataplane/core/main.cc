// l2tpgw-dataplane: the DPDK primary process.
//
//   l2tpgw-dataplane [EAL options] -- --config FILE [--wait-cp]
//
// The main lcore applies the control plane's commands, reclaims retired SAs,
// beats the heartbeat and copies port statistics; the worker lcores listed in
// the config run the fast path.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <sys/mman.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/core/commands.h"
#include "dataplane/core/ports.h"
#include "dataplane/core/worker.h"

namespace l2tpgw {
namespace {

std::atomic<bool>* g_stop = nullptr;  // for the signal handler only

void on_signal(int) {
  if (g_stop != nullptr) {
    g_stop->store(true);
  }
}

struct Args {
  std::string config;
  bool wait_cp = false;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--config" && i + 1 < argc) {
      a.config = argv[++i];
    } else if (s == "--wait-cp") {
      a.wait_cp = true;
    } else {
      throw std::runtime_error("unknown argument '" + s +
                               "'; usage: l2tpgw-dataplane [EAL options] -- --config FILE [--wait-cp]");
    }
  }
  if (a.config.empty()) {
    throw std::runtime_error("--config FILE is required");
  }
  return a;
}

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

void check_lcores(const DataplaneConfig& dc) {
  for (unsigned lc : dc.worker_lcores) {
    if (!rte_lcore_is_enabled(lc) || lc == rte_get_main_lcore()) {
      throw std::runtime_error("worker lcore " + std::to_string(lc) +
                               " is not among the EAL's worker lcores (-l); the main lcore is " +
                               std::to_string(rte_get_main_lcore()));
    }
  }
}

rte_rcu_qsbr* make_rcu(unsigned n_workers) {
  const std::size_t sz = rte_rcu_qsbr_get_memsize(n_workers);
  auto* qs = static_cast<rte_rcu_qsbr*>(rte_zmalloc("rcu", sz, RTE_CACHE_LINE_SIZE));
  if (qs == nullptr || rte_rcu_qsbr_init(qs, n_workers) != 0) {
    throw std::runtime_error("cannot create the RCU state");
  }
  return qs;
}

void main_loop(Runtime& rt) {
  // Heartbeat and statistics every 100 ms: the control plane calls the data
  // plane dead after 2 s of silence, and operators read counters at ~1 Hz.
  constexpr std::uint64_t period_ns = 100'000'000;
  std::uint64_t next = 0;
  while (!rt.stop.load()) {
    const unsigned n = apply_commands(rt);
    rt.sas->reclaim();
    rt.sessions->reclaim();
    const std::uint64_t now = monotonic_ns();
    if (now >= next) {
      rt.seg->header().dp_heartbeat_ns.store(now, std::memory_order_release);
      ports_snapshot(rt);
      next = now + period_ns;
    }
    if (n == 0) {
      usleep(1000);
    }
  }
}

int run(int argc, char** argv) {
  const int consumed = rte_eal_init(argc, argv);
  if (consumed < 0) {
    std::fprintf(stderr, "l2tpgw-dataplane: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  argv[consumed] = argv[0];
  const Args args = parse_args(argc - consumed, argv + consumed);
  const Config cfg = load_config(args.config);
  check_lcores(cfg.dataplane);
  const auto n_workers = static_cast<unsigned>(cfg.dataplane.worker_lcores.size());

  const channel::SegmentGeometry geo{.n_workers = n_workers,
                                     .n_ports = static_cast<std::uint32_t>(cfg.ports.size()),
                                     .max_sas = cfg.dataplane.max_sas,
                                     .max_sessions = cfg.dataplane.max_sessions};
  channel::Segment seg = channel::Segment::create(cfg.dataplane.channel, geo);
  Runtime rt;
  rt.cfg = cfg.dataplane;
  rt.seg = &seg;
  rt.wait_cp = args.wait_cp;
  rt.tsc_hz = rte_get_tsc_hz();
  seg.header().tsc_hz = rt.tsc_hz;
  rt.pool = rte_pktmbuf_pool_create("mbufs", cfg.dataplane.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
  if (rt.pool == nullptr) {
    throw std::runtime_error("cannot create the mbuf pool of " + std::to_string(cfg.dataplane.mbufs) +
                             " buffers: " + rte_strerror(rte_errno));
  }
  rt.rcu = make_rcu(n_workers);
  const PortConfig* outside = cfg.port(PortRole::outside);
  SaTable sas(seg, rt.rcu, cfg.dataplane.max_sas, static_cast<int>(rte_socket_id()),
              outside != nullptr ? outside->mtu : PortConfig{}.mtu);
  rt.sas = &sas;
  SessionTable sessions(seg, rt.rcu, cfg.dataplane.max_sessions, static_cast<int>(rte_socket_id()));
  rt.sessions = &sessions;
  ports_start(rt, cfg, n_workers);

  g_stop = &rt.stop;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  std::vector<WorkerLaunch> launches(n_workers);
  for (unsigned i = 0; i < n_workers; ++i) {
    launches[i] = {&rt, i};
    rte_eal_remote_launch(worker_main, &launches[i], cfg.dataplane.worker_lcores[i]);
  }
  seg.header().dp_heartbeat_ns.store(monotonic_ns());
  seg.header().ready.store(1, std::memory_order_release);
  std::fprintf(stderr, "l2tpgw-dataplane: %zu ports, %u workers, channel '%s'%s\n", rt.ports.size(),
               n_workers, cfg.dataplane.channel.c_str(), args.wait_cp ? ", waiting for the control plane" : "");

  main_loop(rt);

  rte_eal_mp_wait_lcore();
  ports_stop(rt);
  shm_unlink(channel::Segment::shm_name(cfg.dataplane.channel).c_str());
  return 0;
}

}  // namespace
}  // namespace l2tpgw

int main(int argc, char** argv) {
  try {
    const int rc = l2tpgw::run(argc, argv);
    rte_eal_cleanup();
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "l2tpgw-dataplane: %s\n", e.what());
    rte_eal_cleanup();
    return 1;
  }
}
