// Time to read a configuration: libconfig's parse alone, then the whole of
// load_config (parse and validation), each once, in wall-clock seconds.
// For large static session lists (docs/PERFORMANCE.md, "Memory per session").
//
//   config_load_time FILE
#include <chrono>
#include <cstdio>
#include <exception>
#include <libconfig.h++>

#include "dataplane/config/config.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: config_load_time FILE\n");
    return 2;
  }
  try {
    auto t0 = std::chrono::steady_clock::now();
    {
      libconfig::Config raw;
      raw.readFile(argv[1]);
      std::printf("libconfig_parse_s=%.3f\n", seconds_since(t0));
    }
    t0 = std::chrono::steady_clock::now();
    const l2tpgw::Config cfg = l2tpgw::load_config(argv[1]);
    std::printf("load_config_s=%.3f sas=%zu sessions=%zu\n", seconds_since(t0), cfg.sas.size(),
                cfg.sessions.size());
  } catch (const libconfig::FileIOException&) {
    std::fprintf(stderr, "config_load_time: cannot read %s\n", argv[1]);
    return 1;
  } catch (const libconfig::ParseException& e) {
    std::fprintf(stderr, "config_load_time: %s:%d: %s\n", e.getFile(), e.getLine(), e.getError());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "config_load_time: %s\n", e.what());
    return 1;
  }
  return 0;
}
