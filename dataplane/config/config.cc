#include "dataplane/config/config.h"

#include "dataplane/config/sections.h"

namespace l2tpgw {
namespace {

using config_detail::Reader;
using config_detail::Setting;

Config read_root(const Reader& r, const Setting& root) {
  // ike, l2tp and ppp belong to the control plane, which reads them itself
  // (controlplane/lns_settings.h, controlplane/ike_settings.h).
  r.check_keys(root, {"dataplane", "controlplane", "ports", "sas", "sessions", "ike", "l2tp", "ppp"});
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
  config_detail::read_file(lc, path);
  const Reader r(path);
  try {
    return read_root(r, lc.getRoot());
  } catch (const libconfig::SettingException& e) {
    // Only reached through a bug in a section reader: every access checks first.
    throw ConfigError(path + ": " + e.what() + " at " + e.getPath());
  }
}

}  // namespace l2tpgw
