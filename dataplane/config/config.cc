#include "dataplane/config/config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "dataplane/config/sections.h"

namespace l2tpgw {
namespace {

using config_detail::Reader;
using config_detail::Setting;

void read_file(libconfig::Config& lc, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw ConfigError(path + ": cannot read the configuration: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw ConfigError(path + ": the configuration is not a regular file");
  }
  try {
    lc.readFile(path.c_str());
  } catch (const libconfig::FileIOException&) {
    throw ConfigError(path + ": cannot read the configuration");
  } catch (const libconfig::ParseException& e) {
    const std::string file = e.getFile() != nullptr ? e.getFile() : path;
    throw ConfigError(file + ":" + std::to_string(e.getLine()) + ": " + e.getError());
  }
}

Config read_root(const Reader& r, const Setting& root) {
  r.check_keys(root, {"dataplane", "controlplane", "ports", "sas", "sessions"});
  Config cfg;
  cfg.file = r.file();
  if (const Setting* s = r.find(root, "dataplane")) {
    cfg.dataplane = config_detail::read_dataplane(r, *s);
  }
  if (const Setting* s = r.find(root, "controlplane")) {
    cfg.controlplane = config_detail::read_controlplane(r, *s);
  }
  if (!root.exists("ports")) {
    throw ConfigError(r.file() + ": missing required setting 'ports' (at least the outside port)");
  }
  cfg.ports = config_detail::read_ports(r, root["ports"]);
  if (const Setting* s = r.find(root, "sas")) {
    cfg.sas = config_detail::read_sas(r, *s, cfg);
  }
  if (const Setting* s = r.find(root, "sessions")) {
    cfg.sessions = config_detail::read_sessions(r, *s, cfg);
  }
  return cfg;
}

}  // namespace

Config load_config(const std::string& path) {
  libconfig::Config lc;
  read_file(lc, path);
  const Reader r(path);
  try {
    return read_root(r, lc.getRoot());
  } catch (const libconfig::SettingException& e) {
    // Only reached through a bug in a section reader: every access checks first.
    throw ConfigError(path + ": " + e.what() + " at " + e.getPath());
  }
}

}  // namespace l2tpgw
